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
//! `--against PROFILE` (with the context flags) instead proves the
//! process's filters equal to the profile's meaning, or shows where they
//! differ (`crate::against`).
//!
//! Exit status: 0 when the status was read (whether or not the filters
//! could be); 2 for a process that does not exist or unreadable status.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use sysfence_cbpf::action::{Action, decide_stack};
use sysfence_cbpf::data::SeccompData;
use sysfence_cbpf::interp::cache::kernel_bypass;
use sysfence_cbpf::program::Program;
use sysfence_linux::dump::dump_all;
use sysfence_linux::probe::{Answer, Entry, probe};
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
    /// Ask the filters this process runs under from the inside: every
    /// syscall number of x86_64 (and i386 through `int 0x80`), in a forked
    /// child, without running any call.
    #[arg(long, conflicts_with = "pid")]
    probe: bool,
    /// Print one JSON object (see `docs/guide.md` for the fields).
    ///
    /// Fields: `pid`, `name`, `seccomp`, `filter_count`, `no_new_privs`,
    /// `arch`, `filters` (`allowed`, `errno` {errno: names}, `kill`,
    /// `other` {action: names}; `[]` with no filter), `filters_error`,
    /// `threads` (null, or per group of threads with one stack: `tids`,
    /// `filters`, `filters_error`) and `probe` (null without `--probe`).
    #[arg(long)]
    json: bool,
    /// Prove the process confined by exactly what this profile says (read
    /// with the context flags): exit 0 equal, 1 with an input where they
    /// differ and whether the process is at least as strict.
    #[arg(long, value_name = "PROFILE", requires = "pid", conflicts_with_all = ["probe", "json"])]
    against: Option<std::path::PathBuf>,
    #[command(flatten)]
    context: crate::cmd::context::ContextArgs,
}

/// Runs the verb.
pub fn run(args: Args) -> Outcome {
    if let (Some(profile), Some(pid)) = (&args.against, args.pid) {
        return crate::against::check(pid, profile, &args.context);
    }
    let target = args.pid.map_or(Target::SelfProcess, Target::Pid);
    let status = read_status(target).map_err(Failure::input)?;
    let arch = match &args.arch {
        Some(name) => Arch::parse(name).map_err(Failure::input)?,
        None => executable_arch(target).ok_or_else(|| {
            Failure::input("the process's arch has no syscall table: pass --arch")
        })?,
    };
    let stack = filters(target, &status);
    if let (Target::Pid(pid), Ok(Some(programs))) = (target, &stack) {
        crate::restart::warn_if_denied(pid, Some(arch), programs);
    }
    let probed = args.probe.then(|| probe_all(&args));
    let groups = thread_groups(target);
    if args.json {
        let mut value = json(target, &status, arch, &stack, probed.as_deref());
        value["threads"] = threads_json(&groups, arch);
        crate::io::write_output(None, format!("{value:#}\n").as_bytes())?;
        return Ok(0);
    }
    let mut out = header(target, &status);
    if groups.len() > 1 {
        let _ = writeln!(out, "the threads' filter stacks differ:");
        for (tids, stack) in &groups {
            let list: Vec<String> = tids.iter().map(i32::to_string).collect();
            let _ = writeln!(out, "threads {}:", list.join(", "));
            out.push_str(&stack_text(stack, arch, args.all));
        }
    } else {
        out.push_str(&stack_text(&stack, arch, args.all));
    }
    for p in probed.iter().flatten() {
        out.push_str(&p.text(args.all));
    }
    print!("{out}");
    Ok(0)
}

/// `null` when every thread shares one stack, else one object per group:
/// `tids`, `filters` and `filters_error` as at the top level.
fn threads_json(groups: &[(Vec<i32>, Stack)], arch: Arch) -> serde_json::Value {
    if groups.len() < 2 {
        return serde_json::Value::Null;
    }
    groups
        .iter()
        .map(|(tids, stack)| {
            let (filters, error) = stack_json(stack, arch);
            serde_json::json!({"tids": tids, "filters": filters, "filters_error": error})
        })
        .collect()
}

/// `filters` and `filters_error` of one stack.
fn stack_json(stack: &Stack, arch: Arch) -> (serde_json::Value, Option<String>) {
    match stack {
        Ok(None) => (serde_json::json!([]), None),
        Ok(Some(programs)) => (classify(programs, arch).json(), None),
        Err(why) => (serde_json::Value::Null, Some(why.clone())),
    }
}

/// A stack's report, or why it has none.
fn stack_text(stack: &Result<Option<Vec<Program>>, String>, arch: Arch, all: bool) -> String {
    match stack {
        Ok(None) => format!("no filter: every {} syscall is allowed\n", arch.name()),
        Ok(Some(programs)) => report(programs, arch, all),
        Err(why) => format!("filters: cannot be read: {why}\n"),
    }
}

