//! One level of the probed programme and of its alphabetic table.
//!
//! In: the programmes' fixed [`Inputs`], level `h - 1`'s costs of both.
//! Out: level `h`'s costs (written in place) and roots of both.
//!
//! Below the top two levels, the rows go from the last span up and each
//! row by its last span, so both neighbours of `i..=j` (`i..j` earlier in
//! the row, `i+1..=j` in the row below) are done before it, as Knuth's
//! window needs. [`row`] fills a row's intervals that fit the level over
//! row slices, with both root searches in one loop where the interval holds
//! no bounded leaf (most of them); past the ones that may settle (below),
//! those go to [`plain_run`], which takes only the arrays it needs and
//! slices every row to its length once, so that the compiler keeps them
//! in registers and checks no bound per interval. The intervals only a
//! chain can decide (longer than the level fits) and the top two levels
//! take [`general`]: below the top two the alphabetic search in its
//! window, then the probed one in [`window`]; on the top two, whose few
//! intervals search every root, both in one loop ([`top_splits`]). The tests hold the row path to
//! [`general`] on random spans with chains and level bounds (the same
//! roots at every level, the same costs); on the uniform mix over Docker's
//! profile (70 spans, height 9) all levels take 1.64 M instructions with the
//! row path and 3.34 M with [`general`] alone (measured before that plan
//! was found without levels, [`super::unlimited`]).
//!
//! The row path also skips settled intervals. An interval's cost at level
//! `h` is a function of its sub-intervals' costs at `h - 1` and of its
//! options (a span is a leaf from its smallest level on, an interval may
//! split once it fits the level, its chain is allowed from the chain's
//! level on) and, for the probed programme, of the alphabetic roots that
//! bound its window. When both programmes' costs of `i..=j` equal the
//! level below's, `i..j` and `i+1..=j` are settled, and no option of
//! `i..=j` changes later (it fits; its chain is absent, allowed, or dearer
//! than its cost now, so never chosen), the same function of the same
//! costs gives the same cost and root at every higher level: the interval
//! is settled. Settled is closed under sub-intervals, so a row's settled
//! intervals are its first ones and a row starts past them;
//! [`super::table::levels`] hands each level the roots of the level below,
//! and the cost array a level writes holds the costs of two levels down,
//! equal to the level below's once settled. A fifth of Docker's row
//! intervals are settled this way; the top two levels and [`general`]
//! compute every interval they visit.

use super::chain::Chains;
use super::table::{self, Bounded, Reach, Rows};

/// The programmes' inputs, fixed for all levels.
pub(super) struct Inputs {
    pub(super) n: usize,
    /// `prefix[i]`: the weight of the first `i` spans.
    pub(super) prefix: Vec<u64>,
    /// Where the spans bounded in the probed programme are.
    pub(super) bounded: Bounded,
    /// Each span's smallest level in the probed programme (the alphabetic
    /// one's are 0 or the same).
    pub(super) min_level: Vec<u32>,
    pub(super) chains: Chains,
    /// The alphabetic programme's weights and leaf levels.
    pub(super) rows: Rows,
    /// Whether the levels below the top two take [`row`] where it
    /// applies (off only for the tests' reference).
    pub(super) free_rows: bool,
}

/// Fills level `h` of both programmes from level `h - 1` (`level` holds
/// the roots of level `h - 1` and gets those of `h`); `settled[i]`: how
/// many of the intervals starting at span `i` (by length) no higher level
/// changes, which the row path leaves as they are.
pub(super) fn one_level(
    inputs: &Inputs,
    settled: &mut [usize],
    (h, reach): (usize, Reach),
    prev: [&[u64]; 2],
    cur: [&mut [u64]; 2],
    level: [&mut [u8]; 2],
) {
    let n = inputs.n;
    let most = 1usize.checked_shl(h as u32).unwrap_or(usize::MAX);
    let top = n.min(most.max(inputs.chains.longest_at(h)));
    let mut at = Level {
        h,
        reach,
        prev,
        cur,
        level,
    };
    if reach == Reach::Any && inputs.free_rows {
        // A span that is a leaf below `h` costs 0 at every level from here.
        for (s, &m) in settled.iter_mut().zip(&inputs.min_level) {
            if *s == 0 && (m as usize) < h {
                *s = 1;
            }
        }
    }
    if reach == Reach::Any {
        for i in (0..n.saturating_sub(1)).rev() {
            let last = (i + top - 1).min(n - 1);
            // The row's intervals that fit the level.
            let stop = if inputs.free_rows {
                (last + 1).min(i + most)
            } else {
                i + 1
            };
            row(inputs, &mut at, settled, i, stop);
            for j in stop.max(i + 1)..=last {
                general(inputs, &mut at, i, j);
            }
        }
    } else {
        for len in 2..=top {
            for i in reach.starts(n, len) {
                general(inputs, &mut at, i, i + len - 1);
            }
        }
    }
}

