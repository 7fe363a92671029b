//! Every verb with its standard output a pipe nobody reads any more
//! (`sysfence validate a.s | true`): sysfence ends by SIGPIPE, quietly, as
//! other Unix tools do, never with a panic (exit 101) or an error message.
//! And `run` hands its command the default SIGPIPE disposition, as a
//! shell would.

mod support;

use support::{SYSFENCE, repo, seccomp_or_skip, temp_dir, write};

/// The signal a write to a closed pipe raises.
const SIGPIPE: i32 = 13;

/// x86_64 only, x32 numbers but -1 killed (as libseccomp does, so
/// `decompile` has a profile to print), getpid ERRNO(2).
const PROG: &str = "ld [4]\njne #AUDIT_ARCH_X86_64, bad\nld [0]\njeq #-1, ok, guard\nguard: jge #0x40000000, bad, nr\nnr: jeq #39, e, ok\nok: ret #0x7fff0000\ne: ret #0x00050002\nbad: ret #0\n";

#[test]
fn every_verb_ends_by_sigpipe_without_a_panic() {
    let dir = temp_dir("closed-stdout");
    let a = write(&dir, "a.s", PROG);
    let b = write(&dir, "b.s", &PROG.replace("#39", "#40"));
    let batch = write(&dir, "batch", "x86_64 getpid\nx86_64 read\n");
    let raw = dir.join("a.bpf").display().to_string();
    assert_eq!(SYSFENCE.exec(&["asm", &a, "-o", &raw]).code, 0);
    let profile = repo("corpus/profiles/no-chmod.json");
    let runs: &[&[&str]] = &[
        &["validate", &a],
        &["disasm", &raw],
        &["asm", &a],
        &["emu", &a, "--arch", "x86_64", "0"],
        &["emu", &a, "--batch", &batch],
        &["equiv", &a, &b],
        &["refines", &a, &b],
        &["diff", &a, &b],
        &["count", &a],
        &["decompile", &a],
        &["dump", &raw],
        &["status"],
        &["syscalls", "--arch", "x86_64"],
        &["lint", &profile],
        &["explain", &profile, "--arch", "x86_64", "chmod"],
        &["check", &profile],
        &["cost", &profile],
        &["compile", &profile],
    ];
    for args in runs {
        let r = SYSFENCE.exec_closed_stdout(args);
        assert!(!r.stderr.contains("panicked"), "{args:?}: {}", r.stderr);
        assert_eq!(r.signal, Some(SIGPIPE), "{args:?}: {} {}", r.code, r.stderr);
        assert_eq!(r.stderr, "", "{args:?}");
    }
}

#[test]
fn run_gives_the_command_the_default_sigpipe_disposition() {
    if !seccomp_or_skip("run_gives_the_command_the_default_sigpipe_disposition") {
        return;
    }
    let dir = temp_dir("run-sigpipe");
    let allow = write(&dir, "allow.json", r#"{"defaultAction":"SCMP_ACT_ALLOW"}"#);
    let r = SYSFENCE.exec(&["run", &allow, "--", "cat", "/proc/self/status"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let ignored = r
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("SigIgn:"))
        .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
        .expect("a SigIgn line");
    assert_eq!(
        ignored & (1 << (SIGPIPE - 1)),
        0,
        "SIGPIPE ignored: {ignored:#x}"
    );
}
