//! Reading the filters of a running process (`PTRACE_SECCOMP_GET_FILTER`).
//!
//! In: a process (or thread) id. Out: every filter attached to it, oldest
//! first (index 0 is the first one installed), as the raw instructions the
//! installer handed to the kernel (the kernel keeps the original bytes).
//!
//! How: `PTRACE_SEIZE` + `PTRACE_INTERRUPT` puts the task in a ptrace stop
//! without sending it a signal; `PTRACE_SECCOMP_GET_FILTER` is asked for
//! index 0, 1, … until `ENOENT`; then `PTRACE_DETACH` lets it go on.
//!
//! Requirements the kernel enforces, each reported as its own
//! [`DumpErrorKind`]: the caller needs `CAP_SYS_ADMIN` and must not itself be
//! under seccomp (`EACCES`), ptrace must be allowed (Yama, another tracer:
//! `EPERM`), the kernel needs `CONFIG_CHECKPOINT_RESTORE` (`EIO`), and a
//! process that is not in filter mode answers `EINVAL`.
//!
//! Not checked: the returned programs are not validated; they are exactly
//! what the kernel stored. Filters are per thread: [`dump_all`] reads the
//! stack of the given task only, [`dump_process`] the stack every thread of
//! a process holds, and refuses a process whose threads differ.
//!
//! The stop interrupts a sleeping syscall, which the task restarts through
//! `restart_syscall` when it goes on; a filter that denies that call fails
//! or kills the task. Nothing here can avoid that; the verbs warn.
#![allow(unsafe_code)]

use std::fmt;
use std::io;

use sysfence_cbpf::Insn;

/// `PTRACE_SECCOMP_GET_FILTER`, as `ptrace(2)` takes it.
const PTRACE_SECCOMP_GET_FILTER: libc::c_uint =
    sysfence_cbpf::abi::calls::PTRACE_SECCOMP_GET_FILTER;
/// `PTRACE_EVENT_STOP`.
const PTRACE_EVENT_STOP: i32 = 128;

/// Why a dump failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DumpErrorKind {
    /// No such process.
    NoSuchProcess,
    /// The process exited (or was a zombie) before all filters were read.
    Exited,
    /// `EPERM` from ptrace: not allowed to trace it (not root, Yama
    /// `ptrace_scope`, or another tracer is attached).
    NotPermitted,
    /// `EACCES` from `PTRACE_SECCOMP_GET_FILTER`: the caller lacks
    /// `CAP_SYS_ADMIN` or is itself under seccomp.
    NeedsAdmin,
    /// `EINVAL`: the process is not in seccomp filter mode.
    NotFiltered,
    /// `EIO`: the kernel has no `PTRACE_SECCOMP_GET_FILTER`
    /// (`CONFIG_CHECKPOINT_RESTORE` off).
    Unsupported,
    /// `EMEDIUMTYPE`: the filter at this index is not classic BPF.
    NotClassic(u32),
    /// Another thread of the process (this id) holds another filter
    /// stack, or none, so no one stack says what the process may do.
    ThreadDiffers(i32),
    /// Any other errno.
    Os(i32),
}

/// A failed dump: what went wrong and at which step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpError {
    pid: i32,
    step: &'static str,
    kind: DumpErrorKind,
}

impl DumpError {
    /// What went wrong.
    pub fn kind(&self) -> &DumpErrorKind {
        &self.kind
    }

    fn from_errno(pid: i32, step: &'static str, errno: i32) -> DumpError {
        let kind = match errno {
            libc::ESRCH => DumpErrorKind::NoSuchProcess,
            libc::EPERM => DumpErrorKind::NotPermitted,
            libc::EACCES => DumpErrorKind::NeedsAdmin,
            libc::EINVAL => DumpErrorKind::NotFiltered,
            libc::EIO => DumpErrorKind::Unsupported,
            e => DumpErrorKind::Os(e),
        };
        DumpError { pid, step, kind }
    }
}

impl fmt::Display for DumpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pid = self.pid;
        match &self.kind {
            DumpErrorKind::NoSuchProcess => write!(f, "no process with id {pid}"),
            DumpErrorKind::Exited => {
                write!(f, "process {pid} exited before its filters could be read")
            }
            DumpErrorKind::NotPermitted => write!(
                f,
                "{}: not permitted to trace process {pid} (run as root; check /proc/sys/kernel/yama/ptrace_scope and that no other tracer such as strace or gdb is attached)",
                self.step
            ),
            DumpErrorKind::NeedsAdmin => write!(
                f,
                "{}: reading filters needs CAP_SYS_ADMIN (run as root) and a caller that is not itself under seccomp",
                self.step
            ),
            DumpErrorKind::NotFiltered => write!(f, "process {pid} is not in seccomp filter mode"),
            DumpErrorKind::Unsupported => {
                write!(
                    f,
                    "this kernel cannot hand out filters (PTRACE_SECCOMP_GET_FILTER needs CONFIG_CHECKPOINT_RESTORE)"
                )
            }
            DumpErrorKind::ThreadDiffers(tid) => write!(
                f,
                "the threads of process {pid} are confined differently: thread {tid} holds another filter stack than thread {pid} (`sysfence status {pid}` lists each; `pid:TID` of a thread other than {pid} names that thread alone)"
            ),
            DumpErrorKind::NotClassic(i) => write!(
                f,
                "filter {i} of process {pid} is not a classic BPF program"
            ),
            DumpErrorKind::Os(e) => write!(
                f,
                "{}: {} (process {pid})",
                self.step,
                io::Error::from_raw_os_error(*e)
            ),
        }
    }
}

