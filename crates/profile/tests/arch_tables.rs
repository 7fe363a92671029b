//! Generates `src/arch/tables/*.rs` and checks that the committed files are
//! up to date.
//!
//! In: the `syscalls` crate's per-arch tables (a dev-dependency, so nothing
//! of it reaches the library) and the kernel facts under `src/arch/facts/`
//! for the ABIs that crate lacks (x32, s390, MIPS n32, the ARM-private
//! calls). Out: one Rust file per table with a provenance header, the rows
//! sorted by number and an index sorted by name.
//!
//! `BLESS=1 cargo test -p sysfence-profile --test arch_tables` rewrites the
//! files; without `BLESS` the test fails when a file differs from what the
//! generator produces, so a new `syscalls` release cannot slip in unnoticed.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The x32 ABI marks its numbers with this bit (`__X32_SYSCALL_BIT`).
use sysfence_abi::arch::X32_SYSCALL_BIT as X32_BIT;
/// MIPS ABI bases.
const MIPS_N64_BASE: u32 = 5000;
const MIPS_N32_BASE: u32 = 6000;
/// First MIPS row number (without base) that all MIPS ABIs share.
const MIPS_SHARED_FROM: u32 = 440;

/// One table to generate.
struct Spec {
    /// File stem under `src/arch/tables/`.
    file: &'static str,
    /// Human description for the header.
    what: &'static str,
    /// Where the rows come from.
    source: Source,
    /// The rows.
    rows: fn(&Facts) -> Vec<(String, u32)>,
}

