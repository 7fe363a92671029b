//! Why the kernel would refuse a program, and where.
//!
//! A [`ValidateError`] names the first rule a program breaks ([`Rule`]), the
//! pc of the offending instruction (none for a bad length), and keeps the
//! instruction itself so the message can quote it. Every rejection it stands
//! for is `EINVAL` from `seccomp(SECCOMP_SET_MODE_FILTER)`.

use core::fmt;

use crate::insn::Insn;
use crate::limits::{BPF_MAXINSNS, BPF_MEMWORDS, SECCOMP_DATA_SIZE};

/// One load-time rule of the kernel, named after what it forbids.
///
/// The doc comment of each variant names the kernel function that enforces it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Rule {
    /// `seccomp_prepare_filter` / `bpf_check_basics_ok`: the length must be 1..=4096.
    Length,
    /// `chk_code_allowed`: `code` must be one of the 49 classic opcodes, exactly.
    Opcode,
    /// `bpf_check_classic`: `div #0` and `mod #0` are refused.
    DivisionByZero,
    /// `bpf_check_classic`: `lsh #k` and `rsh #k` need `k < 32`.
    ShiftTooWide,
    /// `bpf_check_classic`: `M[k]` needs `k < 16` (`BPF_MEMWORDS`).
    MemoryIndex,
    /// `bpf_check_classic`: `ja` must land on an instruction of the program.
    JumpOutOfRange,
    /// `bpf_check_classic`: both targets of a conditional jump must be in the program.
    BranchOutOfRange,
    /// `bpf_check_classic` / `bpf_anc_helper`: an absolute load at or above
    /// `SKF_AD_OFF` must be a known ancillary offset.
    UnknownAncillary,
    /// `bpf_check_classic`: the last instruction must be `ret #k` or `ret a`.
    LastNotReturn,
    /// `check_load_and_stores`: a scratch slot is read before it is written
    /// on some path to the read.
    UninitializedMemory,
    /// `seccomp_check_filter`: the opcode is one of the 8 classic codes seccomp refuses.
    SeccompOpcode,
    /// `seccomp_check_filter`: `ld [k]` needs `k < 64` and `k % 4 == 0`.
    SeccompDataOffset,
}

impl Rule {
    /// A short stable name, printed at the end of error messages.
    pub const fn name(self) -> &'static str {
        match self {
            Rule::Length => "length",
            Rule::Opcode => "opcode",
            Rule::DivisionByZero => "division-by-zero",
            Rule::ShiftTooWide => "shift-too-wide",
            Rule::MemoryIndex => "memory-index",
            Rule::JumpOutOfRange => "jump-out-of-range",
            Rule::BranchOutOfRange => "branch-out-of-range",
            Rule::UnknownAncillary => "unknown-ancillary",
            Rule::LastNotReturn => "last-not-return",
            Rule::UninitializedMemory => "uninitialized-memory",
            Rule::SeccompOpcode => "seccomp-opcode",
            Rule::SeccompDataOffset => "seccomp-data-offset",
        }
    }

    /// The kernel function that enforces the rule.
    pub const fn kernel_function(self) -> &'static str {
        match self {
            Rule::Length => "seccomp_prepare_filter",
            Rule::Opcode => "chk_code_allowed",
            Rule::DivisionByZero
            | Rule::ShiftTooWide
            | Rule::MemoryIndex
            | Rule::JumpOutOfRange
            | Rule::BranchOutOfRange
            | Rule::UnknownAncillary
            | Rule::LastNotReturn => "bpf_check_classic",
            Rule::UninitializedMemory => "check_load_and_stores",
            Rule::SeccompOpcode | Rule::SeccompDataOffset => "seccomp_check_filter",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The first rule a program breaks, with its pc.
///
/// Display form: `pc 7: shift by 32 in lsh #32, limit 31 (shift-too-wide)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidateError {
    kind: Kind,
}

/// What went wrong; private so messages and accessors can evolve.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Kind {
    /// The program length is outside 1..=4096.
    Length { len: usize },
    /// A per-instruction rule failed at `pc`.
    At {
        pc: usize,
        insn: Insn,
        rule: Rule,
        len: usize,
    },
}

