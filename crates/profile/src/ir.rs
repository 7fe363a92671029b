//! The policy IR: what a profile means once every runtime rule has been applied.
//!
//! A [`Policy`] is the single input of the compiler and of the reference
//! evaluator ([`crate::eval`]). It is per AUDIT_ARCH value, so x32 lives inside
//! the x86_64 [`ArchPolicy`] (its numbers carry bit 30), exactly as the kernel
//! sees it. For one `(arch, nr)` the meaning is:
//!
//! 1. if `nr` falls in one of the arch's [`NrRange`]s, that range's action
//!    (runc's ENOSYS stub, the x32 guard, ...); ranges hold no rules;
//! 2. else the first [`Rule`] in `rules[nr]` whose conditions all hold;
//! 3. else the arch's default action.
//!
//! A foreign arch gets [`Policy::bad_arch`]. Ordering is the whole story:
//! lowering sorts rules so that first-match reproduces what libseccomp (or
//! seccompiler) would load, including its merges and silent drops.
//!
//! This module checks only structural invariants ([`Policy::new`]): argument
//! index below 6, ranges disjoint and free of rules, arches unique. It does
//! not know where rules came from beyond their [`Origin`].

use std::collections::BTreeMap;
use std::fmt;

use crate::diag::printable;

/// What the kernel should do with a syscall: the kernel's own action type
/// ([`sysfence_abi::Action`]), shared with the cBPF side so that the policy
/// and the program speak of the same values. Lowering only ever produces the
/// eight named actions; [`Action::Unknown`] (which the kernel treats as a
/// kill) comes only from a caller that builds one by hand.
pub use sysfence_abi::Action;

/// A syscall argument index, 0..=5.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ArgIndex(u8);

impl ArgIndex {
    /// One past the largest index.
    pub const LIMIT: u8 = 6;

    /// A checked index.
    pub const fn new(i: u8) -> Option<ArgIndex> {
        if i < Self::LIMIT {
            Some(ArgIndex(i))
        } else {
            None
        }
    }

    /// The index as a usize.
    pub const fn get(self) -> usize {
        self.0 as usize
    }
}

/// A comparison operator (`SCMP_CMP_*`). All comparisons are unsigned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CmpOp {
    /// `arg != value`.
    Ne,
    /// `arg < value`.
    Lt,
    /// `arg <= value`.
    Le,
    /// `arg == value`.
    Eq,
    /// `arg >= value`.
    Ge,
    /// `arg > value`.
    Gt,
    /// `(arg & value) == (value_two & value)`: `value` is the mask, and the
    /// expected datum is masked too, as libseccomp does.
    MaskedEq,
    /// `(arg & value) != 0`: some bit of the mask `value` is set
    /// (minijail's `&`). No Docker or OCI profile can say it.
    MaskedAny,
}

/// Whether arguments are compared on 64 bits or on the low word only: per
/// arch, as libseccomp does for 32-bit ABIs (x86, arm, x32, mips o32/n32,
/// ppc, s390), and per condition, as seccompiler's `dword` does (and as
/// libseccomp's long-asked 32-bit argument comparison would).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ArgWidth {
    /// Full 64-bit comparisons.
    Bits64,
    /// Low 32 bits of argument and value only.
    Bits32,
}

/// One argument comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Cond {
    /// Which argument.
    pub arg: ArgIndex,
    /// The operator.
    pub op: CmpOp,
    /// The value (the mask for [`CmpOp::MaskedEq`] and [`CmpOp::MaskedAny`]).
    pub value: u64,
    /// The expected datum for [`CmpOp::MaskedEq`]; 0 otherwise.
    pub value_two: u64,
    /// [`ArgWidth::Bits32`]: argument, value and datum are cut to their low
    /// words whatever the arch; [`ArgWidth::Bits64`]: compared as wide as
    /// the arch compares ([`ArchPolicy::width`]).
    pub width: ArgWidth,
}

impl Cond {
    /// The width the comparison really has on an arch of width `arch`: the
    /// low word when either says so.
    pub fn width_on(&self, arch: ArgWidth) -> ArgWidth {
        if self.width == ArgWidth::Bits32 || arch == ArgWidth::Bits32 {
            ArgWidth::Bits32
        } else {
            ArgWidth::Bits64
        }
    }

    /// The same comparison on the low words only.
    pub fn low_word(self) -> Cond {
        Cond {
            width: ArgWidth::Bits32,
            ..self
        }
    }