impl std::error::Error for DumpError {}

fn errno() -> i32 {
    io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// A task held in a ptrace stop; detaches on drop.
struct Stopped {
    pid: i32,
    /// A signal that arrived while stopping, to hand back on detach; -1
    /// once the task is gone.
    pending: i32,
}

impl Stopped {
    /// Seizes and interrupts `pid`, then waits for its stop.
    fn seize(pid: i32) -> Result<Stopped, DumpError> {
        // SAFETY: PTRACE_SEIZE and PTRACE_INTERRUPT take no pointers.
        if unsafe { libc::ptrace(libc::PTRACE_SEIZE, pid, 0usize, 0usize) } != 0 {
            let e = errno();
            if e == libc::EPERM && is_zombie(pid) {
                return Err(DumpError {
                    pid,
                    step: "ptrace(PTRACE_SEIZE)",
                    kind: DumpErrorKind::Exited,
                });
            }
            return Err(DumpError::from_errno(pid, "ptrace(PTRACE_SEIZE)", e));
        }
        let mut stopped = Stopped { pid, pending: 0 };
        // SAFETY: as above.
        if unsafe { libc::ptrace(libc::PTRACE_INTERRUPT, pid, 0usize, 0usize) } != 0 {
            return Err(DumpError::from_errno(
                pid,
                "ptrace(PTRACE_INTERRUPT)",
                errno(),
            ));
        }
        stopped.wait_stop()?;
        Ok(stopped)
    }

    /// Waits until the task is in a ptrace stop; remembers a signal that
    /// stopped it so detach can deliver it.
    fn wait_stop(&mut self) -> Result<(), DumpError> {
        loop {
            let mut status = 0;
            // SAFETY: `status` is a valid out-pointer.
            let rc = unsafe { libc::waitpid(self.pid, &mut status, libc::__WALL) };
            if rc < 0 {
                match errno() {
                    libc::EINTR => continue,
                    libc::ECHILD => return Err(self.gone()),
                    e => return Err(DumpError::from_errno(self.pid, "waitpid", e)),
                }
            }
            if libc::WIFEXITED(status) || libc::WIFSIGNALED(status) {
                return Err(self.gone());
            }
            if libc::WIFSTOPPED(status) {
                let sig = libc::WSTOPSIG(status);
                if status >> 16 != PTRACE_EVENT_STOP && sig != libc::SIGTRAP {
                    self.pending = sig;
                }
                return Ok(());
            }
        }
    }

    /// The task is gone: nothing to detach from.
    fn gone(&mut self) -> DumpError {
        self.pending = -1;
        DumpError {
            pid: self.pid,
            step: "waitpid",
            kind: DumpErrorKind::Exited,
        }
    }

    /// The number of instructions of filter `index`, or `None` past the last.
    fn filter_len(&self, index: u32) -> Result<Option<usize>, DumpError> {
        // SAFETY: a NULL data pointer asks only for the length.
        let rc =
            unsafe { libc::ptrace(PTRACE_SECCOMP_GET_FILTER, self.pid, index as usize, 0usize) };
        self.answer(index, rc)
    }

    /// Copies filter `index` (of `len` instructions).
    fn filter(&self, index: u32, len: usize) -> Result<Option<Vec<Insn>>, DumpError> {
        let mut insns = vec![Insn::default(); len];
        // SAFETY: the kernel writes at most `len` instructions (the length it
        // just reported for this index; filters are immutable once attached)
        // into a buffer of that many `#[repr(C)]` sock_filter-layout values.
        let rc = unsafe {
            libc::ptrace(
                PTRACE_SECCOMP_GET_FILTER,
                self.pid,
                index as usize,
                insns.as_mut_ptr(),
            )
        };
        Ok(self.answer(index, rc)?.map(|n| {
            insns.truncate(n);
            insns
        }))
    }

    fn answer(&self, index: u32, rc: libc::c_long) -> Result<Option<usize>, DumpError> {
        if rc >= 0 {
            return Ok(Some(rc as usize));
        }
        match errno() {
            libc::ENOENT => Ok(None),
            libc::EMEDIUMTYPE => Err(DumpError {
                pid: self.pid,
                step: "get filter",
                kind: DumpErrorKind::NotClassic(index),
            }),
            libc::ESRCH => Err(DumpError {
                pid: self.pid,
                step: "get filter",
                kind: DumpErrorKind::Exited,
            }),
            e => Err(DumpError::from_errno(
                self.pid,
                "ptrace(PTRACE_SECCOMP_GET_FILTER)",
                e,
            )),
        }
    }
}

impl Drop for Stopped {
    fn drop(&mut self) {
        if self.pending >= 0 {
            // SAFETY: PTRACE_DETACH takes the signal to deliver as `data`.
            unsafe { libc::ptrace(libc::PTRACE_DETACH, self.pid, 0usize, self.pending as usize) };
        }
    }
}

/// Whether `pid` has exited and waits to be reaped (ptrace answers `EPERM`
/// for it, which would otherwise read as a permission problem).
fn is_zombie(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/status")).is_ok_and(|s| {
        s.lines()
            .any(|l| l.starts_with("State:") && l.contains("zombie"))
    })
}

