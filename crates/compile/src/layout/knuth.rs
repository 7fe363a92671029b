//! Knuth's optimal alphabetic tree without a height limit, O(n²).
//!
//! In: leaf weights in order. Out: the least weighted depth over all
//! alphabetic binary trees with these leaves. The
//! best root of `i..=j` lies between those of `i..j` and `i+1..=j` (Knuth
//! 1971), so each row of the programme scans a window whose widths sum to
//! O(n). No height or path limit is applied here; the weighted layout uses
//! the cost as a lower bound.

/// The optimal expected cost (in weighted comparisons) of any alphabetic
/// tree over `weights`, without a height limit.
pub(crate) fn optimal_cost(weights: &[u64]) -> u128 {
    Knuth::new(weights).total
}

/// The unlimited optimum's cost.
pub(super) struct Knuth {
    pub(super) total: u128,
}

impl Knuth {
    pub(super) fn new(weights: &[u64]) -> Knuth {
        let n = weights.len();
        let prefix = prefix_sums(weights.iter().copied());
        let mut cost = vec![0u128; n * n];
        let mut root = vec![0u32; n * n];
        for i in 0..n.saturating_sub(1) {
            cost[i * n + i + 1] = prefix[i + 2] - prefix[i];
            root[i * n + i + 1] = (i + 1) as u32;
        }
        for len in 3..=n {
            for i in 0..=n - len {
                let j = i + len - 1;
                let from = (root[i * n + j - 1] as usize).max(i + 1);
                let to = (root[(i + 1) * n + j] as usize).min(j);
                let mut best = (u128::MAX, from);
                for r in from..=to {
                    let c = cost[i * n + r - 1] + cost[r * n + j];
                    if c < best.0 {
                        best = (c, r);
                    }
                }
                cost[i * n + j] = best.0 + prefix[j + 1] - prefix[i];
                root[i * n + j] = best.1 as u32;
            }
        }
        let total = if n == 0 { 0 } else { cost[n - 1] };
        Knuth { total }
    }
}

/// `prefix[i]`: the sum of the first `i` weights.
pub(super) fn prefix_sums(weights: impl Iterator<Item = u64>) -> Vec<u128> {
    let mut prefix = vec![0u128];
    let mut sum = 0u128;
    for w in weights {
        sum += u128::from(w);
        prefix.push(sum);
    }
    prefix
}
