//! `status` and `dump` on real processes: a helper child installs two known
//! filters (one with the LOG flag, one with junk in unused fields), and the
//! test reads them back through `/proc/<pid>/status` and
//! `PTRACE_SECCOMP_GET_FILTER`.

mod live_common;

use std::process::{Command, Stdio};

use live_common::{filter_a, filter_b, helper, role, skip_reason, wait_status};
use sysfence_linux::dump::{DumpErrorKind, dump_all, dump_one};
use sysfence_linux::status::{Mode, Target, process_arch, read_status};
use sysfence_linux::threads::{Flags, install_all_threads, set_no_new_privs};

/// The helper: no_new_privs, filters A then B on every thread, then sleep
/// until killed.
#[test]
fn child_filtered_sleeper() {
    if role().as_deref() != Some("filtered_sleeper") {
        return;
    }
    set_no_new_privs().expect("no_new_privs");
    install_all_threads(&filter_a(), Flags::empty()).expect("filter a");
    install_all_threads(&filter_b(), Flags::LOG).expect("filter b");
    loop {
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
}

#[test]
fn status_and_dump_of_a_filtered_child() {
    if let Some(why) = skip_reason() {
        eprintln!("skipped: {why}");
        return;
    }
    let mut child = helper("child_filtered_sleeper", "filtered_sleeper")
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn helper");
    let pid = child.id() as i32;
    let status = wait_status(pid, |s| s.filters == Some(2));
    let filters = dump_all(pid);
    let second = dump_one(pid, 1);
    let third = dump_one(pid, 2);
    let arch = process_arch(Target::Pid(pid));
    let _ = child.kill();
    let _ = child.wait();

    assert_eq!(status.mode, Some(Mode::Filter));
    assert_eq!(status.filters, Some(2));
    assert!(status.no_new_privs);
    assert_eq!(
        filters.expect("dump"),
        vec![filter_a(), filter_b()],
        "oldest first, bytes as installed"
    );
    assert_eq!(second.expect("dump index 1"), Some(filter_b()));
    assert_eq!(third.expect("dump index 2"), None);
    #[cfg(target_arch = "x86_64")]
    assert_eq!(arch.expect("arch"), Some(0xc000_003e));
}

#[test]
fn an_unfiltered_process_says_so() {
    if let Some(why) = skip_reason() {
        eprintln!("skipped: {why}");
        return;
    }
    let mut child = Command::new("sleep")
        .arg("30")
        .spawn()
        .expect("spawn sleep");
    let pid = child.id() as i32;
    let status = read_status(Target::Pid(pid)).expect("status");
    let err = dump_all(pid).unwrap_err();
    // The process must survive the dump (it was detached, not killed).
    let alive = child.try_wait().expect("try_wait").is_none();
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(status.mode, Some(Mode::Disabled));
    assert_eq!(status.filters, Some(0));
    assert_eq!(err.kind(), &DumpErrorKind::NotFiltered);
    assert_eq!(
        err.to_string(),
        format!("process {pid} is not in seccomp filter mode")
    );
    assert!(alive, "dump must leave the process running");
}

#[test]
fn a_process_that_is_gone() {
    let mut child = Command::new("true").spawn().expect("spawn true");
    let pid = child.id() as i32;
    let _ = child.wait();
    let err = dump_all(pid).unwrap_err();
    assert_eq!(err.kind(), &DumpErrorKind::NoSuchProcess, "{err}");
    assert!(read_status(Target::Pid(pid)).unwrap_err().is_not_found());
}

#[test]
fn a_zombie_is_reported_as_exited() {
    if let Some(why) = skip_reason() {
        eprintln!("skipped: {why}");
        return;
    }
    let mut child = Command::new("true").spawn().expect("spawn true");
    let pid = child.id() as i32;
    // Not reaped yet: a zombie until `wait`.
    let status = wait_status(pid, |s| {
        s.name.is_empty() || read_state(pid).contains("zombie")
    });
    let err = dump_all(pid).unwrap_err();
    let _ = child.wait();
    let _ = status;
    assert_eq!(err.kind(), &DumpErrorKind::Exited, "{err}");
    assert_eq!(
        err.to_string(),
        format!("process {pid} exited before its filters could be read")
    );
}

fn read_state(pid: i32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("State:"))
        .unwrap_or("")
        .to_string()
}
