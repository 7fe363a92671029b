//! The weighted tree with `jeq` probe chains inside it.
//!
//! In: spans, each span's smallest level, a height limit and the leaf
//! levels of the alphabetic table to follow (all 0, or the spans' own).
//! Out: that optimal alphabetic table ([`Table`]) and a tree of `jge`
//! splits whose subtrees may instead be probe chains ([`Chains`]), with
//! its cost. Both programmes run in one pass over the levels and
//! intervals: the probed one needs, for each interval, the alphabetic
//! roots of the same level, and where the two windows coincide their root
//! searches are one loop.
//!
//! The programme is the table's over `(level, first, last)`, with one more
//! choice per interval: its best chain, where the chain fits the level. Its
//! split roots are searched between the alphabetic roots of `i..j` and
//! `i+1..=j` (Knuth's window) where the interval holds no path-bounded
//! leaf, and always include the alphabetic root of `i..=j` itself (alone
//! where the interval holds a bounded leaf). So every interval costs at
//! most what it costs in the alphabetic tree: the result is never worse
//! than the optimal alphabetic tree under the same limits, and it is
//! optimal among the trees whose splits lie in those windows (not among
//! all trees with probes). Time O(L·n²) plus the chains.

use super::chain::Chains;
use super::fill::{Inputs, one_level};
use super::table::{Bounded, Roots, Rows, Table, levels, prefix64};
use super::{Span, split};
use crate::tree::{NodeId, TreeBuilder};

/// Roots of the probed tree: `0` marks a chain, else the split's first
/// right-hand span.
pub(super) struct Probed {
    root: Roots,
    chains: Chains,
    pub(super) total: u128,
}

impl Probed {
    /// The probed tree for spans with their smallest levels, computed in
    /// one pass with the alphabetic table whose leaves have the levels
    /// `alphabetic` (all 0 for the height limit alone, or `min_level`).
    /// `chains` are the spans' [`Chains`] for `min_level` and `limit`.
    pub(super) fn new(
        spans: &[Span],
        alphabetic: Vec<u32>,
        min_level: &[u32],
        limit: u32,
        chains: Chains,
    ) -> (Probed, Table) {
        Probed::computed(spans, alphabetic, min_level, limit, chains, true)
    }

    /// [`Probed::new`] with the spans' own chains and every interval filled
    /// by the general code (the reference the tests hold the row path to).
    #[cfg(test)]
    pub(super) fn general_only(
        spans: &[Span],
        alphabetic: Vec<u32>,
        min_level: &[u32],
        limit: u32,
    ) -> (Probed, Table) {
        let chains = Chains::new(spans, min_level, limit);
        Probed::computed(spans, alphabetic, min_level, limit, chains, false)
    }

    fn computed(
        spans: &[Span],
        alphabetic: Vec<u32>,
        min_level: &[u32],
        limit: u32,
        chains: Chains,
        free_rows: bool,
    ) -> (Probed, Table) {
        let n = spans.len();
        let weights: Vec<u64> = spans.iter().map(|s| s.weight).collect();
        let inputs = Inputs {
            n,
            prefix: prefix64(weights.iter().copied()),
            bounded: Bounded::new(min_level),
            min_level: min_level.to_vec(),
            chains,
            rows: Rows::new(&weights, alphabetic),
            free_rows,
        };
        let mut settled = vec![0usize; n];
        let ([a_root, root], [a_total, total]) = levels(
            n,
            [&inputs.rows.min_level, min_level],
            limit,
            |h, reach, prev, cur, level| {
                one_level(&inputs, &mut settled, (h, reach), prev, cur, level);
            },
        );
        let probed = Probed {
            root,
            chains: inputs.chains,
            total,
        };
        (probed, Table::from_parts(n, a_root, a_total))
    }

    /// Every level's roots and the cost, for comparing two computations.
    #[cfg(test)]
    pub(super) fn parts(&self) -> (&Roots, u128) {
        (&self.root, self.total)
    }

    /// The chains it was computed with, for another pass over the same
    /// spans, levels and limit.
    pub(super) fn into_chains(self) -> Chains {
        self.chains
    }

    /// The root of `i..=j` at level `h`: `0` for a chain, else the split's
    /// first right-hand span.
    pub(super) fn root_at(&self, h: u32, i: usize, j: usize) -> usize {
        self.root.at(h as usize, i, j)
    }

    pub(super) fn build(
        &self,
        b: &mut TreeBuilder,
        spans: &[Span],
        h: u32,
        i: usize,
        j: usize,
    ) -> NodeId {
        if i == j {
            return spans[i].target;
        }
        let r = self.root_at(h, i, j);
        if r == 0 {
            return self.chains.build(b, spans, i, j);
        }
        let right = self.build(b, spans, h - 1, r, j);
        let left = self.build(b, spans, h - 1, i, r - 1);
        split(b, spans[r].lo, right, left)
    }
}
