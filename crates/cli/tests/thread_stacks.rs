//! A process whose main thread is filtered and another thread is not: the
//! exact verbs on `pid:N` and `status --against` refuse it (one stack does
//! not say what the process may do), and `dump N` warns that it shows the
//! main thread's filters only.
//!
//! The child is this test binary again (`SYSFENCE_THREADS_CHILD`), so its
//! main thread is ours to filter: it starts a thread, installs a filter on
//! the main thread alone, says "ready" and waits for its standard input to
//! close.

mod support;

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};

use sysfence_cbpf::Insn;
use sysfence_linux::threads::{Flags, install_thread, set_no_new_privs};

use support::{SYSFENCE, temp_dir, write};

const CHILD: &str = "SYSFENCE_THREADS_CHILD";

fn main() {
    if std::env::var_os(CHILD).is_some() {
        return child();
    }
    if !support::seccomp_or_skip("thread_stacks") {
        return;
    }
    if !support::is_root() || support::is_filtered() {
        // CI runs as root, unfiltered: there the case must run.
        assert!(
            !sysfence_testkit::shared::in_ci(),
            "thread_stacks: CI=true, but not root or already filtered"
        );
        eprintln!("thread_stacks: skipped: needs root and an unfiltered test process");
        return;
    }
    let mut child = Command::new(std::env::current_exe().expect("own path"))
        .env(CHILD, "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("child starts");
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().expect("stdout"))
        .read_line(&mut line)
        .expect("reads");
    assert_eq!(line, "ready\n");
    let result = std::panic::catch_unwind(|| check(child.id()));
    drop(child.stdin.take());
    let _ = child
        .stdout
        .take()
        .map(|mut o| o.read_to_end(&mut Vec::new()));
    let _ = child.wait();
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
    println!("thread_stacks: ok");
}

fn check(pid: u32) {
    let dir = temp_dir("thread-stacks");
    let profile = write(
        &dir,
        "no-chmod.json",
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["chmod"],"action":"SCMP_ACT_ERRNO","errnoRet":13}]}"#,
    );
    let pid = pid.to_string();
    let operand = format!("pid:{pid}");
    for args in [
        vec!["equiv", &operand, &profile],
        vec!["refines", &operand, &profile],
        vec!["status", &pid, "--against", &profile],
        vec!["decompile", &operand],
    ] {
        let r = SYSFENCE.exec(&args);
        r.assert_fails(
            2,
            &["confined differently", "holds another filter stack"],
            &args.join(" "),
        );
    }
    let r = SYSFENCE.exec(&["dump", &pid]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("holds another filter stack"),
        "{}",
        r.stderr
    );
}

/// The child: an unfiltered thread, then a filter on the main thread.
fn child() {
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let idle = std::thread::spawn(move || {
        let _ = rx.recv();
    });
    // ld [0]; jeq #90 (chmod), 0, 1; ret ERRNO(13); ret ALLOW
    let filter = [
        Insn::new(0x20, 0, 0, 0),
        Insn::new(0x15, 0, 1, 90),
        Insn::new(0x06, 0, 0, 0x0005_000d),
        Insn::new(0x06, 0, 0, 0x7fff_0000),
    ];
    set_no_new_privs().expect("no_new_privs");
    install_thread(&filter, Flags::empty()).expect("installs");
    println!("ready");
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    drop(tx);
    idle.join().expect("joins");
}
