//! Weight-balanced bisection: the weighted layout's fallback for very many
//! intervals (more than the exact programme's [`super::EXACT_MAX`]).
//!
//! In: spans and a height limit at least their balanced height. Out: a
//! search node whose every leaf is at most `limit` deep. Each split puts as
//! close to half the weight on each side as the limit allows (within 2 of
//! the entropy bound without a limit); no optimality is claimed.

use super::{Span, split};
use crate::tree::{NodeId, TreeBuilder};

/// The bisection tree over `spans`, at most `limit` deep.
pub(super) fn bisect(b: &mut TreeBuilder, spans: &[Span], limit: u32) -> NodeId {
    if spans.len() == 1 {
        return spans[0].target;
    }
    let r = split_index(spans, limit);
    let right = bisect(b, &spans[r..], limit - 1);
    let left = bisect(b, &spans[..r], limit - 1);
    split(b, spans[r].lo, right, left)
}

/// The first index of the right half: both halves fit in `limit - 1`
/// levels and the weights are as even as that allows.
fn split_index(spans: &[Span], limit: u32) -> usize {
    let cap = 1usize << (limit - 1).min(40);
    let total: u128 = spans.iter().map(|s| u128::from(s.weight)).sum();
    let (lo, hi) = (
        spans.len().saturating_sub(cap).max(1),
        cap.min(spans.len() - 1),
    );
    let mut left: u128 = spans[..lo].iter().map(|s| u128::from(s.weight)).sum();
    let mut best = (u128::MAX, lo);
    for (r, s) in spans.iter().enumerate().take(hi + 1).skip(lo) {
        let gap = (2 * left).abs_diff(total);
        if gap < best.0 {
            best = (gap, r);
        }
        left += u128::from(s.weight);
    }
    best.1
}
