//! Random programs and inputs for differential tests and fuzzing.
//!
//! Everything here is deterministic: a [`Rng`] (SplitMix64, no dependencies)
//! seeded by the caller drives every choice, so a failing seed reproduces.
//!
//! * [`valid_program`] builds programs that `seccomp(SECCOMP_SET_MODE_FILTER)`
//!   accepts *by construction*: every one of the 41 seccomp opcodes appears,
//!   `ld [k]` reads every `seccomp_data` word, scratch slots are written in a
//!   straight-line prologue before any read, jumps stay inside the program,
//!   early `ret #k` and `ret a` are sprinkled in, `div x` runs with X = 0
//!   often enough to hit the kernel's "return 0" path, and non-jump
//!   instructions sometimes carry junk in fields they ignore.
//! * [`mostly_invalid_program`] builds programs that sit on the validator's
//!   boundaries: mutations of valid programs (one field set to a value on
//!   either side of a kernel limit), random codes including the classic-only
//!   and unknown ones, and the length limits 0, 4,096 and 4,097.
//! * [`seccomp_data`] builds inputs whose values come from the same pool of
//!   interesting constants the programs compare against, and
//!   [`seccomp_data_for`] also from the program's own constants, so both
//!   sides of each comparison are taken.
//!
//! Not checked here: nothing validates the output; callers run the validator
//! (and, on Linux, the kernel) on it. The generators only promise that
//! [`valid_program`] output is valid, which the tests check.

use crate::SeccompData;
use crate::action::{
    RET_ALLOW, RET_ERRNO, RET_KILL_PROCESS, RET_LOG, RET_TRACE, RET_TRAP, RET_USER_NOTIF,
};
use crate::insn::Insn;
use crate::limits::{
    BPF_MAXINSNS, BPF_MEMWORDS, SECCOMP_DATA_SIZE, SKF_AD_OFF, SKF_LL_OFF, SKF_NET_OFF,
};
use crate::opcode::{Opcode, Operand, TABLE};

/// A small deterministic pseudo-random generator (SplitMix64).
#[derive(Clone, Debug)]
pub struct Rng {
    state: u64,
}

impl Rng {
    /// A generator whose whole output is fixed by `seed`.
    pub const fn new(seed: u64) -> Rng {
        Rng { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// The next 32 random bits.
    pub fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    /// A number in `0..n`, or 0 when `n` is 0.
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
        }
    }

    /// A number in `lo..=hi` (`lo` when `hi < lo`).
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi.saturating_sub(lo) + 1)
    }

    /// `true` with probability `num / den`.
    pub fn chance(&mut self, num: u64, den: u64) -> bool {
        self.below(den) < num
    }

    /// One element of a non-empty slice (`None` for an empty one).
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        items.get(self.below(items.len() as u64) as usize)
    }
}

/// 32-bit values on the edges of comparisons, shifts, actions and arches.
pub static INTERESTING_U32: &[u32] = &[
    0,
    1,
    2,
    3,
    4,
    7,
    8,
    15,
    16,
    31,
    32,
    33,
    39,
    59,
    60,
    63,
    64,
    0x7f,
    0x80,
    0xff,
    0x100,
    0xfff,
    0x1000,
    0xffff,
    0x1_0000,
    0x7fff_ffff,
    0x8000_0000,
    0x8000_0001,
    0xffff_fffe,
    0xffff_ffff,
    0x4000_0000,
    0x4000_0027,
    0xc000_003e,
    0x4000_0003,
    0xc000_00b7,
    RET_ALLOW,
    RET_ERRNO | 1,
    RET_TRAP,
    RET_LOG,
    RET_TRACE,
    RET_USER_NOTIF,
    RET_KILL_PROCESS,
    0xffff_0000,
    0x0000_ffff,
];

/// An interesting 32-bit value most of the time, a random one otherwise.
pub fn interesting_u32(rng: &mut Rng) -> u32 {
    if rng.chance(3, 4) {
        INTERESTING_U32
            .get(rng.below(INTERESTING_U32.len() as u64) as usize)
            .copied()
            .unwrap_or(0)
    } else {
        rng.next_u32()
    }
}

/// A 64-bit value made of two 32-bit halves, each interesting or random.
pub fn interesting_u64(rng: &mut Rng) -> u64 {
    let lo = interesting_u32(rng);
    let hi = if rng.chance(1, 2) {
        0
    } else {
        interesting_u32(rng)
    };
    u64::from(hi) << 32 | u64::from(lo)
}

