//! `sysfence lint` and `sysfence explain` on the example and bad profiles.

use sysfence_testkit::Cli;

const SYSFENCE: Cli = Cli::new(env!("CARGO_BIN_EXE_sysfence"));

fn repo(path: &str) -> String {
    sysfence_testkit::repo(path).display().to_string()
}

#[test]
fn lint_reports_warnings_with_excerpts() {
    let p = repo("corpus/profiles/allow-list.json");
    let (code, out, _) = SYSFENCE.status(&[
        "lint",
        &p,
        "--host-arch",
        "amd64",
        "--kernel",
        "6.1",
        "--caps",
        "default",
    ]);
    assert_eq!(code, 0);
    assert!(
        out.contains("socket on x86: through socketcall(1)"),
        "{out}"
    );
    assert!(
        out.contains("    27 |    \"names\": [\"socket\"],"),
        "{out}"
    );
    assert!(
        out.contains("docker profile for runc on x86_64: x86, x86_64+x32"),
        "{out}"
    );
    assert!(out.contains("2 warning(s), 1 note(s)"), "{out}");
}

#[test]
fn lint_fails_with_status_2_and_the_place() {
    let p = repo("corpus/bad/unknown-action.json");
    let (code, _, err) = SYSFENCE.status(&["lint", &p]);
    assert_eq!(code, 2);
    assert!(
        err.contains(
            "unknown-action.json:8:14: $.syscalls[0].action: unknown action \"SCMP_ACT_FOO\""
        ),
        "{err}"
    );
    assert!(
        err.contains("     8 |    \"action\": \"SCMP_ACT_FOO\""),
        "{err}"
    );
}

