//! Knuth's optimal alphabetic tree without a height limit, O(n²).
//!
//! In: leaf weights in order. Out: the least weighted depth over all
//! alphabetic binary trees with these leaves. The
//! best root of `i..=j` lies between those of `i..j` and `i+1..=j` (Knuth
//! 1971), so each row of the programme scans a window whose widths sum to
//! O(n). No height or path limit is applied here; the weighted layout uses
//! the cost as a lower bound.

use std::ops::{Add, Sub};

/// The optimal expected cost (in weighted comparisons) of any alphabetic
/// tree over `weights`, without a height limit.
pub(crate) fn optimal_cost(weights: &[u64]) -> u128 {
    Knuth::new(weights).total
}

/// The entropy, in bits, of the distribution the weights give (0 for no
/// weight). Times the total weight it is a lower bound of any binary
/// tree's weighted depth over these leaves (Shannon; Kraft's inequality).
pub(crate) fn entropy_bits(weights: &[u64]) -> f64 {
    let total: f64 = weights.iter().map(|&w| w as f64).sum();
    if total == 0.0 {
        return 0.0;
    }
    weights
        .iter()
        .filter(|&&w| w > 0)
        .map(|&w| w as f64 / total)
        .map(|p| -p * p.log2())
        .sum()
}

/// A lower bound of the weighted depth of any binary tree over the weights,
/// from their entropy, rounded down with room for the floating point's
/// error.
pub(super) fn entropy_cost(weights: &[u64]) -> u128 {
    let total: f64 = weights.iter().map(|&w| w as f64).sum();
    (entropy_bits(weights) * total * (1.0 - 1e-6)) as u128
}

/// Huffman's optimum: the least weighted depth over all binary trees with
/// these leaves in any order, so a lower bound of every alphabetic tree's
/// (its leaves keep their order), at or above [`entropy_cost`], in
/// O(n log n).
pub(super) fn huffman_cost(weights: &[u64]) -> u128 {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    let mut heap: BinaryHeap<Reverse<u128>> =
        weights.iter().map(|&w| Reverse(u128::from(w))).collect();
    let mut cost = 0u128;
    while let (Some(Reverse(a)), Some(Reverse(b))) = (heap.pop(), heap.pop()) {
        cost += a + b;
        heap.push(Reverse(a + b));
    }
    cost
}

/// Each leaf's depth in an optimal alphabetic tree without a height limit,
/// by Garsia and Wachs's combination phase (1977): repeatedly join the
/// leftmost pair of neighbours `x`, `y` whose right neighbour is at least
/// `x` (the end of the list counts as infinite), and move the joint left,
/// past every node lighter than it. The depths of the tree so built are an
/// optimal alphabetic tree's, found in O(n²) simple steps over a list of
/// `n` items, without [`Knuth`]'s n² table (the weighted layout asks only
/// where a tree would put its leaves).
pub(super) fn garsia_wachs_depths(weights: &[u64]) -> Vec<u32> {
    let n = weights.len();
    // Nodes: the leaves, then each joint; `up[k]` is node k's parent.
    let mut up: Vec<usize> = vec![usize::MAX; n];
    let mut list: Vec<(u128, usize)> = weights
        .iter()
        .enumerate()
        .map(|(i, &w)| (u128::from(w), i))
        .collect();
    // No pair left of the last joint's new place is joinable yet: its
    // neighbours there are as they were when the search passed them.
    let mut from = 1;
    while list.len() > 1 {
        let k = (from..list.len())
            .find(|&k| list.get(k + 1).is_none_or(|right| list[k - 1].0 <= right.0))
            .unwrap_or(list.len() - 1);
        let joint = (list[k - 1].0 + list[k].0, up.len());
        up[list[k - 1].1] = joint.1;
        up[list[k].1] = joint.1;
        up.push(usize::MAX);
        list.drain(k - 1..=k);
        let at = list[..k - 1]
            .iter()
            .rposition(|item| item.0 >= joint.0)
            .map_or(0, |j| j + 1);
        list.insert(at, joint);
        from = at.saturating_sub(1).max(1);
    }
    // Parents come after their children: depths from the root down.
    let mut depth = vec![0u32; up.len()];
    for k in (0..up.len()).rev() {
        if up[k] != usize::MAX {
            depth[k] = depth[up[k]] + 1;
        }
    }
    depth.truncate(n);
    depth
}

/// The unlimited optimum's cost.
pub(super) struct Knuth {
    pub(super) total: u128,
}

impl Knuth {
    pub(super) fn new(weights: &[u64]) -> Knuth {
        let n = weights.len() as u128;
        let weight: u128 = weights.iter().map(|&w| u128::from(w)).sum();
        // No interval's cost exceeds its weight times its length: in `u64`
        // when that bound fits, which real mixes always do.
        let total = if weight.saturating_mul(n) < u128::from(u64::MAX) {
            u128::from(programme::<u64>(weights))
        } else {
            programme::<u128>(weights)
        };
        Knuth { total }
    }
}

/// Knuth's programme in the cost type `T`, which must hold the weight of
/// all leaves times their number.
fn programme<T>(weights: &[u64]) -> T
where
    T: Copy + Ord + Add<Output = T> + Sub<Output = T> + From<u64>,
{
    let n = weights.len();
    let zero = T::from(0);
    let mut prefix = Vec::with_capacity(n + 1);
    prefix.push(zero);
    for (k, &w) in weights.iter().enumerate() {
        prefix.push(prefix[k] + T::from(w));
    }
    let mut cost = vec![zero; n * n];
    let mut root = vec![0u32; n * n];
    // Rows from the last leaf up, each by its last leaf: the window's
    // neighbours `i..j` (earlier in the row) and `i+1..=j` (the row below)
    // are done first. A single leaf costs 0 and reads as root 0.
    for i in (0..n.saturating_sub(1)).rev() {
        let (row, below) = cost[i * n..].split_at_mut(n);
        let (root_row, root_below) = root[i * n..].split_at_mut(n);
        for j in i + 1..n {
            let from = (root_row[j - 1] as usize).max(i + 1);
            let to = (root_below[j] as usize).min(j).max(from);
            let mut best = (row[from - 1] + below[(from - i - 1) * n + j], from);
            for r in from + 1..=to {
                let c = row[r - 1] + below[(r - i - 1) * n + j];
                if c < best.0 {
                    best = (c, r);
                }
            }
            row[j] = best.0 + prefix[j + 1] - prefix[i];
            root_row[j] = best.1 as u32;
        }
    }
    if n == 0 { zero } else { cost[n - 1] }
}

/// `prefix[i]`: the sum of the first `i` weights.
pub(super) fn prefix_sums(weights: impl Iterator<Item = u64>) -> Vec<u128> {
    let mut prefix = Vec::with_capacity(weights.size_hint().0 + 1);
    prefix.push(0u128);
    let mut sum = 0u128;
    for w in weights {
        sum += u128::from(w);
        prefix.push(sum);
    }
    prefix
}
