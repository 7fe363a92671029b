//! Searches over syscall-number intervals: the three dispatch layouts.
//!
//! In: the intervals of one arch ([`Span`]s: maximal runs of numbers with the
//! same decision node, sorted, covering all 2³² numbers) with their weights.
//! Out: the dispatch node, built in the caller's [`TreeBuilder`].
//!
//! * [`balanced`] splits the intervals in the middle by count (`jge lo`), so
//!   every number costs ⌈log₂ R⌉ or one fewer tests for R intervals.
//! * [`weighted`] is the optimal alphabetic tree for the weights subject to a
//!   height limit (dynamic programming over `(height, first, last)`), after
//!   peeling up to [`PEEL_MAX`] hot single-number intervals with `jeq` in
//!   front when that lowers the expected cost. Two limits hold: the dispatch
//!   is at most 2 deeper than the balanced tree's, and no interval's whole
//!   path — dispatch plus the argument checks behind it — is longer than the
//!   balanced tree's worst path plus 2, so a mix never buys its mean with a
//!   worse worst case for an argument-checked syscall.
//! * The linear layout is a chain of per-syscall tests and lives in
//!   [`crate::build`], because it follows the profile, not the intervals.
//!
//! Costs here count comparisons only; the fixed loads and the `ret` are the
//! same for every layout.

use crate::tree::{Cmp, NodeId, Test, TreeBuilder};

/// At most this many hot numbers are tested before the weighted tree.
pub(crate) const PEEL_MAX: usize = 3;

use sysfence_abi::data::OFFSET_NR as NR;

/// A maximal run of numbers `lo..=hi` decided by `target`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Span {
    /// First number.
    pub(crate) lo: u32,
    /// Last number.
    pub(crate) hi: u32,
    /// The node deciding these numbers.
    pub(crate) target: NodeId,
    /// How often these numbers are called (scaled, never 0).
    pub(crate) weight: u64,
}

/// ⌈log₂ n⌉: the height of the balanced tree over `n` intervals.
pub(crate) fn balanced_height(n: usize) -> u32 {
    n.max(1).next_power_of_two().trailing_zeros()
}

/// The count-balanced search tree.
pub(crate) fn balanced(b: &mut TreeBuilder, spans: &[Span]) -> NodeId {
    if spans.len() == 1 {
        return spans[0].target;
    }
    let mid = spans.len() / 2;
    let right = balanced(b, &spans[mid..]);
    let left = balanced(b, &spans[..mid]);
    split(b, spans[mid].lo, right, left)
}

fn split(b: &mut TreeBuilder, at: u32, right: NodeId, left: NodeId) -> NodeId {
    b.branch(
        Test {
            offset: NR,
            mask: None,
            cmp: Cmp::Ge,
            k: at,
        },
        right,
        left,
    )
}

/// The weighted layout: hot peels, then a height-limited optimal tree.
/// Depth never exceeds `limit` (which must be at least the balanced height).
/// `reference` are the spans the balanced layout would search (their
/// argument checks may be laid out differently); whole paths stay within 2
/// of the balanced tree's worst over them, or, when the weighted argument
/// checks make that impossible, within 2 of a balanced search over `spans`.
pub(crate) fn weighted(
    b: &mut TreeBuilder,
    spans: &[Span],
    limit: u32,
    reference: &[Span],
) -> NodeId {
    if spans.len() > EXACT_MAX {
        return bisect(b, spans, limit);
    }
    let mut paths = Paths::new(b, reference, limit);
    if Plan::new(spans, limit, &paths).total() == u128::MAX {
        paths = Paths::new(b, spans, limit);
    }
    let plan = best_peels(spans, limit, &paths);
    let rest = plan.rest;
    let left = limit - plan.peeled.len() as u32;
    let mut node = plan.tree.build(b, &rest, left);
    for s in plan.peeled.iter().rev() {
        node = b.branch(
            Test {
                offset: NR,
                mask: None,
                cmp: Cmp::Eq,
                k: s.lo,
            },
            s.target,
            node,
        );
    }
    node
}

