//! The libseccomp release a runtime links, and what depends on it.
//!
//! runc and crun resolve profile names through their libseccomp: a name
//! its `src/syscalls.csv` does not list is skipped, and runc's ENOSYS stub
//! threshold is the largest number that release resolves. Each release's
//! table is kept as a difference against the kernel tables of
//! [`crate::arch`] (generated into `tables.rs` by
//! `tests/libseccomp_tables.rs`, which fails when they drift from the CSV
//! files); nothing is parsed at run time.
//!
//! The release also decides which of libseccomp's own defects the filter
//! carries ([`Libseccomp::ghsa_4q85`], [`Libseccomp::stale_accumulator`]).
//!
//! Not covered: releases before 2.5.4, and the `_kver` columns of 2.6.x
//! (all undefined in the tables used).

#[rustfmt::skip]
mod tables;

use crate::arch::Arch;

/// A libseccomp release.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Libseccomp {
    /// 2.5.4 (Debian 12), table of Linux 5.17.
    V2_5_4,
    /// 2.5.5, table of Linux 6.7-rc3.
    V2_5_5,
    /// 2.5.6, table of Linux 6.13.
    V2_5_6,
    /// 2.6.0, table of Linux 6.13, adds loongarch64.
    V2_6_0,
    /// 2.6.1, table of Linux 7.1-rc4, fixes GHSA-4q85-33p6-j5g6.
    #[default]
    V2_6_1,
}

impl Libseccomp {
    /// Every release, oldest first.
    pub const ALL: [Libseccomp; 5] = [
        Libseccomp::V2_5_4,
        Libseccomp::V2_5_5,
        Libseccomp::V2_5_6,
        Libseccomp::V2_6_0,
        Libseccomp::V2_6_1,
    ];

    fn data(self) -> &'static tables::Release {
        &tables::RELEASES[self as usize]
    }

    /// The version, `2.5.4`.
    pub fn name(self) -> &'static str {
        self.data().version
    }

    /// Reads `2.5.4` or `v2.5.4`.
    pub fn from_name(s: &str) -> Option<Libseccomp> {
        let v = s.strip_prefix('v').unwrap_or(s);
        Libseccomp::ALL.into_iter().find(|r| r.name() == v)
    }

    /// Where the release's table comes from.
    pub fn source(self) -> &'static str {
        self.data().source
    }

    /// The release's table for an arch; `None` when it has none.
    fn column(self, arch: Arch) -> Option<&'static tables::Column> {
        let key = column_name(arch);
        self.data().columns.iter().find(|c| c.name == key)
    }

    /// Whether the release supports the arch at all.
    pub fn supports(self, arch: Arch) -> bool {
        self.column(arch).is_some()
    }

    /// The number the release resolves `name` to on `arch` (as
    /// `seccomp_data.nr` carries it), or `None`.
    pub fn syscall_nr(self, arch: Arch, name: &str) -> Option<u32> {
        let col = self.column(arch)?;
        if let Ok(k) = col.extra.binary_search_by(|(n, _)| (*n).cmp(name)) {
            return Some(col.extra[k].1);
        }
        if col.missing.binary_search(&name).is_ok() {
            return None;
        }
        arch.syscall_nr(name)
    }

    /// Whether the release's table lists `name` for any arch (libseccomp
    /// then resolves it, to a pseudo number where the arch lacks it).
    pub fn knows(self, name: &str) -> bool {
        Arch::all()
            .iter()
            .any(|&a| self.syscall_nr(a, name).is_some() || a.multiplexed(name).is_some())
            || self.data().elsewhere.binary_search(&name).is_ok()
    }

    /// Whether the release carries GHSA-4q85-33p6-j5g6: merging two rules
    /// whose high-word nodes coincide can put the false action on the true
    /// edge (fixed in 2.6.1).
    pub fn ghsa_4q85(self) -> bool {
        self < Libseccomp::V2_6_1
    }

    /// Whether the release's code generator can compare a stale
    /// accumulator after a shared node: every release here (2.5.4, 2.6.0
    /// and 2.6.1 build the recorded stale-accumulator sets identically).
    pub fn stale_accumulator(self) -> bool {
        Libseccomp::ALL.contains(&self)
    }
}

impl std::fmt::Display for Libseccomp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The `syscalls.csv` column that holds an arch (byte orders share one).
fn column_name(arch: Arch) -> &'static str {
    match arch {
        Arch::Mips | Arch::Mipsel => "mips",
        Arch::Mips64 | Arch::Mips64el => "mips64",
        Arch::Mips64n32 | Arch::Mipsel64n32 => "mips64n32",
        Arch::Ppc64 | Arch::Ppc64le => "ppc64",
        a => a.name(),
    }
}

/// The column name of an arch, for the table generator.
#[doc(hidden)]
pub fn csv_column(arch: Arch) -> &'static str {
    column_name(arch)
}
