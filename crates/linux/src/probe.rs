//! "How contained am I": ask the filters this process runs under what they
//! do with every syscall number, from the inside, without running a call.
//!
//! In: syscall numbers and the entry to use (`syscall` for x86_64, `int
//! 0x80` for i386). Out: one [`Answer`] per number.
//!
//! How: a forked child (see `sys`) sets `no_new_privs` and stacks one more
//! filter, `ret #SECCOMP_RET_TRACE`, on top of whatever confines it, then
//! issues each number with all arguments zero. The kernel runs every filter
//! and keeps the lowest action: an ERRNO, TRAP or KILL of the existing
//! filters wins over TRACE and comes back as such (`-errno` in `rax`, or
//! the child dies of SIGSYS and a fresh child continues after that number);
//! where they allow (or LOG, or TRACE) the call, TRACE wins, and with no
//! tracer attached the kernel skips the call and answers `-ENOSYS`. So no
//! call is ever executed.
//!
//! What this cannot tell: an existing `ERRNO(38)` (ENOSYS) looks exactly
//! like an allowed call; ALLOW, LOG and TRACE are not told apart; a
//! USER_NOTIF filter hands the call to its supervisor (which decides); kill
//! and trap both end the child with SIGSYS; and only argument values of
//! zero are tried, so argument-dependent rules are seen for zero only.
//! Probing needs `prctl`, `prlimit64` and `seccomp` in the child: a sandbox
//! that denies them cannot be probed this way (an error says so).

use crate::error::Error;

/// What the stacked filters did with one number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    /// Allowed, logged or traced, or an `ERRNO(38)` (see the module docs).
    AllowedOrEnosys,
    /// Failed with this errno (not 38).
    Errno(u16),
    /// The child died of SIGSYS: KILL_PROCESS, KILL_THREAD or TRAP.
    KilledOrTrapped,
}

/// The entry a probe uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entry {
    /// The x86_64 `syscall` instruction (`AUDIT_ARCH_X86_64`).
    Syscall,
    /// `int 0x80` (`AUDIT_ARCH_I386`).
    Int80,
}

/// Probes `nrs` through `entry`; see the module docs.
pub fn probe(entry: Entry, nrs: &[u32]) -> Result<Vec<Answer>, Error> {
    imp::probe(entry, nrs)
}

/// Classifies a raw `rax` value.
fn classify(raw: u64) -> Answer {
    let signed = raw as i64;
    match signed {
        -38 => Answer::AllowedOrEnosys,
        -4095..=-1 => Answer::Errno((-signed) as u16),
        // A call that ran would be a bug of the probe; it cannot happen
        // under TRACE without a tracer. Report it as allowed.
        _ => Answer::AllowedOrEnosys,
    }
}

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod imp {
    use sysfence_cbpf::Opcode;
    use sysfence_cbpf::abi::action::RET_TRACE;

    use super::{Answer, Entry, classify};
    use crate::error::Error;
    use crate::sys::{Abi, Ending, Job, Regs, Shared, run_child};

    /// `ret #SECCOMP_RET_TRACE`.
    static TRACE_ALL: [libc::sock_filter; 1] = [libc::sock_filter {
        code: Opcode::RetK as u16,
        jt: 0,
        jf: 0,
        k: RET_TRACE,
    }];

    pub(super) fn probe(entry: Entry, nrs: &[u32]) -> Result<Vec<Answer>, Error> {
        let abi = match entry {
            Entry::Syscall => Abi::X86_64,
            Entry::Int80 => Abi::I386,
        };
        let inputs: Vec<Regs> = nrs
            .iter()
            .map(|&nr| Regs {
                abi,
                rax: u64::from(nr),
                args: [0; 6],
            })
            .collect();
        let shared = Shared::new(inputs.len())?;
        let mut answers = vec![Answer::AllowedOrEnosys; inputs.len()];
        let mut start = 0;
        while start < inputs.len() {
            let job = Job::Probe {
                filter: &TRACE_ALL,
                inputs: &inputs,
                start,
            };
            match run_child(&job, &shared)? {
                Ending::Done => {
                    for (i, slot) in shared.results().iter().enumerate().skip(start) {
                        answers[i] = classify(slot.load(std::sync::atomic::Ordering::Acquire));
                    }
                    break;
                }
                Ending::Killed { at } => {
                    for (i, slot) in shared.results().iter().enumerate().take(at).skip(start) {
                        answers[i] = classify(slot.load(std::sync::atomic::Ordering::Acquire));
                    }
                    answers[at] = Answer::KilledOrTrapped;
                    start = at + 1;
                }
                Ending::NotLoaded(errno) => {
                    return Err(Error::sys("prctl or seccomp in the probe child", errno));
                }
            }
        }
        Ok(answers)
    }
}

#[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
mod imp {
    use super::{Answer, Entry};
    use crate::error::Error;

    pub(super) fn probe(_: Entry, _: &[u32]) -> Result<Vec<Answer>, Error> {
        Err(Error::unsupported("probing (Linux x86_64 only)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_values_are_classified() {
        assert_eq!(classify((-38i64) as u64), Answer::AllowedOrEnosys);
        assert_eq!(classify((-1i64) as u64), Answer::Errno(1));
        assert_eq!(classify(0), Answer::AllowedOrEnosys);
    }
}