/// Above this many intervals the exact programme (O(L·n³) time, O(L·n²)
/// memory) gives way to [`bisect`].
const EXACT_MAX: usize = 256;

/// Weight-balanced bisection under the same height limit: each split puts as
/// close to half the weight on each side as the limit allows (within 2 of
/// the entropy bound without a limit). For very many intervals only.
fn bisect(b: &mut TreeBuilder, spans: &[Span], limit: u32) -> NodeId {
    if spans.len() == 1 {
        return spans[0].target;
    }
    let cap = 1usize << (limit - 1).min(40);
    let total: u128 = spans.iter().map(|s| u128::from(s.weight)).sum();
    // Split index r: left = spans[..r], right = spans[r..]; both must fit in `cap`.
    let (lo, hi) = (
        spans.len().saturating_sub(cap).max(1),
        cap.min(spans.len() - 1),
    );
    let mut left: u128 = spans[..lo].iter().map(|s| u128::from(s.weight)).sum();
    let mut best = (u128::MAX, lo);
    for (r, s) in spans.iter().enumerate().take(hi + 1).skip(lo) {
        let gap = (2 * left).abs_diff(total);
        if gap < best.0 {
            best = (gap, r);
        }
        left += u128::from(s.weight);
    }
    let r = best.1;
    let right = bisect(b, &spans[r..], limit - 1);
    let left = bisect(b, &spans[..r], limit - 1);
    split(b, spans[r].lo, right, left)
}

/// The whole-path bound of [`weighted`]: a span's target may sit at depth
/// `d` only when `d + extra(target) <= budget`, where `extra` is the most
/// tests behind the target and `budget` is the balanced tree's worst whole
/// path plus 2. The balanced tree itself meets the bound, so the programme
/// always has a solution.
#[derive(Clone)]
struct Paths {
    /// Most tests from each node of the builder to a `ret`.
    heights: Vec<u32>,
    /// The dispatch height limit the tables are built for.
    limit: u32,
    /// The longest whole path allowed.
    budget: u32,
}

impl Paths {
    fn new(b: &TreeBuilder, spans: &[Span], limit: u32) -> Paths {
        let heights = b.heights();
        let mut depths = Vec::with_capacity(spans.len());
        balanced_depths(spans.len(), 0, &mut depths);
        let worst = spans
            .iter()
            .zip(&depths)
            .map(|(s, d)| d + heights[s.target.index()])
            .max()
            .unwrap_or(0);
        Paths {
            heights,
            limit,
            budget: worst + 2,
        }
    }

    /// The tests behind a span's target.
    fn extra(&self, s: &Span) -> u32 {
        self.heights[s.target.index()]
    }

    /// The smallest table level at which a span may be a leaf: a leaf met at
    /// level `h` sits at depth `limit - h`.
    fn min_level(&self, s: &Span) -> u32 {
        (self.extra(s) + self.limit).saturating_sub(self.budget)
    }

    /// Whether a span may be peeled to depth `depth`.
    fn fits(&self, s: &Span, depth: u32) -> bool {
        depth + self.extra(s) <= self.budget
    }
}

/// Depth of each of `n` intervals in [`balanced`]'s tree.
fn balanced_depths(n: usize, depth: u32, out: &mut Vec<u32>) {
    if n <= 1 {
        out.push(depth);
        return;
    }
    let mid = n / 2;
    balanced_depths(mid, depth + 1, out);
    balanced_depths(n - mid, depth + 1, out);
}

/// Which hot numbers to peel, and the intervals left for the tree.
struct PeelPlan {
    peeled: Vec<Span>,
    rest: Vec<Span>,
    tree: Plan,
}

