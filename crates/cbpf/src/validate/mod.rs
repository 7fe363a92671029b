//! The kernel's load-time checks, in the kernel's order, step for step.
//!
//! In: any slice of raw [`Insn`]s, for example from [`crate::insn::decode`] or
//! the assembler. Out: a [`Program`], the only type the interpreter runs, or
//! a [`ValidateError`] naming the first rule broken and its pc. Accepting
//! exactly what `seccomp(SECCOMP_SET_MODE_FILTER)` accepts means running, in
//! this order (the first failure wins, every failure is `EINVAL`):
//!
//! | step | kernel function | here |
//! |---|---|---|
//! | 1 | `seccomp_prepare_filter`: `1 <= len <= 4096` | [`validate`] |
//! | 2 | `bpf_check_classic`: one ascending-pc loop of `chk_code_allowed` and the per-opcode checks, then "last is `ret`" | `classic::check` |
//! | 3 | `check_load_and_stores` (the tail of `bpf_check_classic`) | `memory::check` |
//! | 4 | `seccomp_check_filter`: the 41 codes, `ld [k]` aligned and below 64 | `seccomp::check` |
//!
//! [`check_classic`] stops after step 3: it is what a classic socket filter
//! must pass. Not checked anywhere here: the stacked-filter budget
//! (`seccomp_attach_filter`, see [`can_attach`]) and anything depending on
//! the calling task (privileges, flags).
//!
//! The allowed opcodes come from the opcode table ([`crate::opcode`]): its
//! rows are the `chk_code_allowed` list and its `seccomp` column is the
//! `seccomp_check_filter` list.

mod classic;
mod error;
mod memory;
mod seccomp;
mod stack;

pub use error::{Rule, ValidateError};
pub use stack::{can_attach, ebpf_len, max_copies, path_len};

use crate::insn::Insn;
use crate::limits::BPF_MAXINSNS;
use crate::opcode::Opcode;
use crate::program::Program;

/// Checks `insns` exactly as `seccomp(SECCOMP_SET_MODE_FILTER)` does and
/// returns the validated [`Program`].
pub fn validate(insns: &[Insn]) -> Result<Program, ValidateError> {
    let ops = classic_with_ops(insns)?;
    seccomp::check(insns, &ops)?;
    Ok(Program::from_validated(insns, &ops))
}

/// What `bpf_check_classic` accepts, including the scratch-memory pass and
/// the `1..=4096` length: a valid classic (socket) filter, which seccomp may
/// still refuse.
pub fn check_classic(insns: &[Insn]) -> Result<(), ValidateError> {
    classic_with_ops(insns).map(drop)
}

/// Steps 1 to 3, returning the decoded opcodes for the later steps.
fn classic_with_ops(insns: &[Insn]) -> Result<Vec<Opcode>, ValidateError> {
    if insns.is_empty() || insns.len() > BPF_MAXINSNS {
        return Err(ValidateError::length(insns.len()));
    }
    let ops = classic::check(insns)?;
    memory::check(insns, &ops)?;
    Ok(ops)
}