/// An input for `arch` and `instruction_pointer`: nr and arguments drawn
/// from [`INTERESTING_U32`] (nr also small syscall numbers and x32 ones).
/// `nr` 335 and 336 are never produced (the kernel lets them bypass filters
/// on x86_64).
pub fn seccomp_data(rng: &mut Rng, arch: u32, instruction_pointer: u64) -> SeccompData {
    let mut nr = match rng.below(4) {
        0 => rng.below(64) as u32,
        1 => rng.below(512) as u32 | if rng.chance(1, 4) { 0x4000_0000 } else { 0 },
        _ => interesting_u32(rng),
    };
    if nr == 335 || nr == 336 {
        nr = 334;
    }
    let mut args = [0u64; 6];
    for a in &mut args {
        *a = interesting_u64(rng);
    }
    SeccompData {
        nr,
        arch,
        instruction_pointer,
        args,
    }
}

/// Like [`seccomp_data`], but a third of the 32-bit halves are constants the
/// program itself compares against or computes with (its `k` values), so
/// that equality tests are taken as often as not.
pub fn seccomp_data_for(
    rng: &mut Rng,
    prog: &[Insn],
    arch: u32,
    instruction_pointer: u64,
) -> SeccompData {
    let mut d = seccomp_data(rng, arch, instruction_pointer);
    let ks: Vec<u32> = prog
        .iter()
        .filter(|i| i.opcode().is_some_and(|op| op.operand().uses_k()))
        .map(|i| i.k)
        .collect();
    let from_prog = |rng: &mut Rng, v: u32| {
        if rng.chance(1, 3) {
            rng.pick(&ks).copied().unwrap_or(v)
        } else {
            v
        }
    };
    let nr = from_prog(rng, d.nr);
    if nr != 335 && nr != 336 {
        d.nr = nr;
    }
    for a in &mut d.args {
        let lo = from_prog(rng, *a as u32);
        let hi = from_prog(rng, (*a >> 32) as u32);
        *a = u64::from(hi) << 32 | u64::from(lo);
    }
    d
}

/// The 41 seccomp opcodes, weighted: common ones repeated.
fn valid_opcode(rng: &mut Rng) -> Opcode {
    const EXTRA: &[Opcode] = &[
        Opcode::LdAbsW,
        Opcode::LdAbsW,
        Opcode::LdAbsW,
        Opcode::JeqK,
        Opcode::JeqK,
        Opcode::JgtK,
        Opcode::JgeK,
        Opcode::JsetK,
        Opcode::AndK,
        Opcode::Tax,
        Opcode::LdxImm,
    ];
    let seccomp = || TABLE.iter().filter(|i| i.seccomp);
    let n = seccomp().count() as u64 + EXTRA.len() as u64;
    let i = rng.below(n) as usize;
    seccomp()
        .nth(i)
        .map(|info| info.opcode)
        .or_else(|| EXTRA.get(i - seccomp().count()).copied())
        .unwrap_or(Opcode::LdImm)
}

/// A program the kernel accepts, at most `max_len` (clamped to 2..=4096)
/// instructions long.
pub fn valid_program(rng: &mut Rng, max_len: usize) -> Vec<Insn> {
    let max_len = max_len.clamp(2, BPF_MAXINSNS);
    let len = rng.range(1, max_len as u64) as usize;
    let mut out = Vec::with_capacity(len);
    let written = prologue(rng, len - 1, &mut out);
    while out.len() < len - 1 {
        let pc = out.len();
        let op = valid_opcode(rng);
        let insn = valid_insn(rng, op, len - pc - 2, written);
        out.push(insn);
    }
    out.push(final_ret(rng));
    out
}

/// Straight-line stores at the start; returns the set of written slots.
/// Uses at most `room` instructions.
fn prologue(rng: &mut Rng, room: usize, out: &mut Vec<Insn>) -> u16 {
    let mut written = 0u16;
    let stores = rng.below(4).min(room as u64 / 2);
    for _ in 0..stores {
        let slot = rng.below(u64::from(BPF_MEMWORDS)) as u32;
        let load = if rng.chance(1, 2) {
            Insn::op(Opcode::LdAbsW, 0, 0, abs_offset(rng))
        } else {
            Insn::op(Opcode::LdImm, 0, 0, interesting_u32(rng))
        };
        out.push(load);
        let store = if rng.chance(1, 2) {
            Opcode::St
        } else {
            Opcode::Stx
        };
        out.push(Insn::op(store, 0, 0, slot));
        written |= 1 << slot;
    }
    written
}

