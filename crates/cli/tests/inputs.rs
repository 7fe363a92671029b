//! Bad inputs of the command line: capped reads, FIFOs and directories,
//! flag values, messages, and profile warnings on every profile verb.

mod support;

use support::{SYSFENCE, repo, temp_dir, write};

#[test]
fn endless_and_huge_inputs_are_refused_at_the_cap() {
    for verb in ["compile", "asm", "validate", "lint", "disasm"] {
        let r = SYSFENCE.exec(&[verb, "/dev/zero"]);
        assert_eq!(r.code, 2, "{verb}: {}", r.stderr);
        assert!(
            r.stderr.contains("/dev/zero: larger than 67108864 bytes"),
            "{verb}: {}",
            r.stderr
        );
    }
    // The operands of the exact verbs, one of two or alone.
    let dir = temp_dir("inputs-cap");
    let a = write(&dir, "a.s", "ret #0x7fff0000\n");
    let runs: &[&[&str]] = &[
        &["equiv", "/dev/zero", &a],
        &["diff", &a, "/dev/zero"],
        &["refines", "/dev/zero", &a],
        &["count", "/dev/zero"],
        &["decompile", "/dev/zero"],
    ];
    for args in runs {
        let r = SYSFENCE.exec(args);
        r.assert_fails(2, &["/dev/zero: larger than 67108864 bytes"], args[0]);
    }
    let big = vec![b' '; (64 << 20) + 1];
    let r = SYSFENCE.run_in(&["lint", "-"], &big, None);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("<stdin>: larger than"), "{}", r.stderr);
}

#[test]
fn directories_and_fifos_get_a_clear_error() {
    let dir = temp_dir("inputs-kind");
    let d = dir.display().to_string();
    let r = SYSFENCE.exec(&["compile", &d]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("is a directory, not a file"),
        "{}",
        r.stderr
    );
    let fifo = dir.join("pipe");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success());
    if made {
        // Would block forever if it were opened.
        let r = SYSFENCE.exec(&["asm", &fifo.display().to_string()]);
        assert_eq!(r.code, 2);
        assert!(r.stderr.contains("is a FIFO (named pipe)"), "{}", r.stderr);
    }
}

