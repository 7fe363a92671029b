//! The kernel-exact interpreter: a validated [`Program`] run on one
//! [`SeccompData`].
//!
//! In: a [`Program`] (so every instruction is one of the 41 seccomp codes,
//! every jump lands inside the program, scratch memory is written before it
//! is read, `ld [k]` reads an aligned word below 64), a [`SeccompData`] and a
//! [`Config`]. Out: an [`Outcome`]: the raw 32-bit return value, the
//! [`Action`] the kernel makes of it and the number of instructions executed.
//! Nothing is checked at run time that the validator already guaranteed.
//!
//! What it models is the program the kernel runs after `seccomp_check_filter`
//! and `bpf_convert_filter`, as differential runs against a live kernel
//! confirmed:
//!
//! * A = X = 0 at the start; scratch memory starts zeroed (a validated
//!   program never reads a slot it has not written, so the value is unseen).
//! * ALU is 32-bit, unsigned and wrapping; `neg` is `0 - A`.
//! * `div x` with X = 0 ends the program at once with return value 0
//!   (`SECCOMP_RET_KILL_THREAD`), as the converted program's
//!   "if X != 0 skip; A ^= A; exit" does. `div #k` never sees `k = 0`.
//! * `lsh x` / `rsh x` shift by `X & 31` by default ([`ShiftMode::Mask31`],
//!   the x86_64, arm64 and riscv JITs and the kernel's own interpreter);
//!   [`ShiftMode::ZeroAbove31`] gives 0 for counts of 32 and more.
//! * Jumps compare unsigned 32-bit values and go to `pc + 1 + jt/jf/k`.
//! * `ld [k]` reads the word of [`SeccompData::word`], whose layout follows
//!   the arch value's little-endian bit; `ld len` and `ldx len` give 64.
//!
//! There is one loop ([`run_with`]) and one `match` over [`Opcode`]: it is the
//! only place in the crate that gives an opcode its run-time meaning. The
//! tracer is a generic parameter, so [`run`] (which passes [`NoTrace`])
//! compiles to the bare loop. No evaluation allocates.
//!
//! How it is made fast (0.8 to 0.9 ns per executed instruction on a 2-core
//! x86_64 VM; `benches/benches/interp.rs` measures it):
//!
//! * [`Program`] keeps a pre-decoded copy: eight-byte entries with typed
//!   opcodes, so the `match` compiles to one jump table, and beside them a
//!   bit per jump offset saying whether it is non-zero, so falling through a
//!   conditional jump is a predicted branch rather than an add that has to
//!   wait for the offset to load.
//! * The pre-decoded table has a power-of-two size (64 to 4096 entries,
//!   padded with `ret #0`), so `pc % N` indexes it without a bounds check.
//!   The executed count is derived from how far pc moved minus what jumps
//!   skipped.
//! * A run of conditional jumps with one opcode (how every filter looks up a
//!   syscall number) continues inside that opcode's arm; a jump changes no
//!   register, so the arm's comparison is still the only meaning given.
//!
//! [`cache`] models the kernel's action cache, which walks the original
//! instructions in a much narrower way.

pub mod cache;
mod trace;

pub use trace::{Coverage, NoTrace, Step, Steps, Tracer};

use crate::action::Action;
use crate::data::SeccompData;
use crate::limits::{BPF_MEMWORDS, SECCOMP_DATA_SIZE};
use crate::opcode::Opcode;
use crate::program::{Op, Program, Tab, Table};

/// How `lsh x` and `rsh x` treat a count of 32 or more.
///
/// The kernel comment calls over-wide JIT shifts implementation-defined, so
/// the answer depends on the machine that runs the filter.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ShiftMode {
    /// Shift by `X & 31`: confirmed on the x86_64 JIT; the arm64, riscv and
    /// loongarch shift instructions and the kernel interpreter also mask to
    /// 5 bits. `0x87654321 << 32` is unchanged, `<< 33` equals `<< 1`.
    #[default]
    Mask31,
    /// Any count of 32 or more gives 0, as expected (unconfirmed) from the
    /// s390x and ppc64 word shifts (for counts 32 to 63) and arm32 shifts by
    /// register.
    ZeroAbove31,
}

impl ShiftMode {
    /// The mode expected for the machine an AUDIT_ARCH value names, by its
    /// `EM_*` machine number: s390 and s390x, ppc, ppc64 and ppc64le, arm and
    /// armeb give [`ShiftMode::ZeroAbove31`] (unconfirmed, from their native
    /// shift instructions); everything else [`ShiftMode::Mask31`].
    pub fn for_arch(arch: u32) -> ShiftMode {
        const EM_PPC: u32 = 0x14;
        const EM_PPC64: u32 = 0x15;
        const EM_S390: u32 = 0x16;
        const EM_ARM: u32 = 0x28;
        match arch & 0xffff {
            EM_PPC | EM_PPC64 | EM_S390 | EM_ARM => ShiftMode::ZeroAbove31,
            _ => ShiftMode::Mask31,
        }
    }