/// One level's arrays, both programmes (alphabetic first).
struct Level<'a> {
    h: usize,
    reach: Reach,
    prev: [&'a [u64]; 2],
    cur: [&'a mut [u64]; 2],
    level: [&'a mut [u8]; 2],
}

/// Fills `i..=j` at the level, any interval.
fn general(inputs: &Inputs, at: &mut Level<'_>, i: usize, j: usize) {
    let n = inputs.n;
    let (h, reach) = (at.h, at.reach);
    let most = 1usize.checked_shl(h as u32).unwrap_or(usize::MAX);
    let [a_cur, cur] = &mut at.cur;
    let [a_level, level] = &mut at.level;
    let mut best = (u64::MAX, 0u8);
    if let Some(c) = inputs.chains.get(i, j).filter(|c| c.level as usize <= h) {
        best = (c.cost, 0);
    }
    if j - i < most {
        let split = if reach == Reach::Any {
            splits(inputs, (at.prev[0], at.prev[1]), (a_cur, a_level), (i, j))
        } else {
            top_splits(inputs, at.prev, (a_cur, a_level), (i, j))
        };
        let weight = inputs.prefix[j + 1] - inputs.prefix[i];
        if let Some((c, r)) = split.filter(|&(c, _)| c.saturating_add(weight) < best.0) {
            best = (c.saturating_add(weight), r as u8);
        }
    }
    cur[i * n + j] = best.0;
    level[i * n + j] = best.1;
}

/// Fills `i..=j` for `j` from `i + 1` up to `stop` (not included): a row
/// of a level below the top two whose intervals fit the level, as
/// [`general`] does, in three kinds of interval:
///
/// * holding no bounded leaf (in either programme: the alphabetic leaf
///   levels are 0 or the probed ones), both windows are Knuth's (the probed
///   [`window`] widened to the alphabetic root changes nothing, the root
///   lies in it), searched in one loop;
/// * holding a leaf bounded in the probed programme only (the first pass,
///   whose alphabetic leaves have no levels), Knuth's alphabetic window and
///   the probed split at the alphabetic root alone;
/// * holding a leaf bounded in both, every alphabetic root and the probed
///   split at the alphabetic root alone.
///
/// Knuth's window reads the neighbours `i..j` and `i+1..=j`, which have
/// trees; a single span's root reads as 0.
fn row(inputs: &Inputs, at: &mut Level<'_>, settled: &mut [usize], i: usize, stop: usize) {
    let n = inputs.n;
    let [a_prev, prev] = at.prev.map(|p| &p[..n * n]);
    let [a_cur, cur] = &mut at.cur;
    let [a_level, level] = &mut at.level;
    let (a_row, a_below) = a_level[i * n..].split_at_mut(n);
    let (a_prev_row, prev_row) = (&a_prev[i * n..][..n], &prev[i * n..][..n]);
    let mut out = Row {
        i,
        h: at.h,
        a_cur: &mut a_cur[i * n..][..n],
        cur: &mut cur[i * n..][..n],
        level: &mut level[i * n..][..n],
    };
    let below = |j: usize| a_below.get(j).copied().unwrap_or(0);
    let knuth = |a_row: &[u8], j: usize| {
        let from = usize::from(a_row[j - 1]).max(i + 1);
        (from, usize::from(below(j)).min(j).max(from))
    };
    let stop = stop.min(n);
    let both_free = inputs.bounded.free_stop(i).min(stop);
    let a_free = inputs.rows.free_stop(i).min(stop).max(both_free);
    // The settled intervals of the row are its first ones: start past them.
    let start = (i + settled[i]).max(i + 1);
    // Only the interval just past the settled ones can settle next.
    let mut settling = i + settled[i];
    let mut settle = |out: &Row<'_>, j: usize| {
        let len = j - i + 1;
        if settled[i + 1] + 1 >= len
            && out.a_cur[j] == a_prev_row[j]
            && out.cur[j] == prev_row[j]
            && out.chain_final(inputs, j)
        {
            settled[i] = len;
            return true;
        }
        false
    };
    // The intervals that may settle, then the rest of the free ones.
    let mut j = start;
    while j < both_free && j == settling {
        let roots = knuth(a_row, j);
        let (a, c) = both_splits((a_prev_row, a_prev), (prev_row, prev), n, j, roots);
        let chain = inputs.chains.cost_at(i, j, at.h);
        out.keep(inputs, a_row, j, (a, c), chain);
        settling += usize::from(settle(&out, j));
        j += 1;
    }
    if j < both_free {
        let below = &a_below[..n];
        let row = (&mut *out.a_cur, &mut *out.cur, &mut *out.level);
        let chains = (&inputs.chains, at.h);
        plain_run(
            (a_prev, prev),
            row,
            (a_row, below),
            (&inputs.prefix, chains),
            (i, j..both_free),
        );
    }
    for j in both_free.max(start)..stop {
        let roots = if j < a_free {
            knuth(a_row, j)
        } else {
            (i + 1, j)
        };
        let a = table::best_split(a_prev, n, i, j, roots);
        // The probed split at the alphabetic root alone ([`window`]).
        let r = a.1.max(i + 1);
        let c = (prev_row[r - 1].saturating_add(prev[r * n + j]), r);
        let chain = inputs.chains.cost_at(i, j, at.h);
        out.keep(inputs, a_row, j, (a, c), chain);
        if j == settling {
            settling += usize::from(settle(&out, j));
        }
    }
}

/// [`row`]'s intervals `i..=j`, `j` in `js`, that hold no bounded leaf
/// and cannot settle at this level: both root searches in Knuth's window,
/// in one loop, then what the interval keeps ([`chosen`], as
/// [`Row::keep`]). Apart and with only the arrays it needs, so that they
/// stay in registers.
#[inline(never)]
fn plain_run(
    (a_prev, prev): (&[u64], &[u64]),
    (a_cur, cur, level): (&mut [u64], &mut [u64], &mut [u8]),
    (a_row, below): (&mut [u8], &[u8]),
    (prefix, (chains, h)): (&[u64], (&Chains, usize)),
    (i, js): (usize, std::ops::Range<usize>),
) {
    let n = a_row.len();
    let (a_prev_row, prev_row) = (&a_prev[i * n..][..n], &prev[i * n..][..n]);
    // Every row of length `n`: no bound check per interval.
    let (a_cur, cur, level, below) = (&mut a_cur[..n], &mut cur[..n], &mut level[..n], &below[..n]);
    let prefix = &prefix[..=n];
    let base = prefix[i];
    for j in js.start.max(1)..js.end.min(n) {
        let from = usize::from(a_row[j - 1]).max(i + 1);
        let to = usize::from(below[j]).min(j).max(from);
        let splits = both_splits((a_prev_row, a_prev), (prev_row, prev), n, j, (from, to));
        let (a, c) = chosen(splits, prefix[j + 1] - base, chains.cost_at(i, j, h));
        if a.0 != u64::MAX {
            (a_cur[j], a_row[j]) = a;
        }
        (cur[j], level[j]) = c;
    }
}

/// What `i..=j` keeps from the best splits of the alphabetic programme and
/// of the probed one (cost of the two halves, root), with its weight and
/// its chain's cost at the level (`u64::MAX` when it has none there): the
/// alphabetic cost and root (`u64::MAX`: no tree, nothing to keep), and
/// the probed cost and root (0: the chain, which wins ties).
#[inline(always)]
pub(super) fn chosen(
    (a, c): ((u64, usize), (u64, usize)),
    weight: u64,
    chain: u64,
) -> ((u64, u8), (u64, u8)) {
    if a.0 == u64::MAX {
        return ((u64::MAX, 0), (chain, 0));
    }
    let cost = c.0.saturating_add(weight);
    let probed = if cost < chain {
        (cost, c.1 as u8)
    } else {
        (chain, 0)
    };
    ((a.0 + weight, a.1 as u8), probed)
}

/// Where [`row`] writes: row `i` of level `h`'s arrays but the alphabetic
/// roots (which the row also reads).
struct Row<'a> {
    i: usize,
    h: usize,
    a_cur: &'a mut [u64],
    cur: &'a mut [u64],
    level: &'a mut [u8],
}