/// A 4-aligned offset inside `seccomp_data`.
fn abs_offset(rng: &mut Rng) -> u32 {
    4 * rng.below(u64::from(SECCOMP_DATA_SIZE / 4)) as u32
}

/// One valid instruction; `reach` is how far forward a jump may go (the
/// largest legal offset), `written` the scratch slots readable here.
fn valid_insn(rng: &mut Rng, op: Opcode, reach: usize, written: u16) -> Insn {
    let k = match op {
        Opcode::LdAbsW => abs_offset(rng),
        Opcode::LdMem | Opcode::LdxMem => match readable_slot(rng, written) {
            Some(slot) => slot,
            None => return Insn::op(Opcode::LdxImm, 0, 0, interesting_u32(rng)),
        },
        Opcode::St | Opcode::Stx => rng.below(u64::from(BPF_MEMWORDS)) as u32,
        Opcode::DivK => interesting_u32(rng).max(1),
        Opcode::LshK | Opcode::RshK => rng.below(32) as u32,
        Opcode::Ja => rng.below(reach as u64 + 1) as u32,
        Opcode::DivX if rng.chance(15, 16) => return Insn::op(Opcode::Tax, 0, 0, 0),
        _ => interesting_u32(rng),
    };
    let operand = op.operand();
    if operand.is_conditional() {
        let limit = reach.min(255) as u64;
        let (jt, jf) = (rng.below(limit + 1) as u8, rng.below(limit + 1) as u8);
        return Insn::op(op, jt, jf, k);
    }
    if matches!(op, Opcode::RetK | Opcode::RetA) || rng.chance(7, 8) || operand == Operand::Jump {
        return Insn::op(op, 0, 0, if operand.uses_k() { k } else { 0 });
    }
    // Junk in the fields this instruction ignores.
    let k = if operand.uses_k() { k } else { rng.next_u32() };
    Insn::op(op, rng.next_u32() as u8, rng.next_u32() as u8, k)
}

/// A written slot, if any.
fn readable_slot(rng: &mut Rng, written: u16) -> Option<u32> {
    let slots: Vec<u32> = (0..BPF_MEMWORDS)
        .filter(|s| written & (1 << s) != 0)
        .collect();
    rng.pick(&slots).copied()
}

/// The last instruction: `ret #k` or `ret a`.
fn final_ret(rng: &mut Rng) -> Insn {
    if rng.chance(1, 3) {
        Insn::op(Opcode::RetA, 0, 0, 0)
    } else {
        Insn::op(Opcode::RetK, 0, 0, interesting_u32(rng))
    }
}

/// A program that is most often invalid, close to a validator boundary.
pub fn mostly_invalid_program(rng: &mut Rng) -> Vec<Insn> {
    match rng.below(100) {
        0 => Vec::new(),
        1 => long_program(rng, BPF_MAXINSNS),
        2 => long_program(rng, BPF_MAXINSNS + 1),
        3..=22 => random_program(rng),
        _ => {
            let max = if rng.chance(1, 4) { 64 } else { 12 };
            let mut prog = valid_program(rng, max);
            for _ in 0..rng.range(1, 3) {
                mutate(rng, &mut prog);
            }
            prog
        }
    }
}

/// `len` instructions, valid unless `len` is above the limit.
fn long_program(rng: &mut Rng, len: usize) -> Vec<Insn> {
    let mut prog = vec![Insn::op(Opcode::LdAbsW, 0, 0, abs_offset(rng)); len];
    if let Some(last) = prog.last_mut() {
        *last = final_ret(rng);
    }
    prog
}

/// A short program of random codes and boundary fields.
fn random_program(rng: &mut Rng) -> Vec<Insn> {
    let len = rng.range(1, 8) as usize;
    (0..len)
        .map(|pc| {
            let code = random_code(rng);
            let insn = Insn::new(
                code,
                rng.below(4) as u8,
                rng.below(4) as u8,
                interesting_u32(rng),
            );
            boundary_fields(rng, insn, pc, len)
        })
        .collect()
}

/// Any of the 49 classic codes most of the time, else any byte or u16.
fn random_code(rng: &mut Rng) -> u16 {
    match rng.below(8) {
        0 => rng.next_u32() as u16,
        1 => rng.below(256) as u16,
        _ => TABLE
            .get(rng.below(TABLE.len() as u64) as usize)
            .map_or(0, |i| i.code),
    }
}

