//! Height-limited optimal alphabetic trees with per-leaf level bounds.
//!
//! In: leaf weights, a height limit `L` and each leaf's smallest level
//! (from the whole-path bound, [`super::paths::Paths::min_level`]). Out:
//! the least weighted depth of any alphabetic tree of height at most `L`
//! whose leaves all meet their level, and one tree reaching it
//! (`total == u128::MAX`: no such tree). Costs are kept in `u64`: the
//! caller scales the weights so that the total weight times `L + 1` fits
//! ([`super::scaled`]).
//!
//! The programme runs over `(level h, first i, last j)`; `cost[h][i][j]` is
//! `weight(i..=j) + min_r cost[h-1][i][r-1] + cost[h-1][r][j]`. For an
//! interval that holds no bounded leaf the values are those of the plain
//! height-limited problem, whose optimal roots are monotone per level
//! (Wessner 1976; Itai 1976): the root search is narrowed to between the
//! roots of `i..j` and `i+1..=j`, O(n) per row. Only intervals that hold a
//! bounded leaf scan every root (the bound binds for the one or two most
//! argument-checked syscalls, so these are the intervals around one or two
//! leaves): time O(L·n²) plus, per level, the lengths of the intervals
//! holding a bounded leaf (O(n³) at worst, n³/8 for one leaf in the
//! middle); memory L·n² bytes of roots. Intervals longer than 2^h are not
//! visited at level h, and the top two levels visit only the intervals a
//! tree of the whole set can use there ([`Reach`]).

use std::ops::RangeInclusive;

use super::knuth::prefix_sums;

/// The roots of every level and the cost of the whole set.
#[cfg_attr(test, derive(Debug, PartialEq))]
pub(super) struct Table {
    n: usize,
    root: Roots,
    pub(super) total: u128,
}

/// The roots of every level of a programme over `n` spans, in one buffer:
/// `at(h, i, j)` is the first span of the right half of `i..=j` at level
/// `h`, 0 for none (a chain, a single span or no tree).
#[cfg_attr(test, derive(Debug, PartialEq))]
pub(super) struct Roots {
    n: usize,
    data: Vec<u8>,
}

impl Roots {
    /// Level 0 (all 0), with room for `levels` more.
    fn new(n: usize, levels: usize) -> Roots {
        let mut data = Vec::with_capacity(n * n * (levels + 1));
        data.resize(n * n, 0);
        Roots { n, data }
    }

    /// A new top level holding the roots of the one below, to be filled.
    fn push_level(&mut self) -> &mut [u8] {
        let size = self.n * self.n;
        let below = self.data.len() - size;
        self.data.extend_from_within(below..);
        &mut self.data[below + size..]
    }

    /// The root of `i..=j` at level `h`.
    pub(super) fn at(&self, h: usize, i: usize, j: usize) -> usize {
        usize::from(self.data[(h * self.n + i) * self.n + j])
    }

    /// How many levels it holds.
    #[cfg(test)]
    pub(super) fn levels(&self) -> usize {
        self.data.len() / (self.n * self.n).max(1)
    }
}

/// The programme's inputs, fixed for all levels.
pub(super) struct Rows {
    n: usize,
    prefix: Vec<u64>,
    pub(super) min_level: Vec<u32>,
    bounded: Bounded,
}

impl Rows {
    pub(super) fn new(weights: &[u64], min_level: Vec<u32>) -> Rows {
        debug_assert!(weights.len() <= usize::from(u8::MAX) + 1);
        Rows {
            n: weights.len(),
            prefix: prefix64(weights.iter().copied()),
            bounded: Bounded::new(&min_level),
            min_level,
        }
    }

    /// The weight of spans `i..=j`.
    pub(super) fn weight(&self, i: usize, j: usize) -> u64 {
        self.prefix[j + 1] - self.prefix[i]
    }

    /// Whether `i..=j` holds no bounded leaf (roots are monotone there).
    pub(super) fn free(&self, i: usize, j: usize) -> bool {
        self.bounded.free(i, j)
    }

    /// The first `j` from `i` on whose `i..=j` holds a bounded leaf (`n`
    /// when none does).
    pub(super) fn free_stop(&self, i: usize) -> usize {
        self.bounded.free_stop(i)
    }
}

/// Where the spans with a level bound are, for the questions the
/// programmes ask per interval and per row in O(1).
pub(super) struct Bounded {
    /// `counts[i]`: how many of the first `i` spans carry a level bound.
    counts: Vec<usize>,
    /// `next[i]`: the first span from `i` on that carries one (`n` when
    /// none does).
    next: Vec<usize>,
}

