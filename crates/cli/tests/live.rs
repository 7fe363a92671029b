//! The live verbs end to end, through the built binary, on real processes:
//! `run` (the README's no-chmod example), `status` and `dump` on a process
//! started under a known profile, and `record` round trips on `ls` and
//! `python3`. They need root and seccomp; elsewhere they print why and pass.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
use sysfence_testkit::Cli;
use sysfence_testkit::cli::text;
use sysfence_testkit::host::{live_skip_reason, temp_dir};

const SYSFENCE: Cli = Cli::new(BIN);

const BIN: &str = env!("CARGO_BIN_EXE_sysfence");

fn no_chmod() -> PathBuf {
    sysfence_testkit::repo("corpus/profiles/no-chmod.json")
}

macro_rules! live {
    () => {
        if let Some(why) = live_skip_reason() {
            eprintln!("skipped: {why}");
            return;
        }
    };
}

/// The run's standard error does not speak of `what`.
#[track_caller]
fn assert_quiet(out: &Output, what: &str) {
    let err = text(&out.stderr);
    assert!(!err.contains(what), "unexpected {what:?} in: {err}");
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn run_no_chmod_denies_chmod_and_lets_ls_work() {
    live!();
    use std::os::unix::fs::PermissionsExt;
    let dir = temp_dir("live-run");
    let file = dir.join("FILE");
    std::fs::write(&file, "x").expect("write");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let out = SYSFENCE.run(&["run", s(&no_chmod()), "--", "chmod", "600", s(&file)]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("Operation not permitted"),
        "{}",
        text(&out.stderr)
    );
    let mode = std::fs::metadata(&file).expect("stat").permissions().mode() & 0o777;
    assert_eq!(mode, 0o644);
    let out = SYSFENCE.run(&["run", s(&no_chmod()), "--", "ls", s(&dir)]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "FILE\n");
    let out = SYSFENCE.run(&[
        "run",
        "--flags",
        "log,spec_allow",
        s(&no_chmod()),
        "--",
        "ls",
        s(&dir),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn run_reports_a_missing_command_and_a_bad_flag() {
    live!();
    let out = SYSFENCE.run(&["run", s(&no_chmod()), "--", "sysfence-no-such-command"]);
    assert_eq!(out.status.code(), Some(127), "as env and docker run");
    assert_eq!(
        text(&out.stderr),
        "sysfence: sysfence-no-such-command: command not found\n"
    );
    let out = SYSFENCE.run(&[
        "run",
        "--flags",
        "tsync,bogus",
        s(&no_chmod()),
        "--",
        "true",
    ]);
    assert_eq!(out.status.code(), Some(125), "sysfence's own failure");
    assert!(
        text(&out.stderr).contains("unknown flag `bogus`"),
        "{}",
        text(&out.stderr)
    );
}

/// Waits until `/proc/<pid>/status` shows `Seccomp_filters: n` and the
/// name `name`: `run` installs the filter just before `execve`, so the
/// count changes while the process is still called `sysfence`.
fn wait_filters(pid: u32, n: u32, name: &str) {
    let start = Instant::now();
    let want = [
        format!("Seccomp_filters:\t{n}\n"),
        format!("Name:\t{name}\n"),
    ];
    while start.elapsed() < Duration::from_secs(10) {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        if want.iter().all(|w| status.contains(w.as_str())) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("process {pid} never showed {want:?}");
}

#[test]
fn status_and_dump_of_a_process_under_no_chmod() {
    live!();
    let mut child = Command::new(BIN)
        .args(["run", s(&no_chmod()), "--", "sleep", "30"])
        .stdin(Stdio::null())
        .spawn()
        .expect("spawn");
    let pid = child.id();
    wait_filters(pid, 1, "sleep");
    let p = pid.to_string();
    let status = SYSFENCE.run(&["status", &p, "--all"]);
    let dump = SYSFENCE.run(&["dump", &p]);
    let raw = SYSFENCE.run(&["dump", &p, "--index", "0", "--format", "raw"]);
    let past = SYSFENCE.run(&["dump", &p, "--index", "1"]);
    let alive = child.try_wait().expect("try_wait").is_none();
    let _ = child.kill();
    let _ = child.wait();

    let out = text(&status.stdout);
    assert!(status.status.success(), "{}", text(&status.stderr));
    assert!(
        out.starts_with(&format!(
            "process {pid} (sleep)\nseccomp: filter, 1 filter(s)\nno_new_privs: yes\n"
        )),
        "{out}"
    );
    let errno_line = out
        .lines()
        .find(|l| l.starts_with("errno 1 (EPERM)"))
        .expect("an EPERM line");
    let denied: Vec<&str> = errno_line
        .split(": ")
        .nth(2)
        .unwrap_or("")
        .split(' ')
        .collect();
    for name in ["chmod", "fchmod", "fchmodat"] {
        assert!(denied.contains(&name), "{name} not denied: {out}");
    }
    let allowed_line = out
        .lines()
        .find(|l| l.starts_with("allowed: "))
        .expect("allowed line");
    let allowed: Vec<&str> = allowed_line
        .split(": ")
        .nth(2)
        .unwrap_or("")
        .split(' ')
        .collect();
    for name in ["openat", "read", "execve", "getdents64"] {
        assert!(allowed.contains(&name), "{name} not allowed: {out}");
    }
    assert!(
        !allowed.iter().any(|n| n.contains("chmod")),
        "{allowed_line}"
    );

    let asm = text(&dump.stdout);
    assert!(dump.status.success(), "{}", text(&dump.stderr));
    assert!(
        asm.starts_with(&format!("; process {pid}, filter 0 of 1, the oldest: ")),
        "{asm}"
    );
    assert!(asm.contains("ld [4]"), "{asm}");
    assert!(raw.status.success(), "{}", text(&raw.stderr));
    assert!(
        !raw.stdout.is_empty() && raw.stdout.len().is_multiple_of(8),
        "{} bytes",
        raw.stdout.len()
    );
    assert_eq!(
        raw.stdout[raw.stdout.len() - 8],
        0x06,
        "the last instruction returns"
    );
    assert_eq!(past.status.code(), Some(1));
    assert_eq!(
        text(&past.stderr),
        format!("sysfence: process {pid} has no filter at index 1\n")
    );
    assert!(alive, "the dumped process must keep running");
    assert_quiet(&dump, "restart_syscall");
}

/// Reading a sleeping process's filters makes it restart its sleep through
/// `restart_syscall`: `dump` and `status` warn when its filters deny that.
#[test]
fn reading_filters_that_deny_restart_syscall_warns() {
    live!();
    let dir = temp_dir("norestart");
    let profile = dir.join("norestart.json");
    std::fs::write(
        &profile,
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["restart_syscall"],"action":"SCMP_ACT_ERRNO"}]}"#,
    )
    .expect("writes");
    let mut child = Command::new(BIN)
        .args(["run", "--quiet", s(&profile), "--", "sleep", "30"])
        .stdin(Stdio::null())
        .spawn()
        .expect("spawn");
    let pid = child.id();
    wait_filters(pid, 1, "sleep");
    let p = pid.to_string();
    let dump = SYSFENCE.run(&["dump", &p]);
    let _ = child.kill();
    let _ = child.wait();
    assert!(dump.status.success(), "{}", text(&dump.stderr));
    assert!(
        text(&dump.stderr).contains("filters give restart_syscall ERRNO(1)"),
        "{}",
        text(&dump.stderr)
    );
}

#[test]
fn dump_and_status_of_missing_or_unfiltered_processes() {
    live!();
    let out = SYSFENCE.run(&["dump", "2147483646"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        "sysfence: no process with id 2147483646\n"
    );
    let out = SYSFENCE.run(&["status", "2147483646"]);
    assert_eq!(out.status.code(), Some(2));
    let mut child = Command::new("sleep").arg("30").spawn().expect("sleep");
    let p = child.id().to_string();
    let dump = SYSFENCE.run(&["dump", &p]);
    let status = SYSFENCE.run(&["status", &p]);
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(dump.status.code(), Some(1));
    assert_eq!(
        text(&dump.stderr),
        format!("sysfence: process {p} is not in seccomp filter mode\n")
    );
    assert!(
        text(&status.stdout).ends_with("no filter: every x86_64 syscall is allowed\n"),
        "{}",
        text(&status.stdout)
    );
}

/// The names of a recorded Docker profile.
fn names(profile: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(profile).expect("profile");
    let start = text.find("\"names\": [").expect("names");
    let end = text[start..].find(']').expect("end of names") + start;
    text[start + 10..end]
        .split(',')
        .map(|n| n.trim().trim_matches('"').to_string())
        .filter(|n| !n.is_empty())
        .collect()
}

/// Writes `profile` again without `name`.
fn without(profile: &Path, name: &str, out: &Path) {
    let text = std::fs::read_to_string(profile).expect("profile");
    let quoted = format!("\"{name}\"");
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| l.trim().trim_end_matches(',') != quoted)
        .collect();
    let mut joined = kept.join("\n");
    // Keep the JSON valid if the removed name was the last one.
    joined = joined.replace(",\n      ]", "\n      ]");
    std::fs::write(out, joined + "\n").expect("write");
    assert!(!names(out).contains(&name.to_string()));
}

/// Records `cmd`, runs it under the recording, then without `needed`.
fn round_trip(tag: &str, cmd: &[&str], needed: &str) -> (Output, Output, Output) {
    let dir = temp_dir(&format!("live-{tag}"));
    let profile = dir.join("profile.json");
    let weights = dir.join("weights.txt");
    let mut args = vec!["record", "-o", s(&profile), "--weights", s(&weights), "--"];
    args.extend(cmd);
    let recorded = SYSFENCE.run(&args);
    assert!(
        recorded.status.success(),
        "record: {}",
        text(&recorded.stderr)
    );
    let recorded_names = names(&profile);
    assert!(
        recorded_names.contains(&needed.to_string()),
        "{recorded_names:?}"
    );
    assert!(
        recorded_names.windows(2).all(|w| w[0] < w[1]),
        "names sorted: {recorded_names:?}"
    );
    let w = std::fs::read_to_string(&weights).expect("weights");
    assert!(
        w.lines().any(|l| l.starts_with(&format!("{needed} "))),
        "{w}"
    );
    let mut run_args = vec!["run", s(&profile), "--"];
    run_args.extend(cmd);
    let under = SYSFENCE.run(&run_args);
    let reduced = dir.join("reduced.json");
    without(&profile, needed, &reduced);
    run_args[1] = s(&reduced);
    let broken = SYSFENCE.run(&run_args);
    (recorded, under, broken)
}

/// A thread that is not the leader calls execve: it takes the leader's id
/// and its own goes away without an exit report; no task is left behind.
#[test]
fn record_follows_an_exec_from_a_thread() {
    live!();
    let out = SYSFENCE.run(&[
        "record",
        "-o",
        "/dev/null",
        "--",
        "python3",
        "-c",
        "import threading, os, time\nthreading.Thread(target=lambda: os.execv('/bin/true', ['true'])).start()\ntime.sleep(5)",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_quiet(&out, "in the background");
}

#[test]
fn record_then_run_ls() {
    live!();
    let dir = temp_dir("live-ls-target");
    std::fs::write(dir.join("a"), "").expect("write");
    std::fs::write(dir.join("b"), "").expect("write");
    let (recorded, under, broken) = round_trip("ls", &["ls", s(&dir)], "getdents64");
    assert_eq!(text(&recorded.stdout), "a\nb\n");
    assert!(under.status.success(), "{}", text(&under.stderr));
    assert_eq!(text(&under.stdout), "a\nb\n");
    assert!(!broken.status.success(), "ls ran without getdents64");
    assert!(
        text(&broken.stderr).contains("Operation not permitted"),
        "{}",
        text(&broken.stderr)
    );
}

#[test]
fn record_then_run_python() {
    live!();
    let python = ["/usr/bin/python3", "/usr/local/bin/python3"]
        .into_iter()
        .find(|p| Path::new(p).exists());
    let Some(python) = python else {
        eprintln!("skipped: no python3 in /usr/bin or /usr/local/bin");
        return;
    };
    let (recorded, under, broken) = round_trip("python", &[python, "-c", "print(1)"], "openat");
    assert_eq!(text(&recorded.stdout), "1\n");
    assert!(under.status.success(), "{}", text(&under.stderr));
    assert_eq!(text(&under.stdout), "1\n");
    assert!(!broken.status.success(), "python ran without openat");
}

#[test]
fn record_reports_a_missing_command() {
    live!();
    let out = SYSFENCE.run(&["record", "--", "sysfence-no-such-command"]);
    assert_eq!(out.status.code(), Some(127), "as env and docker run");
    assert_eq!(
        text(&out.stderr),
        "sysfence: sysfence-no-such-command: command not found\n"
    );
}

#[test]
fn record_from_strace_and_audit_logs() {
    // Plain text parsing: no root needed.
    let traces = sysfence_testkit::repo_dir().join("corpus/traces");
    let out = SYSFENCE.run(&[
        "record",
        "--from-strace",
        s(&traces.join("ls-strace-f.txt")),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let profile = text(&out.stdout);
    for name in [
        "\"execve\"",
        "\"getdents64\"",
        "\"openat\"",
        "\"exit_group\"",
        "\"restart_syscall\"",
    ] {
        assert!(profile.contains(name), "{name}: {profile}");
    }
    assert!(
        profile.contains("\"architectures\": [\"SCMP_ARCH_X86_64\"]"),
        "{profile}"
    );
    let out = SYSFENCE.run(&[
        "record",
        "--from-strace",
        s(&traces.join("ls-strace-c.txt")),
        "--format",
        "seccompiler",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("{ \"syscall\": \"getdents64\" }"),
        "{}",
        text(&out.stdout)
    );
    let out = SYSFENCE.run(&[
        "record",
        "--from-audit-log",
        s(&traces.join("audit-seccomp.log")),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let profile = text(&out.stdout);
    assert!(
        profile.contains("\"architectures\": [\"SCMP_ARCH_X86_64\"]"),
        "{profile}"
    );
    assert!(
        profile.contains("\"openat\"") && profile.contains("\"getpid\""),
        "{profile}"
    );
    assert!(profile.contains("x86_64: 1000 (1 calls)"), "{profile}");
    assert!(
        text(&out.stderr).contains("warning: syscalls without a name"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn stacked_profiles_are_dumped_oldest_first_and_combined() {
    live!();
    let outer = sysfence_testkit::repo_dir().join("corpus/profiles/no-debugging.json");
    // sysfence under no-debugging starts sleep under no-chmod: two filters.
    let mut child = Command::new(BIN)
        .args([
            "run",
            s(&outer),
            "--",
            BIN,
            "run",
            s(&no_chmod()),
            "--",
            "sleep",
            "30",
        ])
        .stdin(Stdio::null())
        .spawn()
        .expect("spawn");
    let pid = child.id();
    wait_filters(pid, 2, "sleep");
    let p = pid.to_string();
    let status = SYSFENCE.run(&["status", &p]);
    let dump = SYSFENCE.run(&["dump", &p]);
    let oldest = SYSFENCE.run(&["dump", &p, "--index", "0", "--format", "raw"]);
    let newest = SYSFENCE.run(&["dump", &p, "--index", "1", "--format", "raw"]);
    let all_raw = SYSFENCE.run(&["dump", &p, "--format", "raw"]);
    let _ = child.kill();
    let _ = child.wait();

    let out = text(&status.stdout);
    assert!(out.contains("seccomp: filter, 2 filter(s)\n"), "{out}");
    let errno_line = out
        .lines()
        .find(|l| l.starts_with("errno 1 (EPERM)"))
        .expect("EPERM line");
    for name in [" chmod ", " ptrace ", " process_vm_readv "] {
        assert!(errno_line.contains(name), "{name} not denied: {errno_line}");
    }
    let asm = text(&dump.stdout);
    assert!(
        asm.contains(&format!("; process {pid}, filter 0 of 2, the oldest: ")),
        "{asm}"
    );
    assert!(
        asm.contains(&format!("; process {pid}, filter 1 of 2: ")),
        "{asm}"
    );
    // The kernel hands back exactly what `run` installed, which is what `compile` writes.
    let compiled_outer = SYSFENCE.run(&["compile", s(&outer)]);
    let compiled_inner = SYSFENCE.run(&["compile", s(&no_chmod())]);
    assert!(
        compiled_outer.status.success(),
        "{}",
        text(&compiled_outer.stderr)
    );
    assert_eq!(
        oldest.stdout, compiled_outer.stdout,
        "filter 0 is the outer profile"
    );
    assert_eq!(
        newest.stdout, compiled_inner.stdout,
        "filter 1 is the inner profile"
    );
    assert_eq!(all_raw.status.code(), Some(2));
    assert!(
        text(&all_raw.stderr).contains("choose it with --index"),
        "{}",
        text(&all_raw.stderr)
    );
}

#[test]
fn record_in_each_format_round_trips_and_keeps_the_exit_status() {
    live!();
    let dir = temp_dir("live-formats");
    let listed = temp_dir("live-formats-listed");
    std::fs::write(listed.join("x"), "").expect("write");
    for format in ["docker", "oci", "seccompiler"] {
        let profile = dir.join(format!("{format}.json"));
        let out = SYSFENCE.run(&[
            "record",
            "--format",
            format,
            "-o",
            s(&profile),
            "--",
            "ls",
            s(&listed),
        ]);
        assert!(out.status.success(), "{format}: {}", text(&out.stderr));
        let under = SYSFENCE.run(&["run", s(&profile), "--", "ls", s(&listed)]);
        assert!(under.status.success(), "{format}: {}", text(&under.stderr));
        assert_eq!(text(&under.stdout), "x\n", "{format}");
    }
    let seccompiler = std::fs::read_to_string(dir.join("seccompiler.json")).expect("profile");
    assert!(
        seccompiler.starts_with("{\n  \"main\": {\n    \"mismatch_action\": { \"errno\": 1 },"),
        "{seccompiler}"
    );
    let profile = dir.join("exit.json");
    let out = SYSFENCE.run(&["record", "-o", s(&profile), "--", "sh", "-c", "exit 3"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        text(&out.stderr).contains("the command exited with status 3"),
        "{}",
        text(&out.stderr)
    );
    assert!(names(&profile).contains(&"exit_group".to_string()));
}

#[test]
fn a_syscall_number_without_a_name_is_kept_as_a_number() {
    live!();
    let Some(python) = ["/usr/bin/python3", "/usr/local/bin/python3"]
        .into_iter()
        .find(|p| Path::new(p).exists())
    else {
        eprintln!("skipped: no python3 in /usr/bin or /usr/local/bin");
        return;
    };
    let dir = temp_dir("live-unnamed");
    let (profile, weights) = (dir.join("p.json"), dir.join("w.txt"));
    let script = "import ctypes; ctypes.CDLL(None).syscall(1000)";
    let out = SYSFENCE.run(&[
        "record",
        "-o",
        s(&profile),
        "--weights",
        s(&weights),
        "--",
        python,
        "-c",
        script,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let note = "x86_64: 1000 (1 calls)";
    assert!(
        text(&out.stderr).contains(&format!("left out of the profile: {note}")),
        "{}",
        text(&out.stderr)
    );
    let json = std::fs::read_to_string(&profile).expect("profile");
    assert!(
        json.contains(&format!(
            "\"comment\": \"also seen, without a name, not allowed: {note}\""
        )),
        "{json}"
    );
    let w = std::fs::read_to_string(&weights).expect("weights");
    assert!(w.ends_with(&format!("# without a name: {note}\n")), "{w}");
}
