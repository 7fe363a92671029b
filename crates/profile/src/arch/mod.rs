//! Architectures and their syscall tables.
//!
//! In: an arch name in any of the spellings profiles and hosts use (our
//! names, libseccomp's `SCMP_ARCH_*`, Docker/Go `GOARCH` names, `uname -m`).
//! Out: an [`Arch`] with its `AUDIT_ARCH_*` value, byte order, argument
//! width, and its syscall table: name ↔ number as `seccomp_data.nr` carries
//! it (x32 numbers include bit 30, MIPS numbers their ABI base, ARM-private
//! calls their 0xf0000 base).
//!
//! The tables are static arrays generated from the `syscalls` crate and
//! from kernel facts for the ABIs it lacks; every table records its
//! [`source`](Arch::source). Lookups binary-search those arrays; nothing is
//! built at run time.
//!
//! [`Arch::multiplexed`] says how libseccomp routes a socket or SysV IPC
//! call through `socketcall(2)` / `ipc(2)` on the arches that have them.
//! It is data only: whether a rule also goes to the direct number, and what
//! happens to argument conditions, is the lowering's business
//! (libseccomp's `src/arch-*.c`).
//!
//! Where the tables differ from libseccomp's own (`src/syscalls.csv`), on
//! purpose: they follow the kernel's tables of Linux 6.18, so the ARM-private
//! `usr26`, `usr32` and `get_tls` exist on arm (libseccomp resolves them
//! nowhere), the kernel's placeholder rows (`reserved177`, `unused18`, ...)
//! keep their names, and `arm_sync_file_range` is row 341 on arm, with
//! `sync_file_range2` accepted as the header alias of the same row
//! (libseccomp knows only the alias). Names libseccomp lists only for arches
//! without a table here (m68k, parisc, sh) are unknown to
//! [`Arch::known_anywhere`].
//!
//! Not covered: m68k, parisc, sh and riscv32 (libseccomp knows the first
//! three; [`Arch::parse`] names them as arches without a table), the ARM
//! OABI, and syscall numbers newer than the tables' kernel release.

mod tables;

use sysfence_abi::arch::*;

use crate::ir::ArgWidth;

/// A syscall ABI that seccomp filters can see.
///
/// Several ABIs share one `AUDIT_ARCH_*` value: x32 reports x86_64's and is
/// told apart by bit 30 of the syscall number.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Arch {
    /// x86-64, 64-bit ABI.
    X86_64,
    /// x86-64, x32 ABI (32-bit pointers, numbers with bit 30 set).
    X32,
    /// i386.
    X86,
    /// 64-bit ARM.
    Aarch64,
    /// 32-bit ARM, EABI, little-endian.
    Arm,
    /// 64-bit RISC-V.
    Riscv64,
    /// 64-bit s390.
    S390x,
    /// 31-bit s390.
    S390,
    /// 64-bit PowerPC, little-endian.
    Ppc64le,
    /// 64-bit PowerPC, big-endian.
    Ppc64,
    /// 32-bit PowerPC, big-endian.
    Ppc,
    /// MIPS o32, big-endian.
    Mips,
    /// MIPS o32, little-endian.
    Mipsel,
    /// MIPS n64, big-endian.
    Mips64,
    /// MIPS n64, little-endian.
    Mips64el,
    /// MIPS n32, big-endian.
    Mips64n32,
    /// MIPS n32, little-endian.
    Mipsel64n32,
    /// 64-bit LoongArch.
    Loongarch64,
}

/// How a socket or IPC call reaches the kernel through a multiplexer on
/// arches that have `socketcall(2)` / `ipc(2)`: syscall `via_nr` with
/// `arg0 == call`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Multiplexed {
    /// The multiplexer's syscall number (`socketcall` or `ipc`).
    pub via_nr: u32,
    /// The call number the multiplexer expects in `arg0`.
    pub call: u32,
}

pub use sysfence_abi::arch::X32_SYSCALL_BIT;

