//! Lower bounds on the dispatch cost of a policy under a mix.
//!
//! In: one arch of a policy and calls per syscall number. Out: [`Bounds`]:
//! the number of intervals (maximal runs of numbers over the whole 32-bit
//! space with the same decision: same range action, or same rule list, or
//! the default), the Shannon entropy of the mix over those intervals, and
//! the expected comparisons of the optimal alphabetic search tree over them
//! (threshold tests only, dynamic programming), each plus the 4 instructions
//! every evaluation runs (`ld arch`, `jeq arch`, `ld nr`, `ret`).
//!
//! Argument checks are not included, so both are lower bounds on what any
//! program pays for the dispatch. The entropy bound holds for every binary
//! test; the optimal alphabetic tree can be beaten slightly by trees that
//! also test `nr == k` (sysfence's weighted layout does that for hot numbers).

use serde::Serialize;
use std::collections::BTreeMap;
use sysfence_profile::ir::{Action, ArchPolicy, Rule};

/// Instructions every evaluation runs besides the search.
pub const FIXED: f64 = 4.0;

/// The bounds of one (policy arch, mix).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Bounds {
    /// Intervals of the number space.
    pub intervals: usize,
    /// Entropy of the mix over the intervals, in bits.
    pub entropy: f64,
    /// `entropy + 4`.
    pub entropy_bound: f64,
    /// Optimal alphabetic tree's expected comparisons `+ 4`.
    pub optimal_tree: f64,
}

/// What decides one number, for interval merging.
enum Key<'a> {
    Range(Action),
    Rules(&'a [Rule]),
    Default,
}

impl PartialEq for Key<'_> {
    /// Rules compare by meaning (conditions and action), not by origin.
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Key::Range(a), Key::Range(b)) => a == b,
            (Key::Rules(a), Key::Rules(b)) => {
                a.len() == b.len()
                    && a.iter()
                        .zip(b.iter())
                        .all(|(x, y)| x.conds == y.conds && x.action == y.action)
            }
            (Key::Default, Key::Default) => true,
            _ => false,
        }
    }
}

/// Interval start points and the calls in each interval.
pub fn intervals(policy: &ArchPolicy, counts: &BTreeMap<u32, u64>) -> Vec<(u32, u64)> {
    let key = |nr: u32| -> Key<'_> {
        if let Some(r) = policy.range_for(nr) {
            return Key::Range(r.action);
        }
        match policy.rules.get(&nr) {
            Some(rules) => Key::Rules(rules),
            None => Key::Default,
        }
    };
    // Candidate cut points: every number where the key may change.
    let mut cuts: Vec<u32> = vec![0];
    for &nr in policy.rules.keys() {
        cuts.push(nr);
        cuts.extend(nr.checked_add(1));
    }
    for r in &policy.ranges {
        cuts.push(r.lo);
        cuts.extend(r.hi.checked_add(1));
    }
    cuts.extend(counts.keys().copied());
    cuts.sort_unstable();
    cuts.dedup();
    let mut out: Vec<(u32, u64)> = Vec::new();
    let mut prev: Option<Key<'_>> = None;
    for (i, &lo) in cuts.iter().enumerate() {
        let hi = cuts.get(i + 1).map_or(u32::MAX, |&n| n - 1);
        let calls: u64 = counts.range(lo..=hi).map(|(_, c)| c).sum();
        let k = key(lo);
        match (&prev, out.last_mut()) {
            (Some(p), Some(last)) if *p == k => last.1 += calls,
            _ => out.push((lo, calls)),
        }
        prev = Some(k);
    }
    out
}

/// The bounds of `counts` over the policy's intervals.
pub fn bounds(policy: &ArchPolicy, counts: &BTreeMap<u32, u64>) -> Bounds {
    let spans = intervals(policy, counts);
    let weights: Vec<u64> = spans.iter().map(|s| s.1).collect();
    let total: u64 = weights.iter().sum();
    let entropy = if total == 0 {
        0.0
    } else {
        weights
            .iter()
            .filter(|&&w| w > 0)
            .map(|&w| {
                let p = w as f64 / total as f64;
                -p * p.log2()
            })
            .sum()
    };
    let optimal = if total == 0 {
        0.0
    } else {
        optimal_alphabetic(&weights) as f64 / total as f64
    };
    Bounds {
        intervals: spans.len(),
        entropy,
        entropy_bound: entropy + FIXED,
        optimal_tree: optimal + FIXED,
    }
}

/// Total weighted depth of the optimal alphabetic binary tree whose leaves,
/// in order, carry `weights` (each inner node one comparison).
pub fn optimal_alphabetic(weights: &[u64]) -> u128 {
    let n = weights.len();
    if n < 2 {
        return 0;
    }
    let mut prefix = vec![0u128; n + 1];
    for (i, &w) in weights.iter().enumerate() {
        prefix[i + 1] = prefix[i] + u128::from(w);
    }
    // cost[i][j]: leaves i..=j; root[i][j]: the best split (Knuth's bound
    // root[i][j-1] <= root[i][j] <= root[i+1][j] keeps this quadratic).
    let mut cost = vec![vec![0u128; n]; n];
    let mut root = vec![vec![0usize; n]; n];
    for (i, r) in root.iter_mut().enumerate() {
        r[i] = i;
    }
    for len in 2..=n {
        for i in 0..=n - len {
            let j = i + len - 1;
            let (lo, hi) = if len == 2 {
                (i, i)
            } else {
                (root[i][j - 1], root[i + 1][j].min(j - 1))
            };
            let mut best = (u128::MAX, lo);
            for k in lo..=hi {
                let c = cost[i][k] + cost[k + 1][j];
                if c < best.0 {
                    best = (c, k);
                }
            }
            cost[i][j] = best.0 + prefix[j + 1] - prefix[i];
            root[i][j] = best.1;
        }
    }
    cost[0][n - 1]
}

#[cfg(test)]
mod tests {
    use super::*;
    use sysfence_profile::ir::{ArgWidth, Origin};

    #[test]
    fn optimal_alphabetic_tree_costs() {
        assert_eq!(optimal_alphabetic(&[1, 1, 1, 1]), 8);
        assert_eq!(optimal_alphabetic(&[8, 1, 1]), 8 + 2 + 2);
        assert_eq!(optimal_alphabetic(&[5]), 0);
    }

    #[test]
    fn intervals_merge_equal_neighbours() {
        let allow = || {
            vec![Rule {
                conds: vec![],
                action: Action::Allow,
                origin: Origin::default(),
            }]
        };
        let policy = ArchPolicy {
            audit_arch: 0xc000_003e,
            name: "x86_64".into(),
            width: ArgWidth::Bits64,
            default: Action::Errno(1),
            rules: BTreeMap::from([(0, allow()), (1, allow()), (5, allow())]),
            ranges: vec![],
            table_max: 10,
        };
        let counts = BTreeMap::from([(0, 3), (1, 1), (7, 4)]);
        assert_eq!(
            intervals(&policy, &counts),
            [(0, 4), (2, 0), (5, 0), (6, 4)]
        );
        let b = bounds(&policy, &counts);
        assert_eq!(b.intervals, 4);
        assert_eq!(b.entropy, 1.0);
        // leaves [4, 0, 0, 4]: the first heavy leaf at depth 1, the other at depth 2
        assert_eq!(b.optimal_tree, 1.5 + FIXED);
    }
}