fn best_peels(spans: &[Span], limit: u32, paths: &Paths) -> PeelPlan {
    let mut hot: Vec<Span> = spans.iter().copied().filter(|s| s.lo == s.hi).collect();
    hot.sort_by(|a, b| b.weight.cmp(&a.weight).then(a.lo.cmp(&b.lo)));
    let tree = Plan::new(spans, limit, paths);
    let mut best_cost = tree.total();
    let mut best = PeelPlan {
        peeled: Vec::new(),
        rest: spans.to_vec(),
        tree,
    };
    let mut rest = spans.to_vec();
    let mut prefix_cost: u128 = 0;
    for (k, s) in hot.iter().take(PEEL_MAX).enumerate() {
        rest = without(&rest, s.lo);
        let depth = k as u32 + 1;
        if rest.is_empty() || balanced_height(rest.len()) + depth > limit || !paths.fits(s, depth) {
            break;
        }
        prefix_cost += u128::from(s.weight) * u128::from(depth);
        let rest_weight: u128 = rest.iter().map(|r| u128::from(r.weight)).sum();
        let tree = Plan::new(&rest, limit - depth, paths);
        if tree.total() == u128::MAX {
            break;
        }
        let cost = prefix_cost + rest_weight * u128::from(depth) + tree.total();
        if cost < best_cost {
            best_cost = cost;
            best = PeelPlan {
                peeled: hot[..=k].to_vec(),
                rest: rest.clone(),
                tree,
            };
        }
    }
    best
}

/// The intervals once number `nr` is decided elsewhere: its neighbours merge
/// when they share a target, otherwise the left one takes the number over.
fn without(spans: &[Span], nr: u32) -> Vec<Span> {
    let mut out = spans.to_vec();
    let Some(i) = out.iter().position(|s| s.lo == nr && s.hi == nr) else {
        return out;
    };
    out.remove(i);
    if i > 0 && i < out.len() && out[i - 1].target == out[i].target {
        let right = out.remove(i);
        out[i - 1].hi = right.hi;
        out[i - 1].weight += right.weight;
    } else if i > 0 {
        out[i - 1].hi = nr;
    } else if let Some(first) = out.first_mut() {
        first.lo = nr;
    }
    out
}

/// The optimal expected cost (in weighted comparisons) of any alphabetic
/// tree over `weights`, without a height limit (Knuth's O(n²) programme).
pub(crate) fn optimal_cost(weights: &[u64]) -> u128 {
    Knuth::new(weights).total
}

/// Knuth's O(n²) optimal alphabetic tree without a height limit: the best
/// root of `i..=j` lies between those of `i..j` and `i+1..=j`.
struct Knuth {
    n: usize,
    /// `root[i * n + j]`: first index of the right half of `i..=j`.
    root: Vec<u32>,
    total: u128,
}

impl Knuth {
    fn new(weights: &[u64]) -> Knuth {
        let n = weights.len();
        let mut prefix = vec![0u128; n + 1];
        for (i, &w) in weights.iter().enumerate() {
            prefix[i + 1] = prefix[i] + u128::from(w);
        }
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
        Knuth { n, root, total }
    }

    /// Each leaf's depth in the tree.
    fn depths(&self) -> Vec<u32> {
        let mut out = vec![0; self.n];
        let mut stack = vec![(0usize, self.n.saturating_sub(1), 0u32)];
        while let Some((i, j, d)) = stack.pop() {
            if i >= j {
                out[i] = d;
                continue;
            }
            let r = self.root[i * self.n + j] as usize;
            stack.push((i, r - 1, d + 1));
            stack.push((r, j, d + 1));
        }
        out
    }

    fn build(&self, b: &mut TreeBuilder, spans: &[Span], i: usize, j: usize) -> NodeId {
        if i == j {
            return spans[i].target;
        }
        let r = self.root[i * self.n + j] as usize;
        let right = self.build(b, spans, r, j);
        let left = self.build(b, spans, i, r - 1);
        split(b, spans[r].lo, right, left)
    }
}

/// The least-cost tree under the limits: Knuth's unlimited optimum when it
/// already meets them (then nothing better exists), else the exact
/// height-limited programme.
enum Plan {
    Free(Knuth),
    Limited(Table),
}