/// `socketcall(2)` call numbers (`SYS_SOCKET` = 1 … `SYS_SENDMMSG` = 20,
/// `include/uapi/linux/net.h`), by syscall name.
pub const SOCKETCALL_CALLS: [(&str, u32); 20] = [
    ("socket", 1),
    ("bind", 2),
    ("connect", 3),
    ("listen", 4),
    ("accept", 5),
    ("getsockname", 6),
    ("getpeername", 7),
    ("socketpair", 8),
    ("send", 9),
    ("recv", 10),
    ("sendto", 11),
    ("recvfrom", 12),
    ("shutdown", 13),
    ("setsockopt", 14),
    ("getsockopt", 15),
    ("sendmsg", 16),
    ("recvmsg", 17),
    ("accept4", 18),
    ("recvmmsg", 19),
    ("sendmmsg", 20),
];

/// `ipc(2)` call numbers (`SEMOP` = 1 … `SHMCTL` = 24,
/// `include/uapi/linux/ipc.h`), by syscall name.
pub const IPC_CALLS: [(&str, u32); 12] = [
    ("semop", 1),
    ("semget", 2),
    ("semctl", 3),
    ("semtimedop", 4),
    ("msgsnd", 11),
    ("msgrcv", 12),
    ("msgget", 13),
    ("msgctl", 14),
    ("shmat", 21),
    ("shmdt", 22),
    ("shmget", 23),
    ("shmctl", 24),
];

/// Why an arch name was not accepted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ArchError {
    /// A name no runtime uses for an arch.
    #[error("unknown arch `{name}` (known: {})", known_names())]
    Unknown {
        /// The name as given.
        name: String,
    },
    /// An arch libseccomp knows but sysfence has no syscall table for.
    #[error("arch {name}: no syscall table")]
    NoTable {
        /// The name as given.
        name: String,
    },
}

/// One table: rows by number and an index by name.
struct Table {
    by_nr: &'static [(&'static str, u32)],
    by_name: &'static [u16],
    source: &'static str,
}

macro_rules! table {
    ($module:ident) => {
        Table {
            by_nr: tables::$module::BY_NR,
            by_name: tables::$module::BY_NAME,
            source: tables::$module::SOURCE,
        }
    };
}

static X86_64: Table = table!(x86_64);
static X32: Table = table!(x32);
static X86: Table = table!(x86);
static AARCH64: Table = table!(aarch64);
static ARM: Table = table!(arm);
static RISCV64: Table = table!(riscv64);
static S390X: Table = table!(s390x);
static S390: Table = table!(s390);
static PPC64: Table = table!(ppc64);
static PPC: Table = table!(ppc);
static MIPS_O32: Table = table!(mips_o32);
static MIPS_N64: Table = table!(mips_n64);
static MIPS_N32: Table = table!(mips_n32);
static LOONGARCH64: Table = table!(loongarch64);

/// Everything fixed about one arch.
struct Info {
    name: &'static str,
    scmp: &'static str,
    audit: u32,
    width: ArgWidth,
    little_endian: bool,
    table: &'static Table,
    /// Other spellings accepted by [`Arch::from_name`] (lower case).
    aliases: &'static [&'static str],
    /// Whether libseccomp routes socket and IPC calls through
    /// `socketcall` / `ipc` on this arch.
    multiplexes: bool,
}

