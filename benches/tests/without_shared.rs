//! `sysfence-bench` on a checkout without the shared corpus runs on the
//! repository's own profiles and mixes, says what it left out, and exits 0.

use std::process::Command;

#[test]
fn runs_on_the_repository_alone_and_says_what_it_left_out() {
    let out = Command::new(env!("CARGO_BIN_EXE_sysfence-bench"))
        .args(["--compile-runs", "1"])
        .env("SYSFENCE_SHARED", "/nonexistent/sysfence-shared")
        .output()
        .expect("sysfence-bench runs");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("no shared corpus"), "{stderr}");
    assert!(
        stderr.contains("left out Docker's default profile"),
        "{stderr}"
    );
    for case in ["vmm-args", "allow-list", "no-chmod", "worker"] {
        assert!(stdout.contains(case), "{case} measured:\n{stdout}");
    }
    assert!(
        stdout.contains("ls"),
        "the ls mix of corpus/traces:\n{stdout}"
    );
    assert!(!stdout.contains("docker-default"), "{stdout}");
}

#[test]
fn shows_progress_on_a_terminal() {
    let bin = env!("CARGO_BIN_EXE_sysfence-bench");
    let command = format!("SYSFENCE_SHARED=/nonexistent/sysfence-shared {bin} --compile-runs 1");
    let Some(text) = sysfence_testkit::host::on_a_terminal(&command) else {
        eprintln!("skipped: no `script` to give the benchmark a terminal");
        return;
    };
    assert!(
        text.contains("sysfence: compiling and measuring every profile"),
        "{text}"
    );
}
