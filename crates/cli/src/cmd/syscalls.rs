//! `sysfence syscalls`: print an arch's syscall table.
//!
//! In: `--arch A` in any spelling [`Arch::from_name`] accepts (default: the
//! arch sysfence was built for), and optionally names or numbers to look up.
//! Out: a `#` header line (arch, libseccomp name, AUDIT_ARCH value, byte
//! order, argument width, row count, largest number), a `#` line with the
//! table's source, then one `NR NAME` line per row, sorted by number. On
//! arches where libseccomp multiplexes socket and IPC calls, a row that is
//! also reachable through `socketcall` / `ipc` carries a note, and the calls
//! reachable only that way follow as `#` lines.
//!
//! Exit status: 0; 2 when a looked-up name or number is not in the table
//! (the others are still printed), for an unknown arch (the message lists
//! the known ones) or one without a table.

use std::io::Write;

use sysfence_profile::arch::{Arch, IPC_CALLS, SOCKETCALL_CALLS};
use sysfence_profile::ir::ArgWidth;

use crate::failure::{Failure, Outcome};

/// Arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Architecture: x86_64, x32, x86, aarch64, arm, riscv64, s390x, s390,
    /// ppc64le, ppc64, ppc, mips, mipsel, mips64, mips64el, mips64n32,
    /// mipsel64n32, loongarch64 (also SCMP_ARCH_* and Go/Docker names).
    /// Default: the arch sysfence was built for.
    #[arg(long)]
    arch: Option<String>,
    /// Only these syscalls: names, or numbers (decimal or 0x hex) as
    /// `seccomp_data.nr` carries them.
    lookup: Vec<String>,
}

/// Runs the verb.
pub fn run(args: Args) -> Outcome {
    let arch = resolve_arch(args.arch.as_deref())?;
    let mut out = Vec::new();
    let status = if args.lookup.is_empty() {
        write_table(&mut out, arch);
        0
    } else {
        write_lookups(&mut out, arch, &args.lookup)
    };
    emit(&out)?;
    Ok(status)
}

fn resolve_arch(name: Option<&str>) -> Result<Arch, Failure> {
    match name {
        Some(name) => Arch::parse(name).map_err(Failure::input),
        None => Arch::native()
            .ok_or_else(|| Failure::input("this build has no native arch table: pass --arch")),
    }
}

/// Writes to stdout; a closed pipe (`| head`) is not an error.
fn emit(bytes: &[u8]) -> Result<(), Failure> {
    match std::io::stdout().lock().write_all(bytes) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Failure::input(format!("writing output: {e}")))
        }
        _ => Ok(()),
    }
}

fn header(arch: Arch) -> String {
    let order = if arch.little_endian() {
        "little-endian"
    } else {
        "big-endian"
    };
    let width = match arch.width() {
        ArgWidth::Bits64 => "64-bit arguments",
        ArgWidth::Bits32 => "32-bit arguments",
    };
    format!(
        "# {} ({}) audit {:#010x} {order} {width}, {} syscalls, max {}\n# source: {}\n",
        arch.name(),
        arch.scmp_name(),
        arch.audit_arch(),
        arch.table().len(),
        arch.max_nr(),
        arch.source()
    )
}

/// `  # also socketcall(102) call 1`, or nothing.
fn route_note(arch: Arch, name: &str) -> String {
    match arch.multiplexed(name) {
        Some(m) => format!(
            "\t# also {}({}) call {}",
            via_name(arch, m.via_nr),
            m.via_nr,
            m.call
        ),
        None => String::new(),
    }
}

fn via_name(arch: Arch, nr: u32) -> &'static str {
    arch.syscall_name(nr).unwrap_or("multiplexer")
}

fn write_table(out: &mut Vec<u8>, arch: Arch) {
    out.extend_from_slice(header(arch).as_bytes());
    for &(name, nr) in arch.table() {
        out.extend_from_slice(format!("{nr} {name}{}\n", route_note(arch, name)).as_bytes());
    }
    let routed = SOCKETCALL_CALLS.iter().chain(IPC_CALLS.iter());
    for &(name, _) in routed {
        if arch.syscall_nr(name).is_some() {
            continue;
        }
        if let Some(m) = arch.multiplexed(name) {
            let via = via_name(arch, m.via_nr);
            let line = format!("# {name}: only {via}({}) call {}\n", m.via_nr, m.call);
            out.extend_from_slice(line.as_bytes());
        }
    }
}

/// One `NR NAME` line per found query; returns 2 if any was not found (a
/// name or number that is not a syscall is bad input, as on every verb).
fn write_lookups(out: &mut Vec<u8>, arch: Arch, queries: &[String]) -> u8 {
    let mut status = 0;
    for query in queries {
        match lookup(arch, query) {
            Some((name, nr)) => {
                let line = format!("{nr} {name}{}\n", route_note(arch, name));
                out.extend_from_slice(line.as_bytes());
            }
            None => match arch.multiplexed(query) {
                Some(m) => {
                    let via = via_name(arch, m.via_nr);
                    let line = format!("# {query}: only {via}({}) call {}\n", m.via_nr, m.call);
                    out.extend_from_slice(line.as_bytes());
                }
                None => {
                    eprintln!("sysfence: {}: no syscall `{query}`", arch.name());
                    status = 2;
                }
            },
        }
    }
    status
}

fn lookup(arch: Arch, query: &str) -> Option<(&'static str, u32)> {
    let number = match query.strip_prefix("0x") {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => query.parse().ok(),
    };
    if let Some(nr) = number {
        return arch.syscall_name(nr).map(|name| (name, nr));
    }
    let nr = arch.syscall_nr(query)?;
    let name = arch.syscall_name(nr)?;
    Some((name, nr))
}