/// One random change to a program.
fn mutate(rng: &mut Rng, prog: &mut Vec<Insn>) {
    let len = prog.len();
    let pc = rng.below(len as u64) as usize;
    match rng.below(10) {
        0 if len > 1 => {
            prog.pop();
        }
        1 => {
            let slot = rng.below(u64::from(BPF_MEMWORDS)) as u32;
            let op = if rng.chance(1, 2) {
                Opcode::LdMem
            } else {
                Opcode::LdxMem
            };
            if let Some(insn) = prog.get_mut(pc) {
                *insn = Insn::op(op, 0, 0, slot);
            }
        }
        2 | 3 => {
            if let Some(insn) = prog.get_mut(pc) {
                insn.code = random_code(rng);
            }
        }
        _ => {
            if let Some(insn) = prog.get(pc).copied() {
                prog[pc] = boundary_fields(rng, insn, pc, len);
            }
        }
    }
}

/// Sets `k` or `jt`/`jf` of `insn` (at `pc` in a program of `len`) to a
/// value on either side of the kernel's limit for its opcode.
fn boundary_fields(rng: &mut Rng, mut insn: Insn, pc: usize, len: usize) -> Insn {
    let fwd = (len - pc) as u32;
    let Some(op) = insn.opcode() else { return insn };
    let choices: Vec<u32> = match op.operand() {
        Operand::Abs => {
            let anc = SKF_AD_OFF + 4 * rng.below(18) as u32;
            vec![
                0,
                2,
                4,
                60,
                61,
                62,
                63,
                64,
                68,
                anc,
                SKF_NET_OFF,
                SKF_LL_OFF,
                0xffff_ffff,
            ]
        }
        Operand::Mem => vec![0, 15, 16, 17, 0xffff_ffff],
        Operand::Jump => vec![fwd.wrapping_sub(2), fwd.wrapping_sub(1), fwd, 0xffff_ffff],
        Operand::CondK | Operand::CondX => {
            let edge = [fwd.wrapping_sub(2), fwd.wrapping_sub(1), 255];
            let pick = |rng: &mut Rng| {
                edge.get(rng.below(3) as usize)
                    .copied()
                    .unwrap_or(0)
                    .min(255) as u8
            };
            if rng.chance(1, 2) {
                insn.jt = pick(rng)
            } else {
                insn.jf = pick(rng)
            }
            return insn;
        }
        _ if matches!(op, Opcode::LshK | Opcode::RshK) => vec![0, 31, 32, 33, 0xffff_ffff],
        _ if matches!(op, Opcode::DivK | Opcode::ModK) => vec![0, 1, 0xffff_ffff],
        _ => vec![interesting_u32(rng)],
    };
    insn.k = rng.pick(&choices).copied().unwrap_or(0);
    insn
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::validate;

    #[test]
    fn rng_is_deterministic_and_spread() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        let xs: Vec<u64> = (0..8).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..8).map(|_| b.next_u64()).collect();
        assert_eq!(xs, ys);
        assert_eq!(Rng::new(0).next_u64(), 0xe220_a839_7b1d_cdaf);
        let mut r = Rng::new(1);
        let mut seen = [false; 10];
        for _ in 0..1000 {
            seen[r.below(10) as usize] = true;
        }
        assert!(seen.iter().all(|&s| s));
        assert_eq!(r.below(0), 0);
    }

    #[test]
    fn valid_programs_validate_and_cover_every_seccomp_opcode() {
        let mut rng = Rng::new(1);
        let mut seen = std::collections::HashSet::new();
        for i in 0..3000 {
            let prog = valid_program(&mut rng, 40);
            if let Err(e) = validate(&prog) {
                panic!("program {i} rejected: {e}: {prog:?}");
            }
            seen.extend(prog.iter().filter_map(Insn::opcode));
        }
        assert_eq!(seen.len(), crate::opcode::SECCOMP_OPCODES);
    }

    #[test]
    fn invalid_programs_are_mostly_invalid() {
        let mut rng = Rng::new(2);
        let rejected = (0..2000)
            .filter(|_| validate(&mostly_invalid_program(&mut rng)).is_err())
            .count();
        assert!(
            (1000..2000).contains(&rejected),
            "{rejected} of 2000 rejected"
        );
    }

    #[test]
    fn inputs_avoid_the_bypass_numbers() {
        let mut rng = Rng::new(3);
        for _ in 0..10_000 {
            let d = seccomp_data(&mut rng, 0xc000_003e, 5);
            assert!(d.nr != 335 && d.nr != 336);
            assert_eq!((d.arch, d.instruction_pointer), (0xc000_003e, 5));
        }
    }
}
