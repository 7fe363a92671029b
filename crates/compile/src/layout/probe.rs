//! The weighted tree with `jeq` probe chains inside it.
//!
//! In: spans, each span's smallest level, a height limit and the optimal
//! alphabetic table for them ([`Table`], whose tree meets every level).
//! Out: a tree of `jge` splits whose subtrees may instead be probe chains
//! ([`Chains`]), with its cost.
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
use super::table::{Table, bounded_counts, levels, prefix64};
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

/// The programme's inputs, fixed for all levels.
struct Inputs<'a> {
    n: usize,
    /// `prefix[i]`: the weight of the first `i` spans.
    prefix: Vec<u64>,
    /// `bounded[i]`: how many of the first `i` spans carry a level bound.
    bounded: Vec<usize>,
    chains: Chains,
    table: &'a Table,
}

impl Probed {
    pub(super) fn new(spans: &[Span], min_level: &[u32], limit: u32, table: &Table) -> Probed {
        let n = spans.len();
        let inputs = Inputs {
            n,
            prefix: prefix64(spans.iter().map(|s| s.weight)),
            bounded: bounded_counts(min_level),
            chains: Chains::new(spans, min_level, limit),
            table,
        };
        let (root, total) = levels(n, min_level, limit, |h, prev, cur| {
            one_level(&inputs, h, prev, cur)
        });
        Probed {
            n,
            root,
            chains: inputs.chains,
            total,
        }
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

/// Fills level `h` of the costs from level `h - 1`; returns its roots.
fn one_level(inputs: &Inputs, h: usize, prev: &[u64], cur: &mut [u64]) -> Vec<u8> {
    let n = inputs.n;
    let alphabetic = inputs.table.level(h);
    let mut level = vec![0u8; n * n];
    let most = 1usize.checked_shl(h as u32).unwrap_or(usize::MAX);
    for len in 2..=n.min(most.max(inputs.chains.longest)) {
        for i in 0..=n - len {
            let j = i + len - 1;
            let (cost, root) = best(inputs, h, prev, alphabetic, i, j);
            cur[i * n + j] = cost;
            level[i * n + j] = root;
        }
    }
    level
}

/// The least cost of `i..=j` at level `h` and its root (`0`: a chain).
fn best(
    inputs: &Inputs,
    h: usize,
    prev: &[u64],
    alphabetic: &[u8],
    i: usize,
    j: usize,
) -> (u64, u8) {
    let n = inputs.n;
    let mut best = (u64::MAX, 0u8);
    if let Some(c) = inputs.chains.get(i, j).filter(|c| c.level as usize <= h) {
        best = (c.cost, 0);
    }
    let free = inputs.bounded[j + 1] == inputs.bounded[i];
    if let Some((from, to)) = window(alphabetic, n, i, j, free) {
        let weight = inputs.prefix[j + 1] - inputs.prefix[i];
        for r in from..=to {
            let c = prev[i * n + r - 1].saturating_add(prev[r * n + j]);
            if c.saturating_add(weight) < best.0 {
                best = (c.saturating_add(weight), r as u8);
            }
        }
    }
    best
}

/// The split roots to try for `i..=j` at level `h`: from the alphabetic
/// root of `i..j` to that of `i+1..=j`, widened to hold the alphabetic root
/// of `i..=j`, when the interval holds no bounded leaf; else that root
/// alone. None when the alphabetic table has no tree there.
fn window(roots: &[u8], n: usize, i: usize, j: usize, free: bool) -> Option<(usize, usize)> {
    let at = |a: usize, b: usize| (roots[a * n + b] != 0).then(|| usize::from(roots[a * n + b]));
    let own = at(i, j)?;
    if !free {
        return Some((own, own));
    }
    let left = if j - 1 > i { at(i, j - 1) } else { None };
    let right = if j > i + 1 { at(i + 1, j) } else { None };
    let from = left.unwrap_or(own).min(own).max(i + 1);
    let to = right.unwrap_or(own).max(own).min(j);
    Some((from, to))
}