/// Indexed by `Arch as usize`; `AUDIT_ARCH_*` values from
/// `include/uapi/linux/audit.h`.
static INFO: [Info; 18] = [
    Info {
        name: "x86_64",
        scmp: "SCMP_ARCH_X86_64",
        audit: AUDIT_ARCH_X86_64,
        width: ArgWidth::Bits64,
        little_endian: true,
        table: &X86_64,
        aliases: &["amd64", "x86-64"],
        multiplexes: false,
    },
    Info {
        name: "x32",
        scmp: "SCMP_ARCH_X32",
        audit: AUDIT_ARCH_X86_64,
        width: ArgWidth::Bits32,
        little_endian: true,
        table: &X32,
        aliases: &[],
        multiplexes: false,
    },
    Info {
        name: "x86",
        scmp: "SCMP_ARCH_X86",
        audit: AUDIT_ARCH_I386,
        width: ArgWidth::Bits32,
        little_endian: true,
        table: &X86,
        aliases: &["i386", "i486", "i586", "i686", "386"],
        multiplexes: true,
    },
    Info {
        name: "aarch64",
        scmp: "SCMP_ARCH_AARCH64",
        audit: AUDIT_ARCH_AARCH64,
        width: ArgWidth::Bits64,
        little_endian: true,
        table: &AARCH64,
        aliases: &["arm64"],
        multiplexes: false,
    },
    Info {
        name: "arm",
        scmp: "SCMP_ARCH_ARM",
        audit: AUDIT_ARCH_ARM,
        width: ArgWidth::Bits32,
        little_endian: true,
        table: &ARM,
        aliases: &["armhf", "armel", "armv7l", "armv7", "armv6l"],
        multiplexes: false,
    },
    Info {
        name: "riscv64",
        scmp: "SCMP_ARCH_RISCV64",
        audit: AUDIT_ARCH_RISCV64,
        width: ArgWidth::Bits64,
        little_endian: true,
        table: &RISCV64,
        aliases: &[],
        multiplexes: false,
    },
    Info {
        name: "s390x",
        scmp: "SCMP_ARCH_S390X",
        audit: AUDIT_ARCH_S390X,
        width: ArgWidth::Bits64,
        little_endian: false,
        table: &S390X,
        aliases: &[],
        multiplexes: true,
    },
    Info {
        name: "s390",
        scmp: "SCMP_ARCH_S390",
        audit: AUDIT_ARCH_S390,
        width: ArgWidth::Bits32,
        little_endian: false,
        table: &S390,
        aliases: &[],
        multiplexes: true,
    },
    Info {
        name: "ppc64le",
        scmp: "SCMP_ARCH_PPC64LE",
        audit: AUDIT_ARCH_PPC64LE,
        width: ArgWidth::Bits64,
        little_endian: true,
        table: &PPC64,
        aliases: &["powerpc64le"],
        multiplexes: true,
    },
    Info {
        name: "ppc64",
        scmp: "SCMP_ARCH_PPC64",
        audit: AUDIT_ARCH_PPC64,
        width: ArgWidth::Bits64,
        little_endian: false,
        table: &PPC64,
        aliases: &["powerpc64"],
        multiplexes: true,
    },
    Info {
        name: "ppc",
        scmp: "SCMP_ARCH_PPC",
        audit: AUDIT_ARCH_PPC,
        width: ArgWidth::Bits32,
        little_endian: false,
        table: &PPC,
        aliases: &["powerpc"],
        multiplexes: true,
    },
    Info {
        name: "mips",
        scmp: "SCMP_ARCH_MIPS",
        audit: AUDIT_ARCH_MIPS,
        width: ArgWidth::Bits32,
        little_endian: false,
        table: &MIPS_O32,
        aliases: &[],
        multiplexes: true,
    },
    Info {
        name: "mipsel",
        scmp: "SCMP_ARCH_MIPSEL",
        audit: AUDIT_ARCH_MIPSEL,
        width: ArgWidth::Bits32,
        little_endian: true,
        table: &MIPS_O32,
        aliases: &["mipsle"],
        multiplexes: true,
    },
    Info {
        name: "mips64",
        scmp: "SCMP_ARCH_MIPS64",
        audit: AUDIT_ARCH_MIPS64,
        width: ArgWidth::Bits64,
        little_endian: false,
        table: &MIPS_N64,
        aliases: &[],
        multiplexes: false,
    },
    Info {
        name: "mips64el",
        scmp: "SCMP_ARCH_MIPSEL64",
        audit: AUDIT_ARCH_MIPSEL64,
        width: ArgWidth::Bits64,
        little_endian: true,
        table: &MIPS_N64,
        aliases: &["mipsel64", "mips64le"],
        multiplexes: false,
    },
    Info {
        name: "mips64n32",
        scmp: "SCMP_ARCH_MIPS64N32",
        audit: AUDIT_ARCH_MIPS64N32,
        width: ArgWidth::Bits32,
        little_endian: false,
        table: &MIPS_N32,
        aliases: &["mips64p32"],
        multiplexes: false,
    },
    Info {
        name: "mipsel64n32",
        scmp: "SCMP_ARCH_MIPSEL64N32",
        audit: AUDIT_ARCH_MIPSEL64N32,
        width: ArgWidth::Bits32,
        little_endian: true,
        table: &MIPS_N32,
        aliases: &["mips64p32le", "mips3l64n32", "mips64eln32"],
        multiplexes: false,
    },
    Info {
        name: "loongarch64",
        scmp: "SCMP_ARCH_LOONGARCH64",
        audit: AUDIT_ARCH_LOONGARCH64,
        width: ArgWidth::Bits64,
        little_endian: true,
        table: &LOONGARCH64,
        aliases: &["loong64"],
        multiplexes: false,
    },
];

