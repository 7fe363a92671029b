//! `sysfence record`: write an allow-list profile from what a program really calls.
//!
//! In: a command to run under ptrace (`-- CMD ARGS...`, every thread and
//! child followed, see `sysfence_linux::record`; recording stops when the
//! command exits, and background processes it left are ended with a note,
//! unless `--follow-children` waits for them), or a log made elsewhere:
//! `--from-strace FILE` (`strace -f` output, with or without pid prefixes
//! and timestamps, or an `strace -c` table) or `--from-audit-log FILE`
//! (kernel `type=SECCOMP` records, as an `SCMP_ACT_LOG` profile produces;
//! `--pid` and `--comm` select records; sysfence's own are left out but
//! for the `execve` that starts the target; the kernel's word that it
//! dropped messages, and jumps in the serial numbers, are warnings; with
//! no record kept, where this machine keeps them is printed).
//!
//! Out: a profile (stdout or `-o`) in the format `--emit` names (as
//! `compile --emit` names its output form; `--format`, the older spelling,
//! is accepted too) that allows exactly the syscalls seen and answers every
//! other one with `EPERM`:
//!
//! * `docker` (default) and `oci`: `{"defaultAction": "SCMP_ACT_ERRNO",
//!   "defaultErrnoRet": 1, "architectures": [...], "syscalls": [{"names":
//!   [...], "action": "SCMP_ACT_ALLOW"}]}`, names sorted. The object is the
//!   same for both: it is valid as a Docker profile and as the
//!   `linux.seccomp` object of an OCI `config.json`. One name list serves
//!   every arch listed, so a name seen only on i386 is also allowed on x86_64.
//! * `seccompiler`: one `main` filter for the native arch (`mismatch_action`
//!   `{"errno": 1}`, `match_action` `allow`); calls of other arches are left
//!   out with a warning, since a seccompiler filter serves one arch.
//! * `minijail`: `name: 1` lines for the native arch (other calls get
//!   minijail's default, KILL_THREAD, since `@default` cannot be an errno),
//!   and with `-o DIR/NAME.policy` the counts as `DIR/NAME.frequency`
//!   (`name: count`, minijail's frequency format), named by the policy's
//!   `@frequency` line, so `compile --layout weighted` orders the program
//!   by them. Reading the policy back needs the arch's `constants.json`
//!   (`--constants`), as minijail's compiler does.
//!
//! Two syscalls are always allowed, recorded or not, on every arch seen:
//! `restart_syscall`, which the kernel makes a task issue when a signal or
//! a ptrace stop (`sysfence dump`, a debugger) interrupts a sleep, and
//! `rt_sigreturn`, which returns from any signal handler; and `sigreturn`
//! when an arch seen has it (x86, arm, ...: a handler installed without
//! `SA_SIGINFO` returns through it). A run that was never interrupted does
//! not show them, yet denying them breaks the program the first time it is.
//!
//! `--weights OUT` writes `name count` lines, most called first, the input
//! of the `weighted` layout.
//!
//! Numbers without a name in the arch's table (a kernel newer than the
//! table, a deliberate `syscall(1000)`) cannot be written into a name-based
//! profile: they are kept as numbers in a `comment` of the rule, in a
//! warning, and as `#` lines of the weights file; the profile does not allow
//! them. strace names that the arch's table does not know are treated the
//! same way.
//!
//! `--json` prints one object on standard output: `arches`, `calls` (arch →
//! name → count), `unnamed`, `exit` (`{"code": n}`, `{"signal": n}`, or
//! null for a log) and `profile` (the profile object, or null with `-o`).
//!
//! Exit status: the recorded command's (128 + signal when a signal killed
//! it), after the profile is written, as `env` and `docker run` report
//! it: 127 for a command that is not found, 126 for one that cannot be
//! started, 125 for sysfence's own failure (an unreadable log, ptrace
//! refused). SIGTERM and SIGHUP sent to `record` are passed on to the
//! command, and what was recorded until it ends is still written.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::PathBuf;

use sysfence_compile::Weights;
use sysfence_linux::audit;
use sysfence_linux::record::{Exit, RecordErrorKind, Trace, record_with};
use sysfence_profile::arch::Arch;

use crate::failure::{Failure, Outcome};
use crate::io::{read_input, write_output};