impl ValidateError {
    #[cold]
    pub(crate) fn length(len: usize) -> ValidateError {
        ValidateError {
            kind: Kind::Length { len },
        }
    }

    #[cold]
    pub(crate) fn at(rule: Rule, pc: usize, insns: &[Insn]) -> ValidateError {
        let insn = insns.get(pc).copied().unwrap_or_default();
        ValidateError {
            kind: Kind::At {
                pc,
                insn,
                rule,
                len: insns.len(),
            },
        }
    }

    /// The pc of the offending instruction; `None` for a bad length.
    pub fn pc(&self) -> Option<usize> {
        match self.kind {
            Kind::Length { .. } => None,
            Kind::At { pc, .. } => Some(pc),
        }
    }

    /// The rule that was broken.
    pub fn rule(&self) -> Rule {
        match self.kind {
            Kind::Length { .. } => Rule::Length,
            Kind::At { rule, .. } => rule,
        }
    }

    /// The offending instruction, as given; `None` for a bad length.
    pub fn insn(&self) -> Option<Insn> {
        match self.kind {
            Kind::Length { .. } => None,
            Kind::At { insn, .. } => Some(insn),
        }
    }
}

impl fmt::Display for ValidateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            Kind::Length { len } => write!(
                f,
                "program has {len} instructions, seccomp accepts 1 to {BPF_MAXINSNS} ({})",
                Rule::Length
            ),
            Kind::At {
                pc,
                insn,
                rule,
                len,
            } => {
                write!(f, "pc {pc}: ")?;
                describe(f, rule, pc, &insn, len)?;
                write!(f, " ({rule})")
            }
        }
    }
}

/// The farthest pc the jump `insn` at `pc` lands at ([`Insn::successors`]).
fn farthest(pc: usize, insn: &Insn) -> usize {
    insn.successors(pc).max().unwrap_or(pc)
}

/// The middle part of a message: what is wrong with `insn`, quoting the limit.
fn describe(
    f: &mut fmt::Formatter<'_>,
    rule: Rule,
    pc: usize,
    insn: &Insn,
    len: usize,
) -> fmt::Result {
    let name = insn.info().map_or("?", |i| i.mnemonic);
    let last = len.saturating_sub(1);
    match rule {
        Rule::Length => write!(f, "program has {len} instructions"),
        Rule::Opcode => write!(f, "code {:#06x} is not a classic bpf opcode", insn.code),
        Rule::DivisionByZero => write!(f, "{name} #0 divides by zero"),
        Rule::ShiftTooWide => write!(f, "{name} #{} shifts by 32 or more, limit 31", insn.k),
        Rule::MemoryIndex => {
            write!(
                f,
                "{name} M[{}] is outside scratch memory M[0]..M[{}]",
                insn.k,
                BPF_MEMWORDS - 1
            )
        }
        Rule::JumpOutOfRange => {
            let target = farthest(pc, insn);
            write!(
                f,
                "ja +{} lands at pc {target}, past the last instruction {last}",
                insn.k
            )
        }
        Rule::BranchOutOfRange => {
            let target = farthest(pc, insn);
            write!(
                f,
                "{name} with jt {} jf {} lands at pc {target}, past the last instruction {last}",
                insn.jt, insn.jf
            )
        }
        Rule::UnknownAncillary => {
            write!(f, "{name} [{:#x}] is not a known ancillary offset", insn.k)
        }
        Rule::LastNotReturn => {
            write!(
                f,
                "the last instruction must be ret, found code {:#06x} ({name})",
                insn.code
            )
        }
        Rule::UninitializedMemory => write!(
            f,
            "{name} M[{}] reads a scratch slot that is not written on every path to it",
            insn.k
        ),
        Rule::SeccompOpcode => {
            write!(
                f,
                "code {:#06x} ({name}) is not allowed in seccomp filters",
                insn.code
            )
        }
        Rule::SeccompDataOffset => {
            let k = insn.k;
            if k < 0x1_0000 {
                write!(f, "ld [{k}]")?;
            } else {
                write!(f, "ld [{k:#x}]")?;
            }
            write!(
                f,
                " is not an aligned word inside the {SECCOMP_DATA_SIZE}-byte seccomp_data (0, 4, .., 60)"
            )
        }
    }
}

impl core::error::Error for ValidateError {}
