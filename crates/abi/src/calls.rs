//! The numbers of the calls seccomp is driven through
//! (`include/uapi/linux/seccomp.h`, `prctl.h`, `ptrace.h`): `seccomp(2)`'s
//! operations and filter flags, `prctl(PR_SET_SECCOMP)`'s mode, and the
//! `ptrace(2)` requests that read a process's filters and its syscall
//! entries.
//!
//! Only numbers live here; `sysfence-linux` makes the calls and widens each
//! to the C type the call takes (all fit in `u32`).

/// `SECCOMP_SET_MODE_FILTER`: `seccomp(2)` attaches a filter.
pub const SECCOMP_SET_MODE_FILTER: u32 = 1;
/// `SECCOMP_GET_ACTION_AVAIL`: `seccomp(2)` says whether the kernel knows
/// a return action.
pub const SECCOMP_GET_ACTION_AVAIL: u32 = 2;

/// `SECCOMP_FILTER_FLAG_TSYNC`: attach the filter to every thread.
pub const SECCOMP_FILTER_FLAG_TSYNC: u32 = 1 << 0;
/// `SECCOMP_FILTER_FLAG_LOG`: log the actions the filter takes, but ALLOW.
pub const SECCOMP_FILTER_FLAG_LOG: u32 = 1 << 1;
/// `SECCOMP_FILTER_FLAG_SPEC_ALLOW`: do not force the speculative store
/// bypass mitigation on the task.
pub const SECCOMP_FILTER_FLAG_SPEC_ALLOW: u32 = 1 << 2;
/// `SECCOMP_FILTER_FLAG_NEW_LISTENER`: return a user-notification fd.
pub const SECCOMP_FILTER_FLAG_NEW_LISTENER: u32 = 1 << 3;

/// `SECCOMP_MODE_FILTER`: the mode argument of `prctl(PR_SET_SECCOMP)`.
pub const SECCOMP_MODE_FILTER: u32 = 2;

/// `PTRACE_SECCOMP_GET_FILTER`: copy out one of a tracee's filters.
pub const PTRACE_SECCOMP_GET_FILTER: u32 = 0x420c;
/// `PTRACE_GET_SYSCALL_INFO`: the syscall a stopped tracee is making.
pub const PTRACE_GET_SYSCALL_INFO: u32 = 0x420e;