    /// `value << count` under this mode.
    #[inline(always)]
    fn shl(self, value: u32, count: u32) -> u32 {
        match self {
            ShiftMode::Mask31 => value.wrapping_shl(count),
            ShiftMode::ZeroAbove31 => value.checked_shl(count).unwrap_or(0),
        }
    }

    /// `value >> count` under this mode.
    #[inline(always)]
    fn shr(self, value: u32, count: u32) -> u32 {
        match self {
            ShiftMode::Mask31 => value.wrapping_shr(count),
            ShiftMode::ZeroAbove31 => value.checked_shr(count).unwrap_or(0),
        }
    }
}

/// Interpreter settings. Build with [`Config::new`] and the consuming setters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Config {
    shift: ShiftMode,
}

impl Config {
    /// The default: [`ShiftMode::Mask31`].
    pub const fn new() -> Config {
        Config {
            shift: ShiftMode::Mask31,
        }
    }

    /// Sets how shifts by X of 32 or more behave.
    pub const fn shift(self, mode: ShiftMode) -> Config {
        Config { shift: mode }
    }

    /// How shifts by X of 32 or more behave.
    pub const fn get_shift(&self) -> ShiftMode {
        self.shift
    }
}

/// The result of one evaluation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Outcome {
    /// The raw 32-bit return value.
    pub raw: u32,
    /// What the kernel does with it ([`Action::from_raw`]).
    pub action: Action,
    /// How many instructions ran, the returning one included (at least 1, at
    /// most the program length).
    pub insns: u32,
}

impl Outcome {
    /// `executed` is at most 4096, the longest program.
    #[inline(always)]
    fn new(raw: u32, executed: usize) -> Outcome {
        Outcome {
            raw,
            action: Action::from_raw(raw),
            insns: executed as u32,
        }
    }
}

/// Runs `prog` on `data` with the default [`Config`] and no tracer.
#[inline]
pub fn run(prog: &Program, data: &SeccompData) -> Outcome {
    run_with(prog, data, &Config::new(), &mut NoTrace)
}

/// Runs `prog` on `data`, calling `tracer` before each executed instruction.
///
/// Terminates after at most `prog.len()` instructions: jumps only go forward
/// and the last instruction returns.
#[inline]
pub fn run_with(
    prog: &Program,
    data: &SeccompData,
    config: &Config,
    tracer: &mut (impl Tracer + ?Sized),
) -> Outcome {
    match prog.table() {
        Table::S64(t) => exec(t, data, config, tracer),
        Table::S256(t) => exec(t, data, config, tracer),
        Table::S1024(t) => exec(t, data, config, tracer),
        Table::S4096(t) => exec(t, data, config, tracer),
    }
}

