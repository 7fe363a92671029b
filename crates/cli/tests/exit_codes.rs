//! The exit-status table of the README, walked verb by verb: 0 yes, 1 a
//! negative answer, 2 bad input; `run` and `record` as `env` and `docker
//! run` (125 sysfence's own failure, 126 cannot execute, 127 not found,
//! else the command's status, 128+n for signal n).

mod support;

use support::{SYSFENCE, repo, temp_dir, write};

const PROFILE: &str = "corpus/profiles/no-chmod.json";
const TYPO: &str = r#"{"defaultAction":"SCMP_ACT_ALLOW","syscals":[]}"#;

fn code(args: &[&str]) -> i32 {
    let r = SYSFENCE.exec(args);
    assert!(
        !r.stderr.contains("panicked"),
        "{args:?} panicked: {}",
        r.stderr
    );
    r.code
}

#[test]
fn profile_verbs_answer_0_1_2() {
    let p = repo(PROFILE);
    let dir = temp_dir("codes");
    let typo = write(&dir, "typo.json", TYPO);
    let bad = repo("corpus/bad/unknown-action.json");
    for verb in ["lint", "check", "cost"] {
        assert_eq!(code(&[verb, &p]), 0, "{verb}");
        assert_eq!(code(&[verb, &bad]), 2, "{verb} bad profile");
        assert_eq!(
            code(&[verb, &typo, "--deny-warnings"]),
            1,
            "{verb} warning denied"
        );
    }
    assert_eq!(code(&["compile", &p, "-o", "/dev/null"]), 0);
    assert_eq!(code(&["compile", &bad]), 2);
    assert_eq!(code(&["compile", &typo, "--deny-warnings"]), 1);
    assert_eq!(
        code(&["compile", &p, "--arch", "aarch64"]),
        2,
        "arch not in the profile"
    );
    assert_eq!(code(&["explain", &p, "--arch", "x86_64", "chmod"]), 0);
    assert_eq!(code(&["explain", &p, "--arch", "x86_64", "nosuch"]), 2);
    assert_eq!(code(&["explain", &typo, "--deny-warnings", "read"]), 1);
}

#[test]
fn program_verbs_answer_0_1_2() {
    let good = repo("corpus/programs/x86_64-allow-list.bpf");
    let dir = temp_dir("codes-prog");
    let raw = dir.join("p.bpf").display().to_string();
    assert_eq!(code(&["asm", &good, "-o", &raw]), 0);
    assert_eq!(code(&["disasm", &raw]), 0);
    assert_eq!(code(&["validate", &raw]), 0);
    assert_eq!(code(&["emu", &raw, "--arch", "x86_64", "getpid"]), 0);
    assert_eq!(code(&["dump", &raw]), 0, "dump FILE");
    // KILL_PROCESS for foreign arches: no Docker profile says that.
    assert_eq!(code(&["decompile", &raw]), 1);
    let x86_64_only = write(
        &dir,
        "x.asm",
        "ld [4]\njeq #AUDIT_ARCH_X86_64, nr, kill\nnr: ld [0]\njeq #-1, ok, guard\nguard: jge #0x40000000, kill, ok\nok: ret #0x7fff0000\nkill: ret #0\n",
    );
    assert_eq!(code(&["decompile", &x86_64_only]), 0);
    assert_eq!(code(&["count", &raw, "getpid"]), 0);
    assert_eq!(code(&["count", &raw, "nosuch"]), 2);
    // ld [64] reads past seccomp_data: the kernel would refuse it.
    let invalid = write(&dir, "bad.asm", "ld [64]\nret #0\n");
    assert_eq!(code(&["validate", &invalid]), 1);
    assert_eq!(code(&["emu", &invalid, "--arch", "x86_64", "0"]), 2);
    assert_eq!(code(&["asm", &write(&dir, "r.asm", "ret\n")]), 2);
    assert_eq!(code(&["disasm", &write(&dir, "odd.bin", "\0\0\0")]), 2);
    // Eight bytes without a NUL and not UTF-8: text that is not text.
    let latin1 = dir.join("latin1.txt");
    std::fs::write(&latin1, b"r\xe9t #0\n\xff").expect("write");
    assert_eq!(code(&["validate", &latin1.display().to_string()]), 2);
    assert_eq!(code(&["syscalls", "--arch", "x86_64", "getpid"]), 0);
    assert_eq!(code(&["syscalls", "--arch", "x86_64", "nosuch"]), 2);
    assert_eq!(code(&["syscalls", "--arch", "vax"]), 2);
}