/// Provenance of a table.
enum Source {
    /// A `syscalls` crate module, taken as is.
    Crate(&'static str),
    /// Derived from crate tables and kernel facts; the text says how.
    Derived(fn(&Versions) -> String),
}

impl Source {
    fn line(&self, v: &Versions) -> String {
        match self {
            Source::Crate(module) => crate_source(v, module),
            Source::Derived(text) => text(v),
        }
    }
}

struct Versions {
    crate_version: String,
    kernel: &'static str,
}

struct Facts {
    dir: PathBuf,
}

impl Facts {
    /// Rows `(number, abi, name)` of one facts file.
    fn rows(&self, file: &str) -> Vec<(u32, String, String)> {
        let path = self.dir.join(file);
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        text.lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'))
            .map(|(i, l)| parse_fact(file, i + 1, l))
            .collect()
    }
}

fn parse_fact(file: &str, line: usize, text: &str) -> (u32, String, String) {
    let fields: Vec<&str> = text.split_whitespace().collect();
    let [nr, abi, name] = fields[..] else {
        panic!("{file}:{line}: expected `<number> <abi> <name>`");
    };
    let nr = match nr.strip_prefix("0x") {
        Some(hex) => u32::from_str_radix(hex, 16),
        None => nr.parse(),
    }
    .unwrap_or_else(|e| panic!("{file}:{line}: bad number: {e}"));
    (nr, abi.to_string(), name.to_string())
}

/// The rows of one `syscalls` crate table. `Sysno::iter()` of 0.8.1 stops
/// one short of `Sysno::last()` (its `next()` never reaches the last id), so
/// the last row is added explicitly.
macro_rules! crate_rows {
    ($module:ident) => {
        syscalls::$module::Sysno::iter()
            .chain(std::iter::once(syscalls::$module::Sysno::last()))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .map(|s| {
                let name = s.name();
                let name = name.strip_prefix("r#").unwrap_or(name);
                (name.to_string(), s.id() as u32)
            })
            .collect::<Vec<_>>()
    };
}

fn crate_source(v: &Versions, module: &str) -> String {
    format!(
        "syscalls crate {} ({}), table {module}",
        v.crate_version, v.kernel
    )
}

/// Removes the rows a facts file marks as belonging to the other ABI
/// (checking that the crate agrees on their names) and adds the rows of
/// `keep_abi`, with `map` applied to every number.
fn split_abi(
    base: Vec<(String, u32)>,
    facts: &[(u32, String, String)],
    drop_abi: &str,
    keep_abi: &str,
    map: fn(u32) -> u32,
) -> Vec<(String, u32)> {
    let dropped: BTreeMap<u32, &str> = facts
        .iter()
        .filter(|(_, abi, _)| abi == drop_abi)
        .map(|(nr, _, name)| (*nr, name.as_str()))
        .collect();
    let mut rows: Vec<(String, u32)> = base
        .into_iter()
        .filter(|(name, nr)| match dropped.get(nr) {
            Some(fact) => {
                assert_eq!(fact, name, "facts and crate disagree on {nr}");
                false
            }
            None => true,
        })
        .map(|(name, nr)| (name, map(nr)))
        .collect();
    rows.extend(
        facts
            .iter()
            .filter(|(_, abi, _)| abi == keep_abi)
            .map(|(nr, _, name)| (name.clone(), map(*nr))),
    );
    rows
}

/// Applies a facts file of corrections: `rename` gives row `nr` the kernel's
/// name, `drop` removes row `nr` (whose crate name must match).
fn fixed(mut rows: Vec<(String, u32)>, facts: &Facts, file: &str) -> Vec<(String, u32)> {
    for (nr, fix, name) in facts.rows(file) {
        let at = rows
            .iter()
            .position(|r| r.1 == nr)
            .unwrap_or_else(|| panic!("{file}: the crate has no row {nr}"));
        match fix.as_str() {
            "rename" => rows[at].0 = name,
            "drop" => {
                assert_eq!(rows[at].0, name, "{file}: row {nr}");
                rows.remove(at);
            }
            other => panic!("{file}: unknown fix {other}"),
        }
    }
    rows
}

fn x32_rows(facts: &Facts) -> Vec<(String, u32)> {
    let abi = facts.rows("x86_64_abi.tbl");
    split_abi(crate_rows!(x86_64), &abi, "64", "x32", |nr| nr | X32_BIT)
}

fn s390_rows(facts: &Facts) -> Vec<(String, u32)> {
    let abi = facts.rows("s390_abi.tbl");
    split_abi(crate_rows!(s390x), &abi, "64", "32", |nr| nr)
}

fn arm_rows(facts: &Facts) -> Vec<(String, u32)> {
    let mut rows = crate_rows!(arm);
    let private = facts.rows("arm_private.tbl");
    rows.extend(private.into_iter().map(|(nr, _, name)| (name, nr)));
    rows
}

fn mips_n64_rows(facts: &Facts) -> Vec<(String, u32)> {
    let mut rows = crate_rows!(mips64);
    let extra = facts.rows("mips_n64_extra.tbl");
    rows.extend(
        extra
            .into_iter()
            .map(|(nr, _, name)| (name, MIPS_N64_BASE + nr)),
    );
    rows
}

fn mips_n32_rows(facts: &Facts) -> Vec<(String, u32)> {
    let mut rows: Vec<(String, u32)> = facts
        .rows("mips_n32.tbl")
        .into_iter()
        .map(|(nr, abi, name)| {
            assert_eq!(abi, "n32");
            assert!(
                nr < MIPS_SHARED_FROM,
                "n32 fact row {nr} is in the shared range"
            );
            (name, MIPS_N32_BASE + nr)
        })
        .collect();
    rows.extend(
        mips_n64_rows(facts)
            .into_iter()
            .filter(|(_, nr)| *nr >= MIPS_N64_BASE + MIPS_SHARED_FROM)
            .map(|(name, nr)| (name, nr - MIPS_N64_BASE + MIPS_N32_BASE)),
    );
    rows
}

fn specs() -> Vec<Spec> {
    vec![
        Spec {
            file: "x86_64",
            what: "x86_64",
            source: Source::Crate("x86_64"),
            rows: |_| crate_rows!(x86_64),
        },
        Spec {
            file: "x32",
            what: "x32 (numbers carry bit 30)",
            source: Source::Derived(|v| {
                format!(
                    "syscalls crate {} ({}) table x86_64, common rows only, plus the x32 rows \
                     of {} syscall_64.tbl (facts/x86_64_abi.tbl), numbers | 0x40000000",
                    v.crate_version, v.kernel, v.kernel
                )
            }),
            rows: x32_rows,
        },
        Spec {
            file: "x86",
            what: "x86 (i386)",
            source: Source::Crate("x86"),
            rows: |_| crate_rows!(x86),
        },
        Spec {
            file: "aarch64",
            what: "aarch64",
            source: Source::Derived(|v| {
                format!(
                    "syscalls crate {} ({}) table aarch64, corrected to the kernel's \
                     arm64 ABI (facts/aarch64_fixes.tbl)",
                    v.crate_version, v.kernel
                )
            }),
            rows: |facts| fixed(crate_rows!(aarch64), facts, "aarch64_fixes.tbl"),
        },
        Spec {
            file: "arm",
            what: "arm (EABI)",
            source: Source::Derived(|v| {
                format!(
                    "syscalls crate {} ({}) table arm, plus the ARM-private calls of \
                     asm/unistd.h (facts/arm_private.tbl)",
                    v.crate_version, v.kernel
                )
            }),
            rows: arm_rows,
        },
        Spec {
            file: "riscv64",
            what: "riscv64",
            source: Source::Crate("riscv64"),
            rows: |_| crate_rows!(riscv64),
        },
        Spec {
            file: "s390x",
            what: "s390x",
            source: Source::Crate("s390x"),
            rows: |_| crate_rows!(s390x),
        },
        Spec {
            file: "s390",
            what: "s390 (31-bit)",
            source: Source::Derived(|v| {
                format!(
                    "syscalls crate {} ({}) table s390x, common rows only, plus the 32-bit rows \
                     of {} s390 syscall.tbl (facts/s390_abi.tbl)",
                    v.crate_version, v.kernel, v.kernel
                )
            }),
            rows: s390_rows,
        },
        Spec {
            file: "ppc64",
            what: "ppc64 and ppc64le",
            source: Source::Crate("powerpc64"),
            rows: |_| crate_rows!(powerpc64),
        },
        Spec {
            file: "ppc",
            what: "ppc (32-bit)",
            source: Source::Crate("powerpc"),
            rows: |_| crate_rows!(powerpc),
        },
        Spec {
            file: "mips_o32",
            what: "MIPS o32 (mips, mipsel)",
            source: Source::Crate("mips"),
            rows: |_| crate_rows!(mips),
        },
        Spec {
            file: "mips_n64",
            what: "MIPS n64 (mips64, mips64el)",
            source: Source::Derived(|v| {
                format!(
                    "syscalls crate {} ({}) table mips64, plus the n64 rows it lacks \
                     (facts/mips_n64_extra.tbl)",
                    v.crate_version, v.kernel
                )
            }),
            rows: mips_n64_rows,
        },
        Spec {
            file: "mips_n32",
            what: "MIPS n32 (mips64n32, mipsel64n32)",
            source: Source::Derived(|v| {
                format!(
                    "Linux syscall_n32.tbl rows 0..=439 (facts/mips_n32.tbl) + 6000, and rows \
                     440 and above from the n64 table (syscalls crate {} ({}) table mips64 and \
                     facts/mips_n64_extra.tbl), moved from base 5000 to 6000",
                    v.crate_version, v.kernel
                )
            }),
            rows: mips_n32_rows,
        },
        Spec {
            file: "loongarch64",
            what: "loongarch64",
            source: Source::Derived(|v| {
                format!(
                    "syscalls crate {} ({}) table loongarch64, corrected to the kernel's \
                     loongarch ABI (facts/loongarch64_fixes.tbl)",
                    v.crate_version, v.kernel
                )
            }),
            rows: |facts| fixed(crate_rows!(loongarch64), facts, "loongarch64_fixes.tbl"),
        },
    ]
}

/// The `syscalls` version the workspace lock file pins, and the kernel
/// release its tables come from (its changelog).
fn versions(root: &Path) -> Versions {
    let lock = std::fs::read_to_string(root.join("Cargo.lock")).expect("read Cargo.lock");
    let mut lines = lock.lines();
    let crate_version = loop {
        match lines.next() {
            Some("name = \"syscalls\"") => {
                let v = lines.next().expect("version line");
                break v
                    .trim_start_matches("version = \"")
                    .trim_end_matches('"')
                    .to_string();
            }
            Some(_) => {}
            None => panic!("syscalls is not in Cargo.lock"),
        }
    };
    let kernel = match crate_version.as_str() {
        "0.8.1" => "Linux 6.18",
        other => panic!("syscalls {other}: add its kernel version (see its CHANGELOG)"),
    };
    Versions {
        crate_version,
        kernel,
    }
}

fn render(spec: &Spec, versions: &Versions, mut rows: Vec<(String, u32)>) -> String {
    rows.sort_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
    check_rows(spec.file, &rows);
    let mut by_name: Vec<usize> = (0..rows.len()).collect();
    by_name.sort_by(|&a, &b| rows[a].0.cmp(&rows[b].0));
    let source = spec.source.line(versions);
    let mut out = String::new();
    let _ = writeln!(out, "//! Syscall table: {}.", spec.what);
    out.push_str("//!\n");
    out.push_str("//! Generated by `crates/profile/tests/arch_tables.rs`; do not edit.\n");
    out.push_str(
        "//! Regenerate with `BLESS=1 cargo test -p sysfence-profile --test arch_tables`.\n",
    );
    let _ = writeln!(out, "//!\n//! Source: {source}.\n");
    out.push_str("/// Where the rows below come from.\n");
    let _ = writeln!(out, "pub(crate) const SOURCE: &str = {source:?};\n");
    out.push_str("/// `(name, number)`, sorted by number.\n");
    out.push_str("pub(crate) static BY_NR: &[(&str, u32)] = &[\n");
    for (name, nr) in &rows {
        let _ = writeln!(out, "    ({name:?}, {nr}),");
    }
    out.push_str("];\n\n");
    out.push_str("/// Indexes into [`BY_NR`], sorted by name.\n");
    out.push_str("pub(crate) static BY_NAME: &[u16] = &[\n");
    for line in fill(&by_name) {
        let _ = writeln!(out, "{line}");
    }
    out.push_str("];\n");
    out
}

/// Short items packed into lines of at most 99 columns, as rustfmt lays
/// out an array of short literals (so `cargo fmt --check` passes).
fn fill(items: &[usize]) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::from("   ");
    for item in items {
        let piece = format!(" {item},");
        if line.len() + piece.len() > 99 {
            lines.push(std::mem::replace(&mut line, String::from("   ")));
        }
        line.push_str(&piece);
    }
    lines.push(line);
    lines
}

