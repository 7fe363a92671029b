//! `sysfence status`: how contained is a process?
//!
//! In: a process id, or none for the process sysfence itself runs in. Filters
//! are inherited through `fork` and kept across `execve`, so with no PID the
//! answer is what confines the shell (or script) that started sysfence and
//! everything it starts.
//!
//! Out: the `Seccomp`, `Seccomp_filters` and `NoNewPrivs` lines of
//! `/proc/PID/status`, and, when the filters can be read (root, sysfence not
//! itself filtered), every syscall of the process's arch run through all
//! stacked filters in the interpreter, combined as the kernel combines them
//! (newest first, lowest action wins): how many are allowed, denied with
//! which errno, killed, or otherwise handled, with the names of all but the
//! allowed ones (`--all` lists those too).
//!
//! The arch is the one of the process's executable; `--arch` overrides it
//! (for example `x86` to see what `int 0x80` calls get). Syscall numbers
//! outside the arch's table are not evaluated.
//!
//! Exit status: 0 when the status was read (whether or not the filters
//! could be); 2 for a process that does not exist or unreadable status.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use sysfence_cbpf::action::{Action, combine};
use sysfence_cbpf::data::SeccompData;
use sysfence_cbpf::interp::{self, cache::kernel_bypass};
use sysfence_cbpf::program::Program;
use sysfence_linux::dump::dump_all;
use sysfence_linux::status::{Mode, ProcStatus, Target, process_arch, read_status};
use sysfence_profile::arch::Arch;

use crate::failure::{Failure, Outcome};

/// Arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The process id; default: the process sysfence runs in.
    pid: Option<i32>,
    /// Evaluate this arch's syscalls instead of the executable's.
    #[arg(long)]
    arch: Option<String>,
    /// Also list the allowed syscalls by name.
    #[arg(long)]
    all: bool,
}

/// Runs the verb.
pub fn run(args: Args) -> Outcome {
    let target = args.pid.map_or(Target::SelfProcess, Target::Pid);
    let status = read_status(target).map_err(Failure::input)?;
    let mut out = header(target, &status);
    let arch = match &args.arch {
        Some(name) => Arch::parse(name).map_err(Failure::input)?,
        None => executable_arch(target).ok_or_else(|| {
            Failure::input("the process's arch has no syscall table: pass --arch")
        })?,
    };
    match filters(target, &status) {
        Ok(None) => {
            let _ = writeln!(out, "no filter: every {} syscall is allowed", arch.name());
        }
        Ok(Some(programs)) => out.push_str(&report(&programs, arch, args.all)),
        Err(why) => {
            let _ = writeln!(out, "filters: cannot be read: {why}");
        }
    }
    print!("{out}");
    Ok(0)
}

fn header(target: Target, s: &ProcStatus) -> String {
    let who = match target {
        Target::SelfProcess => format!(
            "process {} ({}, sysfence itself: what its caller is confined by)",
            std::process::id(),
            s.name
        ),
        Target::Pid(pid) => format!("process {pid} ({})", s.name),
    };
    let mode = s
        .mode
        .map_or("unknown (no seccomp in this kernel)".to_string(), |m| {
            m.to_string()
        });
    let count = s
        .filters
        .map_or(String::new(), |n| format!(", {n} filter(s)"));
    format!(
        "{who}\nseccomp: {mode}{count}\nno_new_privs: {}\n",
        if s.no_new_privs { "yes" } else { "no" }
    )
}

fn executable_arch(target: Target) -> Option<Arch> {
    let audit = process_arch(target)
        .ok()
        .flatten()
        .or_else(|| Arch::native().map(Arch::audit_arch))?;
    Arch::from_audit(audit, 0)
}

