//! A bit-exact model of the kernel's action-cache emulator
//! (`seccomp_is_const_allow`, `kernel/seccomp.c`, Linux 5.11 and later).
//!
//! In: a validated [`Program`] and one (arch, nr). Out: whether the kernel
//! would mark that syscall "constant ALLOW" for this filter, in which case a
//! call with that arch and nr skips the filter entirely. The kernel fills
//! its per-filter bitmap at attach time by running this emulator for every
//! nr of the native (and compat) arch; a bit survives only if every stacked
//! filter is constant ALLOW for it.
//!
//! The emulator walks the **original** instructions along the single path
//! that `nr` and `arch` select, with one register starting at 0. It
//! understands only the instructions marked in the opcode table's `cache`
//! column, and those narrowly:
//!
//! * `ld [k]` with `k` 0 (nr) or 4 (arch); any other offset gives up;
//! * `ja`, and `jeq`/`jgt`/`jge`/`jset` with a K operand;
//! * `and #k`;
//! * `ret #k`, which is constant ALLOW only for exactly `0x7fff0000`
//!   (`ALLOW | data` and `LOG` are not cached).
//!
//! Anything else on the path (X forms, scratch memory, `tax`/`txa`, other
//! ALU ops, `ld len`, `ret a`, loads of arguments or the IP) gives up: not
//! cacheable. Instructions off the path do not matter.
//!
//! Since 6.14 the kernel's function first lets the `uretprobe` (and, since
//! 6.18, `uprobe`) syscalls through on native x86_64. That exception depends
//! on the kernel version and not on the filter, so it is a separate
//! function here, [`kernel_bypass`]; [`is_const_allow`] is only the walk.
//!
//! [`const_allow_among`] answers the same question for many numbers at
//! once (the compiler's check asks it for every number a policy always
//! allows): it walks pieces of the number space that share a path, and
//! its property test holds it to [`is_const_allow`] number by number.

use crate::action::RET_ALLOW;
use crate::data::{OFFSET_ARCH, OFFSET_NR};
use crate::opcode::Opcode;
use crate::program::{Op, Program};
use sysfence_abi::arch::AUDIT_ARCH_X86_64;

/// `__NR_uretprobe` on x86_64 (6.14+).
const NR_URETPROBE: u32 = 335;
/// `__NR_uprobe` on x86_64 (6.18+).
const NR_UPROBE: u32 = 336;

/// Whether the kernel's emulator proves `prog` returns exactly
/// `SECCOMP_RET_ALLOW` for this arch and nr (the uretprobe/uprobe exception
/// is [`kernel_bypass`], not included).
pub fn is_const_allow(prog: &Program, arch: u32, nr: u32) -> bool {
    walk_from(prog.ops(), 0, 0, (arch, nr))
}

/// The walk of [`is_const_allow`] from `pc` with the register holding
/// `reg`.
fn walk_from(ops: &[Op], mut pc: usize, mut reg: u32, (arch, nr): (u32, u32)) -> bool {
    // The pre-decoded form keeps the original jt, jf and k of every
    // instruction, which is what the kernel's walk of `orig_prog` reads.
    while let Some(insn) = ops.get(pc) {
        let (op, k) = (insn.op, insn.k);
        if !op.info().cache {
            return false;
        }
        pc += 1;
        match op {
            Opcode::LdAbsW => match k {
                OFFSET_NR => reg = nr,
                OFFSET_ARCH => reg = arch,
                _ => return false,
            },
            Opcode::RetK => return k == RET_ALLOW,
            Opcode::Ja => pc += k as usize,
            Opcode::AndK => reg &= k,
            _ => match jump_k(op, reg, k) {
                Some(taken) => pc += usize::from(if taken { insn.jt } else { insn.jf }),
                None => return false,
            },
        }
    }
    // "ran off the end of the filter?!": impossible after validation.
    false
}

