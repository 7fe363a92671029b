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
use super::table::{self, Reach, Rows, Table, bounded_counts, levels, prefix64};
use super::{Span, split};
use crate::tree::{NodeId, TreeBuilder};

/// Roots of the probed tree: `0` marks a chain, else the split's first
/// right-hand span.
pub(super) struct Probed {
    n: usize,
    root: Vec<Vec<u8>>,
    chains: Chains,
    pub(super) total: u128,
}

/// The programmes' inputs, fixed for all levels.
struct Inputs {
    n: usize,
    /// `prefix[i]`: the weight of the first `i` spans.
    prefix: Vec<u64>,
    /// `bounded[i]`: how many of the first `i` spans carry a level bound.
    bounded: Vec<usize>,
    chains: Chains,
    /// The alphabetic programme's weights and leaf levels.
    rows: Rows,
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
        let n = spans.len();
        let weights: Vec<u64> = spans.iter().map(|s| s.weight).collect();
        let inputs = Inputs {
            n,
            prefix: prefix64(weights.iter().copied()),
            bounded: bounded_counts(min_level),
            chains,
            rows: Rows::new(&weights, alphabetic),
        };
        let ([a_root, root], [a_total, total]) = levels(
            n,
            [&inputs.rows.min_level, min_level],
            limit,
            |h, reach, prev, cur| one_level(&inputs, (h, reach), prev, cur),
        );
        let probed = Probed {
            n,
            root,
            chains: inputs.chains,
            total,
        };
        (probed, Table::from_parts(n, a_root, a_total))
    }

    /// The chains it was computed with, for another pass over the same
    /// spans, levels and limit.
    pub(super) fn into_chains(self) -> Chains {
        self.chains
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
        let r = usize::from(self.root[h as usize][i * self.n + j]);
        if r == 0 {
            return self.chains.build(b, spans, i, j);
        }
        let right = self.build(b, spans, h - 1, r, j);
        let left = self.build(b, spans, h - 1, i, r - 1);
        split(b, spans[r].lo, right, left)
    }
}

/// Fills level `h` of both programmes (the alphabetic one first, then the
/// probed one) from level `h - 1`; returns their roots. Where the interval
/// is free in both and the alphabetic window is Knuth's, the two root
/// searches are one loop: the probed window is then the same.
fn one_level(
    inputs: &Inputs,
    (h, reach): (usize, Reach),
    [a_prev, prev]: [&[u64]; 2],
    [a_cur, cur]: [&mut [u64]; 2],
) -> [Vec<u8>; 2] {
    let n = inputs.n;
    let mut a_level = vec![0u8; n * n];
    let mut level = vec![0u8; n * n];
    let most = 1usize.checked_shl(h as u32).unwrap_or(usize::MAX);
    for len in 2..=n.min(most.max(inputs.chains.longest_at(h))) {
        for i in reach.starts(n, len) {
            let j = i + len - 1;
            let mut best = (u64::MAX, 0u8);
            if let Some(c) = inputs.chains.get(i, j).filter(|c| c.level as usize <= h) {
                best = (c.cost, 0);
            }
            if len <= most {
                let split = splits(inputs, reach, (a_prev, prev), (a_cur, &mut a_level), (i, j));
                let weight = inputs.prefix[j + 1] - inputs.prefix[i];
                if let Some((c, r)) = split.filter(|&(c, _)| c.saturating_add(weight) < best.0) {
                    best = (c.saturating_add(weight), r as u8);
                }
            }
            cur[i * n + j] = best.0;
            level[i * n + j] = best.1;
        }
    }
    [a_level, level]
}

/// Fills the alphabetic cost and root of `i..=j` and returns the probed
/// programme's best split of it (cost of the two halves, root), if the
/// alphabetic table has a tree there.
fn splits(
    inputs: &Inputs,
    reach: Reach,
    (a_prev, prev): (&[u64], &[u64]),
    (a_cur, a_level): (&mut [u64], &mut [u8]),
    (i, j): (usize, usize),
) -> Option<(u64, usize)> {
    let n = inputs.n;
    let free = inputs.bounded[j + 1] == inputs.bounded[i];
    let knuth = table::window(&inputs.rows, reach, a_level, i, j);
    if let Some((from, to)) = knuth.filter(|_| free) {
        let mut a_best = (u64::MAX, 0usize);
        let mut best = (u64::MAX, 0usize);
        for r in from..=to {
            // "No tree" (MAX) saturates; finite costs stay below 2^62.
            let a = a_prev[i * n + r - 1].saturating_add(a_prev[r * n + j]);
            if a < a_best.0 {
                a_best = (a, r);
            }
            let c = prev[i * n + r - 1].saturating_add(prev[r * n + j]);
            if c < best.0 {
                best = (c, r);
            }
        }
        table::keep(&inputs.rows, (a_cur, a_level), i, j, a_best);
        return (a_best.0 != u64::MAX).then_some(best);
    }
    let roots = knuth.unwrap_or((i + 1, j));
    let a_best = table::best_split(a_prev, n, i, j, roots);
    table::keep(&inputs.rows, (a_cur, a_level), i, j, a_best);
    let (from, to) = window(a_level, n, (i, j), free, reach)?;
    let mut best = (u64::MAX, 0usize);
    for r in from..=to {
        let c = prev[i * n + r - 1].saturating_add(prev[r * n + j]);
        if c < best.0 {
            best = (c, r);
        }
    }
    Some(best)
}

/// The split roots to try for `i..=j` at level `h`: from the alphabetic
/// root of `i..j` to that of `i+1..=j`, widened to hold the alphabetic root
/// of `i..=j`, when the interval holds no bounded leaf; else that root
/// alone; every root on the top two levels, whose intervals are few (and
/// their neighbours' roots not computed). None when the alphabetic table
/// has no tree there.
fn window(
    roots: &[u8],
    n: usize,
    (i, j): (usize, usize),
    free: bool,
    reach: Reach,
) -> Option<(usize, usize)> {
    let at = |a: usize, b: usize| (roots[a * n + b] != 0).then(|| usize::from(roots[a * n + b]));
    let own = at(i, j)?;
    if reach != Reach::Any {
        return Some((i + 1, j));
    }
    if !free {
        return Some((own, own));
    }
    let left = if j - 1 > i { at(i, j - 1) } else { None };
    let right = if j > i + 1 { at(i + 1, j) } else { None };
    let from = left.unwrap_or(own).min(own).max(i + 1);
    let to = right.unwrap_or(own).max(own).min(j);
    Some((from, to))
}