impl Bounded {
    pub(super) fn new(min_level: &[u32]) -> Bounded {
        let mut counts = Vec::with_capacity(min_level.len() + 1);
        counts.push(0usize);
        for &m in min_level {
            counts.push(counts[counts.len() - 1] + usize::from(m > 0));
        }
        let mut next = vec![min_level.len(); min_level.len()];
        for i in (0..min_level.len()).rev() {
            next[i] = if min_level[i] > 0 {
                i
            } else {
                next.get(i + 1).copied().unwrap_or(min_level.len())
            };
        }
        Bounded { counts, next }
    }

    /// Whether `i..=j` holds no bounded span.
    pub(super) fn free(&self, i: usize, j: usize) -> bool {
        self.counts[j + 1] == self.counts[i]
    }

    /// The first `j` from `i` on whose `i..=j` holds a bounded span (`n`
    /// when none does).
    pub(super) fn free_stop(&self, i: usize) -> usize {
        self.next[i]
    }
}

impl Table {
    /// The table for leaf weights, each leaf's lowest level and a height
    /// limit, on its own: the reference the probed programme's combined
    /// pass ([`super::probe::Probed::new`]) is tested against.
    #[cfg(test)]
    pub(super) fn with_levels(weights: &[u64], min_level: Vec<u32>, limit: u32) -> Table {
        let n = weights.len();
        let rows = Rows::new(weights, min_level);
        let ([root], [total]) = levels(
            n,
            [&rows.min_level],
            limit,
            |h, reach, [prev], [cur], [level]| {
                one_level(&rows, (h, reach), prev, cur, level);
            },
        );
        Table { n, root, total }
    }

    /// A table from roots and a cost computed elsewhere.
    pub(super) fn from_parts(n: usize, root: Roots, total: u128) -> Table {
        Table { n, root, total }
    }

    /// The root of `i..=j` (`j > i`) at level `h`, if it has a tree there.
    #[cfg(test)]
    pub(super) fn root_at(&self, h: usize, i: usize, j: usize) -> Option<usize> {
        if h >= self.root.levels() || i >= self.n || j >= self.n {
            return None;
        }
        let r = self.root.at(h, i, j);
        (r != 0).then_some(r)
    }

    /// Each leaf's depth in the tree of height at most `limit`.
    pub(super) fn depths(&self, limit: u32) -> Vec<u32> {
        let mut out = vec![0; self.n];
        let mut stack = vec![(0usize, self.n.saturating_sub(1), limit)];
        while let Some((i, j, h)) = stack.pop() {
            if i >= j {
                out[i] = limit - h;
                continue;
            }
            let r = self.root.at(h as usize, i, j);
            stack.push((i, r - 1, h - 1));
            stack.push((r, j, h - 1));
        }
        out
    }
}

/// The intervals of a level that a tree of the whole set can use: at the
/// top level the whole set, one level down its prefixes and suffixes (the
/// two halves of the root's split), below that any. The top two levels
/// are the widest (every interval fits under them) and held most of the
/// work; the intervals left out are neither filled nor read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Reach {
    /// Every interval.
    Any,
    /// The intervals that start at the first span or end at the last.
    Ends,
    /// The whole set.
    Whole,
}

impl Reach {
    /// The intervals used at level `h` of a programme of height `limit`.
    fn at(h: usize, limit: usize) -> Reach {
        match limit - h {
            0 => Reach::Whole,
            1 => Reach::Ends,
            _ => Reach::Any,
        }
    }

    /// The first spans of the used intervals of `len` of `n` spans.
    pub(super) fn starts(self, n: usize, len: usize) -> std::iter::StepBy<RangeInclusive<usize>> {
        let last = n - len;
        match self {
            Reach::Any => (0..=last).step_by(1),
            Reach::Ends => (0..=last).step_by(last.max(1)),
            // Only the whole set: empty unless `len == n`.
            Reach::Whole => (last..=0).step_by(1),
        }
    }
}