/// The numbers of `nrs` (sorted, disjoint inclusive ranges) for which
/// [`is_const_allow`] holds, as sorted, disjoint, non-adjacent inclusive
/// ranges.
///
/// One walk over the pieces of the numbers that take one path, not one per
/// number: while the register holds the number, `jeq`, `jge` and `jgt`
/// split a piece at their constant; where it holds the arch (or a constant
/// made from it) every number of the piece goes the same way. A piece is
/// cut to the numbers of `nrs` it holds and dropped when it holds none, so
/// only the paths to those numbers are walked, each step once. Only a
/// `jset` on the number or an `and` of it, whose outcomes are not ranges,
/// walks a piece number by number from there.
pub fn const_allow_among(prog: &Program, arch: u32, nrs: &[(u32, u32)]) -> Vec<(u32, u32)> {
    let ops = prog.ops();
    let count: u64 = nrs
        .iter()
        .map(|r| u64::from(r.1.saturating_sub(r.0)) + 1)
        .sum();
    let mut walk = Pieces {
        nrs,
        stack: Vec::new(),
        out: Vec::new(),
    };
    if count < PER_NUMBER_BELOW {
        for &(lo, hi) in nrs {
            walk.each(ops, arch, (0, Some(0)), (lo, hi));
        }
        return walk.out;
    }
    if let (Some(first), Some(last)) = (nrs.first(), nrs.last()) {
        walk.push((0, Some(0), first.0, last.1));
    }
    while let Some(piece) = walk.stack.pop() {
        walk.step(ops, arch, piece);
    }
    walk.out
}

/// Below this many numbers [`const_allow_among`] walks each on its own:
/// a step of the piece walk costs several of the per-number walk's, which
/// wins until the numbers share enough of their paths (measured on
/// Firecracker's filters, 20 to 40 numbers, and Docker's profile, 300).
const PER_NUMBER_BELOW: u64 = 64;

/// A piece of the numbers at an instruction: `(pc, register or None while
/// it holds the number, lo, hi)`.
type Piece = (usize, Option<u32>, u32, u32);

/// The walk of [`const_allow_among`]: the pieces still to walk, disjoint,
/// the lowest numbers on top (so that the ranges come out in order), and
/// the ranges found.
struct Pieces<'a> {
    nrs: &'a [(u32, u32)],
    stack: Vec<Piece>,
    out: Vec<(u32, u32)>,
}

impl Pieces<'_> {
    /// Walks one instruction for a piece.
    fn step(&mut self, ops: &[Op], arch: u32, (pc, reg, lo, hi): Piece) {
        match step_piece(ops, pc, reg, arch) {
            Walk::End(true) => {
                for (a, b) in within(self.nrs, lo, hi) {
                    add_range(&mut self.out, a, b);
                }
            }
            Walk::End(false) => {}
            Walk::Go(to, reg) => self.push((to, reg, lo, hi)),
            // Numbers under `at` go to `below`, the others to `from`.
            Walk::Cut { at, below, .. } if at > hi => self.push((below, None, lo, hi)),
            Walk::Cut { at, from, .. } if at <= lo => self.push((from, None, lo, hi)),
            Walk::Cut { at, below, from } => {
                self.push((from, None, at, hi));
                self.push((below, None, lo, at - 1));
            }
            Walk::Eq { k, equal, other } if (lo..=hi).contains(&k) => {
                if k < hi {
                    self.push((other, None, k + 1, hi));
                }
                self.push((equal, None, k, k));
                if k > lo {
                    self.push((other, None, lo, k - 1));
                }
            }
            Walk::Eq { other, .. } => self.push((other, None, lo, hi)),
            Walk::Each => {
                for part in within(self.nrs, lo, hi) {
                    self.each(ops, arch, (pc, None), part);
                }
            }
        }
    }

    /// Adds a piece cut to the numbers of `nrs` it holds, if any.
    fn push(&mut self, (pc, reg, lo, hi): Piece) {
        let mut inside = within(self.nrs, lo, hi);
        if let Some((a, first_hi)) = inside.next() {
            let b = inside.next_back().map_or(first_hi, |r| r.1);
            self.stack.push((pc, reg, a, b));
        }
    }

    /// Walks each number of `lo..=hi` on its own from `pc`, the register
    /// holding `reg` (`None`: the number).
    fn each(
        &mut self,
        ops: &[Op],
        arch: u32,
        (pc, reg): (usize, Option<u32>),
        (lo, hi): (u32, u32),
    ) {
        for nr in lo..=hi {
            if walk_from(ops, pc, reg.unwrap_or(nr), (arch, nr)) {
                add_range(&mut self.out, nr, nr);
            }
        }
    }
}

