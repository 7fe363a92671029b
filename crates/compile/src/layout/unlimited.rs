//! The probed tree without levels, for spans whose trees fit the limits.
//!
//! In: spans, each span's smallest level, the height limit and the spans'
//! [`Chains`]. Out: a tree of `jge` splits and probe chains with its cost,
//! when that tree meets the height limit and every level; otherwise the
//! chains back, for [`super::probe::Probed`]'s programme over levels.
//!
//! The programme is [`super::probe`]'s with no level: Knuth's unlimited
//! alphabetic programme (its root of `i..=j` between those of `i..j` and
//! `i+1..=j`, O(n²) in all) and, in the same loop over the same window,
//! the probed one, where an interval may also be its best chain. The
//! whole set's prefixes and suffixes, the two halves of any root's split,
//! search every root for their probed split, as the levelled programme's
//! top two levels do (O(n²) more; with only the whole set searching every
//! root, 9 plans of the benchmark set and crosvm's x86_64 policies on the
//! uniform mix came out dearer, by up to 0.4 %). The
//! alphabetic root of every interval lies in its window, so every
//! interval's probed cost is at most its alphabetic cost, and the whole
//! set's at most Knuth's unlimited optimum. When the probed tree so found
//! fits the height limit and puts every leaf and chain where its level
//! allows, no tree under those limits has a lower alphabetic cost (a
//! limit only removes trees), so the result keeps the weighted layout's
//! promise, never worse than the optimal alphabetic tree under the same
//! limits, at the cost of one level of the levelled programme instead of
//! all of them. Mixes whose optimal tree nearly fits the limit (Docker's
//! profile with every mix, each Firecracker filter with its real mixes)
//! take this path; a mix that wants a deeper tree (a uniform mix over a
//! small filter, whose cold denied ranges sink below the limit) falls
//! through to the levels.

use super::chain::Chains;
use super::fill::{both_splits, chosen};
use super::table::{best_split, prefix64};
use super::{Span, split};
use crate::tree::{NodeId, TreeBuilder};

/// Roots of the probed tree without levels: `0` marks a chain (or a single
/// span), else the split's first right-hand span.
pub(super) struct Unlimited {
    n: usize,
    root: Vec<u8>,
    chains: Chains,
    pub(super) total: u128,
}

impl Unlimited {
    /// The probed tree, or the chains back when its tree misses the height
    /// limit or a level, or when an unlimited tree's cost might not fit
    /// the programme's `u64` costs (a tree may be `n - 1` deep).
    pub(super) fn new(
        spans: &[Span],
        min_level: &[u32],
        limit: u32,
        chains: Chains,
    ) -> Result<Unlimited, Chains> {
        let n = spans.len();
        let weight: u128 = spans.iter().map(|s| u128::from(s.weight)).sum();
        if n < 2 || weight.saturating_mul(n as u128) >= 1 << 62 {
            return Err(chains);
        }
        let (root, total) = programme(spans, &chains);
        let tree = Unlimited {
            n,
            root,
            chains,
            total: u128::from(total),
        };
        if tree.fits(min_level, limit) {
            Ok(tree)
        } else {
            Err(tree.chains)
        }
    }

    /// Whether every leaf and chain of the tree sits where its level
    /// allows: depth plus level at most `limit`.
    fn fits(&self, min_level: &[u32], limit: u32) -> bool {
        let mut stack = vec![(0usize, self.n - 1, 0u32)];
        while let Some((i, j, depth)) = stack.pop() {
            let level = if i == j {
                min_level[i]
            } else {
                match self.root[i * self.n + j] {
                    0 => self.chains.get(i, j).map_or(u32::MAX, |c| c.level),
                    r => {
                        let r = usize::from(r);
                        stack.push((i, r - 1, depth + 1));
                        stack.push((r, j, depth + 1));
                        continue;
                    }
                }
            };
            if depth.saturating_add(level) > limit {
                return false;
            }
        }
        true
    }

    /// The root of `i..=j`: `0` for a chain, else the split's first
    /// right-hand span.
    pub(super) fn root_at(&self, i: usize, j: usize) -> usize {
        usize::from(self.root[i * self.n + j])
    }

    /// Builds the tree of `i..=j`.
    pub(super) fn build(&self, b: &mut TreeBuilder, spans: &[Span], i: usize, j: usize) -> NodeId {
        if i == j {
            return spans[i].target;
        }
        let r = self.root_at(i, j);
        if r == 0 {
            return self.chains.build(b, spans, i, j);
        }
        let right = self.build(b, spans, r, j);
        let left = self.build(b, spans, i, r - 1);
        split(b, spans[r].lo, right, left)
    }
}

/// Both programmes over every interval, rows from the last span up and
/// each row by its last span, so that the window's neighbours `i..j`
/// (earlier in the row) and `i+1..=j` (the row below) are done first.
/// Out: the probed roots and the whole set's probed cost.
fn programme(spans: &[Span], chains: &Chains) -> (Vec<u8>, u64) {
    let n = spans.len();
    let prefix = prefix64(spans.iter().map(|s| s.weight));
    // A single span costs 0 and reads as root 0 in both programmes.
    let mut a_cost = vec![0u64; n * n];
    let mut cost = vec![0u64; n * n];
    let mut a_root = vec![0u8; n * n];
    let mut root = vec![0u8; n * n];
    for i in (0..n - 1).rev() {
        for j in i + 1..n {
            let from = usize::from(a_root[i * n + j - 1]).max(i + 1);
            let to = usize::from(a_root[(i + 1) * n + j]).min(j).max(from);
            let rows = (&a_cost[i * n..][..n], &cost[i * n..][..n]);
            let mut splits = both_splits((rows.0, &a_cost), (rows.1, &cost), n, j, (from, to));
            if i == 0 || j == n - 1 {
                splits.1 = best_split(&cost, n, i, j, (i + 1, j));
            }
            let chain = chains.get(i, j).map_or(u64::MAX, |c| c.cost);
            let (a, c) = chosen(splits, prefix[j + 1] - prefix[i], chain);
            (a_cost[i * n + j], a_root[i * n + j]) = a;
            (cost[i * n + j], root[i * n + j]) = c;
        }
    }
    (root, cost[n - 1])
}