#[test]
fn exact_verbs_answer_0_1_2() {
    let dir = temp_dir("codes-exact");
    // No arch test: nr 39 gets ERRNO(2), everything else ALLOW.
    let comb = "ld [0]\njeq #39, e\nret #0x7fff0000\ne: ret #0x00050002\n";
    let a = write(&dir, "a.s", comb);
    let b = write(&dir, "b.s", &comb.replace("#39", "#40"));
    assert_eq!(code(&["diff", &a, &a]), 0);
    assert_eq!(code(&["diff", &a, &b]), 1);
    let r = SYSFENCE.exec(&["diff", &a, &b, "--limit", "0"]);
    assert_eq!(r.code, 1, "differences past --limit: {}", r.stdout);
    assert!(r.stdout.contains("truncated"), "{}", r.stdout);
    let r = SYSFENCE.exec(&["diff", &a, &b, "--limit", "0", "--json"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    // Which arch's table names the syscalls is for --arch to say.
    let r = SYSFENCE.exec(&["count", &a]);
    r.assert_fails(2, &["handles no arch", "--arch"], "count without an arch");
    assert_eq!(code(&["count", &a, "nosuch"]), 2);
    assert_eq!(code(&["count", &a, "--arch", "x86_64", "getpid"]), 0);
    assert_eq!(code(&["count", &a, "--arch", "x86_64", "nosuch"]), 2);
}

#[test]
fn live_verbs_answer_0_1_2() {
    assert_eq!(code(&["status"]), 0);
    assert_eq!(code(&["status", "2147483646"]), 2);
    assert_eq!(code(&["dump", "2147483646"]), 2);
    if support::is_root() {
        // This test process has no filter: a negative answer.
        let me = std::process::id().to_string();
        assert_eq!(code(&["dump", &me]), 1);
    }
    assert_eq!(code(&["nosuchverb"]), 2);
    assert_eq!(code(&["compile"]), 2, "usage error");
    assert_eq!(code(&["--version"]), 0);
}

#[test]
fn run_and_record_answer_as_env_does() {
    let p = repo(PROFILE);
    let dir = temp_dir("codes-run");
    let script = write(&dir, "plain.txt", "not executable\n");
    assert_eq!(code(&["run", &p, "--", "sh", "-c", "exit 7"]), 7);
    assert_eq!(code(&["run", &p, "--", "nosuch-command-xyz"]), 127);
    assert_eq!(code(&["run", &p, "--", &script]), 126);
    assert_eq!(
        code(&["run", &repo("corpus/bad/unknown-action.json"), "--", "true"]),
        125
    );
    assert_eq!(
        code(&["run", "--bogus-flag", &p, "--", "true"]),
        125,
        "usage error"
    );
    // The command replaces sysfence: a signal ends the process itself, and
    // a shell reports 128+n.
    let allow = write(
        &dir,
        "allow.json",
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["chmod"],"action":"SCMP_ACT_ERRNO"}]}"#,
    );
    let r = SYSFENCE.run_in(
        &["run", &allow, "--", "sh", "-c", "kill -TERM $$"],
        b"",
        None,
    );
    assert_eq!(r.signal, Some(15), "{}", r.stderr);
    assert_eq!(code(&["record", "--", "nosuch-command-xyz"]), 127);
    assert_eq!(code(&["record", "--from-strace", "/nonexistent"]), 125);
    if support::is_root() {
        assert_eq!(
            code(&["record", "-o", "/dev/null", "--", "sh", "-c", "exit 3"]),
            3
        );
    }
}
