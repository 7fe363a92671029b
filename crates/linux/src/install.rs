//! Installing a validated program on the calling thread: the front door the
//! `run` verb uses.
//!
//! In: a [`Program`] (already accepted by the cBPF validator, so the kernel
//! will not refuse its content) and [`Flags`]. Out: the filter attached to
//! the calling thread, or an [`InstallError`] naming the failed step.
//!
//! The work is done by [`crate::threads`]; this module only adds the
//! validated-program entry point and the `prctl(PR_SET_SECCOMP)` fallback for
//! kernels whose `seccomp(2)` system call is missing (it appeared in 3.17;
//! `prctl` takes no flags, so the fallback is used only when `flags` is
//! empty). `no_new_privs` is not set implicitly: call [`set_no_new_privs`]
//! first unless the caller has `CAP_SYS_ADMIN`.
#![allow(unsafe_code)]

use sysfence_cbpf::program::Program;

pub use crate::threads::{Flags, InstallError, set_no_new_privs};

/// `SECCOMP_MODE_FILTER`, the `prctl(PR_SET_SECCOMP)` mode argument.
const SECCOMP_MODE_FILTER: libc::c_ulong =
    sysfence_cbpf::abi::calls::SECCOMP_MODE_FILTER as libc::c_ulong;

/// Installs `program` with `flags` (`TSYNC` puts it on every thread).
///
/// When `seccomp(2)` does not exist (`ENOSYS`) and `flags` is empty, the
/// filter is installed with `prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER)`
/// instead; if that fails too, the original error is returned.
pub fn install_filter(program: &Program, flags: Flags) -> Result<(), InstallError> {
    match crate::threads::install(program.insns(), flags) {
        Err(e) if e.errno() == Some(libc::ENOSYS) && flags.is_empty() => {
            match prctl_install(program) {
                Ok(()) => Ok(()),
                Err(()) => Err(e),
            }
        }
        other => other,
    }
}

/// `prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog)`.
fn prctl_install(program: &Program) -> Result<(), ()> {
    let insns = program.insns();
    // A validated program has at most 4,096 instructions.
    let len = u16::try_from(insns.len()).map_err(drop)?;
    // `Insn` is `#[repr(C)]` with the layout of `struct sock_filter`.
    let prog = libc::sock_fprog {
        len,
        filter: insns.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: `prog` points at `len` instructions that outlive the call; the
    // kernel only reads them.
    let rc = unsafe {
        libc::prctl(
            libc::PR_SET_SECCOMP,
            SECCOMP_MODE_FILTER,
            &prog as *const libc::sock_fprog,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        )
    };
    if rc == 0 { Ok(()) } else { Err(()) }
}
