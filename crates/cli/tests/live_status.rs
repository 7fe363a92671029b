//! `status --probe`, LOG in the summary, `record` on SIGTERM, and the
//! arch `disasm` infers: the live and inference bullets of the CLI.

mod support;

use support::{SYSFENCE, has_seccomp, is_root, repo, seccomp_or_skip, temp_dir, write};

#[test]
fn probe_reports_what_confines_the_caller() {
    if !seccomp_or_skip("probe_reports_what_confines_the_caller") {
        return;
    }
    let dir = temp_dir("probe");
    let p = write(
        &dir,
        "p.json",
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
            {"names":["chmod"],"action":"SCMP_ACT_ERRNO","errnoRet":13},
            {"names":["ptrace"],"action":"SCMP_ACT_KILL"}]}"#,
    );
    let bin = support::BIN;
    let r = SYSFENCE.exec(&["run", &p, "--", bin, "status", "--probe"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let out = &r.stdout;
    assert!(out.contains("filters: cannot be read"), "{out}");
    assert!(
        out.contains("probe x86_64 (") && out.contains(" 1 errno, 1 killed or trapped"),
        "{out}"
    );
    assert!(out.contains("errno 13 (EACCES): 1: chmod\n"), "{out}");
    assert!(out.contains("killed or trapped: 1: ptrace\n"), "{out}");
    assert!(
        out.contains("probing cannot tell: ALLOW from ERRNO(38)"),
        "{out}"
    );
    // i386 is not in the filter: every int 0x80 call gets the bad-arch action.
    assert!(
        out.contains("probe x86 (") || out.contains("probe x86: cannot"),
        "{out}"
    );
}

#[test]
fn log_is_not_counted_as_allowed() {
    if !is_root() || !has_seccomp() {
        eprintln!("skipped: reading another process's filters needs root");
        return;
    }
    let dir = temp_dir("status-log");
    let p = write(
        &dir,
        "p.json",
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mount"],"action":"SCMP_ACT_LOG"}]}"#,
    );
    let mut child = std::process::Command::new(support::BIN)
        .args(["run", &p, "--", "sleep", "5"])
        .spawn()
        .expect("spawn");
    let pid = child.id().to_string();
    let mut out = String::new();
    for _ in 0..50 {
        std::thread::sleep(std::time::Duration::from_millis(100));
        out = SYSFENCE.exec(&["status", &pid]).stdout;
        if out.contains("filter(s), ") {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(out.contains("LOG: 1: mount\n"), "{out}");
    assert!(out.contains(", 1 other\n"), "{out}");
}

#[test]
fn record_keeps_what_it_saw_on_sigterm() {
    if !is_root() {
        eprintln!("skipped: record needs ptrace");
        return;
    }
    let dir = temp_dir("record-term");
    let out = dir.join("p.json");
    let mut child = std::process::Command::new(support::BIN)
        .args([
            "record",
            "-o",
            &out.display().to_string(),
            "--",
            "sleep",
            "30",
        ])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    std::thread::sleep(std::time::Duration::from_millis(500));
    let pid = child.id() as i32;
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(kill.success());
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(128 + 15));
    let profile = std::fs::read_to_string(&out).expect("the profile was written");
    assert!(profile.contains("\"execve\""), "{profile}");
}

#[test]
fn disasm_names_syscalls_of_the_arch_the_program_checks() {
    let dir = temp_dir("disasm-arch");
    let raw = dir.join("p.bpf").display().to_string();
    let asm = repo("corpus/programs/x86_64-allow-list.bpf");
    assert_eq!(SYSFENCE.exec(&["asm", &asm, "-o", &raw]).code, 0);
    let r = SYSFENCE.exec(&["disasm", &raw]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("; AUDIT_ARCH_X86_64"), "{}", r.stdout);
    assert!(
        r.stdout.contains("; read") || r.stdout.contains("; getpid"),
        "{}",
        r.stdout
    );
    let d = SYSFENCE.exec(&["dump", &raw]);
    assert!(d.stdout.contains("instructions (x86_64)"), "{}", d.stdout);
}

#[test]
fn record_stops_when_the_command_exits_unless_following_children() {
    if !is_root() {
        eprintln!("skipped: record needs ptrace");
        return;
    }
    let start = std::time::Instant::now();
    let r = SYSFENCE.exec(&[
        "record",
        "-o",
        "/dev/null",
        "--",
        "sh",
        "-c",
        "sleep 5 & exit 0",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        start.elapsed().as_secs() < 4,
        "waited for the background sleep"
    );
    assert!(
        r.stderr
            .contains("left 1 task(s) running in the background")
            && r.stderr.contains("--follow-children"),
        "{}",
        r.stderr
    );
    let r = SYSFENCE.exec(&[
        "record",
        "--json",
        "-o",
        "/dev/null",
        "--follow-children",
        "--",
        "sh",
        "-c",
        "sleep 0.2 & exit 0",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("\"nanosleep\"") || r.stdout.contains("\"clock_nanosleep\""),
        "{}",
        r.stdout
    );
}

#[test]
fn status_names_its_own_pid_when_getpid_is_filtered() {
    if !seccomp_or_skip("status_names_its_own_pid_when_getpid_is_filtered") {
        return;
    }
    let dir = temp_dir("status-getpid");
    let p = write(
        &dir,
        "p.json",
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
            {"names":["getpid"],"action":"SCMP_ACT_ERRNO","errnoRet":1}]}"#,
    );
    for json in [false, true] {
        let mut args = vec!["run", &p, "--", support::BIN, "status"];
        if json {
            args.push("--json");
        }
        // `run` executes in place: the command's pid is the one spawned.
        let child = std::process::Command::new(support::BIN)
            .args(&args)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("spawn");
        let pid = child.id();
        let out = child.wait_with_output().expect("wait");
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{text}");
        if json {
            let v: serde_json::Value = serde_json::from_str(&text).expect("json");
            assert_eq!(v["pid"], pid, "{text}");
        } else {
            assert!(text.starts_with(&format!("process {pid} (")), "{text}");
        }
    }
}
