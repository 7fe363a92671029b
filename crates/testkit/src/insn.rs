//! Short constructors for hand-written cBPF programs in tests.
//!
//! In: opcodes and fields. Out: [`Insn`]s and validated [`Program`]s. The
//! jump constructor takes the fields in encoding order (`jt`, `jf`, `k`
//! after the opcode), as `Insn::op` does.

use sysfence_cbpf::insn::Insn;
use sysfence_cbpf::opcode::Opcode;
use sysfence_cbpf::program::Program;

/// A non-jump instruction: `op #k`.
pub fn i(op: Opcode, k: u32) -> Insn {
    Insn::op(op, 0, 0, k)
}

/// A conditional jump: `op #k, jt, jf`.
pub fn jmp(op: Opcode, jt: u8, jf: u8, k: u32) -> Insn {
    Insn::op(op, jt, jf, k)
}

/// The program of `insns`; panics when the validator rejects it.
pub fn prog(insns: &[Insn]) -> Program {
    Program::new(insns).unwrap_or_else(|e| panic!("test program rejected: {e}"))
}
