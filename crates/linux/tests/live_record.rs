//! Recording real commands under ptrace: exit codes, signals, many children,
//! a missing command and i386 calls through `int 0x80`.
//!
//! A recorder waits for any child of its process (`waitpid(-1)`), so the
//! recordings of this file take turns through one lock.

mod live_common;

use std::ffi::{OsStr, OsString};
use std::sync::{Mutex, MutexGuard};

use live_common::{role, skip_reason};
use sysfence_linux::record::{Exit, NATIVE_ARCH, RecordErrorKind, record};

use sysfence_cbpf::abi::arch::AUDIT_ARCH_I386 as I386;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn turn() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner())
}

fn sh(script: &str) -> Vec<OsString> {
    vec!["-c".into(), script.into()]
}

fn count(r: &sysfence_linux::record::Recording, nr: u32) -> u64 {
    r.trace.count(NATIVE_ARCH, nr)
}

#[cfg(target_arch = "x86_64")]
mod nr {
    pub const EXECVE: u32 = 59;
    pub const EXIT_GROUP: u32 = 231;
    pub const KILL: u32 = 62;
}

#[cfg(target_arch = "x86_64")]
#[test]
fn true_exits_zero_and_is_counted() {
    if let Some(why) = skip_reason() {
        eprintln!("skipped: {why}");
        return;
    }
    let _turn = turn();
    let r = record(OsStr::new("true"), &[]).expect("record true");
    assert_eq!(r.exit, Exit::Code(0));
    assert_eq!(r.tasks, 1);
    assert_eq!(count(&r, nr::EXECVE), 1);
    assert_eq!(count(&r, nr::EXIT_GROUP), 1);
    assert_eq!(r.trace.arches().collect::<Vec<_>>(), [NATIVE_ARCH]);
}

#[cfg(target_arch = "x86_64")]
#[test]
fn many_children_are_all_followed() {
    if let Some(why) = skip_reason() {
        eprintln!("skipped: {why}");
        return;
    }
    let _turn = turn();
    let script =
        "for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do /bin/true; done; exit 3";
    let r = record(OsStr::new("sh"), &sh(script)).expect("record sh");
    assert_eq!(r.exit, Exit::Code(3));
    assert!(r.tasks >= 21, "tasks {}", r.tasks);
    // sh itself plus one execve per /bin/true.
    assert!(
        count(&r, nr::EXECVE) >= 21,
        "execve {}",
        count(&r, nr::EXECVE)
    );
    assert!(count(&r, nr::EXIT_GROUP) >= 21);
}

#[cfg(target_arch = "x86_64")]
#[test]
fn signals_are_delivered_and_stops_resumed() {
    if let Some(why) = skip_reason() {
        eprintln!("skipped: {why}");
        return;
    }
    let _turn = turn();
    // A handled signal reaches its handler.
    let r = record(
        OsStr::new("sh"),
        &sh("trap 'exit 7' USR1; kill -USR1 $$; sleep 5"),
    )
    .expect("record trap");
    assert_eq!(r.exit, Exit::Code(7));
    assert!(count(&r, nr::KILL) >= 1);
    // A fatal one kills, and the recording says so.
    let r = record(OsStr::new("sh"), &sh("kill -TERM $$; sleep 5")).expect("record kill");
    assert_eq!(r.exit, Exit::Signal(libc::SIGTERM));
    // A stop does not hang the recorder.
    let r = record(OsStr::new("sh"), &sh("kill -STOP $$; exit 4")).expect("record stop");
    assert_eq!(r.exit, Exit::Code(4));
}

#[test]
fn a_missing_command_is_reported() {
    let _turn = turn();
    let err = record(OsStr::new("sysfence-no-such-command"), &[]).unwrap_err();
    assert!(matches!(err.kind(), RecordErrorKind::NotFound(_)), "{err}");
    assert_eq!(
        err.to_string(),
        "sysfence-no-such-command: command not found"
    );
}

/// The helper: one i386 `getpid` (20) through `int 0x80`, then exit.
#[cfg(target_arch = "x86_64")]
#[test]
fn child_int80() {
    if role().as_deref() != Some("int80") {
        return;
    }
    let mut eax: u32 = 20;
    // SAFETY: i386 getpid takes no arguments and only writes eax.
    #[allow(unsafe_code)]
    unsafe {
        std::arch::asm!("int 0x80", inout("eax") eax, options(nostack));
    }
    assert!(eax > 0, "getpid through int 0x80 returned {eax}");
}

#[cfg(target_arch = "x86_64")]
#[test]
fn int80_calls_count_as_i386() {
    if let Some(why) = skip_reason() {
        eprintln!("skipped: {why}");
        return;
    }
    let _turn = turn();
    let exe = std::env::current_exe().expect("current_exe");
    let mut args: Vec<OsString> = vec![format!("{}=int80", live_common::ROLE).into(), exe.into()];
    args.extend(["--exact", "child_int80", "--test-threads=1"].map(OsString::from));
    let r = record(OsStr::new("env"), &args).expect("record helper");
    assert_eq!(r.exit, Exit::Code(0));
    assert_eq!(r.trace.count(I386, 20), 1);
    assert_eq!(r.trace.arches().collect::<Vec<_>>(), [I386, NATIVE_ARCH]);
}