/// Output formats.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Docker / moby JSON (also a valid OCI `linux.seccomp` object).
    Docker,
    /// The OCI runtime-spec `linux.seccomp` object.
    Oci,
    /// seccompiler / Firecracker JSON with one `main` filter.
    Seccompiler,
    /// A minijail `.policy` (and, beside `-o FILE`, `FILE`'s stem `.frequency`).
    Minijail,
}

/// Arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Write the profile here instead of standard output.
    #[arg(short = 'o', long = "output")]
    output: Option<PathBuf>,
    /// The profile format to write (`--format` is an older spelling).
    #[arg(long, alias = "format", value_enum, default_value = "docker")]
    emit: Format,
    /// Also write the call counts (`name count` lines) here.
    #[arg(long)]
    weights: Option<PathBuf>,
    /// Read an `strace -f` log or an `strace -c` table instead of running a command.
    #[arg(long, conflicts_with_all = ["from_audit_log", "command"])]
    from_strace: Option<PathBuf>,
    /// Read kernel `type=SECCOMP` audit records instead of running a command.
    #[arg(long, conflicts_with = "command")]
    from_audit_log: Option<PathBuf>,
    /// Keep recording until every process the command started has ended,
    /// not only the command itself.
    #[arg(long, conflicts_with_all = ["from_strace", "from_audit_log"])]
    follow_children: bool,
    /// With --from-audit-log: only the records of this process id.
    #[arg(long, requires = "from_audit_log", conflicts_with_all = ["from_strace", "command"])]
    pid: Option<u32>,
    /// With --from-audit-log: only the records of this command name (`comm=`).
    #[arg(long, requires = "from_audit_log", conflicts_with_all = ["from_strace", "command"])]
    comm: Option<String>,
    /// Print a JSON summary on standard output (with the profile in it
    /// unless `-o` is given); see the module docs.
    #[arg(long)]
    json: bool,
    /// The command to run and record (after `--`).
    #[arg(last = true, value_name = "CMD")]
    command: Vec<OsString>,
}

/// Allowed in every recorded profile (see the module docs).
pub const ALWAYS_ALLOWED: [&str; 2] = ["restart_syscall", "rt_sigreturn"];

/// Allowed in every recorded profile with an arch that has it.
const OLD_SIGRETURN: &str = "sigreturn";

/// [`ALWAYS_ALLOWED`], and [`OLD_SIGRETURN`] when one of `arches` has it.
fn always_allowed(mut arches: impl Iterator<Item = Arch>) -> Vec<&'static str> {
    let mut names = ALWAYS_ALLOWED.to_vec();
    if arches.any(|a| a.syscall_nr(OLD_SIGRETURN).is_some()) {
        names.push(OLD_SIGRETURN);
    }
    names
}

/// What was seen: per arch, names with counts, and numbers without a name.
#[derive(Debug, Default)]
pub struct Seen {
    named: BTreeMap<Arch, BTreeMap<String, u64>>,
    unnamed: BTreeMap<String, BTreeMap<String, u64>>,
}

impl Seen {
    /// Names the numbers of a trace with the syscall tables.
    pub fn from_trace(trace: &Trace) -> Seen {
        let mut seen = Seen::default();
        for (audit, nr, count) in trace.iter() {
            match Arch::from_audit(audit, nr) {
                Some(arch) => match arch.syscall_name(nr) {
                    Some(name) => seen.add_named(arch, name, count),
                    None => seen.add_unnamed(arch.name(), &nr.to_string(), count),
                },
                None => {
                    seen.add_unnamed(&format!("audit arch {audit:#010x}"), &nr.to_string(), count)
                }
            }
        }
        seen
    }

    fn add_named(&mut self, arch: Arch, name: &str, count: u64) {
        *self
            .named
            .entry(arch)
            .or_default()
            .entry(name.to_string())
            .or_default() += count;
    }

    fn add_unnamed(&mut self, arch: &str, what: &str, count: u64) {
        *self
            .unnamed
            .entry(arch.to_string())
            .or_default()
            .entry(what.to_string())
            .or_default() += count;
    }