static ALL: [Arch; 18] = [
    Arch::X86_64,
    Arch::X32,
    Arch::X86,
    Arch::Aarch64,
    Arch::Arm,
    Arch::Riscv64,
    Arch::S390x,
    Arch::S390,
    Arch::Ppc64le,
    Arch::Ppc64,
    Arch::Ppc,
    Arch::Mips,
    Arch::Mipsel,
    Arch::Mips64,
    Arch::Mips64el,
    Arch::Mips64n32,
    Arch::Mipsel64n32,
    Arch::Loongarch64,
];

/// Arches libseccomp (and so crun) knows that have no table here, in their
/// libseccomp and `GOARCH` spellings.
const WITHOUT_TABLE: [&str; 10] = [
    "SCMP_ARCH_M68K",
    "SCMP_ARCH_PARISC",
    "SCMP_ARCH_PARISC64",
    "SCMP_ARCH_SH",
    "SCMP_ARCH_SHEB",
    "m68k",
    "parisc",
    "parisc64",
    "sh",
    "sheb",
];

/// Names the kernel headers give as aliases of a table row
/// (`arch/arm/include/uapi/asm/unistd.h`: `__NR_sync_file_range2` is
/// `__NR_arm_sync_file_range`), per table, `(alias, row name)`.
const ARM_ALIASES: [(&str, &str); 1] = [("sync_file_range2", "arm_sync_file_range")];

/// `known: a, b, c` list for messages.
fn known_names() -> String {
    ALL.iter().map(|a| a.name()).collect::<Vec<_>>().join(", ")
}

