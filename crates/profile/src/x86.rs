//! The fixed number ranges of the `AUDIT_ARCH_X86_64` entry, which x86_64
//! and x32 share (x32 numbers carry bit 30).
//!
//! In: which of the two ABIs the filter holds, and runc's stub cut-off of
//! each (`None` without the stub, or when no name resolves on that ABI).
//! Out: the ranges, sorted and disjoint. Two layers, first one wins:
//!
//! 1. runc's ENOSYS stub (`generateEnosysStub`): a number with bit 30 clear
//!    is compared with the x86_64 cut-off, one with bit 30 set with the x32
//!    cut-off; an ABI without a cut-off sends its half to the filter. So
//!    with x86_64 alone, `0x80000000..=0xbfffffff` (bit 30 clear) get
//!    ERRNO(38) while −1 (bit 30 set) reaches the filter.
//! 2. libseccomp's guard when one ABI is alone: x86_64 alone sends every
//!    number from bit 30 up to the bad-arch action except −1 (which gets
//!    the default); x32 alone sends every number below bit 30 there. With
//!    both ABIs there is no guard.
//!
//! Not handled here: rules (they stay at their numbers), other arches.

use crate::ir::{Action, NrRange};

pub(crate) use sysfence_abi::arch::X32_SYSCALL_BIT as X32_BIT;

/// One of the two ABIs: in the filter or not, and its stub cut-off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Abi {
    /// Not in the filter.
    Absent,
    /// In the filter; `Some(max)` when runc's stub covers it.
    In(Option<u32>),
}

/// The quarters of the number space with bit 30 clear, and with it set.
const CLEAR: [(u32, u32); 2] = [(0, X32_BIT - 1), (TOP, TOP | (X32_BIT - 1))];
const SET: [(u32, u32); 2] = [(X32_BIT, TOP - 1), (TOP | X32_BIT, u32::MAX)];
/// Bit 31 of the number, which splits each half of the space again.
const TOP: u32 = 1 << 31;

/// The ranges of the shared entry holding `x86_64` and `x32`.
pub(crate) fn ranges(x86_64: Abi, x32: Abi, bad: Action) -> Vec<NrRange> {
    let mut out = Vec::new();
    for (abi, halves) in [(x86_64, CLEAR), (x32, SET)] {
        if let Abi::In(Some(max)) = abi {
            for (lo, hi) in halves {
                if max < hi {
                    add_uncovered(&mut out, lo.max(max.saturating_add(1)), hi, errno_enosys());
                }
            }
        }
    }
    match (x86_64, x32) {
        (Abi::In(_), Abi::Absent) => add_uncovered(&mut out, X32_BIT, u32::MAX - 1, bad),
        (Abi::Absent, Abi::In(_)) => add_uncovered(&mut out, 0, X32_BIT - 1, bad),
        _ => {}
    }
    out.sort_by_key(|r| r.lo);
    out
}

fn errno_enosys() -> Action {
    Action::Errno(38)
}

/// Adds the parts of `lo..=hi` no range of `out` covers yet.
fn add_uncovered(out: &mut Vec<NrRange>, lo: u32, hi: u32, action: Action) {
    let mut taken: Vec<(u32, u32)> = out.iter().map(|r| (r.lo, r.hi)).collect();
    taken.sort_unstable();
    let mut next = u64::from(lo);
    for (a, b) in taken {
        if u64::from(b) < next || a > hi {
            continue;
        }
        if u64::from(a) > next {
            out.push(NrRange {
                lo: next as u32,
                hi: a - 1,
                action,
            });
        }
        next = u64::from(b) + 1;
    }
    if next <= u64::from(hi) {
        out.push(NrRange {
            lo: next as u32,
            hi,
            action,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(r: &[NrRange], nr: u32) -> Option<Action> {
        r.iter()
            .find(|x| x.lo <= nr && nr <= x.hi)
            .map(|x| x.action)
    }

    #[test]
    fn x86_64_alone_with_the_stub() {
        let r = ranges(Abi::In(Some(466)), Abi::Absent, Action::KillThread);
        let enosys = Some(Action::Errno(38));
        assert_eq!(at(&r, 466), None);
        assert_eq!(at(&r, 467), enosys);
        assert_eq!(at(&r, X32_BIT), Some(Action::KillThread));
        assert_eq!(at(&r, 0x8000_0000), enosys);
        assert_eq!(at(&r, 0xbfff_ffff), enosys);
        assert_eq!(at(&r, 0xc000_0000), Some(Action::KillThread));
        assert_eq!(at(&r, u32::MAX), None);
    }

    #[test]
    fn x32_alone_with_the_stub() {
        let r = ranges(
            Abi::Absent,
            Abi::In(Some(X32_BIT | 547)),
            Action::KillThread,
        );
        assert_eq!(at(&r, 1), Some(Action::KillThread));
        assert_eq!(at(&r, X32_BIT | 547), None);
        assert_eq!(at(&r, X32_BIT | 548), Some(Action::Errno(38)));
        assert_eq!(at(&r, 0x8000_0000), None);
        assert_eq!(at(&r, u32::MAX), Some(Action::Errno(38)));
    }

    #[test]
    fn both_without_a_stub_have_no_ranges() {
        assert!(ranges(Abi::In(None), Abi::In(None), Action::KillThread).is_empty());
        let r = ranges(Abi::In(None), Abi::Absent, Action::KillThread);
        assert_eq!(at(&r, 0x8000_0000), Some(Action::KillThread));
        assert_eq!(at(&r, u32::MAX), None);
    }
}
