//! What the machine running a test allows: live tests ask here whether they
//! can install filters, ptrace, or are already confined, and scratch files
//! live in per-test temporary directories.
//!
//! In: `/proc/self/status` and the system's temporary directory. Out:
//! booleans and paths. Not checked: whether the kernel really enforces
//! filters; the live tests themselves show that.

use std::path::{Path, PathBuf};

fn status_field(key: &str) -> Option<String> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix(key))
        .map(|v| v.trim().to_string())
}

/// Whether live tests can install filters here (Linux with seccomp).
pub fn has_seccomp() -> bool {
    status_field("Seccomp:").is_some()
}

/// Whether a live test that needs seccomp can run: true with seccomp;
/// without it, a skip with a printed reason, except under CI (`CI=true`),
/// whose kernel has seccomp, where the test fails instead of passing
/// having checked nothing.
pub fn seccomp_or_skip(test: &str) -> bool {
    if has_seccomp() {
        return true;
    }
    assert!(
        !crate::shared::in_ci(),
        "{test}: CI=true and this kernel has no seccomp"
    );
    eprintln!("{test}: skipped: no seccomp in this kernel");
    false
}

/// Whether this process may ptrace (root; needed by record, dump, status PID).
pub fn is_root() -> bool {
    status_field("Uid:").is_some_and(|v| v.split_whitespace().nth(1) == Some("0"))
}

/// Whether this test process is itself under seccomp.
pub fn is_filtered() -> bool {
    status_field("Seccomp:").is_some_and(|v| v != "0")
}

/// Why live tests (installing filters, ptrace) cannot run here, if they
/// cannot: not root, no seccomp, or this test process already filtered.
pub fn live_skip_reason() -> Option<&'static str> {
    if !is_root() {
        Some("not root")
    } else if !has_seccomp() {
        Some("this kernel has no seccomp")
    } else if is_filtered() {
        Some("the test runner is itself under seccomp")
    } else {
        None
    }
}

/// A fresh empty directory under the system's temporary directory.
pub fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "sysfence-{tag}-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Writes `text` to `name` in `dir` and returns the path as a string.
pub fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path.display().to_string()
}

/// Runs `command` (a shell command line) on a terminal made by `script`,
/// with progress lines shown at once; returns what the terminal showed, or
/// `None` where `script` is missing.
pub fn on_a_terminal(command: &str) -> Option<String> {
    let out = std::process::Command::new("script")
        .args(["-qec", command, "/dev/null"])
        .env("SYSFENCE_PROGRESS_AFTER_MS", "0")
        .output()
        .ok()?;
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}