    /// Adds a name read from a log: kept if the arch's table knows it.
    fn add_name(&mut self, arch: Arch, name: &str, count: u64) {
        if arch.syscall_nr(name).is_some() {
            self.add_named(arch, name, count);
        } else {
            self.add_unnamed(arch.name(), name, count);
        }
    }

    /// Every name allowed, sorted, all arches together, with [`ALWAYS_ALLOWED`].
    pub fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .named
            .values()
            .flat_map(|m| m.keys().map(String::as_str))
            .collect();
        names.extend(always_allowed(self.named.keys().copied()));
        names.sort_unstable();
        names.dedup();
        names
    }

    /// The arches seen, native first.
    fn arches(&self) -> Vec<Arch> {
        let mut arches: Vec<Arch> = self.named.keys().copied().collect();
        arches.sort_by_key(|&a| (Some(a) != Arch::native(), a.name()));
        arches
    }

    /// For each arch, the names seen only on other arches: one name list
    /// serves every arch of a Docker or OCI profile (no rule can name an
    /// arch), so those names are allowed there too. One note per arch.
    pub fn widened_names(&self) -> Vec<String> {
        self.named
            .iter()
            .filter_map(|(&arch, names)| {
                let extra: Vec<&str> = self
                    .names()
                    .into_iter()
                    .filter(|n| {
                        !names.contains_key(*n) && !ALWAYS_ALLOWED.contains(n) && *n != OLD_SIGRETURN
                    })
                    .filter(|n| arch.syscall_nr(n).is_some())
                    .collect();
                (!extra.is_empty()).then(|| {
                    format!(
                        "{} name(s) never called on {arch} are allowed there too, since one name list serves every arch of the profile: {}",
                        extra.len(),
                        extra.join(" ")
                    )
                })
            })
            .collect()
    }

    /// `arch: nr (count), ...` for every unnamed entry, one string per arch.
    fn unnamed_notes(&self) -> Vec<String> {
        self.unnamed
            .iter()
            .map(|(arch, m)| {
                let items: Vec<String> = m
                    .iter()
                    .map(|(what, c)| format!("{what} ({c} calls)"))
                    .collect();
                format!("{arch}: {}", items.join(", "))
            })
            .collect()
    }
}

/// Runs the verb.
pub fn run(args: Args) -> Outcome {
    let (seen, exit) = gather(&args)?;
    for note in seen.unnamed_notes() {
        eprintln!(
            "sysfence: warning: syscalls without a name in the table, left out of the profile: {note}"
        );
    }
    if seen.named.is_empty() {
        return Err(Failure::negative("no syscalls were recorded"));
    }
    let profile = match args.emit {
        Format::Docker | Format::Oci => {
            for note in seen.widened_names() {
                eprintln!("sysfence: warning: {note}");
            }
            docker_json(&seen)
        }
        Format::Seccompiler => seccompiler_json(&seen),
        Format::Minijail => minijail_policy(&seen, args.output.as_deref())?,
    };
    if args.json {
        let value = json(&seen, &profile, exit, args.output.is_none());
        crate::io::write_output(None, format!("{value:#}\n").as_bytes())?;
    }
    if args.output.is_some() || !args.json {
        write_output(args.output.as_ref(), profile.as_bytes())?;
    }
    if let Some(path) = &args.weights {
        write_output(Some(path), weights_text(&seen).as_bytes())?;
    }
    let total: u64 = seen.named.values().flat_map(|m| m.values()).sum();
    eprintln!(
        "sysfence: recorded {} distinct syscalls ({total} calls) on {}",
        seen.names().len(),
        arch_list(&seen)
    );
    Ok(match exit {
        Some(Exit::Code(c)) => {
            if c != 0 {
                eprintln!(
                    "sysfence: the command exited with status {c}; the profile covers that run"
                );
            }
            c.clamp(0, 255) as u8
        }
        Some(Exit::Signal(s)) => {
            eprintln!(
                "sysfence: the command was killed by signal {s}; the profile covers that run"
            );
            (128 + s).clamp(0, 255) as u8
        }
        None => 0,
    })
}

