//! `seccomp_check_filter` (`kernel/seccomp.c`): the 41 codes seccomp keeps,
//! and where `ld [k]` may read.
//!
//! In: instructions that passed `bpf_check_classic` and their decoded
//! opcodes. Out: the pc of the first instruction seccomp refuses. The kernel
//! also rewrites three codes in place here (`ld [k]` to its internal
//! seccomp-data load, `ld len` and `ldx len` to the constant 64); this crate
//! keeps the original instructions, as the kernel's saved copy does, and the
//! interpreter gives `ld len` the value 64 instead.
//!
//! Which codes survive is the `seccomp` column of the opcode table; the only
//! extra rule is that `ld [k]` needs `k < 64` and `k % 4 == 0`.

use crate::insn::Insn;
use crate::limits::SECCOMP_DATA_SIZE;
use crate::opcode::Opcode;

use super::error::{Rule, ValidateError};

/// Runs the pass. `ops[pc]` is the decoded opcode of `insns[pc]`.
pub(crate) fn check(insns: &[Insn], ops: &[Opcode]) -> Result<(), ValidateError> {
    for (pc, (insn, &op)) in insns.iter().zip(ops).enumerate() {
        if !op.seccomp_allowed() {
            return Err(ValidateError::at(Rule::SeccompOpcode, pc, insns));
        }
        if op == Opcode::LdAbsW && !is_seccomp_data_word(insn.k) {
            return Err(ValidateError::at(Rule::SeccompDataOffset, pc, insns));
        }
    }
    Ok(())
}

/// "32-bit aligned and not out of bounds": `k < sizeof(struct seccomp_data)`
/// and `k & 3 == 0`.
pub(crate) fn is_seccomp_data_word(k: u32) -> bool {
    k < SECCOMP_DATA_SIZE && k.is_multiple_of(4)
}