/// A process's threads grouped by filter stack (`/proc/PID/task`); one
/// group when they all share a stack (or for sysfence itself).
type Stack = Result<Option<Vec<Program>>, String>;
fn thread_groups(target: Target) -> Vec<(Vec<i32>, Stack)> {
    let Target::Pid(pid) = target else {
        return Vec::new();
    };
    let mut groups: Vec<(Vec<i32>, Stack)> = Vec::new();
    for tid in sysfence_linux::status::thread_ids(pid) {
        let thread = Target::Pid(tid);
        let stack = read_status(thread)
            .map_err(|e| e.to_string())
            .and_then(|s| filters(thread, &s));
        match groups.iter_mut().find(|(_, g)| same_stack(g, &stack)) {
            Some((members, _)) => members.push(tid),
            None => groups.push((vec![tid], stack)),
        }
    }
    groups
}

fn same_stack(a: &Stack, b: &Stack) -> bool {
    match (a, b) {
        (Ok(Some(x)), Ok(Some(y))) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| p.insns() == q.insns())
        }
        (Ok(None), Ok(None)) => true,
        (Err(x), Err(y)) => x == y,
        _ => false,
    }
}

/// What `--probe` found for one arch.
#[derive(Debug)]
struct Probed {
    arch: Arch,
    classes: Result<Classes, String>,
}

/// What probing cannot tell, printed with every probe.
const PROBE_LIMITS: &str = "probing cannot tell: ALLOW from ERRNO(38), ALLOW from LOG or TRACE, KILL from TRAP, USER_NOTIF (the supervisor decides); only arguments of zero are tried, so argument-dependent rules are seen for zero only";

impl Probed {
    fn text(&self, all: bool) -> String {
        let name = self.arch.name();
        match &self.classes {
            Err(why) => format!("probe {name}: cannot be probed: {why}\n"),
            Ok(c) => {
                let mut out = format!(
                    "probe {name} ({} numbers): {} allowed or ENOSYS, {} errno, {} killed or trapped\n",
                    self.arch.table().len(),
                    c.allowed.len(),
                    c.denied(),
                    c.kill.len()
                );
                out.push_str(&c.lines("killed or trapped", all, "allowed or ENOSYS"));
                out.push_str(&format!("probe {name}: {PROBE_LIMITS}\n"));
                out
            }
        }
    }

    fn json(&self) -> serde_json::Value {
        match &self.classes {
            Ok(c) => serde_json::json!({
                "arch": self.arch.name(),
                "numbers": self.arch.table().len(),
                "allowed_or_enosys": c.allowed,
                "errno": c.json()["errno"],
                "killed_or_trapped": c.kill,
                "cannot_tell": PROBE_LIMITS,
            }),
            Err(why) => serde_json::json!({"arch": self.arch.name(), "error": why}),
        }
    }
}

/// Probes the native arch and its `int 0x80` compat arch.
fn probe_all(args: &Args) -> Vec<Probed> {
    let progress = sysfence_linux::progress::Progress::start("probing every syscall number");
    let mut arches = vec![(Arch::X86_64, Entry::Syscall)];
    if args.arch.is_none()
        || args
            .arch
            .as_deref()
            .is_some_and(|a| Arch::parse(a) == Ok(Arch::X86))
    {
        arches.push((Arch::X86, Entry::Int80));
    }
    let out = arches
        .into_iter()
        .map(|(arch, entry)| Probed {
            arch,
            classes: probe_arch(arch, entry),
        })
        .collect();
    progress.finish();
    out
}

/// Probes every number of `arch`'s table but those the kernel lets bypass
/// every filter (`uretprobe`: allowed, and fatal to call outside a probe).
fn probe_arch(arch: Arch, entry: Entry) -> Result<Classes, String> {
    let audit = arch.audit_arch();
    let (bypass, asked): (Vec<_>, Vec<_>) = arch
        .table()
        .iter()
        .partition(|&&(_, nr)| kernel_bypass(audit, nr));
    let nrs: Vec<u32> = asked.iter().map(|&&(_, nr)| nr).collect();
    let answers = probe(entry, &nrs).map_err(|e| e.to_string())?;
    let mut classes = Classes::default();
    for &&(name, _) in &bypass {
        classes.add(name, Action::Allow);
    }
    for (&&(name, _), answer) in asked.iter().zip(answers) {
        let action = match answer {
            Answer::AllowedOrEnosys => Action::Allow,
            Answer::Errno(e) => Action::Errno(e),
            Answer::KilledOrTrapped => Action::KillProcess,
        };
        classes.add(name, action);
    }
    Ok(classes)
}

/// The whole status as one JSON object.
fn json(
    target: Target,
    s: &ProcStatus,
    arch: Arch,
    stack: &Result<Option<Vec<Program>>, String>,
    probed: Option<&[Probed]>,
) -> serde_json::Value {
    let pid = target.pid();
    let (filters, error) = stack_json(stack, arch);
    serde_json::json!({
        "pid": pid,
        "name": s.name,
        "seccomp": s.mode.map(|m| m.to_string()),
        "filter_count": s.filters,
        "no_new_privs": s.no_new_privs,
        "arch": arch.name(),
        "filters": filters,
        "filters_error": error,
        "probe": probed.map(|p| p.iter().map(Probed::json).collect::<Vec<_>>()),
    })
}