/// The `--json` object: `arches`, `calls` (arch → name → count),
/// `unnamed` (notes on numbers without a name), `exit` (`{"code": n}`,
/// `{"signal": n}` or null for a log) and `profile` (the profile itself,
/// null when it went to `-o`).
fn json(seen: &Seen, profile: &str, exit: Option<Exit>, with_profile: bool) -> serde_json::Value {
    let calls: serde_json::Map<String, serde_json::Value> = seen
        .named
        .iter()
        .map(|(arch, m)| (arch.name().to_string(), serde_json::json!(m)))
        .collect();
    let exit = match exit {
        Some(Exit::Code(c)) => serde_json::json!({ "code": c }),
        Some(Exit::Signal(s)) => serde_json::json!({ "signal": s }),
        None => serde_json::Value::Null,
    };
    let profile = if with_profile {
        serde_json::from_str(profile).unwrap_or(serde_json::Value::Null)
    } else {
        serde_json::Value::Null
    };
    let arches: Vec<&str> = seen.arches().iter().map(|a| a.name()).collect();
    serde_json::json!({
        "arches": arches,
        "calls": calls,
        "unnamed": seen.unnamed_notes(),
        "exit": exit,
        "profile": profile,
    })
}

fn arch_list(seen: &Seen) -> String {
    seen.arches()
        .iter()
        .map(|a| a.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// What an audit log says about its own completeness.
fn audit_notes(log: &audit::AuditLog) -> Vec<String> {
    let mut notes = Vec::new();
    if log.malformed > 0 {
        notes.push(format!(
            "{} seccomp record(s) without arch= or syscall= were skipped",
            log.malformed
        ));
    }
    if let Some(n) = log.suppressed {
        let count = if n > 0 {
            format!("{n} ")
        } else {
            String::new()
        };
        notes.push(format!(
            "the kernel dropped {count}audit messages (rate limit): the profile may be incomplete; run auditd, or raise the limit (`auditctl -r 0`), and record again"
        ));
    }
    if log.serial_gaps > 0 {
        notes.push(format!(
            "the audit serial numbers jump {} time(s): other audit events, or lost records",
            log.serial_gaps
        ));
    }
    notes
}

/// Where this machine's kernel audit records can be read.
fn audit_sources() -> String {
    let mut places = Vec::new();
    if std::path::Path::new("/var/log/audit/audit.log").exists() {
        places.push("/var/log/audit/audit.log (auditd runs here)");
    }
    if std::path::Path::new("/run/systemd/journal").exists() {
        places.push("`journalctl -k`");
    }
    places.push("`dmesg` (rate-limited when no audit daemon runs)");
    format!(
        "no seccomp records kept; on this machine they can be read from {}",
        places.join(", ")
    )
}

/// Records the command or reads the log.
fn gather(args: &Args) -> Result<(Seen, Option<Exit>), Failure> {
    if let Some(path) = &args.from_strace {
        let text = read_text(path)?;
        let seen =
            parse_strace(&text).map_err(|e| Failure::input(format!("{}: {e}", path.display())))?;
        return Ok((seen, None));
    }
    if let Some(path) = &args.from_audit_log {
        let text = read_text(path)?;
        let select = audit::Select {
            pid: args.pid,
            comm: args.comm.clone(),
        };
        let log = audit::read(&text, &select);
        for note in audit_notes(&log) {
            eprintln!("sysfence: warning: {note}");
        }
        if log.trace.is_empty() && log.left_out > 0 {
            eprintln!(
                "sysfence: {} seccomp record(s) read, none kept: none matched --pid/--comm, or they were sysfence's own",
                log.left_out
            );
        } else if log.trace.is_empty() {
            eprintln!("sysfence: {}", audit_sources());
        }
        return Ok((Seen::from_trace(&log.trace), None));
    }
    let Some((program, rest)) = args.command.split_first() else {
        return Err(Failure::input(
            "nothing to record: give `-- CMD [ARGS...]`, --from-strace FILE or --from-audit-log FILE",
        ));
    };
    let progress = sysfence_linux::progress::Progress::start("recording");
    let recording =
        record_with(program, rest, args.follow_children).map_err(|e| match e.kind() {
            RecordErrorKind::NotFound(_) => Failure::status(127, &e),
            RecordErrorKind::Spawn(..) => Failure::status(126, &e),
            RecordErrorKind::Trace(..) => Failure::input(&e),
        })?;
    progress.finish();
    if recording.left_running > 0 {
        eprintln!(
            "sysfence: the command exited and left {} task(s) running in the background: recording stopped with the command, and they end with it (--follow-children waits for them)",
            recording.left_running
        );
    }
    Ok((Seen::from_trace(&recording.trace), Some(recording.exit)))
}

fn read_text(path: &std::path::Path) -> Result<String, Failure> {
    let bytes = read_input(Some(path))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Reads `strace -f` lines or an `strace -c` table.
pub fn parse_strace(text: &str) -> Result<Seen, String> {
    if text.lines().any(|l| l.trim_start().starts_with("% time")) {
        parse_summary(text)
    } else {
        Ok(parse_lines(text))
    }
}

/// Reads an `strace -c` table, one section per ABI (`System call usage
/// summary for 32 bit mode:` starts the i386 one); each section is read
/// by [`Weights::parse`].
fn parse_summary(text: &str) -> Result<Seen, String> {
    let native = Arch::native().unwrap_or(Arch::X86_64);
    let mut seen = Seen::default();
    let mut arch = native;
    let mut section = String::new();
    let mut first_line = 0;
    let mut flush = |arch: Arch, section: &str, first_line: usize| -> Result<(), String> {
        let weights = Weights::parse(section)
            .map_err(|e| format!("line {}: not an `strace -c` row", first_line + e.line()))?;
        for (name, count) in weights.entries() {
            seen.add_name(arch, name, *count);
        }
        Ok(())
    };
    for (i, line) in text.lines().enumerate() {
        if let Some(mode) = line.trim().strip_prefix("System call usage summary for") {
            flush(arch, &section, first_line)?;
            arch = if mode.contains("x32") {
                Arch::X32
            } else if mode.contains("32 bit") {
                compat_arch(native)
            } else {
                native
            };
            section.clear();
            first_line = i + 1;
            continue;
        }
        section.push_str(line);
        section.push('\n');
    }
    flush(arch, &section, first_line)?;
    Ok(seen)
}

/// Reads `strace -f` lines.
fn parse_lines(text: &str) -> Seen {
    let native = Arch::native().unwrap_or(Arch::X86_64);
    let compat = compat_arch(native);
    let mut seen = Seen::default();
    let mut mode32: Vec<String> = Vec::new();
    for line in text.lines() {
        let (pid, rest) = strip_prefix(line.trim());
        if rest.starts_with("[ Process PID=") {
            // "[ Process PID=123 runs in 32 bit mode. ]"
            let who = rest
                .trim_start_matches("[ Process PID=")
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_string();
            mode32.retain(|p| *p != who);
            if rest.contains("32 bit") {
                mode32.push(who);
            }
            continue;
        }
        if let Some(name) = call_name(rest) {
            let arch = if mode32.contains(&pid) {
                compat
            } else {
                native
            };
            seen.add_name(arch, name, 1);
        }
    }
    seen
}

/// The 32-bit compat arch of a native one (i386 for x86_64).
fn compat_arch(native: Arch) -> Arch {
    match native {
        Arch::X86_64 => Arch::X86,
        Arch::Aarch64 => Arch::Arm,
        other => other,
    }
}

/// Splits off `[pid  123] ` or `123  ` and a time stamp; returns the pid ("" if none).
fn strip_prefix(line: &str) -> (String, &str) {
    let mut pid = String::new();
    let mut rest = line;
    if let Some((p, after)) = rest.strip_prefix("[pid").and_then(|r| r.split_once(']')) {
        pid = p.trim().to_string();
        rest = after.trim_start();
    } else if let Some((first, after)) = leading_word(rest, |b| b.is_ascii_digit()) {
        pid = first.to_string();
        rest = after;
    }
    // -t / -tt / -ttt time stamps: digits, colons and dots.
    if let Some((_, after)) = leading_word(rest, |b| b.is_ascii_digit() || b == b':' || b == b'.') {
        rest = after;
    }
    (pid, rest)
}

/// A first word made only of bytes `ok` accepts, and what follows it.
fn leading_word(text: &str, ok: impl Fn(u8) -> bool) -> Option<(&str, &str)> {
    let (first, after) = text.split_once(char::is_whitespace)?;
    (!first.is_empty() && first.bytes().all(ok)).then(|| (first, after.trim_start()))
}

/// The syscall name at the start of an strace line (`openat(...`); `None`
/// for resumed calls, signals, exits and messages.
fn call_name(rest: &str) -> Option<&str> {
    let (name, _) = rest.split_once('(')?;
    is_ident(name).then_some(name)
}

fn is_ident(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// The Docker / OCI allow-list.
fn docker_json(seen: &Seen) -> String {
    let arches: Vec<String> = seen
        .arches()
        .iter()
        .map(|a| json_string(a.scmp_name()))
        .collect();
    let names: Vec<String> = seen.names().iter().map(|n| json_string(n)).collect();
    let mut out = String::new();
    out.push_str("{\n  \"defaultAction\": \"SCMP_ACT_ERRNO\",\n  \"defaultErrnoRet\": 1,\n");
    let _ = writeln!(out, "  \"architectures\": [{}],", arches.join(", "));
    out.push_str("  \"syscalls\": [\n    {\n      \"names\": [\n");
    let _ = writeln!(out, "        {}", names.join(",\n        "));
    out.push_str("      ],\n      \"action\": \"SCMP_ACT_ALLOW\"");
    let notes = seen.unnamed_notes();
    if !notes.is_empty() {
        let comment = format!(
            "also seen, without a name, not allowed: {}",
            notes.join("; ")
        );
        let _ = write!(out, ",\n      \"comment\": {}", json_string(&comment));
    }
    out.push_str("\n    }\n  ]\n}\n");
    out
}

/// The names seen on the native arch plus the always-allowed ones, sorted;
/// calls of other arches are left out with a warning (`what` serves one arch).
fn native_names<'s>(seen: &'s Seen, what: &str) -> Vec<&'s str> {
    let native = Arch::native().unwrap_or(Arch::X86_64);
    for arch in seen.arches().into_iter().filter(|&a| a != native) {
        eprintln!(
            "sysfence: warning: calls on {} left out: {what} serves one arch ({})",
            arch.name(),
            native.name()
        );
    }
    let mut names: Vec<&str> = seen
        .named
        .get(&native)
        .map(|m| m.keys().map(String::as_str).collect())
        .unwrap_or_default();
    names.extend(always_allowed(std::iter::once(native)));
    names.sort_unstable();
    names.dedup();
    names
}

/// The minijail allow-list for the native arch (`name: 1` lines; unlisted
/// calls get minijail's default, KILL_THREAD). With `-o DIR/NAME.policy`,
/// the counts go to `DIR/NAME.frequency`, named by `@frequency`.
fn minijail_policy(seen: &Seen, output: Option<&std::path::Path>) -> Result<String, Failure> {
    let names = native_names(seen, "a minijail policy");
    let mut out = String::from("# allow-list recorded by sysfence\n");
    match output {
        Some(path) => {
            let freq = path.with_extension("frequency");
            let native = Arch::native().unwrap_or(Arch::X86_64);
            let mut text = String::from("# call counts recorded by sysfence\n");
            for (name, count) in seen.named.get(&native).into_iter().flatten() {
                let _ = writeln!(text, "{name}: {count}");
            }
            write_output(Some(&freq), text.as_bytes())?;
            let file = freq
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default();
            let _ = writeln!(out, "@frequency ./{file}");
        }
        None => eprintln!("sysfence: warning: no -o FILE, so no .frequency file is written"),
    }
    for n in names {
        let _ = writeln!(out, "{n}: 1");
    }
    Ok(out)
}

/// The seccompiler allow-list for the native arch.
fn seccompiler_json(seen: &Seen) -> String {
    let names = native_names(seen, "a seccompiler filter");
    let rules: Vec<String> = names
        .iter()
        .map(|n| format!("        {{ \"syscall\": {} }}", json_string(n)))
        .collect();
    format!(
        "{{\n  \"main\": {{\n    \"mismatch_action\": {{ \"errno\": 1 }},\n    \"match_action\": \"allow\",\n    \"filter\": [\n{}\n    ]\n  }}\n}}\n",
        rules.join(",\n")
    )
}

/// `name count` lines, most called first (ties by name); unnamed entries as comments.
fn weights_text(seen: &Seen) -> String {
    let mut totals: BTreeMap<&str, u64> = BTreeMap::new();
    for m in seen.named.values() {
        for (name, c) in m {
            *totals.entry(name).or_default() += c;
        }
    }
    let mut rows: Vec<(&str, u64)> = totals.into_iter().collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let mut out = format!("# syscall mix recorded by sysfence ({})\n", arch_list(seen));
    for (name, count) in rows {
        let _ = writeln!(out, "{name} {count}");
    }
    for note in seen.unnamed_notes() {
        let _ = writeln!(out, "# without a name: {note}");
    }
    out
}

/// A JSON string literal.
fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strace_f_lines() {
        let log = r#"execve("/usr/bin/ls", ["ls"], 0x7ffc /* 20 vars */) = 0
brk(NULL)                               = 0x55d0c1a5e000
[pid  4242] openat(AT_FDCWD, "/etc/ld.so.cache", O_RDONLY|O_CLOEXEC) = 3
4243  12:00:01.000001 read(3,  <unfinished ...>
4243  <... read resumed>"\177ELF", 832) = 832
--- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED} ---
+++ exited with 0 +++
[ Process PID=4244 runs in 32 bit mode. ]
4244  getpid()                          = 4244
4244  frobnicate(1)                     = -1 ENOSYS
"#;
        let seen = parse_strace(log).unwrap();
        let x86_64 = &seen.named[&Arch::X86_64];
        assert_eq!(
            x86_64
                .iter()
                .map(|(n, c)| (n.as_str(), *c))
                .collect::<Vec<_>>(),
            [("brk", 1), ("execve", 1), ("openat", 1), ("read", 1)]
        );
        assert_eq!(seen.named[&Arch::X86].get("getpid"), Some(&1));
        assert_eq!(seen.unnamed_notes(), ["x86: frobnicate (1 calls)"]);
    }

    #[test]
    fn names_of_one_abi_widened_to_another_are_named() {
        let log =
            "execve(\"/bin/x\") = 0\n[ Process PID=5 runs in 32 bit mode. ]\n5  getpid() = 5\n";
        let seen = parse_strace(log).unwrap();
        assert_eq!(
            seen.widened_names(),
            [
                "1 name(s) never called on x86_64 are allowed there too, since one name list serves every arch of the profile: getpid",
                "1 name(s) never called on x86 are allowed there too, since one name list serves every arch of the profile: execve",
            ]
        );
    }

    #[test]
    fn strace_c_table() {
        let table = "% time     seconds  usecs/call     calls    errors syscall
------ ----------- ----------- --------- --------- ----------------
 40.00    0.000040           4        10           mmap
 30.00    0.000030           3         7         2 openat
------ ----------- ----------- --------- --------- ----------------
100.00    0.000070                    17         2 total
";
        let seen = parse_strace(table).unwrap();
        let m = &seen.named[&Arch::X86_64];
        assert_eq!(m.get("mmap"), Some(&10));
        assert_eq!(m.get("openat"), Some(&7));
        assert_eq!(m.len(), 2);
    }

    #[test]
    fn unknown_numbers_stay_numbers() {
        let mut t = Trace::new();
        t.add(0xc000_003e, 0, 3);
        t.add(0xc000_003e, 1000, 2);
        let seen = Seen::from_trace(&t);
        assert_eq!(seen.names(), ["read", "restart_syscall", "rt_sigreturn"]);
        assert_eq!(seen.unnamed_notes(), ["x86_64: 1000 (2 calls)"]);
        // i386 returns from a handler without SA_SIGINFO through sigreturn.
        let mut i386 = Trace::new();
        i386.add(0x4000_0003, 3, 1);
        assert_eq!(
            Seen::from_trace(&i386).names(),
            ["read", "restart_syscall", "rt_sigreturn", "sigreturn"]
        );
        let json = docker_json(&seen);
        assert!(
            json.contains(
                "\"comment\": \"also seen, without a name, not allowed: x86_64: 1000 (2 calls)\""
            ),
            "{json}"
        );
        assert!(
            json.contains("\"architectures\": [\"SCMP_ARCH_X86_64\"]"),
            "{json}"
        );
        assert_eq!(
            weights_text(&seen),
            "# syscall mix recorded by sysfence (x86_64)\nread 3\n# without a name: x86_64: 1000 (2 calls)\n"
        );
    }
}