impl Plan {
    fn new(spans: &[Span], limit: u32, paths: &Paths) -> Plan {
        let weights: Vec<u64> = spans.iter().map(|s| s.weight).collect();
        let free = Knuth::new(&weights);
        let fits = free
            .depths()
            .iter()
            .zip(spans)
            .all(|(&d, s)| d <= limit && d + paths.extra(s) <= paths.budget);
        if fits {
            Plan::Free(free)
        } else {
            Plan::Limited(Table::new(spans, limit, paths))
        }
    }

    fn total(&self) -> u128 {
        match self {
            Plan::Free(k) => k.total,
            Plan::Limited(t) => t.total,
        }
    }

    fn build(&self, b: &mut TreeBuilder, spans: &[Span], limit: u32) -> NodeId {
        match self {
            Plan::Free(k) => k.build(b, spans, 0, spans.len() - 1),
            Plan::Limited(t) => t.build(b, spans, limit, 0, spans.len() - 1),
        }
    }
}

/// Height-limited optimal alphabetic trees: `root[h][i][j]` is the root of
/// a least-weighted-depth tree over spans `i..=j` of height at most `h`
/// whose leaves all meet [`Paths::min_level`]. Only two levels of costs are
/// kept; `total` is the cost of the whole set (`u128::MAX`: no such tree).
struct Table {
    n: usize,
    root: Vec<Vec<u32>>,
    total: u128,
}