/// Runs `K` programmes side by side over levels `1..=limit`: in each,
/// level 0 holds the single spans whose smallest level (`min_levels[k]`)
/// is 0; before `step` fills the [`Reach`] of level `h` from level `h - 1`,
/// the single spans that may be leaves at `h` cost 0 there. `step` gets
/// level `h`'s roots holding level `h - 1`'s, so an interval whose cost
/// and root can no longer change may be left as it is (an interval a level
/// does not visit keeps a root no parent reads: 0 below the top two
/// levels, where only chains and splits that fit are visited, and never
/// read on the top two). Out: per programme, the roots of every level (all
/// 0 at level 0) and the whole set's cost (`u128::MAX`: no tree).
///
/// Two cost arrays take turns, and `step` finds in `cur` the values of
/// level `h - 2`, not "no tree": clearing them cost a fifth of the pass.
/// What `step` writes makes that safe: every level writes every interval
/// of its reach up to a length that only grows with `h`, so an interval a
/// level leaves unwritten was never written in that array (still "no
/// tree"), except the intervals [`Reach`] leaves out at the top two
/// levels, whose stale values are never read ([`window`] uses no
/// neighbours there, and the levels above read only the reach below).
pub(super) fn levels<const K: usize>(
    n: usize,
    min_levels: [&[u32]; K],
    limit: u32,
    mut step: impl FnMut(usize, Reach, [&[u64]; K], [&mut [u64]; K], [&mut [u8]; K]),
) -> ([Roots; K], [u128; K]) {
    let set_leaves = |h: usize, costs: &mut [Vec<u64>; K]| {
        for (cost, min_level) in costs.iter_mut().zip(min_levels) {
            for (i, &m) in min_level.iter().enumerate() {
                if m as usize <= h {
                    cost[i * n + i] = 0;
                }
            }
        }
    };
    let mut prev: [Vec<u64>; K] = std::array::from_fn(|_| vec![u64::MAX; n * n]);
    let mut cur: [Vec<u64>; K] = std::array::from_fn(|_| vec![u64::MAX; n * n]);
    set_leaves(0, &mut prev);
    let mut root: [Roots; K] = std::array::from_fn(|_| Roots::new(n, limit as usize));
    for h in 1..=limit as usize {
        set_leaves(h, &mut cur);
        step(
            h,
            Reach::at(h, limit as usize),
            prev.each_ref().map(Vec::as_slice),
            cur.each_mut().map(Vec::as_mut_slice),
            root.each_mut().map(Roots::push_level),
        );
        std::mem::swap(&mut prev, &mut cur);
    }
    (root, prev.map(|p| wide(p[n - 1])))
}

/// `prefix[i]`: the weight of the first `i` spans, saturating in `u64`.
pub(super) fn prefix64(weights: impl Iterator<Item = u64>) -> Vec<u64> {
    prefix_sums(weights)
        .into_iter()
        .map(|p| u64::try_from(p).unwrap_or(u64::MAX))
        .collect()
}

/// Fills level `h` of the costs and roots from level `h - 1`.
#[cfg(test)]
fn one_level(
    rows: &Rows,
    (h, reach): (usize, Reach),
    prev: &[u64],
    cur: &mut [u64],
    level: &mut [u8],
) {
    let n = rows.n;
    let most = 1usize.checked_shl(h as u32).unwrap_or(usize::MAX);
    for len in 2..=n.min(most) {
        for i in reach.starts(n, len) {
            let j = i + len - 1;
            let roots = window(rows, reach, level, i, j).unwrap_or((i + 1, j));
            let best = best_split(prev, n, i, j, roots);
            keep(rows, (cur, level), i, j, best);
        }
    }
}

/// The least `cost[i..r-1] + cost[r..=j]` over the roots `r` in `from..=to`
/// (the first one on ties), `(u64::MAX, 0)` when none has a tree.
#[inline]
pub(super) fn best_split(
    prev: &[u64],
    n: usize,
    i: usize,
    j: usize,
    (from, to): (usize, usize),
) -> (u64, usize) {
    let mut best = (u64::MAX, 0usize);
    let lefts = &prev[i * n..][from - 1..to];
    for (r, &left) in (from..).zip(lefts) {
        // "No tree" (MAX) saturates; finite costs stay below 2^62.
        let c = left.saturating_add(prev[r * n + j]);
        if c < best.0 {
            best = (c, r);
        }
    }
    best
}

/// Stores `i..=j`'s cost (with its own weight) and root, if it has a tree.
#[inline]
pub(super) fn keep(
    rows: &Rows,
    (cur, level): (&mut [u64], &mut [u8]),
    i: usize,
    j: usize,
    best: (u64, usize),
) {
    if best.0 != u64::MAX {
        cur[i * rows.n + j] = best.0 + rows.weight(i, j);
        level[i * rows.n + j] = best.1 as u8;
    }
}

/// The roots to try for `i..=j` at one level (which it fits: at most `2^h`
/// spans): between the roots of `i..j` and `i+1..=j` when the interval
/// holds no bounded leaf, else (`None`) every split; always every split on
/// the top two levels, which do not compute the neighbours. Spans without
/// a bound have a tree at every level they fit, so both neighbours have
/// roots there.
#[inline]
pub(super) fn window(
    rows: &Rows,
    reach: Reach,
    level: &[u8],
    i: usize,
    j: usize,
) -> Option<(usize, usize)> {
    let n = rows.n;
    if reach != Reach::Any || !rows.free(i, j) {
        return None;
    }
    let from = if j - 1 > i {
        usize::from(level[i * n + j - 1])
    } else {
        i + 1
    };
    let to = if j > i + 1 {
        usize::from(level[(i + 1) * n + j])
    } else {
        j
    };
    Some((from.max(i + 1), to.min(j).max(from.max(i + 1))))
}

/// A `u64` cost as `u128`, keeping "no tree".
pub(super) fn wide(cost: u64) -> u128 {
    if cost == u64::MAX {
        u128::MAX
    } else {
        u128::from(cost)
    }
}