    /// Whether the comparison holds for an argument value on an arch of
    /// width `width`.
    pub fn holds(&self, arg: u64, width: ArgWidth) -> bool {
        let cut = |v: u64| match self.width_on(width) {
            ArgWidth::Bits64 => v,
            ArgWidth::Bits32 => v & 0xffff_ffff,
        };
        let (a, v) = (cut(arg), cut(self.value));
        match self.op {
            CmpOp::Ne => a != v,
            CmpOp::Lt => a < v,
            CmpOp::Le => a <= v,
            CmpOp::Eq => a == v,
            CmpOp::Ge => a >= v,
            CmpOp::Gt => a > v,
            CmpOp::MaskedEq => a & v == cut(self.value_two) & v,
            CmpOp::MaskedAny => a & v != 0,
        }
    }
}

/// Where a rule came from, for messages.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Origin {
    /// File name as given by the user (may be empty for generated rules).
    pub file: String,
    /// 1-based line, 0 when unknown.
    pub line: u32,
    /// 1-based column, 0 when unknown.
    pub column: u32,
    /// JSON/YAML path such as `$.syscalls[3].names[1]`.
    pub path: String,
}

impl Origin {
    /// The start of `file` (line 1, column 1, path `$`): where a message
    /// about the whole input points.
    pub fn start(file: &str) -> Origin {
        Origin {
            file: file.to_string(),
            line: 1,
            column: 1,
            path: "$".into(),
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = printable(&self.file);
        write!(f, "{file}:{}:{}", self.line, self.column)?;
        // A line-based format (minijail) has no path inside the file.
        match self.path.as_str() {
            "" => Ok(()),
            path => write!(f, " ({})", printable(path)),
        }
    }
}

/// A conjunction of comparisons and the action when all hold.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Rule {
    /// All must hold; empty means the rule always matches.
    pub conds: Vec<Cond>,
    /// The action when they do.
    pub action: Action,
    /// The source of the rule.
    pub origin: Origin,
}

/// A run of syscall numbers with one fixed action and no rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NrRange {
    /// First number (inclusive).
    pub lo: u32,
    /// Last number (inclusive).
    pub hi: u32,
    /// The action for every number in the range.
    pub action: Action,
}

/// The policy of one AUDIT_ARCH value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArchPolicy {
    /// The AUDIT_ARCH value (x32 shares x86_64's).
    pub audit_arch: u32,
    /// A display name (`x86_64`, `x86_64+x32`, `aarch64`, ...).
    pub name: String,
    /// How arguments are compared.
    pub width: ArgWidth,
    /// Action when no range and no rule decides.
    pub default: Action,
    /// Ordered rules per syscall number; first match wins.
    pub rules: BTreeMap<u32, Vec<Rule>>,
    /// Fixed-action number ranges, sorted by `lo`, disjoint, free of rules.
    pub ranges: Vec<NrRange>,
    /// The largest number in this arch's syscall table (for checks and reports).
    pub table_max: u32,
}

/// A complete policy: one [`ArchPolicy`] per arch value, and the action for
/// every other arch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    arches: Vec<ArchPolicy>,
    bad_arch: Action,
}

/// Why a [`Policy`] could not be built.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// Two entries for one AUDIT_ARCH value.
    #[error("arch {0:#010x} appears twice in the policy")]
    DuplicateArch(u32),
    /// Ranges overlap or are not sorted.
    #[error("arch {arch}: number ranges overlap or are unsorted at {lo:#x}..={hi:#x}")]
    BadRange {
        /// Arch name.
        arch: String,
        /// First number of the offending range.
        lo: u32,
        /// Last number of the offending range.
        hi: u32,
    },
    /// A rule was given for a number covered by a range.
    #[error("arch {arch}: syscall {nr} has rules but lies in a fixed range")]
    RuleInRange {
        /// Arch name.
        arch: String,
        /// The number.
        nr: u32,
    },
}

impl Policy {
    /// Builds a policy, checking its structural invariants.
    pub fn new(mut arches: Vec<ArchPolicy>, bad_arch: Action) -> Result<Policy, PolicyError> {
        arches.sort_by_key(|a| a.audit_arch);
        for pair in arches.windows(2) {
            if pair[0].audit_arch == pair[1].audit_arch {
                return Err(PolicyError::DuplicateArch(pair[0].audit_arch));
            }
        }
        for a in &arches {
            a.check()?;
        }
        Ok(Policy { arches, bad_arch })
    }

