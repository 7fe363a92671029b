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

/// `ret #k`.
pub fn ret(k: u32) -> Insn {
    i(Opcode::RetK, k)
}

/// A conditional jump: `op #k, jt, jf`.
pub fn jmp(op: Opcode, jt: u8, jf: u8, k: u32) -> Insn {
    Insn::op(op, jt, jf, k)
}

/// The program of `insns`; panics when the validator rejects it.
pub fn prog(insns: &[Insn]) -> Program {
    Program::new(insns).unwrap_or_else(|e| panic!("test program rejected: {e}"))
}

/// `prog` with one instruction changed (its `k` bumped or a bit flipped,
/// its jump targets swapped, or `k` replaced by an interesting value), if
/// the result still validates and differs from `prog`.
pub fn mutate(rng: &mut sysfence_cbpf::generate::Rng, prog: &Program) -> Option<Program> {
    use sysfence_cbpf::generate::interesting_u32;
    let mut insns = prog.insns().to_vec();
    let pc = rng.below(insns.len() as u64) as usize;
    let i = &mut insns[pc];
    match rng.below(4) {
        0 => i.k = i.k.wrapping_add(1),
        1 => i.k ^= 1 << rng.below(32),
        2 => std::mem::swap(&mut i.jt, &mut i.jf),
        _ => i.k = interesting_u32(rng),
    }
    Program::new(&insns)
        .ok()
        .filter(|p| p.insns() != prog.insns())
}

/// Runs each program on `inputs` in the interpreter and through `kernel`
/// (the live-kernel oracle's `run`) and asserts that both give every input
/// the same return value; `context` (the profile) is printed on a
/// difference. Returns how many inputs ran.
pub fn assert_kernel_agrees<E: std::fmt::Debug>(
    progs: [&Program; 2],
    inputs: &[sysfence_cbpf::SeccompData],
    kernel: impl Fn(&[Insn], &[sysfence_cbpf::SeccompData]) -> Result<Vec<u32>, E>,
    context: &str,
) -> usize {
    for prog in progs {
        let answers = kernel(prog.insns(), inputs).expect("the kernel runs it");
        for (d, k) in inputs.iter().zip(&answers) {
            let ours = sysfence_cbpf::interp::run(prog, d).raw;
            assert_eq!(ours, *k, "{context}\n{d:x?}");
        }
    }
    2 * inputs.len()
}
