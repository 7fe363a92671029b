//! `sysfence dump`: the seccomp filters of a running process.
//!
//! In: a process id; optionally `--index N` for one filter (0 = the oldest,
//! the first installed). Out: every filter, oldest first, disassembled in
//! `bpf_asm` syntax with syscall names for the process's arch
//! (`--format asm`, the default), as C-like pseudo-code (`--format c`), or
//! as the raw `struct sock_filter` bytes (`--format raw`, one filter: with
//! several, pick one with `--index`).
//!
//! The kernel hands out filters only to a caller with `CAP_SYS_ADMIN` that
//! is not itself under seccomp, and only from processes in filter mode; each
//! refusal is reported as such (see `sysfence_linux::dump`).
//!
//! `--against PROFILE` proves the process's filters equal to the profile
//! instead (`crate::against`; exit 0 equal, 1 different).
//!
//! Exit status: 0; 1 when the process has no filter (or none at `--index`);
//! 2 when it cannot be read (no such process, not permitted, exited).

use std::path::PathBuf;

use sysfence_cbpf::Insn;
use sysfence_cbpf::asm::{DisasmOptions, Style, SyscallResolver, disassemble};
use sysfence_cbpf::insn::{Endian, encode};
use sysfence_cbpf::program::Program;
use sysfence_linux::dump::{DumpErrorKind, dump_all, dump_one, other_stack};
use sysfence_linux::status::{Target, process_arch};
use sysfence_profile::arch::Arch;

use crate::failure::{Failure, Outcome};
use crate::io::write_output;

/// Output formats.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `bpf_asm` text with syscall names in comments.
    Asm,
    /// Numbered C-like pseudo-code.
    C,
    /// Raw `struct sock_filter` bytes in native byte order.
    Raw,
}

/// Arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The process (or thread) id, or a file holding a raw program (as
    /// `seccomp-tools dump` writes one) to disassemble the same way.
    target: String,
    /// Only the filter at this index (0 = the oldest).
    #[arg(long)]
    index: Option<u32>,
    /// Write here instead of standard output.
    #[arg(short = 'o', long = "output")]
    output: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "asm")]
    format: Format,
    /// Print one JSON object: `pid` (null for a file), `arch`, and
    /// `filters`, each with `index`, `length` and `insns` (`[code, jt, jf, k]`).
    #[arg(long, conflicts_with = "format")]
    json: bool,
    /// With a file: the arch whose syscall names annotate it (default: the
    /// one the program's own arch check names, else this machine's).
    #[arg(long)]
    arch: Option<String>,
    /// Instead of printing the filters, prove them equal to this profile's
    /// meaning (read in the default context; `status PID --against` takes
    /// the context flags): exit 0 equal, 1 different.
    #[arg(long, value_name = "PROFILE")]
    against: Option<PathBuf>,
}

/// Names syscalls of one arch for the disassembler's comments.
#[derive(Debug, Clone, Copy)]
pub struct ArchResolver(pub Arch);

impl SyscallResolver for ArchResolver {
    fn number(&self, name: &str) -> Option<u32> {
        self.0.syscall_nr(name)
    }

    fn name(&self, nr: u32) -> Option<&str> {
        self.0.syscall_name(nr)
    }
}

/// Runs the verb.
pub fn run(args: Args) -> Outcome {
    let Ok(pid) = args.target.parse::<i32>() else {
        return file(&args);
    };
    if let Some(profile) = &args.against {
        let context = crate::cmd::context::ContextArgs::default();
        return crate::against::check(pid, profile, &context);
    }
    let arch = crate::restart::arch_of(pid);
    let filters = read(pid, args.index)?;
    if args.index.is_none()
        && let Ok(Some(tid)) = other_stack(pid, &Ok(filters.clone()))
    {
        eprintln!(
            "warning: thread {tid} of process {pid} holds another filter stack; these are thread {pid}'s (`sysfence status {pid}` lists each thread's)"
        );
    }
    if args.index.is_none()
        && let Ok(programs) = filters
            .iter()
            .map(|f| Program::new(f))
            .collect::<Result<Vec<_>, _>>()
    {
        crate::restart::warn_if_denied(pid, arch, &programs);
    }
    let audit = process_arch(Target::Pid(pid)).ok().flatten();
    let bytes = if args.json {
        json(Some(pid), audit, args.index, &filters).into_bytes()
    } else {
        match args.format {
            Format::Raw => raw(&filters)?,
            Format::Asm | Format::C => {
                let head = |i: u32, total: &str, len: usize| {
                    let age = if i == 0 { ", the oldest" } else { "" };
                    format!("; process {pid}, filter {i} of {total}{age}: {len} instructions")
                };
                text(audit, args.index, &filters, args.format, head).into_bytes()
            }
        }
    };
    write_output(args.output.as_ref(), &bytes)?;
    Ok(0)
}

