//! sysfence-abi: the kernel facts of seccomp, in one place.
//!
//! In: nothing but the kernel's uapi headers (`include/uapi/linux/seccomp.h`,
//! `audit.h`, `filter.h`, `prctl.h`, `ptrace.h`) and `kernel/seccomp.c`,
//! transcribed as constants.
//! Out: the types every other sysfence crate shares so that no crate
//! re-derives a number:
//!
//! * [`action`]: the `SECCOMP_RET_*` values, [`Action`] (decoded exactly as
//!   `__seccomp_filter` switches on a return value) and the precedence that
//!   stacked filters follow ([`action::combine`]).
//! * [`arch`]: named `AUDIT_ARCH_*` values, their flag bits, the byte order
//!   they imply ([`Endian`]) and the x32 bit of syscall numbers.
//! * [`data`]: `struct seccomp_data` ([`SeccompData`]) and its layout,
//!   including [`data::arg_word_offset`].
//! * [`filter`]: the layout of `struct sock_filter` that the instruction type
//!   of `sysfence-cbpf` is pinned to at compile time.
//! * [`calls`]: the operation, flag and request numbers of `seccomp(2)`,
//!   `prctl(PR_SET_SECCOMP)` and `ptrace(2)` that `sysfence-linux` uses.
//!
//! The crate has no dependencies and is `no_std`, so both the profile side
//! (policy IR, evaluator) and the instruction side (cBPF) use it without
//! depending on each other. Not checked here: anything about a particular
//! program or policy; these are facts, not rules.
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[cfg(test)]
extern crate std;

pub mod action;
pub mod arch;
pub mod calls;
pub mod data;
pub mod filter;

pub use action::Action;
pub use arch::Endian;
pub use data::{Half, SeccompData};