fn header(target: Target, s: &ProcStatus) -> String {
    let who = match target {
        Target::SelfProcess => format!(
            "process {} ({}, sysfence itself: what its caller is confined by)",
            target.pid(),
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
fn decide(programs: &[Program], arch: Arch, nr: u32) -> Action {
    decide_stack(programs, &SeccompData::new(arch.audit_arch(), nr))
}

/// Every syscall of a table sorted by what it gets.
#[derive(Debug, Default)]
struct Classes {
    allowed: Vec<&'static str>,
    errno: BTreeMap<u16, Vec<&'static str>>,
    kill: Vec<&'static str>,
    other: BTreeMap<String, Vec<&'static str>>,
}

impl Classes {
    fn add(&mut self, name: &'static str, action: Action) {
        match action {
            Action::Allow => self.allowed.push(name),
            // The errno the process sees: the kernel caps the data.
            Action::Errno(e) => self
                .errno
                .entry(e.min(sysfence_cbpf::action::MAX_ERRNO))
                .or_default()
                .push(name),
            a if a.kills() => self.kill.push(name),
            a => self.other.entry(a.to_string()).or_default().push(name),
        }
    }

    fn denied(&self) -> usize {
        self.errno.values().map(Vec::len).sum()
    }

    fn others(&self) -> usize {
        self.other.values().map(Vec::len).sum()
    }

    /// The lines after the summary; `kill_label` names the kill class.
    fn lines(&self, kill_label: &str, all: bool, allowed_label: &str) -> String {
        let mut out = String::new();
        for (e, names) in &self.errno {
            let _ = writeln!(
                out,
                "errno {e} ({}): {}: {}",
                errno_name(*e),
                names.len(),
                names.join(" ")
            );
        }
        if !self.kill.is_empty() {
            let _ = writeln!(
                out,
                "{kill_label}: {}: {}",
                self.kill.len(),
                self.kill.join(" ")
            );
        }
        for (a, names) in &self.other {
            let _ = writeln!(out, "{a}: {}: {}", names.len(), names.join(" "));
        }
        if all {
            let _ = writeln!(
                out,
                "{allowed_label}: {}: {}",
                self.allowed.len(),
                self.allowed.join(" ")
            );
        }
        out
    }

    fn json(&self) -> serde_json::Value {
        let errno: serde_json::Map<String, serde_json::Value> = self
            .errno
            .iter()
            .map(|(e, names)| (e.to_string(), serde_json::json!(names)))
            .collect();
        serde_json::json!({
            "allowed": self.allowed,
            "errno": errno,
            "kill": self.kill,
            "other": self.other,
        })
    }
}

/// What the stacked filters do with every syscall in the arch's table.
fn classify(programs: &[Program], arch: Arch) -> Classes {
    let mut classes = Classes::default();
    for &(name, nr) in arch.table() {
        classes.add(name, decide(programs, arch, nr));
    }
    classes
}

/// Counts and lists for every syscall in the arch's table.
fn report(programs: &[Program], arch: Arch, all: bool) -> String {
    let c = classify(programs, arch);
    let mut out = format!(
        "{} filter(s), {} syscalls in the {} table: {} allowed, {} errno, {} kill, {} other\n",
        programs.len(),
        arch.table().len(),
        arch.name(),
        c.allowed.len(),
        c.denied(),
        c.kill.len(),
        c.others(),
    );
    out.push_str(&c.lines("kill", all, "allowed"));
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
    use sysfence_cbpf::asm::{AsmOptions, assemble};

    /// A filter that answers `hit` for `nr` and allows the rest.
    fn only(nr: u32, hit: u32) -> Program {
        let text =
            format!("ld [0]\njeq #{nr}, hit, pass\nhit: ret #{hit}\npass: ret #0x7fff0000\n");
        let insns = assemble(&text, &AsmOptions::new()).expect("assembles");
        Program::new(&insns).expect("valid")
    }

    #[test]
    fn errno_data_past_the_kernel_cap_shows_the_errno_seen() {
        let mut c = Classes::default();
        c.add("chmod", Action::Errno(0xffff));
        c.add("chown", Action::Errno(13));
        assert_eq!(c.errno.keys().copied().collect::<Vec<_>>(), [13, 4095]);
    }

    #[test]
    fn report_counts_and_names_the_stack_decisions() {
        let arch = Arch::X86_64;
        // Oldest first: ERRNO(1) on chmod (90), then ERRNO(2) on chmod, then KILL on kill (62).
        let stack = [
            only(90, 0x0005_0001),
            only(90, 0x0005_0002),
            only(62, 0x8000_0000),
        ];
        let text = report(&stack, arch, false);
        assert!(text.starts_with("3 filter(s), "), "{text}");
        assert!(text.contains("\nerrno 2 (ENOENT): 1: chmod\n"), "{text}");
        assert!(text.contains("\nkill: 1: kill\n"), "{text}");
    }
}
