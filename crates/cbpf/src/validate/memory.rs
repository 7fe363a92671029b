//! `check_load_and_stores` (`net/core/filter.c`): scratch memory must be
//! written before it is read, on every path.
//!
//! In: instructions that passed [`super::classic`] (so every opcode is known,
//! every `M[k]` has `k < 16` and every jump target is inside the program)
//! and their decoded opcodes. Out: the pc of the first read of a slot that is
//! not certainly written. This is the kernel's one forward pass, quirks
//! included, not a data-flow analysis:
//!
//! * `memvalid` (one bit per slot) starts empty; `masks[pc]` starts all ones.
//! * At each pc, first `memvalid &= masks[pc]`; then `st`/`stx` set their
//!   bit and `ld`/`ldx M[k]` need theirs.
//! * `ja` ANDs `memvalid` into its target's mask, conditional jumps into both
//!   targets' masks (the targets are [`Insn::successors`], read from the
//!   opcode table), and then `memvalid` becomes all ones, so dead code right
//!   after a jump may read any slot.
//! * `ret` leaves `memvalid` alone, so dead code right after a `ret` is still
//!   bound by what was written before it.

use crate::insn::Insn;
use crate::opcode::{Class, Opcode};

use super::error::{Rule, ValidateError};

/// One bit per scratch slot (`BPF_MEMWORDS` = 16).
type SlotSet = u16;

/// Runs the pass. `ops[pc]` is the decoded opcode of `insns[pc]`.
pub(crate) fn check(insns: &[Insn], ops: &[Opcode]) -> Result<(), ValidateError> {
    let mut masks: Vec<SlotSet> = vec![SlotSet::MAX; insns.len()];
    let mut memvalid: SlotSet = 0;
    for (pc, (insn, &op)) in insns.iter().zip(ops).enumerate() {
        memvalid &= masks[pc];
        match op {
            Opcode::St | Opcode::Stx => memvalid |= slot(insn),
            Opcode::LdMem | Opcode::LdxMem if memvalid & slot(insn) == 0 => {
                return Err(ValidateError::at(Rule::UninitializedMemory, pc, insns));
            }
            _ if op.info().class == Class::Jmp => {
                for target in insn.successors(pc) {
                    narrow(&mut masks, target, memvalid);
                }
                memvalid = SlotSet::MAX;
            }
            _ => {}
        }
    }
    Ok(())
}

/// The bit of the slot an `M[k]` instruction names (`k < 16` already checked).
fn slot(insn: &Insn) -> SlotSet {
    1 << (insn.k & 15)
}

/// `masks[target] &= memvalid`; `target` is in range after `bpf_check_classic`.
fn narrow(masks: &mut [SlotSet], target: usize, memvalid: SlotSet) {
    if let Some(mask) = masks.get_mut(target) {
        *mask &= memvalid;
    }
}