/// The filters asked for, oldest first.
fn read(pid: i32, index: Option<u32>) -> Result<Vec<Vec<Insn>>, Failure> {
    let result = match index {
        Some(i) => dump_one(pid, i).map(|f| f.into_iter().collect()),
        None => dump_all(pid),
    };
    let filters = result.map_err(|e| match e.kind() {
        DumpErrorKind::NotFiltered => match other_stack(pid, &Err(e.clone())) {
            Ok(Some(tid)) => Failure::negative(format!(
                "{e}, but its thread {tid} is (`sysfence dump {tid}` reads that thread's filters)"
            )),
            _ => Failure::negative(&e),
        },
        _ => Failure::input(&e),
    })?;
    if filters.is_empty() {
        let what = index.map_or("any filter".to_string(), |i| format!("filter at index {i}"));
        return Err(Failure::negative(format!("process {pid} has no {what}")));
    }
    Ok(filters)
}

fn raw(filters: &[Vec<Insn>]) -> Result<Vec<u8>, Failure> {
    match filters {
        [one] => Ok(encode(one, Endian::NATIVE)),
        _ => Err(Failure::input(format!(
            "the process has {} filters; --format raw writes one: choose it with --index",
            filters.len()
        ))),
    }
}

/// `dump FILE`: a raw program read from a file, shown like a process's.
fn file(args: &Args) -> Outcome {
    let path = std::path::Path::new(&args.target);
    let bytes = crate::io::read_input(Some(path))?;
    let insns = sysfence_cbpf::insn::decode(&bytes, Endian::NATIVE)
        .map_err(|e| Failure::input(format!("{}: {e}", args.target)))?;
    let audit = match &args.arch {
        Some(a) => Some(crate::builtin_syscalls::parse_arch(a)?.audit),
        None => {
            crate::progfile::checked_arch(&insns).or_else(|| Arch::native().map(Arch::audit_arch))
        }
    };
    let filters = vec![insns];
    let bytes = if args.json {
        json(None, audit, None, &filters).into_bytes()
    } else {
        match args.format {
            Format::Raw => raw(&filters)?,
            _ => {
                let name = args.target.clone();
                let head =
                    move |_: u32, _: &str, len: usize| format!("; {name}: {len} instructions");
                text(audit, Some(0), &filters, args.format, head).into_bytes()
            }
        }
    };
    write_output(args.output.as_ref(), &bytes)?;
    Ok(0)
}

/// The filters as one JSON object (fields on `--json`).
fn json(pid: Option<i32>, audit: Option<u32>, index: Option<u32>, filters: &[Vec<Insn>]) -> String {
    let arch = audit.and_then(|a| Arch::from_audit(a, 0)).map(Arch::name);
    let list: Vec<serde_json::Value> = filters
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let insns: Vec<[u32; 4]> = f
                .iter()
                .map(|n| [u32::from(n.code), u32::from(n.jt), u32::from(n.jf), n.k])
                .collect();
            serde_json::json!({
                "index": index.unwrap_or(i as u32),
                "length": f.len(),
                "insns": insns,
            })
        })
        .collect();
    let value = serde_json::json!({"pid": pid, "arch": arch, "filters": list});
    format!("{value:#}\n")
}

/// The disassembly of every filter, each under a `;` header line that
/// `head(index, total, length)` writes (the arch is appended).
fn text(
    audit: Option<u32>,
    index: Option<u32>,
    filters: &[Vec<Insn>],
    format: Format,
    head: impl Fn(u32, &str, usize) -> String,
) -> String {
    let arch = audit.and_then(|a| Arch::from_audit(a, 0));
    let resolver = arch.map(ArchResolver);
    let style = if format == Format::C {
        Style::C
    } else {
        Style::Asm
    };
    let mut opts = DisasmOptions::new().style(style).arch(audit);
    if let Some(r) = &resolver {
        opts = opts.syscalls(r);
    }
    let arch_name = arch.map_or("unknown arch", Arch::name);
    let mut out = String::new();
    for (i, f) in filters.iter().enumerate() {
        let at = index.unwrap_or(i as u32);
        let total = if index.is_some() {
            "the stack".to_string()
        } else {
            filters.len().to_string()
        };
        out.push_str(&format!("{} ({arch_name})\n", head(at, &total, f.len())));
        out.push_str(&disassemble(f, &opts));
        if !out.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}
