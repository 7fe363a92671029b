//! `bpf_check_classic` (`net/core/filter.c`): the opcode allow-list and the
//! per-instruction checks, in one ascending-pc loop, then "the last
//! instruction is a return".
//!
//! In: any instructions (the caller has already checked the length). Out: the
//! decoded [`Opcode`] of every instruction, which the later passes and the
//! interpreter's pre-decoding use instead of decoding again. Not checked
//! here: scratch memory (see [`super::memory`]) and everything seccomp adds
//! (see [`super::seccomp`]).
//!
//! Because the allow-list test and the per-opcode test run in the same loop,
//! the lowest failing pc decides, whatever kind of failure it is: an unknown
//! opcode at pc 5 loses to `div #0` at pc 2.

use crate::insn::Insn;
use crate::limits::{BPF_MEMWORDS, SKF_AD_KNOWN, SKF_AD_OFF};
use crate::opcode::{Opcode, Operand};

use super::error::{Rule, ValidateError};

/// Runs the `bpf_check_classic` loop and the final return check; returns
/// the decoded opcodes. `insns` is non-empty (the length check came first).
pub(crate) fn check(insns: &[Insn]) -> Result<Vec<Opcode>, ValidateError> {
    let mut ops = Vec::with_capacity(insns.len());
    for (pc, insn) in insns.iter().enumerate() {
        let op = Opcode::from_code(insn.code)
            .ok_or_else(|| ValidateError::at(Rule::Opcode, pc, insns))?;
        check_insn(op, insn, pc, insns.len()).map_err(|rule| ValidateError::at(rule, pc, insns))?;
        ops.push(op);
    }
    match ops.last() {
        Some(Opcode::RetK | Opcode::RetA) => Ok(ops),
        _ => Err(ValidateError::at(
            Rule::LastNotReturn,
            insns.len().saturating_sub(1),
            insns,
        )),
    }
}

/// The `switch (ftest->code)` of `bpf_check_classic`: the one check, if any,
/// that applies to this opcode at this pc of a `len`-instruction program.
fn check_insn(op: Opcode, insn: &Insn, pc: usize, len: usize) -> Result<(), Rule> {
    let k = insn.k;
    let (ok, rule) = match op {
        Opcode::DivK | Opcode::ModK => (k != 0, Rule::DivisionByZero),
        Opcode::LshK | Opcode::RshK => (k < 32, Rule::ShiftTooWide),
        // `k >= (unsigned int)(flen - pc - 1)` fails; `k` is a full u32.
        Opcode::Ja => (u64::from(k) < (len - pc - 1) as u64, Rule::JumpOutOfRange),
        Opcode::LdAbsW | Opcode::LdAbsH | Opcode::LdAbsB => (
            k < SKF_AD_OFF || is_known_ancillary(k),
            Rule::UnknownAncillary,
        ),
        _ => match op.operand() {
            Operand::Mem => (k < BPF_MEMWORDS, Rule::MemoryIndex),
            Operand::CondK | Operand::CondX => {
                (branch_in_range(insn, pc, len), Rule::BranchOutOfRange)
            }
            _ => (true, Rule::Opcode),
        },
    };
    if ok { Ok(()) } else { Err(rule) }
}

/// "Both conditionals must be safe": `pc + jt + 1 < len` and `pc + jf + 1 < len`.
fn branch_in_range(insn: &Insn, pc: usize, len: usize) -> bool {
    pc + usize::from(insn.jt) + 1 < len && pc + usize::from(insn.jf) + 1 < len
}

/// `bpf_anc_helper`: `k` is `SKF_AD_OFF + SKF_AD_*` for a known `SKF_AD_*`.
fn is_known_ancillary(k: u32) -> bool {
    k.checked_sub(SKF_AD_OFF)
        .is_some_and(|n| SKF_AD_KNOWN.contains(&n))
}