#[test]
fn explain_names_the_deciding_rule() {
    let p = repo("corpus/profiles/allow-list.json");
    let (code, out, _) = SYSFENCE.status(&[
        "explain",
        &p,
        "--host-arch",
        "amd64",
        "--arch",
        "x86_64",
        "socket",
        "10",
    ]);
    assert_eq!(code, 0);
    assert!(
        out.starts_with(
            "x86_64: socket(0xa) -> ALLOW\ndecided by rule 2 of 2 for nr 41 (arg0 == 0xa)"
        ),
        "{out}"
    );
    let (_, out, _) = SYSFENCE.status(&[
        "explain",
        &p,
        "--host-arch",
        "amd64",
        "--arch",
        "x86_64",
        "execve",
    ]);
    assert_eq!(
        out,
        "x86_64: execve() -> ERRNO(1)\ndecided by the default action (no rule matched)\n"
    );
    let (_, out, _) = SYSFENCE.status(&[
        "explain",
        &p,
        "--host-arch",
        "amd64",
        "--arch",
        "x86_64",
        "0x4000",
    ]);
    assert!(out.contains("decided by the fixed range"), "{out}");
    let (_, out, _) = SYSFENCE.status(&[
        "explain",
        &p,
        "--host-arch",
        "amd64",
        "--arch",
        "aarch64",
        "read",
    ]);
    assert!(
        out.contains("-> KILL_THREAD\ndecided by the bad-arch action"),
        "{out}"
    );
    let (code, _, err) = SYSFENCE.status(&["explain", &p, "--arch", "x86_64", "no_such_call"]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn explain_an_unconfined_profile() {
    let dir = std::env::temp_dir().join(format!("sysfence-explain-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let p = dir.join("empty.json");
    std::fs::write(&p, "{}").expect("write");
    let (code, out, _) = SYSFENCE.status(&[
        "explain",
        &p.display().to_string(),
        "--arch",
        "x86_64",
        "read",
    ]);
    assert_eq!(code, 0);
    assert_eq!(
        out,
        "x86_64: read() -> ALLOW\nno seccomp filter: the runtime runs this profile unconfined\n"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn minijail_errors_point_into_the_file_that_has_them() {
    let p = repo("corpus/bad/mj-frequency-negative.policy");
    let (code, _, err) = SYSFENCE.status(&["lint", &p]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("mj-negative.frequency:1:7: invalid number"),
        "{err}"
    );
    assert!(
        err.contains("read: -5"),
        "the excerpt is the frequency file's: {err}"
    );
}

#[test]
fn minijail_record_check_and_weights() {
    let dir = std::env::temp_dir().join(format!("sysfence-mj-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("ls.policy");
    let trace = repo("corpus/traces/ls-strace-f.txt");
    let (code, _, err) = SYSFENCE.status(&[
        "record",
        "--format",
        "minijail",
        "--from-strace",
        &trace,
        "-o",
        &out.display().to_string(),
    ]);
    assert_eq!(code, 0, "{err}");
    let policy = std::fs::read_to_string(&out).unwrap();
    assert!(policy.contains("@frequency ./ls.frequency\n") && policy.contains("\nbrk: 1\n"));
    let freq = std::fs::read_to_string(dir.join("ls.frequency")).unwrap();
    assert!(freq.lines().any(|l| l.starts_with("mmap: ")), "{freq}");
    // A policy of the tiny table beside the bad inputs, with counts.
    let p = dir.join("rw.policy");
    std::fs::write(
        &p,
        "@frequency ./rw.frequency\nread: 1\nwrite: arg0 == 1 || arg0 == 2\n",
    )
    .unwrap();
    std::fs::write(dir.join("rw.frequency"), "write: 10\nread: 3\n").unwrap();
    let constants = repo("corpus/bad/constants.json");
    let p = p.display().to_string();
    let (code, _, err) = SYSFENCE.status(&[
        "check",
        &p,
        "--constants",
        &constants,
        "--layout",
        "weighted",
    ]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = SYSFENCE.status(&[
        "cost",
        &p,
        "--constants",
        &constants,
        "--layout",
        "weighted",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("@frequency"), "{out}");
    // A verb on the policy with its constants.
    let on = |verb: &str, more: &[&str]| {
        let mut args = vec![verb, p.as_str(), "--constants", constants.as_str()];
        args.extend(more);
        SYSFENCE.status(&args)
    };
    let x86_64_write = |verb: &str, fd: &str| on(verb, &["--arch", "x86_64", "write", fd]);
    // The rule is the clause that matched, and a line-based policy has no
    // JSON path to show after its line:column.
    let (code, out, err) = x86_64_write("explain", "2");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("rw.policy:3:21\n"), "{out}");
    assert!(out.contains("\n       |                     ^\n"), "{out}");
    // `emu` and `equiv` take a `.policy` for a profile, not for assembly
    // (its `name: filter` lines read like labels).
    let (code, out, err) = x86_64_write("emu", "2");
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("ALLOW"), "{out}");
    let (code, out, err) = on("equiv", &[p.as_str()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("equal on every input"), "{out}");
    // No clause holds: the default decides, and the rules tried are named.
    let (code, out, err) = x86_64_write("explain", "3");
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(
            "decided by the default action: none of the 2 rules for nr 1 matched (the first is at "
        ) && out.ends_with("rw.policy:3:8)\n"),
        "{out}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A minijail clause that can never decide is reported where it is, on
/// every verb: one with an earlier clause's conditions (a note when the
/// actions agree, a warning when they differ) and one that never holds
/// (`& 0`); a rule of an `@include`d file is excerpted from that file.
#[test]
fn minijail_clauses_that_never_decide_are_reported() {
    let dir = std::env::temp_dir().join(format!("sysfence-mj-dead-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("main.policy"),
        "@include /usr/share/policy/crosvm/inc.policy\n\
         read: arg0 == 1 || arg0 == 1 || arg0 == 2; return 5\n\
         write: arg0 == 1 && arg1 == 2\n\
         write: arg1 == 2 && arg0 == 1; return 3\n\
         write: arg0 & 0\n\
         openat: 1\n",
    )
    .unwrap();
    std::fs::write(dir.join("inc.policy"), "# included\nopenat: arg0 == 4\n").unwrap();
    let constants = repo("corpus/bad/constants.json");
    let p = dir.join("main.policy").display().to_string();
    let (code, out, err) = SYSFENCE.status(&["lint", "--notes", &p, "--constants", &constants]);
    assert_eq!(code, 0, "{err}");
    for want in [
        "main.policy:2:20: this clause of read never decides: the clause at ",
        "main.policy:2:7 has its conditions and comes first\n     2 | read: arg0 == 1 || arg0 == 1",
        "main.policy:4:8: this ERRNO(3) clause of write never decides: the ALLOW clause at ",
        "main.policy:5:8: this clause of write never holds",
        "\n     2 | openat: arg0 == 4\n       |       ^\n",
        "minijail profile for minijail on ",
        "; 3 warning(s), 1 note(s)\n",
    ] {
        assert!(out.contains(want), "want {want:?} in\n{out}");
    }
    // Warnings show on every verb, notes only in `lint --notes`.
    let (code, _, err) =
        SYSFENCE.status(&["compile", &p, "--constants", &constants, "-o", "/dev/null"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(err.matches("warning: ").count(), 3, "{err}");
    assert!(!err.contains("note: "), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Options the profile's format does not use are named in a warning on
/// every verb, not dropped in silence.
#[test]
fn options_a_profile_does_not_use_are_named() {
    let p = repo("corpus/profiles/no-chmod.json");
    for (flag, value) in [
        ("--filter", "main"),
        ("--constants", "constants.json"),
        ("--include-dir", "/"),
    ] {
        for verb in ["lint", "compile"] {
            let mut args = vec![verb, &p, flag, value];
            if verb == "compile" {
                args.extend(["-o", "/dev/null"]);
            }
            let (code, _, err) = SYSFENCE.status(&args);
            assert_eq!(code, 0, "{err}");
            assert!(
                err.contains(&format!("sysfence: warning: {flag} ")),
                "{verb} {flag}: {err}"
            );
        }
    }
    let w = std::env::temp_dir().join(format!("sysfence-w-{}.txt", std::process::id()));
    std::fs::write(&w, "getpid 5\n").expect("writes");
    let (_, _, err) = SYSFENCE.status(&[
        "compile",
        &p,
        "--weights",
        w.to_str().unwrap(),
        "-o",
        "/dev/null",
    ]);
    assert!(
        err.contains("--weights orders the weighted layout"),
        "{err}"
    );
}
