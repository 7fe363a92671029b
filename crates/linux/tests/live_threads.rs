//! Installing on one thread or on all of them (TSYNC), on real threads of a
//! helper child, including the failure that names the thread.

mod live_common;

use std::sync::mpsc;

use live_common::{allow_all, filter_a, helper, role, skip_reason};
use sysfence_linux::status::{Target, read_status};
use sysfence_linux::threads::{Flags, current_thread_id, install_all_threads, install_thread};

fn thread_filters(tid: i32) -> Option<u32> {
    let path = format!("/proc/self/task/{tid}/status");
    let text = std::fs::read_to_string(path).ok()?;
    sysfence_linux::status::parse_status(&text).filters
}

/// A thread that reports its id, optionally installs its own filter first,
/// then waits until told to finish.
fn parked_thread(own_filter: bool) -> (i32, mpsc::Sender<()>, std::thread::JoinHandle<()>) {
    let (tid_tx, tid_rx) = mpsc::channel();
    let (stop_tx, stop_rx) = mpsc::channel::<()>();
    let handle = std::thread::spawn(move || {
        if own_filter {
            install_thread(&allow_all(), Flags::empty()).expect("thread's own filter");
        }
        tid_tx.send(current_thread_id()).expect("send tid");
        let _ = stop_rx.recv();
    });
    (tid_rx.recv().expect("tid"), stop_tx, handle)
}

/// The helper: checks TSYNC failure and success from inside a fresh process.
#[test]
fn child_tsync() {
    if role().as_deref() != Some("tsync") {
        return;
    }
    // A thread with a filter of its own cannot be synchronised: the kernel
    // installs nothing and names it.
    let (diverging, stop, handle) = parked_thread(true);
    let err = install_all_threads(&filter_a(), Flags::empty()).expect_err("tsync must fail");
    assert_eq!(err.thread(), Some(diverging), "{err}");
    assert_eq!(
        thread_filters(current_thread_id()),
        Some(0),
        "nothing installed on failure"
    );
    stop.send(()).expect("stop");
    handle.join().expect("join");

    // A plain thread gets the filter too.
    let (plain, stop, handle) = parked_thread(false);
    assert_eq!(thread_filters(plain), Some(0));
    install_all_threads(&filter_a(), Flags::empty()).expect("tsync");
    assert_eq!(thread_filters(plain), Some(1));
    assert_eq!(thread_filters(current_thread_id()), Some(1));
    stop.send(()).expect("stop");
    handle.join().expect("join");

    // A per-thread install leaves the other threads alone.
    let (other, stop, handle) = parked_thread(false);
    install_thread(&allow_all(), Flags::LOG).expect("per-thread");
    assert_eq!(thread_filters(current_thread_id()), Some(2));
    assert_eq!(thread_filters(other), Some(1));
    stop.send(()).expect("stop");
    handle.join().expect("join");
    println!("tsync checks passed");
}

#[test]
fn tsync_names_the_thread_it_could_not_synchronise() {
    if let Some(why) = skip_reason() {
        eprintln!("skipped: {why}");
        return;
    }
    let out = helper("child_tsync", "tsync").output().expect("run helper");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "helper failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("tsync checks passed"), "{stdout}");
    // The test process itself stays unfiltered.
    assert_eq!(
        read_status(Target::SelfProcess).expect("status").filters,
        Some(0)
    );
}