thread_local! {
    /// Tests turn the root windows off to compare with the full scan.
    static FULL_SCAN: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The roots to try for `i..=j` at one level: between the roots of
/// `i..j` and `i+1..=j` when those are feasible and roots are monotone,
/// else every split.
fn window(
    level: &[u32],
    cur: &[u128],
    n: usize,
    i: usize,
    j: usize,
    monotone: bool,
) -> (usize, usize) {
    let feasible = |a: usize, b: usize| a == b || cur[a * n + b] != u128::MAX;
    if !monotone || !feasible(i, j - 1) || !feasible(i + 1, j) {
        return (i + 1, j);
    }
    let from = if j - 1 > i {
        level[i * n + j - 1] as usize
    } else {
        i + 1
    };
    let to = if j > i + 1 {
        level[(i + 1) * n + j] as usize
    } else {
        j
    };
    (from.max(i + 1), to.min(j).max(from.max(i + 1)))
}

impl Table {
    fn new(spans: &[Span], limit: u32, paths: &Paths) -> Table {
        let n = spans.len();
        let mut prefix = vec![0u128; n + 1];
        for (i, s) in spans.iter().enumerate() {
            prefix[i + 1] = prefix[i] + u128::from(s.weight);
        }
        let levels = limit as usize + 1;
        let min_level: Vec<u32> = spans.iter().map(|s| paths.min_level(s)).collect();
        let mut prev = vec![u128::MAX; n * n];
        for i in 0..n {
            if min_level[i] == 0 {
                prev[i * n + i] = 0;
            }
        }
        // Without per-leaf bounds the height-limited optimum has monotone
        // roots per level (Wessner; Itai): O(L·n²) instead of O(L·n³).
        let monotone = min_level.iter().all(|&m| m == 0) && !FULL_SCAN.with(|f| f.get());
        let mut root = vec![Vec::new(); levels];
        for (h, level) in root.iter_mut().enumerate().skip(1) {
            let mut cur = prev.clone();
            for i in 0..n {
                if min_level[i] as usize <= h {
                    cur[i * n + i] = 0;
                }
            }
            *level = vec![0u32; n * n];
            for len in 2..=n {
                for i in 0..=n - len {
                    let j = i + len - 1;
                    let (from, to) = window(level, &cur, n, i, j, monotone);
                    let mut best = (u128::MAX, 0u32);
                    for r in from..=to {
                        let (l, rr) = (prev[i * n + r - 1], prev[r * n + j]);
                        if l != u128::MAX && rr != u128::MAX && l + rr < best.0 {
                            best = (l + rr, r as u32);
                        }
                    }
                    if best.0 != u128::MAX {
                        cur[i * n + j] = best.0 + prefix[j + 1] - prefix[i];
                        level[i * n + j] = best.1;
                    }
                }
            }
            prev = cur;
        }
        Table {
            n,
            root,
            total: prev[n - 1],
        }
    }

    fn build(&self, b: &mut TreeBuilder, spans: &[Span], h: u32, i: usize, j: usize) -> NodeId {
        if i == j {
            return spans[i].target;
        }
        let r = self.root[h as usize][i * self.n + j] as usize;
        let right = self.build(b, spans, h - 1, r, j);
        let left = self.build(b, spans, h - 1, i, r - 1);
        split(b, spans[r].lo, right, left)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sysfence_abi::{Endian, Half, SeccompData};

    fn spans(b: &mut TreeBuilder, cuts: &[(u32, u64)]) -> Vec<Span> {
        let mut out = Vec::new();
        for (i, &(lo, weight)) in cuts.iter().enumerate() {
            let hi = cuts.get(i + 1).map_or(u32::MAX, |c| c.0 - 1);
            out.push(Span {
                lo,
                hi,
                target: b.ret(i as u32),
                weight,
            });
        }
        out
    }

    fn depth_of(b: TreeBuilder, root: NodeId, nr: u32) -> (u32, usize) {
        b.finish(root, Vec::new()).eval(&SeccompData::new(0, nr))
    }

    #[test]
    fn balanced_tree_finds_every_interval() {
        let mut b = TreeBuilder::new();
        let s = spans(
            &mut b,
            &[
                (0, 1),
                (3, 1),
                (4, 1),
                (10, 1),
                (11, 1),
                (200, 1),
                (0x4000_0000, 1),
            ],
        );
        let root = balanced(&mut b, &s);
        let tree = b.finish(root, Vec::new());
        for (i, sp) in s.iter().enumerate() {
            for nr in [sp.lo, sp.hi] {
                let (raw, tests) = tree.eval(&SeccompData::new(0, nr));
                assert_eq!(raw, i as u32, "nr {nr:#x}");
                assert!(tests <= 3);
            }
        }
        assert_eq!(balanced_height(7), 3);
        assert_eq!(balanced_height(1), 0);
    }

    #[test]
    fn weighted_tree_puts_heavy_intervals_high_within_the_limit() {
        let mut b = TreeBuilder::new();
        let cuts: Vec<(u32, u64)> = (0..16)
            .map(|i| (i * 2, if i == 13 { 1_000_000 } else { 1 }))
            .collect();
        let s = spans(&mut b, &cuts);
        let root = weighted(&mut b, &s, 6, &s);
        let tree = b.finish(root, Vec::new());
        // An interval inside the range needs two bounds: depth 2 is optimal.
        assert_eq!(tree.eval(&SeccompData::new(0, 26)), (13, 2));
        for sp in &s {
            assert!(tree.eval(&SeccompData::new(0, sp.lo)).1 <= 6);
        }
    }

    #[test]
    fn peeling_merges_the_neighbours() {
        let mut b = TreeBuilder::new();
        let (x, y) = (b.ret(1), b.ret(2));
        let s = [
            Span {
                lo: 0,
                hi: 15,
                target: x,
                weight: 1,
            },
            Span {
                lo: 16,
                hi: 16,
                target: y,
                weight: 1000,
            },
            Span {
                lo: 17,
                hi: u32::MAX,
                target: x,
                weight: 1,
            },
        ];
        let root = weighted(&mut b, &s, 4, &s);
        assert_eq!(depth_of(b, root, 16), (2, 1));
        assert_eq!(
            without(&s, 16),
            vec![Span {
                lo: 0,
                hi: u32::MAX,
                target: x,
                weight: 2
            }]
        );
    }

    #[test]
    fn many_intervals_bisect_within_the_limit() {
        let mut b = TreeBuilder::new();
        let cuts: Vec<(u32, u64)> = (0..1000)
            .map(|i| (i * 3, if i % 97 == 0 { 5000 } else { 1 }))
            .collect();
        let s = spans(&mut b, &cuts);
        let limit = balanced_height(s.len()) + 2;
        let root = weighted(&mut b, &s, limit, &s);
        let tree = b.finish(root, Vec::new());
        for (i, sp) in s.iter().enumerate() {
            let (raw, depth) = tree.eval(&SeccompData::new(0, sp.lo));
            assert_eq!(raw, i as u32);
            assert!(depth as u32 <= limit);
        }
        assert!(tree.eval(&SeccompData::new(0, 97 * 3)).1 <= 7);
    }

    /// A cold interval with long argument checks behind it stays where its
    /// whole path is at most the balanced tree's worst plus 2.
    #[test]
    fn whole_paths_stay_within_two_of_the_balanced_worst() {
        let mut b = TreeBuilder::new();
        // Weights falling sixteenfold per interval pull the tree into a
        // spine that would put the cold interval 9 at the height limit.
        let mut cuts: Vec<(u32, u64)> = (0..12).map(|i| (i * 2, 1 << (4 * (12 - i)))).collect();
        cuts[9].1 = 1;
        let mut s = spans(&mut b, &cuts);
        // Five argument tests behind interval 9 (args[0..5] all zero passes
        // every one), ending in its own return.
        let mut checked = b.ret(9);
        for k in 0..5 {
            let test = Test {
                offset: sysfence_abi::data::arg_word_offset(k as usize, Half::Lo, Endian::Little),
                mask: None,
                cmp: Cmp::Eq,
                k: 0,
            };
            let other = b.ret(100 + k);
            checked = b.branch(test, checked, other);
        }
        s[9].target = checked;
        let heights = b.heights();
        let mut depths = Vec::new();
        balanced_depths(s.len(), 0, &mut depths);
        let worst = s
            .iter()
            .zip(&depths)
            .map(|(sp, d)| d + heights[sp.target.index()])
            .max()
            .unwrap();
        let limit = balanced_height(s.len()) + 2;
        let root = weighted(&mut b, &s, limit, &s);
        let tree = b.finish(root, Vec::new());
        for sp in &s {
            let (_, depth) = tree.eval(&SeccompData::new(0, sp.lo));
            assert!(
                depth as u32 <= worst + 2,
                "interval at {}: {depth} > {}",
                sp.lo,
                worst + 2
            );
        }
        assert_eq!(tree.eval(&SeccompData::new(0, s[9].lo)).0, 9);
    }

    #[test]
    fn root_windows_keep_the_height_limited_optimum() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for round in 0..60 {
            let n = 2 + (next() % 40) as usize;
            let mut b = TreeBuilder::new();
            let cuts: Vec<(u32, u64)> = (0..n as u32)
                .map(|i| (i * 2, 1 + (next() % 1000) * (next() % 4) * (next() % 40)))
                .collect();
            let s = spans(&mut b, &cuts);
            let free = Paths {
                heights: b.heights(),
                limit: 0,
                budget: u32::MAX,
            };
            for extra in 0..3 {
                let limit = balanced_height(n) + extra;
                let paths = Paths {
                    limit,
                    ..free.clone()
                };
                let fast = Table::new(&s, limit, &paths).total;
                FULL_SCAN.with(|f| f.set(true));
                let full = Table::new(&s, limit, &paths).total;
                FULL_SCAN.with(|f| f.set(false));
                assert_eq!(fast, full, "round {round}, n {n}, limit {limit}");
            }
        }
    }

    #[test]
    fn knuth_matches_the_limited_table_without_a_limit() {
        let w = [5u64, 1, 9, 3, 3, 7, 1, 1, 20, 2];
        let mut b = TreeBuilder::new();
        let cuts: Vec<(u32, u64)> = w.iter().enumerate().map(|(i, &x)| (i as u32, x)).collect();
        let s = spans(&mut b, &cuts);
        let unbounded = Paths {
            heights: b.heights(),
            limit: 10,
            budget: u32::MAX,
        };
        assert_eq!(optimal_cost(&w), Table::new(&s, 10, &unbounded).total);
        assert_eq!(optimal_cost(&[1, 1]), 2);
    }
}
