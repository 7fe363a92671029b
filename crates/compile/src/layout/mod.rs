//! Searches over syscall-number intervals: the three dispatch layouts.
//!
//! In: the intervals of one arch ([`Span`]s: maximal runs of numbers with the
//! same decision node, sorted, covering all 2³² numbers) with their weights.
//! Out: the dispatch node, built in the caller's [`TreeBuilder`].
//!
//! * [`balanced`] splits the intervals in the middle by count (`jge lo`), so
//!   every number costs ⌈log₂ R⌉ or one fewer tests for R intervals.
//! * [`weighted`] is the least-cost search for the weights under two limits:
//!   the dispatch is at most 2 deeper than the balanced tree's, and no
//!   interval's whole path — dispatch plus the argument checks behind it —
//!   is longer than the balanced tree's worst path plus 2 ([`paths`]), so a
//!   mix never buys its mean with a worse worst case for an argument-checked
//!   syscall. Up to [`PEEL_MAX`] hot single numbers may be tested with `jeq`
//!   in front ([`peel`]); behind them, the search is the optimal alphabetic
//!   tree under both limits ([`plan`], [`table`], [`knuth`]) with probe
//!   chains where they cost less ([`probe`], [`chain`]); where the tree
//!   found without levels fits both limits, the programme over levels is
//!   not run ([`unlimited`]). The subtrees of its top levels then get peels
//!   of their own where those cost less ([`refine`]).
//! * The linear layout is a chain of per-syscall tests and lives in
//!   [`crate::build`], because it follows the profile, not the intervals.
//!
//! Costs here count comparisons only; the fixed loads and the `ret` are the
//! same for every layout. What is not checked here: that the search decides
//! what the policy says — the emitted program is checked ([`crate::check`]).

mod bisect;
mod chain;
mod fill;
mod knuth;
mod paths;
mod peel;
mod plan;
mod probe;
mod refine;
mod table;
#[cfg(test)]
mod tests;
mod unlimited;

use crate::tree::{Cmp, NodeId, Test, TreeBuilder};
use sysfence_abi::data::OFFSET_NR as NR;

pub(crate) use knuth::{entropy_bits, optimal_cost};

/// At most this many hot numbers are tested before the weighted tree.
pub(crate) const PEEL_MAX: usize = 3;

/// Above this many intervals the exact programme gives way to
/// [`bisect::bisect`].
const EXACT_MAX: usize = 256;

/// A maximal run of numbers `lo..=hi` decided by `target`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Span {
    /// First number.
    pub(crate) lo: u32,
    /// Last number.
    pub(crate) hi: u32,
    /// The node deciding these numbers.
    pub(crate) target: NodeId,
    /// How often these numbers are called (scaled, never 0).
    pub(crate) weight: u64,
}

/// ⌈log₂ n⌉: the height of the balanced tree over `n` intervals.
pub(crate) fn balanced_height(n: usize) -> u32 {
    n.max(1).next_power_of_two().trailing_zeros()
}

/// The count-balanced search tree.
pub(crate) fn balanced(b: &mut TreeBuilder, spans: &[Span]) -> NodeId {
    if spans.len() == 1 {
        return spans[0].target;
    }
    let mid = spans.len() / 2;
    let right = balanced(b, &spans[mid..]);
    let left = balanced(b, &spans[..mid]);
    split(b, spans[mid].lo, right, left)
}

/// `jge at`: numbers from `at` on go `right`, the rest `left`.
fn split(b: &mut TreeBuilder, at: u32, right: NodeId, left: NodeId) -> NodeId {
    number_test(b, Cmp::Ge, at, right, left)
}

fn number_test(b: &mut TreeBuilder, cmp: Cmp, k: u32, then: NodeId, other: NodeId) -> NodeId {
    let test = Test {
        offset: NR,
        mask: None,
        cmp,
        k,
    };
    b.branch(test, then, other)
}

/// The weighted layout: hot peels, then a height-limited optimal tree.
/// Depth never exceeds `limit` (which must be at least the balanced height).
/// `reference` are the spans the balanced layout would search (their
/// argument checks may be laid out differently); whole paths stay within 2
/// of the balanced tree's worst over them, or, when the weighted argument
/// checks make that impossible, within 2 of a balanced search over `spans`.
pub(crate) fn weighted(
    b: &mut TreeBuilder,
    spans: &[Span],
    limit: u32,
    reference: &[Span],
) -> NodeId {
    weighted_refined(b, spans, limit, reference, refine::Refine::FULL)
}

/// [`weighted`] with its subtrees refined as `refine` says ([`refine`]).
fn weighted_refined(
    b: &mut TreeBuilder,
    spans: &[Span],
    limit: u32,
    reference: &[Span],
    refine: refine::Refine,
) -> NodeId {
    if spans.len() > EXACT_MAX {
        return bisect::bisect(b, spans, limit);
    }
    let scaled = scaled(spans, limit);
    let spans = &scaled[..];
    let heights = b.heights();
    let mut paths = paths::Paths::new(&heights, reference, limit);
    let mut whole = plan::Plan::new(spans, limit, &paths, u128::MAX);
    if whole.as_ref().is_none_or(|p| p.total() == u128::MAX) {
        paths = paths::Paths::new(&heights, spans, limit);
        whole = plan::Plan::new(spans, limit, &paths, u128::MAX);
    }
    let Some(whole) = whole else {
        return balanced(b, spans);
    };
    let chosen = peel::best_peels(spans, limit, &paths, whole);
    let left = limit - chosen.depth();
    let rest = refine::build(b, &chosen.rest, &chosen.tree, left, &paths, refine);
    chosen.in_front_of(b, rest)
}

/// The spans with weights shifted right, never below 1, just far enough
/// that any tree's cost (at most the total weight times `limit + 1`) fits
/// the programmes' `u64` costs with room to spare (below 2⁶²). Mixes from
/// real counts never need a shift (the weights are 1,024 units per call);
/// when one does, the layout is optimal for the shifted weights.
pub(crate) fn scaled(spans: &[Span], limit: u32) -> Vec<Span> {
    let room = 1u128 << 62;
    let factor = u128::from(limit) + 2;
    let mut shift = 0;
    let total = |shift: u32| -> u128 {
        spans
            .iter()
            .map(|s| u128::from((s.weight >> shift).max(1)))
            .sum()
    };
    while shift < 63 && total(shift) * factor >= room {
        shift += 1;
    }
    spans
        .iter()
        .map(|s| Span {
            weight: (s.weight >> shift).max(1),
            ..*s
        })
        .collect()
}
