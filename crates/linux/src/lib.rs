//! sysfence-linux: the live Linux kernel, as an installer and as a test oracle.
//!
//! This is the only sysfence crate that talks to the kernel and the only one
//! with `unsafe` code. Everything here is Linux-only; the oracle also needs an
//! x86_64 host, because it issues raw `syscall` instructions. On any other
//! target the same functions exist and return an error whose
//! [`Error::is_unsupported`] is `true`, so callers compile everywhere.
//!
//! * [`install`]: `no_new_privs` and `seccomp(SECCOMP_SET_MODE_FILTER)` (with a
//!   `prctl` fallback) for an already validated [`sysfence_cbpf::program::Program`].
//! * [`oracle`]: asks the running kernel what a filter returns for given
//!   `seccomp_data` inputs ([`oracle::Oracle::run`]) and whether it accepts a
//!   raw program at all ([`oracle::load_accepts`]), without ever letting the
//!   filter act on the calling process. It is how the interpreter and the
//!   validator of `sysfence-cbpf` are proved kernel-exact.
//! * [`exec`]: install a filter and `execve` a command with nothing in
//!   between that the filter could deny.
//! * [`probe`]: what the filters confining this process do with every
//!   syscall number, asked from the inside without running any call.
//! * [`threads`], [`status`], [`dump`], [`record`], [`kernel_time`]: per-thread
//!   installation, `/proc/<pid>/status`, `PTRACE_SECCOMP_GET_FILTER`,
//!   syscall recording and real-kernel timing (each module says more).
//! * [`sigpipe`]: the default `SIGPIPE` disposition back, for a command-line
//!   tool that should end quietly when its output pipe closes.
//!
//! What comes in: raw [`sysfence_cbpf::Insn`] arrays or validated programs and
//! [`sysfence_cbpf::SeccompData`] inputs. What goes out: raw 32-bit filter
//! return values, accept/reject answers, and typed [`Error`]s. Nothing here
//! validates a program itself; the kernel is the judge.
#![deny(missing_docs)]

pub mod audit;
pub mod dump;
mod error;
pub mod exec;
pub mod install;
pub mod kernel_time;
pub mod oracle;
pub mod probe;
pub mod progress;
pub mod record;
pub mod sigpipe;
pub mod status;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod sys;
pub mod threads;

pub use error::Error;

// Every `&[Insn]` this crate hands to the kernel (install, threads, the
// oracle) is cast to `struct sock_filter`, and dumped filters are read back
// into `Insn` buffers: pin the layout against libc's own definition, not only
// against the numbers `sysfence-abi` records.
const _: () = {
    use core::mem::{align_of, offset_of, size_of};
    use libc::sock_filter;
    use sysfence_cbpf::Insn;
    assert!(size_of::<Insn>() == size_of::<sock_filter>());
    assert!(align_of::<Insn>() == align_of::<sock_filter>());
    assert!(offset_of!(Insn, code) == offset_of!(sock_filter, code));
    assert!(offset_of!(Insn, jt) == offset_of!(sock_filter, jt));
    assert!(offset_of!(Insn, jf) == offset_of!(sock_filter, jf));
    assert!(offset_of!(Insn, k) == offset_of!(sock_filter, k));
};

// The call numbers this crate passes come from `sysfence-abi`; pin them
// against libc's where libc has them (it has no PTRACE_SECCOMP_GET_FILTER).
// libc gives each its own integer type, some of them `u64` already.
#[allow(clippy::unnecessary_cast)]
const _: () = {
    use sysfence_cbpf::abi::calls;
    assert!(calls::SECCOMP_SET_MODE_FILTER as u64 == libc::SECCOMP_SET_MODE_FILTER as u64);
    assert!(calls::SECCOMP_GET_ACTION_AVAIL as u64 == libc::SECCOMP_GET_ACTION_AVAIL as u64);
    assert!(calls::SECCOMP_FILTER_FLAG_TSYNC as u64 == libc::SECCOMP_FILTER_FLAG_TSYNC as u64);
    assert!(calls::SECCOMP_FILTER_FLAG_LOG as u64 == libc::SECCOMP_FILTER_FLAG_LOG as u64);
    assert!(
        calls::SECCOMP_FILTER_FLAG_SPEC_ALLOW as u64 == libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW as u64
    );
    assert!(
        calls::SECCOMP_FILTER_FLAG_NEW_LISTENER as u64
            == libc::SECCOMP_FILTER_FLAG_NEW_LISTENER as u64
    );
    assert!(calls::SECCOMP_MODE_FILTER as u64 == libc::SECCOMP_MODE_FILTER as u64);
    assert!(calls::PTRACE_GET_SYSCALL_INFO as u64 == libc::PTRACE_GET_SYSCALL_INFO as u64);
};
