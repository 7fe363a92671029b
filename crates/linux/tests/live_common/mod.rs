//! Shared helpers of the live tests (a module of each, not a test of its own).
#![allow(dead_code)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sysfence_cbpf::Insn;
use sysfence_linux::status::{ProcStatus, Target, read_status};
use sysfence_linux::threads::{Support, support};

/// The env variable that turns a test process into a helper child.
pub const ROLE: &str = "SYSFENCE_LIVE_ROLE";

/// Why the live tests cannot run here, if they cannot.
pub fn skip_reason() -> Option<&'static str> {
    if effective_uid() != 0 {
        return Some("not root: installing, dumping and tracing need root here");
    }
    if support() == Support::Missing {
        return Some("this kernel has no seccomp filter mode");
    }
    match read_status(Target::SelfProcess) {
        Ok(s) if s.filters.unwrap_or(0) == 0 => None,
        _ => Some("the test runner is itself under seccomp"),
    }
}

/// The effective uid, from the `Uid:` line of `/proc/self/status`.
fn effective_uid() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("Uid:")
                    .map(|v| v.split_whitespace().nth(1).unwrap_or("1").to_string())
            })
        })
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
}

/// Runs this test binary again as helper child `role`, running only test `entry`.
pub fn helper(entry: &str, role: &str) -> Command {
    let mut c = Command::new(std::env::current_exe().expect("current_exe"));
    c.args(["--exact", entry, "--nocapture", "--test-threads=1"])
        .env(ROLE, role)
        .stdin(Stdio::null());
    c
}

/// The role this process was started with, if it is a helper child.
pub fn role() -> Option<String> {
    std::env::var(ROLE).ok()
}

/// Polls `/proc/<pid>/status` until `done` holds (at most 10 s).
pub fn wait_status(pid: i32, done: impl Fn(&ProcStatus) -> bool) -> ProcStatus {
    let start = Instant::now();
    loop {
        let s = read_status(Target::Pid(pid)).expect("child status");
        if done(&s) || start.elapsed() > Duration::from_secs(10) {
            return s;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `getppid` (x86_64 110) answers ERRNO(7); everything else is allowed.
pub fn filter_a() -> Vec<Insn> {
    vec![
        Insn::new(0x20, 0, 0, 0),
        Insn::new(0x15, 0, 1, 110),
        Insn::new(0x06, 0, 0, 0x0005_0007),
        Insn::new(0x06, 0, 0, 0x7fff_0000),
    ]
}

/// `sysinfo` (x86_64 99) answers ERRNO(9); the `ld len` keeps junk fields,
/// which the kernel must hand back unchanged.
pub fn filter_b() -> Vec<Insn> {
    vec![
        Insn::new(0x80, 5, 6, 0x1234),
        Insn::new(0x20, 0, 0, 0),
        Insn::new(0x15, 0, 1, 99),
        Insn::new(0x06, 0, 0, 0x0005_0009),
        Insn::new(0x06, 0, 0, 0x7fff_0000),
    ]
}

/// Allows everything.
pub fn allow_all() -> Vec<Insn> {
    vec![Insn::new(0x06, 0, 0, 0x7fff_0000)]
}
