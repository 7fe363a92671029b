//! The one side effect of reading a live process's filters: the ptrace stop
//! interrupts a sleeping syscall, and the process restarts it through
//! `restart_syscall` when it goes on. Filters that deny that call fail or
//! kill the process at that moment, so every verb that stops a process
//! warns when the filters it read deny it.
//!
//! In: the process id and its validated filters, oldest first. Out: a warning on
//! standard error, or nothing.

use sysfence_cbpf::action::{Action, decide_stack};
use sysfence_cbpf::data::SeccompData;
use sysfence_cbpf::program::Program;
use sysfence_linux::status::{Target, process_arch};
use sysfence_profile::arch::Arch;

/// The arch whose `restart_syscall` [`warn_if_denied`] asks about: the one
/// of process `pid`'s executable, else this machine's. Read it before the
/// stop: a process whose restart is denied may be gone right after.
pub fn arch_of(pid: i32) -> Option<Arch> {
    process_arch(Target::Pid(pid))
        .ok()
        .flatten()
        .and_then(|a| Arch::from_audit(a, 0))
        .or_else(Arch::native)
}

/// Warns when `programs` (oldest first) do not allow `restart_syscall` on
/// `arch` (from [`arch_of`]) for process `pid`.
pub fn warn_if_denied(pid: i32, arch: Option<Arch>, programs: &[Program]) {
    let Some(arch) = arch else {
        return;
    };
    let Some(nr) = arch.syscall_nr("restart_syscall") else {
        return;
    };
    let action = decide_stack(programs, &SeccompData::new(arch.audit_arch(), nr));
    if !matches!(action, Action::Allow | Action::Log) {
        eprintln!(
            "warning: process {pid}'s filters give restart_syscall {action}: the ptrace stop that read them interrupts a sleeping call, which the process then restarts through restart_syscall, so that call may have failed or the process been killed"
        );
    }
}