impl Arch {
    fn info(self) -> &'static Info {
        &INFO[self as usize]
    }

    /// Every arch with a table, in a fixed order.
    pub fn all() -> &'static [Arch] {
        &ALL
    }

    /// Reads an arch name in any common spelling, case-insensitively: ours
    /// ([`Arch::name`]), libseccomp's (`SCMP_ARCH_X86_64`, or without the
    /// prefix as libseccomp's own names: `x86_64`, `mipsel64`, ...), Docker's
    /// and Go's (`amd64`, `386`, `arm64`, `mipsle`, `mips64le`, `loong64`,
    /// `mips64p32`, Docker's `mips3l64n32`) and `uname -m` (`i686`,
    /// `armv7l`, ...).
    pub fn from_name(s: &str) -> Option<Arch> {
        let lower = s.to_ascii_lowercase();
        let bare = lower.strip_prefix("scmp_arch_").unwrap_or(&lower);
        ALL.iter().copied().find(|a| {
            let i = a.info();
            i.name == bare || i.scmp.eq_ignore_ascii_case(&lower) || i.aliases.contains(&bare)
        })
    }

    /// Reads a libseccomp / OCI `SCMP_ARCH_*` name exactly as runc does:
    /// upper case, with the prefix, nothing else.
    pub fn from_scmp(s: &str) -> Option<Arch> {
        ALL.iter().copied().find(|a| a.info().scmp == s)
    }

    /// Like [`Arch::from_name`], but says why a name was refused: unknown,
    /// or an arch libseccomp knows that has no syscall table here.
    pub fn parse(s: &str) -> Result<Arch, ArchError> {
        if let Some(arch) = Arch::from_name(s) {
            return Ok(arch);
        }
        let name = s.to_string();
        if WITHOUT_TABLE.iter().any(|n| n.eq_ignore_ascii_case(s)) {
            Err(ArchError::NoTable { name })
        } else {
            Err(ArchError::Unknown { name })
        }
    }

    /// Our name: `x86_64`, `x32`, `x86`, `aarch64`, `arm`, `riscv64`,
    /// `s390x`, `s390`, `ppc64le`, `ppc64`, `ppc`, `mips`, `mipsel`,
    /// `mips64`, `mips64el`, `mips64n32`, `mipsel64n32`, `loongarch64`.
    pub fn name(self) -> &'static str {
        self.info().name
    }

    /// The libseccomp / OCI name, e.g. `SCMP_ARCH_X86_64`.
    pub fn scmp_name(self) -> &'static str {
        self.info().scmp
    }

    /// The `AUDIT_ARCH_*` value in `seccomp_data.arch`. x32 reports
    /// x86_64's value (0xc000003e).
    pub fn audit_arch(self) -> u32 {
        self.info().audit
    }

    /// How libseccomp compares arguments on this arch: 32-bit ABIs compare
    /// the low word only.
    pub fn width(self) -> ArgWidth {
        self.info().width
    }

    /// Byte order of `seccomp_data`'s fields on this arch.
    pub fn little_endian(self) -> bool {
        self.info().little_endian
    }

    /// Whether this is one of the MIPS ABIs (whose errno numbers past the
    /// common base differ from every other arch's).
    pub fn is_mips(self) -> bool {
        matches!(
            self,
            Arch::Mips
                | Arch::Mipsel
                | Arch::Mips64
                | Arch::Mips64el
                | Arch::Mips64n32
                | Arch::Mipsel64n32
        )
    }

    /// The number of a syscall as `seccomp_data.nr` carries it, or `None`
    /// when this arch has no such call. Accepts the kernel headers' aliases
    /// (`sync_file_range2` on arm).
    pub fn syscall_nr(self, name: &str) -> Option<u32> {
        let table = self.info().table;
        let row = |name: &str| {
            let found = table
                .by_name
                .binary_search_by(|&i| table.by_nr[usize::from(i)].0.cmp(name));
            found
                .ok()
                .map(|k| table.by_nr[usize::from(table.by_name[k])].1)
        };
        row(name).or_else(|| {
            let aliases: &[(&str, &str)] = match self {
                Arch::Arm => &ARM_ALIASES,
                _ => &[],
            };
            let (_, target) = aliases.iter().find(|(alias, _)| *alias == name)?;
            row(target)
        })
    }

    /// The table's name for a number (as `seccomp_data.nr` carries it).
    pub fn syscall_name(self, nr: u32) -> Option<&'static str> {
        let rows = self.table();
        let k = rows.binary_search_by_key(&nr, |&(_, n)| n).ok()?;
        Some(rows[k].0)
    }

    /// The whole table, `(name, number)`, sorted by number.
    pub fn table(self) -> &'static [(&'static str, u32)] {
        self.info().table.by_nr
    }

    /// The whole table sorted by name (`str` order), each name with its
    /// row in [`Arch::table`]: for resolving many sorted names in one
    /// merge, and counting them by row, already in number order.
    pub fn table_by_name(self) -> impl Iterator<Item = (&'static str, usize)> {
        let table = self.info().table;
        table.by_name.iter().map(|&i| {
            let row = usize::from(i);
            (table.by_nr[row].0, row)
        })
    }

    /// The largest number in the table.
    pub fn max_nr(self) -> u32 {
        self.table().last().map_or(0, |&(_, nr)| nr)
    }

    /// Where the table's data came from (crate version, kernel release,
    /// kernel facts).
    pub fn source(self) -> &'static str {
        self.info().table.source
    }

    /// The arch a filter sees for `seccomp_data.arch == audit` and
    /// `seccomp_data.nr == nr`: x86_64 and x32 share an AUDIT_ARCH value and
    /// differ in bit 30 of the number; every other value names one arch.
    pub fn from_audit(audit: u32, nr: u32) -> Option<Arch> {
        match audit {
            AUDIT_ARCH_X86_64 if nr & X32_SYSCALL_BIT != 0 => Some(Arch::X32),
            AUDIT_ARCH_X86_64 => Some(Arch::X86_64),
            _ => ALL.iter().copied().find(|a| a.audit_arch() == audit),
        }
    }

    /// Whether any table here knows `name` (including header aliases): the
    /// closest this crate comes to "a name libseccomp can resolve".
    pub fn known_anywhere(name: &str) -> bool {
        ALL.iter().any(|a| a.syscall_nr(name).is_some())
    }

    /// The arch this program was built for, if it has a table.
    pub fn native() -> Option<Arch> {
        NATIVE
    }

    /// How libseccomp also reaches `name` through a multiplexer on this
    /// arch: `socketcall` with `arg0 ==` the `SYS_*` number for socket
    /// calls, `ipc` with `arg0 ==` the IPC call number for SysV IPC calls.
    /// `None` on arches without multiplexers (x86_64, arm, aarch64, MIPS
    /// n64/n32, riscv64, loongarch64, x32) and for other names. The direct
    /// number, where one exists, is still [`Arch::syscall_nr`].
    pub fn multiplexed(self, name: &str) -> Option<Multiplexed> {
        if !self.info().multiplexes {
            return None;
        }
        let route = |calls: &[(&str, u32)], via: &str| {
            let &(_, call) = calls.iter().find(|(n, _)| *n == name)?;
            let via_nr = self.syscall_nr(via)?;
            Some(Multiplexed { via_nr, call })
        };
        route(&SOCKETCALL_CALLS, "socketcall").or_else(|| route(&IPC_CALLS, "ipc"))
    }
}