/// Reads every filter of `pid`, oldest first.
pub fn dump_all(pid: i32) -> Result<Vec<Vec<Insn>>, DumpError> {
    let stopped = Stopped::seize(pid)?;
    let mut filters = Vec::new();
    for index in 0u32.. {
        match read_one(&stopped, index)? {
            Some(f) => filters.push(f),
            None => break,
        }
    }
    Ok(filters)
}

/// Reads the filters every thread of process `pid` holds, oldest first.
/// When `pid` is a thread that does not lead its process, only its own
/// stack. A thread that holds another stack (or none) is
/// [`DumpErrorKind::ThreadDiffers`].
pub fn dump_process(pid: i32) -> Result<Vec<Vec<Insn>>, DumpError> {
    let own = dump_all(pid);
    match other_stack(pid, &own)? {
        Some(tid) => Err(DumpError {
            pid,
            step: "PTRACE_SECCOMP_GET_FILTER",
            kind: DumpErrorKind::ThreadDiffers(tid),
        }),
        None => own,
    }
}

/// A thread of process `pid` whose stack is not `own` (what [`dump_all`]
/// read for `pid`), if any; `None` as well when `pid` does not lead its
/// process. Threads that exit meanwhile are skipped; a thread that cannot
/// be read is that error.
pub fn other_stack(
    pid: i32,
    own: &Result<Vec<Vec<Insn>>, DumpError>,
) -> Result<Option<i32>, DumpError> {
    let leads = crate::status::read_status(crate::status::Target::Pid(pid))
        .is_ok_and(|s| s.tgid == Some(pid));
    if !leads {
        return Ok(None);
    }
    let unfiltered =
        |r: &Result<_, DumpError>| matches!(r, Err(e) if e.kind == DumpErrorKind::NotFiltered);
    for tid in crate::status::thread_ids(pid) {
        if tid == pid {
            continue;
        }
        let theirs = dump_all(tid);
        match (own, &theirs) {
            (_, Err(e))
                if matches!(e.kind, DumpErrorKind::NoSuchProcess | DumpErrorKind::Exited) => {}
            (Ok(a), Ok(b)) if a == b => {}
            _ if unfiltered(own) && unfiltered(&theirs) => {}
            (_, Err(e)) if e.kind != DumpErrorKind::NotFiltered => return Err(e.clone()),
            _ => return Ok(Some(tid)),
        }
    }
    Ok(None)
}

/// Reads filter `index` of `pid` (0 = the oldest). `Ok(None)` when the
/// process has fewer filters.
pub fn dump_one(pid: i32, index: u32) -> Result<Option<Vec<Insn>>, DumpError> {
    let stopped = Stopped::seize(pid)?;
    read_one(&stopped, index)
}

fn read_one(stopped: &Stopped, index: u32) -> Result<Option<Vec<Insn>>, DumpError> {
    match stopped.filter_len(index)? {
        Some(len) => stopped.filter(index, len),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_process_is_named() {
        let err = dump_all(i32::MAX).unwrap_err();
        assert_eq!(err.kind(), &DumpErrorKind::NoSuchProcess);
        assert_eq!(err.to_string(), format!("no process with id {}", i32::MAX));
    }

    #[test]
    fn messages_say_what_to_do() {
        let e = DumpError::from_errno(7, "ptrace(PTRACE_SECCOMP_GET_FILTER)", libc::EACCES);
        assert_eq!(e.kind(), &DumpErrorKind::NeedsAdmin);
        assert!(e.to_string().contains("CAP_SYS_ADMIN"), "{e}");
        let e = DumpError::from_errno(7, "ptrace(PTRACE_SECCOMP_GET_FILTER)", libc::EINVAL);
        assert_eq!(e.to_string(), "process 7 is not in seccomp filter mode");
    }
}
