//! `sysfence run` refuses what would stop the command from starting (and
//! what would run it unconfined or under another arch's filter) unless
//! `--force`, and warnings never pass unseen into it.

mod support;

use support::{SYSFENCE, has_seccomp, repo, seccomp_or_skip, temp_dir, write};

/// Kubernetes' own `violation.json` example.
const VIOLATION: &str = r#"{"defaultAction":"SCMP_ACT_ERRNO"}"#;

#[test]
fn a_profile_that_denies_execve_is_refused() {
    let dir = temp_dir("run-execve");
    let p = write(&dir, "violation.json", VIOLATION);
    let r = SYSFENCE.exec(&["run", &p, "--", "ls"]);
    r.assert_fails(
        125,
        &["the profile denies execve (ERRNO(1)): the command cannot start"],
        "",
    );
    let only_execve = write(
        &dir,
        "execve.json",
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["execve"],"action":"SCMP_ACT_KILL"}]}"#,
    );
    let r = SYSFENCE.exec(&["run", &only_execve, "--", "true"]);
    r.assert_fails(125, &["denies execve (KILL_THREAD)"], "");
}

/// The check runs `execve` with the words it will be called with: a
/// profile that denies it whenever envp is set is refused, one that denies
/// only a NULL path is not.
#[test]
fn execve_is_checked_with_its_real_arguments() {
    if !seccomp_or_skip("execve_is_checked_with_its_real_arguments") {
        return;
    }
    let dir = temp_dir("run-execve-args");
    let rule = |index: u32, op: &str| {
        format!(
            r#"{{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{{"names":["execve"],"action":"SCMP_ACT_ERRNO","args":[{{"index":{index},"value":0,"op":"{op}"}}]}}]}}"#
        )
    };
    let envp_set = write(&dir, "envp.json", &rule(2, "SCMP_CMP_NE"));
    let r = SYSFENCE.exec(&["run", &envp_set, "--", "true"]);
    r.assert_fails(125, &["denies execve (ERRNO(1))"], "");
    let null_path = write(&dir, "null.json", &rule(0, "SCMP_CMP_EQ"));
    let r = SYSFENCE.exec(&["run", &null_path, "--", "true"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // The unused words are 0, as checked.
    let fourth = write(&dir, "fourth.json", &rule(3, "SCMP_CMP_NE"));
    let r = SYSFENCE.exec(&["run", &fourth, "--", "true"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

/// A file of the command's name that is not executable, early on `PATH`, is
/// skipped as `execvp` skips it.
#[test]
fn a_non_executable_file_on_path_is_skipped() {
    if !seccomp_or_skip("a_non_executable_file_on_path_is_skipped") {
        return;
    }
    let dir = temp_dir("run-path");
    write(&dir, "true", "not a program\n");
    let path = format!("{}:/usr/bin:/bin", dir.display());
    let out = std::process::Command::new(support::BIN)
        .args([
            "run",
            "--quiet",
            &repo("corpus/profiles/no-chmod.json"),
            "--",
            "true",
        ])
        .env("PATH", path)
        .output()
        .expect("runs");
    let r = support::Run::from(out);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[test]
fn force_installs_and_the_exit_status_reports_the_failed_exec() {
    if !seccomp_or_skip("force_installs_and_the_exit_status_reports_the_failed_exec") {
        return;
    }
    let dir = temp_dir("run-force");
    // execve denied, everything else (exit_group included) allowed: the
    // failed exec is reported by the exit status alone.
    let p = write(
        &dir,
        "p.json",
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["execve","write"],"action":"SCMP_ACT_ERRNO"}]}"#,
    );
    let r = SYSFENCE.exec(&["run", "--force", &p, "--", "true"]);
    r.assert_fails(126, &["installing anyway (--force)"], "");
    // Everything denied, exit_group too: the kernel's answer is a signal.
    let all = write(&dir, "v.json", VIOLATION);
    let r = SYSFENCE.exec(&["run", "--force", &all, "--", "true"]);
    assert!(r.signal.is_some(), "code {} {}", r.code, r.stderr);
}

#[test]
fn another_arch_and_unconfined_are_refused() {
    let p = repo("corpus/profiles/allow-list.json");
    if std::env::consts::ARCH == "x86_64" {
        let r = SYSFENCE.exec(&["run", "--quiet", "--host-arch", "arm64", &p, "--", "true"]);
        r.assert_fails(
            125,
            &["the profile has no filter for this machine's arch (x86_64)"],
            "",
        );
    }
    let dir = temp_dir("run-unconfined");
    let empty = write(&dir, "e.json", "{}");
    let r = SYSFENCE.exec(&["run", &empty, "--", "true"]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(r.stderr.contains("unconfined"), "{}", r.stderr);
    if has_seccomp() {
        assert_eq!(
            SYSFENCE
                .exec(&["run", "--force", &empty, "--", "true"])
                .code,
            0
        );
    }
}

#[test]
fn warnings_reach_run_even_with_quiet() {
    let dir = temp_dir("run-warn");
    let typo = write(
        &dir,
        "typo.json",
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscals":[{"names":["chmod"],"action":"SCMP_ACT_ERRNO"}]}"#,
    );
    let r = SYSFENCE.exec(&["run", &typo, "--", "true"]);
    assert!(
        r.stderr.contains("unknown key \"syscals\" ignored"),
        "{}",
        r.stderr
    );
    let r = SYSFENCE.exec(&["run", "--quiet", &typo, "--", "true"]);
    assert!(
        r.stderr.contains("1 warning(s) not shown (--quiet)"),
        "{}",
        r.stderr
    );
    let r = SYSFENCE.exec(&["run", "--deny-warnings", &typo, "--", "true"]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(r.stderr.contains("--deny-warnings"), "{}", r.stderr);
}