/// Names unique, numbers unique, the index fits in a `u16`.
fn check_rows(file: &str, rows: &[(String, u32)]) {
    let names: BTreeSet<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(names.len(), rows.len(), "{file}: duplicate name");
    let nrs: BTreeSet<u32> = rows.iter().map(|r| r.1).collect();
    assert_eq!(nrs.len(), rows.len(), "{file}: duplicate number");
    assert!(rows.len() <= usize::from(u16::MAX), "{file}: too many rows");
}

#[test]
fn generated_tables_are_up_to_date() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = manifest.join("../..");
    let versions = versions(&root);
    let facts = Facts {
        dir: manifest.join("src/arch/facts"),
    };
    let bless = std::env::var_os("BLESS").is_some_and(|v| v == "1");
    let mut stale = Vec::new();
    for spec in specs() {
        let text = render(&spec, &versions, (spec.rows)(&facts));
        let path = manifest.join(format!("src/arch/tables/{}.rs", spec.file));
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        if current == text {
            continue;
        }
        if bless {
            std::fs::write(&path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        } else {
            stale.push(spec.file);
        }
    }
    assert!(
        stale.is_empty(),
        "stale syscall tables {stale:?}: run BLESS=1 cargo test -p sysfence-profile --test arch_tables"
    );
}
