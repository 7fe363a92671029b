//! The search over one argument word's values: the least mean number of
//! tests over the listed values, each weighing the same.
//!
//! In: distinct `(value, return value)` pairs sorted by value, the node for
//! every other value (the miss) and the word's offset. Out: a [`NodeId`]
//! deciding exactly as a lookup in the pairs would.
//!
//! The word's 2^32 values fall into stretches: runs of consecutive listed
//! values with one return value, and the gaps between them (the miss). A
//! dynamic program over contiguous stretches picks, for each, the cheapest
//! of: one leaf (every stretch returns the same), a `jeq` chain of at most
//! [`CHAIN_MAX`] single values (the rest of the stretches miss), or a `jge`
//! split between two stretches. Runs of adjacent values (madvise's 8 and 9,
//! 15 and 16, 102 and 103) are bounded by splits and share them, where a
//! search that knows only single values tests each. Without such a run, or
//! above [`DP_MAX`] values, the program's cubic time is not spent and the
//! values are split at the median, with chains at the leaves (for single
//! values that is within a fraction of a test of the least cost).

use crate::tree::{Cmp, NodeId, Test, TreeBuilder};

/// A chain tests at most this many values: it bounds the worst path.
pub(crate) const CHAIN_MAX: usize = 3;

/// Value sets up to this size get the exact search.
const DP_MAX: usize = 16;

/// Consecutive values `lo..=hi` that all return `raw` (`None`: the miss).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stretch {
    lo: u32,
    hi: u32,
    raw: Option<u32>,
}

impl Stretch {
    /// How many listed values it holds (the weight of its tests).
    fn weight(&self) -> u64 {
        match self.raw {
            Some(_) => u64::from(self.hi - self.lo) + 1,
            None => 0,
        }
    }
}

/// The stretches of the whole word, in order, for sorted distinct values.
fn stretches(sorted: &[(u32, u32)]) -> Vec<Stretch> {
    let mut out: Vec<Stretch> = Vec::new();
    let mut next = Some(0u32);
    for &(v, raw) in sorted {
        match out.last_mut() {
            Some(s) if s.raw == Some(raw) && s.hi.checked_add(1) == Some(v) => s.hi = v,
            _ => {
                if let Some(start) = next.filter(|&n| n < v) {
                    out.push(Stretch {
                        lo: start,
                        hi: v - 1,
                        raw: None,
                    });
                }
                out.push(Stretch {
                    lo: v,
                    hi: v,
                    raw: Some(raw),
                });
            }
        }
        next = v.checked_add(1);
    }
    if let Some(start) = next {
        out.push(Stretch {
            lo: start,
            hi: u32::MAX,
            raw: None,
        });
    }
    out
}

/// How the stretches `i..=j` are decided.
#[derive(Clone, Copy, Debug)]
enum Choice {
    /// They all return the same.
    Leaf,
    /// `jeq` on each single listed value, in value order (each weighs one
    /// value); the rest miss.
    Chain,
    /// `jge` on the first value of stretch `k`: `k..=j` above, `i..k` below.
    Split(usize),
}

/// The search over `sorted` (distinct values, ascending) at `offset`.
pub(crate) fn search(
    b: &mut TreeBuilder,
    offset: u32,
    sorted: &[(u32, u32)],
    miss: NodeId,
) -> NodeId {
    let s = stretches(sorted);
    // Without a run of adjacent values the median split is as good to
    // within a fraction of a test, and costs no table.
    let runs = s.iter().any(|x| x.raw.is_some() && x.hi > x.lo);
    if sorted.len() > DP_MAX || !runs {
        return median_search(b, offset, sorted, miss);
    }
    let plan = Plan::new(&s);
    plan.build(b, offset, 0, s.len() - 1, miss)
}

/// The least-cost choices for every range of stretches.
struct Plan<'s> {
    s: &'s [Stretch],
    /// `choice[i * n + j]` for the range `i..=j`.
    choice: Vec<Choice>,
}

