//! Predicting the stacked-filter budget of `seccomp_attach_filter`.
//!
//! The kernel refuses (`ENOMEM`) a filter when
//! `len(new) + Σ (len(f) + 4)` over the filters already attached exceeds
//! `MAX_INSNS_PER_PATH` (32,768), where every `len` counts **eBPF**
//! instructions after `bpf_convert_filter`, not classic ones. [`ebpf_len`]
//! predicts that converted length from the classic program; the formula
//! assumes no JIT constant blinding (`net.core.bpf_jit_harden` = 0), which
//! roughly doubles the count on hosts that enable it.

use crate::limits::{FILTER_PENALTY, MAX_INSNS_PER_PATH};
use crate::opcode::{Opcode, Operand};
use crate::program::Program;

/// eBPF instructions of the conversion prologue (A = 0, X = 0, save the context).
const PROLOGUE: usize = 3;

/// The number of eBPF instructions `bpf_convert_filter` makes of `prog`.
pub fn ebpf_len(prog: &Program) -> usize {
    PROLOGUE
        + prog
            .insns()
            .iter()
            .zip(prog.opcodes())
            .map(|(insn, op)| converted_len(op, insn.jt, insn.jf, insn.k))
            .sum::<usize>()
}

/// eBPF instructions for one classic instruction.
fn converted_len(op: Opcode, jt: u8, jf: u8, k: u32) -> usize {
    match op {
        // `mov r0, k; exit`, and `exit` alone since A already is r0.
        Opcode::RetK => 2,
        Opcode::RetA => 1,
        // "if X != 0 skip; A ^= A; exit" plus a zero-extension and the division.
        Opcode::DivX => 5,
        _ if op.operand().is_conditional() => conditional_len(op, jt, jf, k),
        _ => 1,
    }
}

/// A conditional jump: one eBPF jump when one side falls through (`jf == 0`,
/// or `jt == 0` for an op with a negated form), else a jump and a `ja`; a K
/// operand with the top bit set first goes through a scratch register.
fn conditional_len(op: Opcode, jt: u8, jf: u8, k: u32) -> usize {
    let negatable = matches!(
        op,
        Opcode::JeqK | Opcode::JeqX | Opcode::JgtK | Opcode::JgtX | Opcode::JgeK | Opcode::JgeX
    );
    let jumps = if jf == 0 || (jt == 0 && negatable) {
        1
    } else {
        2
    };
    let wide_k = op.operand() == Operand::CondK && k >= 0x8000_0000;
    jumps + usize::from(wide_k)
}

/// The per-path total the kernel compares with `MAX_INSNS_PER_PATH` when a
/// filter of `new` eBPF instructions is attached on top of filters of the
/// given eBPF lengths.
pub fn path_len(attached: impl IntoIterator<Item = usize>, new: usize) -> usize {
    attached
        .into_iter()
        .fold(new, |total, len| total + len + FILTER_PENALTY)
}

/// Whether `new` can be attached on top of `attached` without `ENOMEM`.
pub fn can_attach(attached: &[&Program], new: &Program) -> bool {
    path_len(attached.iter().map(|p| ebpf_len(p)), ebpf_len(new)) <= MAX_INSNS_PER_PATH
}

/// How many copies of `prog` one thread can stack before `ENOMEM`.
pub fn max_copies(prog: &Program) -> usize {
    let len = ebpf_len(prog);
    // The first copy costs `len`, each further one `len + 4`.
    match MAX_INSNS_PER_PATH.checked_sub(len) {
        Some(room) => 1 + room / (len + FILTER_PENALTY),
        None => 0,
    }
}
