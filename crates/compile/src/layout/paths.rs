//! The whole-path bound of the weighted layout.
//!
//! In: the tests behind every decision node and the spans of the balanced
//! search. Out: per span, the smallest table level at which it may be a
//! leaf. A span's target may sit at depth `d` only when
//! `d + extra(target) <= budget`, where `extra` is the most tests behind
//! the target and `budget` is the balanced tree's worst whole path plus 2.
//! The balanced tree itself meets the bound, so a tree always exists.

use super::Span;

/// The whole-path bound for one dispatch height limit.
#[derive(Clone, Debug)]
pub(super) struct Paths<'h> {
    /// Most tests from each node of the builder to a `ret`.
    heights: &'h [u32],
    /// The dispatch height limit the tables are built for.
    pub(super) limit: u32,
    /// The longest whole path allowed.
    pub(super) budget: u32,
}

impl<'h> Paths<'h> {
    /// The bound set by a balanced search over `spans`.
    pub(super) fn new(heights: &'h [u32], spans: &[Span], limit: u32) -> Paths<'h> {
        let mut depths = Vec::with_capacity(spans.len());
        balanced_depths(spans.len(), 0, &mut depths);
        let worst = spans
            .iter()
            .zip(&depths)
            .map(|(s, d)| d + heights[s.target.index()])
            .max()
            .unwrap_or(0);
        Paths {
            heights,
            limit,
            budget: worst + 2,
        }
    }

    /// The tests behind a span's target.
    pub(super) fn extra(&self, s: &Span) -> u32 {
        self.heights[s.target.index()]
    }

    /// The smallest table level at which a span may be a leaf: a leaf met at
    /// level `h` sits at depth `limit - h`.
    pub(super) fn min_level(&self, s: &Span) -> u32 {
        (self.extra(s) + self.limit).saturating_sub(self.budget)
    }

    /// Whether a span may sit at depth `depth`.
    pub(super) fn fits(&self, s: &Span, depth: u32) -> bool {
        depth.saturating_add(self.extra(s)) <= self.budget
    }
}

/// Depth of each of `n` intervals in [`super::balanced`]'s tree.
fn balanced_depths(n: usize, depth: u32, out: &mut Vec<u32>) {
    if n <= 1 {
        out.push(depth);
        return;
    }
    let mid = n / 2;
    balanced_depths(mid, depth + 1, out);
    balanced_depths(n - mid, depth + 1, out);
}