/// The parts of the sorted ranges `nrs` inside `lo..=hi`, in order.
fn within(
    nrs: &[(u32, u32)],
    lo: u32,
    hi: u32,
) -> impl DoubleEndedIterator<Item = (u32, u32)> + '_ {
    let from = nrs.partition_point(|r| r.1 < lo);
    let to = from + nrs[from..].partition_point(|r| r.0 <= hi);
    nrs[from..to]
        .iter()
        .map(move |r| (r.0.max(lo), r.1.min(hi)))
}

/// Appends `lo..=hi` (above every range of `out`), joined to the last
/// range when adjacent.
fn add_range(out: &mut Vec<(u32, u32)>, lo: u32, hi: u32) {
    debug_assert!(out.last().is_none_or(|last| last.1 < lo));
    match out.last_mut() {
        Some(last) if u64::from(last.1) + 1 == u64::from(lo) => last.1 = hi,
        _ => out.push((lo, hi)),
    }
}

/// What one instruction does with a piece of the numbers.
enum Walk {
    /// The walk ends: constant ALLOW or not.
    End(bool),
    /// Every number goes on to this pc with this register.
    Go(usize, Option<u32>),
    /// Numbers below `at` go on to `below`, the others to `from`, the
    /// register still holding the number.
    Cut { at: u32, below: usize, from: usize },
    /// The number `k` goes on to `equal`, the others to `other`.
    Eq { k: u32, equal: usize, other: usize },
    /// Each number takes its own way from this instruction.
    Each,
}

/// The effect of `ops[pc]` on a piece whose register is `reg` (`None`:
/// the number itself).
fn step_piece(ops: &[Op], pc: usize, reg: Option<u32>, arch: u32) -> Walk {
    let Some(insn) = ops.get(pc).filter(|i| i.op.info().cache) else {
        return Walk::End(false);
    };
    let (op, k, next) = (insn.op, insn.k, pc + 1);
    let (t, f) = (next + usize::from(insn.jt), next + usize::from(insn.jf));
    match (op, reg) {
        (Opcode::LdAbsW, _) => match k {
            OFFSET_NR => Walk::Go(next, None),
            OFFSET_ARCH => Walk::Go(next, Some(arch)),
            _ => Walk::End(false),
        },
        (Opcode::RetK, _) => Walk::End(k == RET_ALLOW),
        (Opcode::Ja, _) => Walk::Go(next + k as usize, reg),
        (Opcode::AndK, Some(r)) => Walk::Go(next, Some(r & k)),
        (_, Some(r)) => match jump_k(op, r, k) {
            Some(taken) => Walk::Go(if taken { t } else { f }, reg),
            None => Walk::End(false),
        },
        (_, None) if t == f && jump_k(op, 0, k).is_some() => Walk::Go(t, None),
        (Opcode::JeqK, None) => Walk::Eq {
            k,
            equal: t,
            other: f,
        },
        (Opcode::JgeK, None) => Walk::Cut {
            at: k,
            below: f,
            from: t,
        },
        (Opcode::JgtK, None) => match k.checked_add(1) {
            Some(at) => Walk::Cut {
                at,
                below: f,
                from: t,
            },
            None => Walk::Go(f, None),
        },
        _ => Walk::Each,
    }
}

/// The K-form comparisons the emulator knows; `None` for anything else.
fn jump_k(op: Opcode, reg: u32, k: u32) -> Option<bool> {
    match op {
        Opcode::JeqK => Some(reg == k),
        Opcode::JgeK => Some(reg >= k),
        Opcode::JgtK => Some(reg > k),
        Opcode::JsetK => Some(reg & k != 0),
        _ => None,
    }
}

/// The syscalls a 6.18 x86_64 kernel lets through before any filter:
/// native-arch `uretprobe` (335, since 6.14) and `uprobe` (336, since 6.18).
/// The same numbers from i386 (`int 0x80`) or with the x32 bit set are
/// filtered normally. Older kernels have no exception (or only 335 on 6.14
/// to 6.17); callers modelling them should not consult this.
pub fn kernel_bypass(arch: u32, nr: u32) -> bool {
    arch == AUDIT_ARCH_X86_64 && (nr == NR_URETPROBE || nr == NR_UPROBE)
}
