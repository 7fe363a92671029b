//! Hot single numbers tested with `jeq` before the weighted tree, or
//! before one of its subtrees ([`super::refine`]).
//!
//! In: the spans, the height left, the whole-path bound and the cost to
//! beat (for the whole set, its plan's). Out: the peeled spans (hottest
//! first), the spans left for the tree and its plan. Peeling `k` numbers costs one comparison per
//! peel for every other call, so it is chosen only when the whole expected
//! cost drops. A candidate is tried only when its peel cost plus lower
//! bounds of the rest's alphabetic tree (the entropy, Huffman's optimum,
//! then Knuth's unlimited alphabetic optimum; bounds of the alphabetic
//! tree, not of a tree with probe chains) is below the best so far; the
//! others are skipped without building their tables.

use super::paths::Paths;
use super::plan::Plan;
use super::{PEEL_MAX, Span, balanced_height, number_test};
use crate::tree::{Cmp, NodeId, TreeBuilder};

/// Which hot numbers to peel, and the intervals left for the tree.
pub(super) struct PeelPlan {
    pub(super) peeled: Vec<Span>,
    pub(super) rest: Vec<Span>,
    pub(super) tree: Plan,
}

impl PeelPlan {
    /// How many tests the peels put in front of the rest's tree.
    pub(super) fn depth(&self) -> u32 {
        self.peeled.len() as u32
    }

    /// The peels, hottest first, in front of `rest`, the rest's tree.
    pub(super) fn in_front_of(&self, b: &mut TreeBuilder, rest: NodeId) -> NodeId {
        let mut node = rest;
        for s in self.peeled.iter().rev() {
            node = number_test(b, Cmp::Eq, s.lo, s.target, node);
        }
        node
    }
}

/// The least-cost choice of up to [`PEEL_MAX`] peels (the hottest single
/// numbers, in order) over `whole`, the plan without peels.
pub(super) fn best_peels(spans: &[Span], limit: u32, paths: &Paths, whole: Plan) -> PeelPlan {
    match peels_beating(spans, limit, paths, whole.total()) {
        Some(peels) => peels,
        None => PeelPlan {
            peeled: Vec::new(),
            rest: spans.to_vec(),
            tree: whole,
        },
    }
}

/// The least-cost choice of one to [`PEEL_MAX`] peels over spans searched
/// with the height `limit` left (their first test sits at depth
/// `paths.limit - limit`), if one costs less than `beat`.
pub(super) fn peels_beating(
    spans: &[Span],
    limit: u32,
    paths: &Paths,
    beat: u128,
) -> Option<PeelPlan> {
    let mut hot: Vec<Span> = spans.iter().copied().filter(|s| s.lo == s.hi).collect();
    hot.sort_by(|a, b| b.weight.cmp(&a.weight).then(a.lo.cmp(&b.lo)));
    let above = paths.limit - limit;
    let mut best_cost = beat;
    let mut best = None;
    let mut rest = spans.to_vec();
    let mut prefix_cost: u128 = 0;
    for (k, s) in hot.iter().take(PEEL_MAX).enumerate() {
        rest = without(&rest, s.lo);
        let depth = k as u32 + 1;
        if rest.is_empty()
            || balanced_height(rest.len()) + depth > limit
            || !paths.fits(s, above + depth)
        {
            break;
        }
        prefix_cost += u128::from(s.weight) * u128::from(depth);
        let rest_weight: u128 = rest.iter().map(|r| u128::from(r.weight)).sum();
        let fixed = prefix_cost + rest_weight * u128::from(depth);
        let Some(tree) = Plan::new(&rest, limit - depth, paths, best_cost.saturating_sub(fixed))
        else {
            continue;
        };
        if tree.total() == u128::MAX {
            break;
        }
        if fixed + tree.total() < best_cost {
            best_cost = fixed + tree.total();
            best = Some(PeelPlan {
                peeled: hot[..=k].to_vec(),
                rest: rest.clone(),
                tree,
            });
        }
    }
    best
}

/// The intervals once number `nr` is decided elsewhere: its neighbours merge
/// when they share a target, otherwise the left one takes the number over.
pub(super) fn without(spans: &[Span], nr: u32) -> Vec<Span> {
    let mut out = spans.to_vec();
    let Some(i) = out.iter().position(|s| s.lo == nr && s.hi == nr) else {
        return out;
    };
    out.remove(i);
    if i > 0 && i < out.len() && out[i - 1].target == out[i].target {
        let right = out.remove(i);
        out[i - 1].hi = right.hi;
        out[i - 1].weight += right.weight;
    } else if i > 0 {
        out[i - 1].hi = nr;
    } else if let Some(first) = out.first_mut() {
        first.lo = nr;
    }
    out
}