/// The loop, over a table of `N` (a power of two) pre-decoded instructions.
///
/// `pc % N` is `pc` for every pc a validated program reaches; it only tells
/// the compiler that the index is in bounds. Every executed instruction
/// moves `pc` by one and a jump moves it further by its offset, so the count
/// of executed instructions is `pc - skipped` and need not be kept per step.
#[inline]
fn exec<const N: usize>(
    t: &Tab<N>,
    data: &SeccompData,
    config: &Config,
    tracer: &mut (impl Tracer + ?Sized),
) -> Outcome {
    let shift = config.shift;
    let (mut a, mut x) = (0u32, 0u32);
    let mut mem = [0u32; BPF_MEMWORDS as usize];
    let mut at = Cursor { pc: 0, skipped: 0 };
    loop {
        let i = at.pc % N;
        let op = &t.ops[i];
        tracer.step(at.pc, &op.insn(), a, x);
        at.pc += 1;
        let k = op.k;
        match op.op {
            Opcode::LdImm => a = k,
            Opcode::LdAbsW => a = data.word(k),
            Opcode::LdMem => a = mem[slot(k)],
            Opcode::LdLen => a = SECCOMP_DATA_SIZE,
            Opcode::LdxImm => x = k,
            Opcode::LdxMem => x = mem[slot(k)],
            Opcode::LdxLen => x = SECCOMP_DATA_SIZE,
            Opcode::St => mem[slot(k)] = a,
            Opcode::Stx => mem[slot(k)] = x,
            Opcode::AddK => a = a.wrapping_add(k),
            Opcode::AddX => a = a.wrapping_add(x),
            Opcode::SubK => a = a.wrapping_sub(k),
            Opcode::SubX => a = a.wrapping_sub(x),
            Opcode::MulK => a = a.wrapping_mul(k),
            Opcode::MulX => a = a.wrapping_mul(x),
            Opcode::DivK => a = a.checked_div(k).unwrap_or(0),
            Opcode::DivX => match a.checked_div(x) {
                Some(q) => a = q,
                None => return at.finish(0),
            },
            Opcode::OrK => a |= k,
            Opcode::OrX => a |= x,
            Opcode::AndK => a &= k,
            Opcode::AndX => a &= x,
            Opcode::XorK => a ^= k,
            Opcode::XorX => a ^= x,
            Opcode::LshK => a = a.wrapping_shl(k),
            Opcode::LshX => a = shift.shl(a, x),
            Opcode::RshK => a = a.wrapping_shr(k),
            Opcode::RshX => a = shift.shr(a, x),
            Opcode::Neg => a = a.wrapping_neg(),
            Opcode::Tax => x = a,
            Opcode::Txa => a = x,
            Opcode::Ja => at.skip(k as usize),
            Opcode::JeqK => at.jumps(t, i, tracer, a, x, move |k| a == k),
            Opcode::JeqX => at.jumps(t, i, tracer, a, x, move |_| a == x),
            Opcode::JgtK => at.jumps(t, i, tracer, a, x, move |k| a > k),
            Opcode::JgtX => at.jumps(t, i, tracer, a, x, move |_| a > x),
            Opcode::JgeK => at.jumps(t, i, tracer, a, x, move |k| a >= k),
            Opcode::JgeX => at.jumps(t, i, tracer, a, x, move |_| a >= x),
            Opcode::JsetK => at.jumps(t, i, tracer, a, x, move |k| a & k != 0),
            Opcode::JsetX => at.jumps(t, i, tracer, a, x, move |_| a & x != 0),
            Opcode::RetK => return at.finish(k),
            Opcode::RetA => return at.finish(a),
            // Refused by `seccomp_check_filter`, so never in a `Program`.
            // Answer as the kernel's emulator does for the impossible: not
            // ALLOW.
            Opcode::LdAbsH
            | Opcode::LdAbsB
            | Opcode::LdIndW
            | Opcode::LdIndH
            | Opcode::LdIndB
            | Opcode::LdxMsh
            | Opcode::ModK
            | Opcode::ModX => return at.finish(0),
        }
    }
}

/// The scratch slot of `M[k]`; `k < 16` is guaranteed, the mask drops the
/// bounds check.
#[inline(always)]
fn slot(k: u32) -> usize {
    (k % BPF_MEMWORDS) as usize
}

/// Where the interpreter is: the pc of the next instruction, and how many
/// instructions jumps have skipped so far.
struct Cursor {
    pc: usize,
    skipped: usize,
}

impl Cursor {
    /// The outcome of returning `raw` now.
    #[inline(always)]
    fn finish(&self, raw: u32) -> Outcome {
        Outcome::new(raw, self.pc - self.skipped)
    }

    /// Moves past `by` more instructions.
    #[inline(always)]
    fn skip(&mut self, by: usize) {
        self.pc += by;
        self.skipped += by;
    }

    /// A conditional jump, `taken` or not. Branching on the pre-computed
    /// "moves" bits, rather than skipping an offset that may be zero, keeps
    /// the common fall-through free of any dependency on the loaded offset;
    /// picking the bit and the offset first leaves one branch to predict.
    #[inline(always)]
    fn branch(&mut self, taken: bool, op: &Op, moves: u8) {
        let (bit, offset) = if taken {
            (Op::JT_MOVES, op.jt)
        } else {
            (Op::JF_MOVES, op.jf)
        };
        if moves & bit != 0 {
            self.skip(usize::from(offset));
        }
    }

    /// Runs the conditional jump at table index `first` (already stepped
    /// over), then, as long as the instruction it lands on has the same
    /// opcode, that one too, without going back through the main dispatch.
    /// Chains of `jeq #k` are how filters look syscall numbers up, and a jump
    /// changes neither A nor X, so `cond` (the comparison against the operand
    /// `k`) stays the one meaning of the opcode.
    #[inline(always)]
    fn jumps<const N: usize>(
        &mut self,
        t: &Tab<N>,
        first: usize,
        tracer: &mut (impl Tracer + ?Sized),
        a: u32,
        x: u32,
        cond: impl Fn(u32) -> bool,
    ) {
        let opcode = t.ops[first].op;
        let mut i = first;
        loop {
            let op = &t.ops[i];
            self.branch(cond(op.k), op, t.moves[i]);
            i = self.pc % N;
            let next = &t.ops[i];
            if next.op != opcode {
                return;
            }
            tracer.step(self.pc, &next.insn(), a, x);
            self.pc += 1;
        }
    }
}