    /// The per-arch policies, sorted by AUDIT_ARCH value.
    pub fn arches(&self) -> &[ArchPolicy] {
        &self.arches
    }

    /// The policy for one AUDIT_ARCH value.
    pub fn arch(&self, audit_arch: u32) -> Option<&ArchPolicy> {
        self.arches.iter().find(|a| a.audit_arch == audit_arch)
    }

    /// The action for any arch not in the policy.
    pub fn bad_arch(&self) -> Action {
        self.bad_arch
    }

    /// Replaces the bad-arch action (`--bad-arch`).
    pub fn with_bad_arch(mut self, action: Action) -> Policy {
        self.bad_arch = action;
        self
    }
}

impl ArchPolicy {
    /// The numbers of this ABI's own syscall table: `0..=table_max`, or for
    /// an x32-only entry (whose table numbers carry the x32 bit)
    /// `X32_SYSCALL_BIT..=table_max`, never the billion numbers below it.
    pub fn table_numbers(&self) -> std::ops::RangeInclusive<u32> {
        (self.table_max & sysfence_abi::arch::X32_SYSCALL_BIT)..=self.table_max
    }

    fn check(&self) -> Result<(), PolicyError> {
        let mut prev_hi: Option<u32> = None;
        for r in &self.ranges {
            if r.lo > r.hi || prev_hi.is_some_and(|p| r.lo <= p) {
                return Err(PolicyError::BadRange {
                    arch: self.name.clone(),
                    lo: r.lo,
                    hi: r.hi,
                });
            }
            prev_hi = Some(r.hi);
            if let Some((&nr, _)) = self.rules.range(r.lo..=r.hi).next() {
                return Err(PolicyError::RuleInRange {
                    arch: self.name.clone(),
                    nr,
                });
            }
        }
        Ok(())
    }

    /// The range covering `nr`, if any.
    pub fn range_for(&self, nr: u32) -> Option<&NrRange> {
        let i = self.ranges.partition_point(|r| r.hi < nr);
        self.ranges.get(i).filter(|r| r.lo <= nr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cond(op: CmpOp, value: u64, value_two: u64) -> Cond {
        Cond {
            arg: ArgIndex::new(0).unwrap(),
            op,
            value,
            value_two,
            width: ArgWidth::Bits64,
        }
    }

    #[test]
    fn low_word_conditions_ignore_high_words_on_any_arch() {
        let c = cond(CmpOp::Gt, 0x7_0000_0005, 0).low_word();
        assert!(c.holds(6, ArgWidth::Bits64));
        assert!(c.holds(0x1_0000_0006, ArgWidth::Bits64));
        assert!(!c.holds(0x9_0000_0005, ArgWidth::Bits64));
        assert_eq!(c.width_on(ArgWidth::Bits64), ArgWidth::Bits32);
    }

    #[test]
    fn masked_eq_masks_the_datum_too() {
        let c = cond(CmpOp::MaskedEq, 0xff, 0x1234);
        assert!(c.holds(0x34, ArgWidth::Bits64));
        assert!(c.holds(0xab34, ArgWidth::Bits64));
        assert!(!c.holds(0x35, ArgWidth::Bits64));
    }

    #[test]
    fn bits32_ignores_high_words() {
        let c = cond(CmpOp::Eq, 0x1_0000_0005, 0);
        assert!(c.holds(5, ArgWidth::Bits32));
        assert!(!c.holds(5, ArgWidth::Bits64));
        assert!(ArgIndex::new(6).is_none());
    }

    #[test]
    fn ranges_must_be_disjoint_and_rule_free() {
        let mut a = ArchPolicy {
            audit_arch: 0xc000_003e,
            name: "x86_64".into(),
            width: ArgWidth::Bits64,
            default: Action::Errno(1),
            rules: BTreeMap::new(),
            ranges: vec![NrRange {
                lo: 10,
                hi: 20,
                action: Action::Errno(38),
            }],
            table_max: 466,
        };
        assert_eq!(a.range_for(15).map(|r| r.lo), Some(10));
        assert!(a.range_for(21).is_none());
        a.rules.insert(12, vec![]);
        assert!(matches!(
            Policy::new(vec![a], Action::KillThread),
            Err(PolicyError::RuleInRange { .. })
        ));
    }
}