impl std::fmt::Display for Arch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Arch {
    type Err = ArchError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Arch::parse(s)
    }
}

/// The build target's arch ([`Arch::native`]).
const NATIVE: Option<Arch> = native_arch();

const fn native_arch() -> Option<Arch> {
    let little = cfg!(target_endian = "little");
    let wide = cfg!(target_pointer_width = "64");
    if cfg!(target_arch = "x86_64") {
        Some(if wide { Arch::X86_64 } else { Arch::X32 })
    } else if cfg!(target_arch = "x86") {
        Some(Arch::X86)
    } else if cfg!(target_arch = "aarch64") && little {
        Some(Arch::Aarch64)
    } else if cfg!(target_arch = "arm") && little {
        Some(Arch::Arm)
    } else if cfg!(target_arch = "riscv64") {
        Some(Arch::Riscv64)
    } else if cfg!(target_arch = "s390x") {
        Some(Arch::S390x)
    } else if cfg!(target_arch = "powerpc64") {
        Some(if little { Arch::Ppc64le } else { Arch::Ppc64 })
    } else if cfg!(target_arch = "powerpc") {
        Some(Arch::Ppc)
    } else if cfg!(target_arch = "mips") {
        Some(if little { Arch::Mipsel } else { Arch::Mips })
    } else if cfg!(target_arch = "mips64") {
        Some(match (wide, little) {
            (true, false) => Arch::Mips64,
            (true, true) => Arch::Mips64el,
            (false, false) => Arch::Mips64n32,
            (false, true) => Arch::Mipsel64n32,
        })
    } else if cfg!(target_arch = "loongarch64") {
        Some(Arch::Loongarch64)
    } else {
        None
    }
}
