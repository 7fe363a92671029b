//! `status PID` shows every thread's filter stack when they differ: a
//! thread of this test process installs a filter of its own, and `status`
//! of this process names both groups.

mod support;

use std::sync::mpsc;

use sysfence_cbpf::Insn;
use sysfence_linux::threads::{Flags, install_thread, set_no_new_privs};

#[test]
fn threads_with_different_stacks_are_shown_apart() {
    if !support::is_root() || !support::has_seccomp() || support::is_filtered() {
        eprintln!("skipped: needs root, seccomp and an unfiltered test process");
        return;
    }
    let (ready_tx, ready_rx) = mpsc::channel();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let thread = std::thread::spawn(move || {
        // ld [0]; jeq #90 (chmod), 0, 1; ret ERRNO(13); ret ALLOW
        let filter = [
            Insn::new(0x20, 0, 0, 0),
            Insn::new(0x15, 0, 1, 90),
            Insn::new(0x06, 0, 0, 0x0005_000d),
            Insn::new(0x06, 0, 0, 0x7fff_0000),
        ];
        let installed = set_no_new_privs()
            .and_then(|()| install_thread(&filter, Flags::empty()))
            .is_ok();
        let tid = sysfence_linux::threads::current_thread_id();
        ready_tx.send((installed, tid)).expect("send");
        let _ = done_rx.recv();
    });
    let (installed, tid) = ready_rx.recv().expect("thread ready");
    assert!(installed, "the thread could not install its filter");
    let pid = std::process::id().to_string();
    let r = support::SYSFENCE.exec(&["status", &pid]);
    drop(done_tx);
    thread.join().expect("join");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("the threads' filter stacks differ:"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains(&format!("threads {tid}:\n")),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("errno 13 (EACCES): 1: chmod\n"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("no filter: every x86_64 syscall is allowed"),
        "{}",
        r.stdout
    );
}