/// The validated filters, oldest first; `None` when the process has none.
fn filters(target: Target, s: &ProcStatus) -> Result<Option<Vec<Program>>, String> {
    match s.mode {
        Some(Mode::Filter) => {}
        Some(Mode::Strict) => {
            return Err("strict mode: only read, write, exit and rt_sigreturn are allowed".into());
        }
        _ => return Ok(None),
    }
    let pid = match target {
        Target::Pid(pid) => pid,
        Target::SelfProcess => {
            return Err("sysfence runs inside this sandbox, and the kernel hands filters only to an unfiltered caller: run `sysfence status PID` from outside".into());
        }
    };
    let raw = dump_all(pid).map_err(|e| e.to_string())?;
    raw.iter()
        .enumerate()
        .map(|(i, f)| Program::new(f).map_err(|e| format!("filter {i} does not validate: {e}")))
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// What the stacked filters do with one syscall of `arch`.
pub fn decide(programs: &[Program], arch: Arch, nr: u32) -> Action {
    let audit = arch.audit_arch();
    if kernel_bypass(audit, nr) {
        return Action::Allow;
    }
    let data = SeccompData::new(audit, nr);
    Action::from_raw(combine(
        programs.iter().rev().map(|p| interp::run(p, &data).raw),
    ))
}

/// Counts and lists for every syscall in the arch's table.
fn report(programs: &[Program], arch: Arch, all: bool) -> String {
    let mut allowed = Vec::new();
    let mut errno: BTreeMap<u16, Vec<&str>> = BTreeMap::new();
    let mut kill = Vec::new();
    let mut other: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for &(name, nr) in arch.table() {
        match decide(programs, arch, nr) {
            Action::Allow | Action::Log => allowed.push(name),
            Action::Errno(e) => errno.entry(e).or_default().push(name),
            a if a.kills() => kill.push(name),
            a => other.entry(a.to_string()).or_default().push(name),
        }
    }
    let total = arch.table().len();
    let denied: usize = errno.values().map(Vec::len).sum();
    let others: usize = other.values().map(Vec::len).sum();
    let mut out = format!(
        "{} filter(s), {} syscalls in the {} table: {} allowed, {denied} errno, {} kill, {others} other\n",
        programs.len(),
        total,
        arch.name(),
        allowed.len(),
        kill.len()
    );
    for (e, names) in &errno {
        let _ = writeln!(
            out,
            "errno {} ({}): {}: {}",
            e,
            errno_name(*e),
            names.len(),
            names.join(" ")
        );
    }
    if !kill.is_empty() {
        let _ = writeln!(out, "kill: {}: {}", kill.len(), kill.join(" "));
    }
    for (a, names) in &other {
        let _ = writeln!(out, "{a}: {}: {}", names.len(), names.join(" "));
    }
    if all {
        let _ = writeln!(out, "allowed: {}: {}", allowed.len(), allowed.join(" "));
    }
    out
}

/// The usual name of an errno value (the common ones profiles use).
fn errno_name(e: u16) -> &'static str {
    match e {
        0 => "success, syscall skipped",
        1 => "EPERM",
        2 => "ENOENT",
        9 => "EBADF",
        13 => "EACCES",
        22 => "EINVAL",
        38 => "ENOSYS",
        95 => "EOPNOTSUPP",
        _ => "errno",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sysfence_cbpf::Insn;

    /// `ld [0]; jeq #nr, 0, 1; ret #hit; ret #ALLOW`.
    fn only(nr: u32, hit: u32) -> Program {
        Program::new(&[
            Insn::new(0x20, 0, 0, 0),
            Insn::new(0x15, 0, 1, nr),
            Insn::new(0x06, 0, 0, hit),
            Insn::new(0x06, 0, 0, 0x7fff_0000),
        ])
        .expect("valid")
    }

    #[test]
    fn stacked_filters_combine_as_the_kernel_does() {
        let arch = Arch::X86_64;
        // Oldest first: ERRNO(1) on chmod (90), then ERRNO(2) on chmod, then KILL on kill (62).
        let stack = [
            only(90, 0x0005_0001),
            only(90, 0x0005_0002),
            only(62, 0x8000_0000),
        ];
        assert_eq!(
            decide(&stack, arch, 90),
            Action::Errno(2),
            "equal actions: the newest data wins"
        );
        assert_eq!(decide(&stack[..1], arch, 90), Action::Errno(1));
        assert_eq!(decide(&stack, arch, 62), Action::KillProcess);
        assert_eq!(decide(&stack, arch, 0), Action::Allow);
        // uretprobe bypasses every filter on x86_64.
        assert_eq!(decide(&[only(335, 0)], arch, 335), Action::Allow);
        let text = report(&stack, arch, false);
        assert!(text.starts_with("3 filter(s), "), "{text}");
        assert!(text.contains("\nerrno 2 (ENOENT): 1: chmod\n"), "{text}");
        assert!(text.contains("\nkill: 1: kill\n"), "{text}");
    }
}