impl Row<'_> {
    /// Whether `i..=j`'s chain can no longer be chosen or become allowed:
    /// there is none, it is allowed already, or it costs more than the
    /// interval does now (once settled its cost stays, and a chain wins
    /// only below the split's cost).
    fn chain_final(&self, inputs: &Inputs, j: usize) -> bool {
        inputs
            .chains
            .get(self.i, j)
            .is_none_or(|c| c.level as usize <= self.h || c.cost > self.cur[j])
    }

    /// Stores what `i..=j` keeps ([`chosen`]) from the best splits of both
    /// programmes and its chain's cost at the level.
    #[inline(always)]
    fn keep(
        &mut self,
        inputs: &Inputs,
        a_row: &mut [u8],
        j: usize,
        splits: ((u64, usize), (u64, usize)),
        chain: u64,
    ) {
        let weight = inputs.prefix[j + 1] - inputs.prefix[self.i];
        let (a, c) = chosen(splits, weight, chain);
        if a.0 != u64::MAX {
            (self.a_cur[j], a_row[j]) = a;
        }
        (self.cur[j], self.level[j]) = c;
    }
}

/// The best split of `i..=j` (the row of `*_row`) in both programmes over
/// the roots `from..=to`, one loop: the alphabetic (cost, root) and the
/// probed one, each the first least one.
#[inline]
pub(super) fn both_splits(
    (a_row, a_prev): (&[u64], &[u64]),
    (row, prev): (&[u64], &[u64]),
    n: usize,
    j: usize,
    (from, to): (usize, usize),
) -> ((u64, usize), (u64, usize)) {
    let (mut a_best, mut a_root) = (u64::MAX, 0usize);
    let (mut best, mut root) = (u64::MAX, 0usize);
    let lefts = a_row[from - 1..to].iter().zip(&row[from - 1..to]);
    for (r, (&a_left, &left)) in (from..).zip(lefts) {
        // "No tree" (MAX) saturates; finite costs stay below 2^62.
        let at = r * n + j;
        let a = a_left.saturating_add(a_prev[at]);
        if a < a_best {
            (a_best, a_root) = (a, r);
        }
        let c = left.saturating_add(prev[at]);
        if c < best {
            (best, root) = (c, r);
        }
    }
    ((a_best, a_root), (best, root))
}