#[test]
fn caps_and_weights_are_checked() {
    let p = repo("corpus/profiles/allow-list.json");
    let r = SYSFENCE.exec(&["lint", &p, "--caps", "CAP_SYS_ADMIN,bogus"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("--caps: unknown capability \"bogus\""),
        "{}",
        r.stderr
    );
    assert_eq!(SYSFENCE.exec(&["lint", &p, "--caps", "all"]).code, 0);
    assert_eq!(
        SYSFENCE
            .exec(&["lint", &p, "--caps", "sys_admin,net_raw"])
            .code,
        0
    );
    let dir = temp_dir("inputs-weights");
    let w = write(
        &dir,
        "w",
        "read 18446744073709551615\nwrite 18446744073709551615\n",
    );
    let r = SYSFENCE.exec(&["cost", &p, "--weights", &w]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("more than 2^64-1"), "{}", r.stderr);
}

#[test]
fn messages_say_what_is_wrong() {
    let dir = temp_dir("inputs-msg");
    let r = SYSFENCE.run_in(&["asm"], b"ret\n", None);
    assert!(
        r.stderr
            .contains("`ret` needs an operand: it takes `#k` or `a`"),
        "{}",
        r.stderr
    );
    let e = write(
        &dir,
        "e.json",
        r#"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":70000}"#,
    );
    let r = SYSFENCE.exec(&["lint", &e]);
    assert!(
        r.stderr
            .contains("errno 70000 (4464 once cut to 16 bits) is out of range"),
        "{}",
        r.stderr
    );
    let y = write(
        &dir,
        "d.yaml",
        "kind: SeccompProfile\nkind: SeccompProfile\n",
    );
    let r = SYSFENCE.exec(&["lint", &y]);
    assert!(r.stderr.contains("duplicate mapping key"), "{}", r.stderr);
    assert!(!r.stderr.contains("DuplicateKeyPolicy"), "{}", r.stderr);
    let prog = repo("corpus/programs/x86_64-allow-list.bpf");
    let r = SYSFENCE.exec(&["emu", &prog]);
    assert!(r.stderr.contains("missing SYSCALL"), "{}", r.stderr);
    let r = SYSFENCE.exec(&["emu", &prog, "getpid"]);
    assert!(
        r.stderr.contains("--arch is required for a single syscall"),
        "{}",
        r.stderr
    );
}

#[test]
fn every_profile_verb_prints_warnings_as_a_compiler_does() {
    let dir = temp_dir("inputs-warn");
    let typo = write(
        &dir,
        "typo.json",
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscals":[]}"#,
    );
    let verbs: [&[&str]; 5] = [
        &["compile", &typo, "-o", "/dev/null"],
        &["check", &typo],
        &["cost", &typo],
        &["explain", &typo, "--arch", "x86_64", "read"],
        &["emu", &typo, "--arch", "x86_64", "read"],
    ];
    for args in verbs {
        let r = SYSFENCE.exec(args);
        assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
        assert!(
            r.stderr.contains("warning: ") && r.stderr.contains("unknown key \"syscals\""),
            "{args:?}: {}",
            r.stderr
        );
        let mut quiet = args.to_vec();
        quiet.push("--quiet");
        assert!(
            !SYSFENCE.exec(&quiet).stderr.contains("warning"),
            "{args:?}"
        );
        let mut deny = args.to_vec();
        deny.push("--deny-warnings");
        assert_eq!(SYSFENCE.exec(&deny).code, 1, "{args:?}");
    }
    // Past ten warnings, a summary line with the count.
    let names: Vec<String> = (0..12).map(|i| format!("\"nosuch{i}\"")).collect();
    let many = write(
        &dir,
        "many.json",
        &format!(
            r#"{{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{{"names":[{}],"action":"SCMP_ACT_ERRNO"}}]}}"#,
            names.join(",")
        ),
    );
    let r = SYSFENCE.exec(&["lint", "--quiet", &many]);
    assert!(!r.stdout.contains("warning: "), "{}", r.stdout);
    assert!(r.stdout.contains("12 warning(s)"), "{}", r.stdout);
    let r = SYSFENCE.exec(&["check", &many]);
    assert_eq!(r.stderr.matches("warning: ").count(), 10, "{}", r.stderr);
    assert!(r.stderr.contains("12 warnings, 10 shown"), "{}", r.stderr);
}

#[test]
fn a_seccompiler_file_takes_its_target_from_arch() {
    let p = repo("corpus/profiles/worker.seccompiler.json");
    let r = SYSFENCE.exec(&["compile", &p, "--arch", "aarch64", "-o", "/dev/null"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("for aarch64"), "{}", r.stderr);
}

#[test]
fn progress_shows_on_a_terminal_only() {
    let p = repo("corpus/profiles/allow-list.json");
    let piped = std::process::Command::new(support::BIN)
        .args(["check", &p])
        .env("SYSFENCE_PROGRESS_AFTER_MS", "0")
        .output()
        .expect("runs");
    assert!(
        !String::from_utf8_lossy(&piped.stderr).contains("compiling and checking"),
        "no progress line when standard error is not a terminal"
    );
    // `script` gives the command a terminal, where the line appears.
    let Some(text) = sysfence_testkit::host::on_a_terminal(&format!("{} check {p}", support::BIN))
    else {
        eprintln!("skipped the terminal half: no `script`");
        return;
    };
    assert!(text.contains("sysfence: compiling and checking"), "{text}");
}

#[test]
fn a_label_named_like_a_yaml_key_starts_a_program() {
    let dir = temp_dir("inputs-label");
    let plain = write(&dir, "plain.s", "ret #1\n");
    for (name, text) in [
        ("kind.s", "kind: ret #1\n"),
        ("api.s", "apiVersion:\n  ret #1\n"),
        ("chain.s", "kind: next: ret #1\n"),
    ] {
        let prog = write(&dir, name, text);
        let r = SYSFENCE.exec(&["emu", &prog, "--arch", "x86_64", "0"]);
        assert_eq!(r.code, 0, "{name}: {}", r.stderr);
        let r = SYSFENCE.exec(&["equiv", &prog, &plain]);
        assert_eq!(r.code, 0, "{name}: {}", r.stderr);
    }
    // A YAML profile still reads as one.
    let spo = repo("corpus/profiles/app.spo.yaml");
    let r = SYSFENCE.exec(&["emu", &spo, "--arch", "x86_64", "read"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = SYSFENCE.exec(&["equiv", &spo, &spo]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let kind = write(&dir, "k.yaml", "kind: SeccompProfile\nspec: []\n");
    let r = SYSFENCE.exec(&["emu", &kind, "--arch", "x86_64", "read"]);
    r.assert_fails(2, &["$.spec"], "a YAML profile with a bad spec");
}