impl<'s> Plan<'s> {
    fn new(s: &'s [Stretch]) -> Plan<'s> {
        let n = s.len();
        let mut prefix = vec![0u64; n + 1];
        for (i, st) in s.iter().enumerate() {
            prefix[i + 1] = prefix[i] + st.weight();
        }
        let weight = |i: usize, j: usize| prefix[j + 1] - prefix[i];
        let mut cost = vec![0u64; n * n];
        let mut choice = vec![Choice::Leaf; n * n];
        for len in 1..=n {
            for i in 0..=n - len {
                let j = i + len - 1;
                let (c, how) = if s[i..=j].iter().all(|x| x.raw == s[i].raw) {
                    (0, Choice::Leaf)
                } else {
                    let mut best = (u64::MAX, Choice::Leaf);
                    if let Some(c) = chain_cost(&s[i..=j]) {
                        best = (c, Choice::Chain);
                    }
                    for k in i + 1..=j {
                        let c = weight(i, j) + cost[i * n + k - 1] + cost[k * n + j];
                        if c < best.0 {
                            best = (c, Choice::Split(k));
                        }
                    }
                    best
                };
                cost[i * n + j] = c;
                choice[i * n + j] = how;
            }
        }
        Plan { s, choice }
    }

    fn build(&self, b: &mut TreeBuilder, offset: u32, i: usize, j: usize, miss: NodeId) -> NodeId {
        let n = self.s.len();
        match self.choice[i * n + j] {
            Choice::Leaf => match self.s[i].raw {
                Some(raw) => b.ret(raw),
                None => miss,
            },
            Choice::Chain => {
                chain_order(&self.s[i..=j])
                    .into_iter()
                    .rev()
                    .fold(miss, |next, st| {
                        let hit = b.ret(st.raw.unwrap_or_default());
                        b.branch(eq(offset, st.lo), hit, next)
                    })
            }
            Choice::Split(k) => {
                let above = self.build(b, offset, k, j, miss);
                let below = self.build(b, offset, i, k - 1, miss);
                b.branch(ge(offset, self.s[k].lo), above, below)
            }
        }
    }
}

/// The listed stretches of `s` in chain order (each weighs one value: the
/// values' own order).
fn chain_order(s: &[Stretch]) -> Vec<Stretch> {
    s.iter().filter(|x| x.raw.is_some()).copied().collect()
}

/// The cost of deciding `s` by a chain of at most [`CHAIN_MAX`] `jeq`, if
/// one can: every listed stretch is a single value (the rest miss).
fn chain_cost(s: &[Stretch]) -> Option<u64> {
    let mut probes = 0u64;
    for x in s.iter().filter(|x| x.raw.is_some()) {
        probes += 1;
        if x.lo != x.hi || probes > CHAIN_MAX as u64 {
            return None;
        }
    }
    // The k-th probe (from 1) costs k tests for its value.
    Some((1..=probes).sum())
}

/// Above [`DP_MAX`]: split at the median, chains of at most [`CHAIN_MAX`].
fn median_search(b: &mut TreeBuilder, offset: u32, sorted: &[(u32, u32)], miss: NodeId) -> NodeId {
    if sorted.len() <= CHAIN_MAX {
        return sorted.iter().rev().fold(miss, |next, &(v, raw)| {
            let hit = b.ret(raw);
            b.branch(eq(offset, v), hit, next)
        });
    }
    let mid = sorted.len() / 2;
    let right = median_search(b, offset, &sorted[mid..], miss);
    let left = median_search(b, offset, &sorted[..mid], miss);
    b.branch(ge(offset, sorted[mid].0), right, left)
}

fn eq(offset: u32, k: u32) -> Test {
    Test {
        offset,
        mask: None,
        cmp: Cmp::Eq,
        k,
    }
}

fn ge(offset: u32, k: u32) -> Test {
    Test {
        offset,
        mask: None,
        cmp: Cmp::Ge,
        k,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Search = fn(&mut TreeBuilder, u32, &[(u32, u32)], NodeId) -> NodeId;

    /// The mean tests per listed value, and the answer for every value
    /// near a listed one, against a lookup.
    fn check(sorted: &[(u32, u32)]) -> f64 {
        mean_of(search, sorted)
    }

    fn mean_of(how: Search, sorted: &[(u32, u32)]) -> f64 {
        let mut b = TreeBuilder::new();
        let miss = b.ret(0xdead);
        let root = how(&mut b, 24, sorted, miss);
        let tree = b.finish(root, Vec::new());
        let mut total = 0;
        let probe = |v: u32| {
            let data = sysfence_cbpf::SeccompData {
                args: [0, u64::from(v), 0, 0, 0, 0],
                ..sysfence_cbpf::SeccompData::new(0xc000_003e, 0)
            };
            tree.eval(&data)
        };
        for &(v, raw) in sorted {
            let (got, tests) = probe(v);
            assert_eq!(got, raw, "{v:#x} in {sorted:x?}");
            total += tests;
            for near in [v.wrapping_sub(1), v.wrapping_add(1)] {
                let want = sorted.iter().find(|p| p.0 == near).map_or(0xdead, |p| p.1);
                assert_eq!(probe(near).0, want, "{near:#x} in {sorted:x?}");
            }
        }
        for v in [0, u32::MAX, 0x8000_0000] {
            let want = sorted.iter().find(|p| p.0 == v).map_or(0xdead, |p| p.1);
            assert_eq!(probe(v).0, want);
        }
        total as f64 / sorted.len() as f64
    }

    #[test]
    fn madvise_runs_share_their_bounds() {
        let allow = 0x7fff_0000;
        let values: Vec<(u32, u32)> = [4, 8, 9, 12, 15, 16, 102, 103]
            .iter()
            .map(|&v| (v, allow))
            .collect();
        // Single values only, split at the median: 3.5 tests each.
        assert!(check(&values) <= 3.125, "{}", check(&values));
        // After the weighted layout's peel of the first value: 3 against 23/7.
        assert_eq!(check(&values[1..]), 3.0);
        assert!(mean_of(median_search, &values[1..]) > 3.28);
    }

    #[test]
    fn random_sets_decide_as_a_lookup() {
        let mut rng = sysfence_cbpf::generate::Rng::new(7);
        for _ in 0..400 {
            let n = 1 + rng.below(80) as usize;
            let base = rng.next_u32() & 0xffff_ff00;
            let mut values: Vec<(u32, u32)> = (0..n)
                .map(|_| {
                    let v = match rng.below(3) {
                        0 => base.wrapping_add(rng.below(64) as u32),
                        1 => rng.next_u32(),
                        _ => [0, u32::MAX, 1, u32::MAX - 1][rng.below(4) as usize],
                    };
                    (v, 0x5_0000 + rng.below(3) as u32)
                })
                .collect();
            values.sort_unstable();
            values.dedup_by_key(|p| p.0);
            check(&values);
        }
    }

    #[test]
    fn never_dearer_than_the_median_search() {
        let mut rng = sysfence_cbpf::generate::Rng::new(11);
        for _ in 0..200 {
            let n = 1 + rng.below(DP_MAX as u64) as usize;
            let mut values: Vec<(u32, u32)> = (0..n)
                .map(|_| (rng.below(200) as u32, 0x7fff_0000 - rng.below(2) as u32))
                .collect();
            values.sort_unstable();
            values.dedup_by_key(|p| p.0);
            let (ours, median) = (check(&values), mean_of(median_search, &values));
            assert!(ours <= median + 1e-9, "{ours} > {median} for {values:?}");
        }
    }
}
