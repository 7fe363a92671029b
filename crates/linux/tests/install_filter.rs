//! `install::install_filter` on a dedicated thread: filters are per thread,
//! so the filter confines that thread only and goes away with it.
#![allow(unsafe_code)]

use sysfence_cbpf::program::Program;
use sysfence_cbpf::{Insn, Opcode};
use sysfence_linux::install::{Flags, install_filter, set_no_new_privs};

/// x86_64 `getppid`.
const NR_GETPPID: u32 = 110;

#[test]
fn installed_filter_confines_only_its_thread() {
    if !cfg!(all(target_os = "linux", target_arch = "x86_64")) {
        eprintln!("installed_filter_confines_only_its_thread: skipped: needs Linux x86_64");
        return;
    }
    if !sysfence_testkit::host::seccomp_or_skip("installed_filter_confines_only_its_thread") {
        return;
    }
    // getppid() fails with errno 7; everything else is allowed.
    let prog = Program::new(&[
        Insn::op(Opcode::LdAbsW, 0, 0, 0),
        Insn::op(Opcode::JeqK, 0, 1, NR_GETPPID),
        Insn::op(Opcode::RetK, 0, 0, 0x0005_0007),
        Insn::op(Opcode::RetK, 0, 0, 0x7fff_0000),
    ])
    .expect("valid program");
    let confined = std::thread::spawn(move || {
        set_no_new_privs().expect("no_new_privs");
        install_filter(&prog, Flags::empty()).expect("install");
        // SAFETY: getppid has no arguments and no side effects. (The glibc
        // wrapper does not look at errors, so the raw syscall is used.)
        let ret = unsafe { libc::syscall(libc::SYS_getppid) };
        (ret, std::io::Error::last_os_error().raw_os_error())
    })
    .join()
    .expect("confined thread");
    assert_eq!(confined, (-1, Some(7)));
    // SAFETY: as above.
    assert!(
        unsafe { libc::getppid() } > 0,
        "the filter leaked to another thread"
    );
}