/// [`splits`] on the top two levels, where both programmes search every
/// root: one loop over the row's slices.
fn top_splits(
    inputs: &Inputs,
    [a_prev, prev]: [&[u64]; 2],
    (a_cur, a_level): (&mut [u64], &mut [u8]),
    (i, j): (usize, usize),
) -> Option<(u64, usize)> {
    let n = inputs.n;
    let rows = (&a_prev[i * n..][..n], &prev[i * n..][..n]);
    let (a, c) = both_splits((rows.0, a_prev), (rows.1, prev), n, j, (i + 1, j));
    table::keep(&inputs.rows, (a_cur, a_level), i, j, a);
    (a.0 != u64::MAX).then_some(c)
}

/// Fills the alphabetic cost and root of `i..=j`, on a level below the top
/// two, and returns the probed programme's best split of it (cost of the
/// two halves, root), if the alphabetic table has a tree there: two root
/// searches, each in its own window ([`row`] does the same in one loop
/// where the windows are both Knuth's).
fn splits(
    inputs: &Inputs,
    (a_prev, prev): (&[u64], &[u64]),
    (a_cur, a_level): (&mut [u64], &mut [u8]),
    (i, j): (usize, usize),
) -> Option<(u64, usize)> {
    let n = inputs.n;
    let free = inputs.bounded.free(i, j);
    let roots = table::window(&inputs.rows, Reach::Any, a_level, i, j).unwrap_or((i + 1, j));
    let a_best = table::best_split(a_prev, n, i, j, roots);
    table::keep(&inputs.rows, (a_cur, a_level), i, j, a_best);
    let roots = window(a_level, n, (i, j), free)?;
    Some(table::best_split(prev, n, i, j, roots))
}

/// The probed split roots to try for `i..=j` on a level below the top two
/// (the top two try every root, [`top_splits`]): from the alphabetic root
/// of `i..j` to that of `i+1..=j`, widened to hold the alphabetic root of
/// `i..=j`, when the interval holds no bounded leaf; else that root alone.
/// None when the alphabetic table has no tree there.
fn window(roots: &[u8], n: usize, (i, j): (usize, usize), free: bool) -> Option<(usize, usize)> {
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
