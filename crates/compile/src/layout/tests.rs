use super::chain::Chains;
use super::knuth::{Knuth, entropy_cost, garsia_wachs_depths, huffman_cost};
use super::paths::Paths;
use super::peel::without;
use super::probe::Probed;
use super::table::Table;
use super::unlimited::Unlimited;
use super::*;
use refine::Refine;
use sysfence_abi::{Endian, Half, SeccompData};

/// The weighted layout without refined subtrees.
const PLAIN: Refine = Refine {
    rounds: 0,
    scan: false,
};

/// Subtrees peeled under the plan's own splits.
const UNSCANNED: Refine = Refine {
    rounds: refine::ROUNDS,
    scan: false,
};

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

/// Builds the alphabetic tree a table chose for `i..=j` at level `h`.
fn build_table(b: &mut TreeBuilder, t: &Table, s: &[Span], h: usize, i: usize, j: usize) -> NodeId {
    let Some(r) = (i < j).then(|| t.root_at(h, i, j)).flatten() else {
        return s[i].target;
    };
    let right = build_table(b, t, s, h - 1, r, j);
    let left = build_table(b, t, s, h - 1, i, r - 1);
    split(b, s[r].lo, right, left)
}

fn depth_of(b: TreeBuilder, root: NodeId, nr: u32) -> (u32, usize) {
    b.finish(root, Vec::new()).eval(&SeccompData::new(0, nr))
}

/// The plain O(L·n³) programme, every root scanned: the oracle the
/// windowed table must match. `min_level[i]`: the lowest level leaf `i`
/// may sit at.
pub(super) fn full_scan(weights: &[u64], min_level: &[u32], limit: u32) -> u128 {
    let n = weights.len();
    let w = |i: usize, j: usize| weights[i..=j].iter().map(|&x| u128::from(x)).sum::<u128>();
    let mut prev: Vec<u128> = vec![u128::MAX; n * n];
    for (i, &m) in min_level.iter().enumerate() {
        if m == 0 {
            prev[i * n + i] = 0;
        }
    }
    for h in 1..=limit {
        let mut cur = vec![u128::MAX; n * n];
        for (i, &m) in min_level.iter().enumerate() {
            if m <= h {
                cur[i * n + i] = 0;
            }
        }
        for len in 2..=n {
            for i in 0..=n - len {
                let j = i + len - 1;
                let best = (i + 1..=j)
                    .filter_map(|r| prev[i * n + r - 1].checked_add(prev[r * n + j]))
                    .filter(|&c| c < u128::MAX)
                    .min();
                if let Some(c) = best {
                    cur[i * n + j] = c + w(i, j);
                }
            }
        }
        prev = cur;
    }
    prev[n - 1]
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
    let tree = decides_every_span(b, &s);
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
    let limit = balanced_height(s.len()) + 2;
    let worst = Paths::new(&heights, &s, limit).budget - 2;
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
fn knuth_matches_the_limited_table_without_a_limit() {
    let w = [5u64, 1, 9, 3, 3, 7, 1, 1, 20, 2];
    let table = Table::with_levels(&w, vec![0; 10], 10);
    assert_eq!(optimal_cost(&w), table.total);
    assert_eq!(optimal_cost(&[1, 1]), 2);
    assert_eq!(Knuth::new(&w).total, full_scan(&w, &[0; 10], 10));
}

/// Weights whose cost overflows `u64` take the `u128` programme, exactly.
#[test]
fn knuth_is_exact_beyond_u64() {
    let w = [u64::MAX / 3, 5, u64::MAX / 5, 7, 1, u64::MAX / 2];
    let exact = full_scan(&w, &[0; 6], 6);
    assert!(exact > u128::from(u64::MAX));
    assert_eq!(Knuth::new(&w).total, exact);
}

mod props {
    use super::*;
    use proptest::prelude::*;

    /// Weights with long runs of cold leaves and a few hot ones, as mixes are.
    fn weights() -> impl Strategy<Value = Vec<u64>> {
        prop::collection::vec(
            prop_oneof![4 => 1u64..4, 2 => 1u64..1000, 1 => 1u64..1_000_000],
            1..48,
        )
    }

    /// A span's weight: a few hot ones among many cold, as real mixes
    /// have, so that subtrees get peels and scan their split roots.
    fn weight() -> impl Strategy<Value = u64> {
        prop_oneof![4 => 1u64..5000, 1 => 5000u64..500_000]
    }

    /// The span count, a height limit `extra` above the balanced one, and
    /// each span's smallest level from `bounds` (capped to fit the limit).
    fn limits(w: &[u64], extra: u32, bounds: &[(usize, u32)]) -> (usize, u32, Vec<u32>) {
        let n = w.len();
        let limit = balanced_height(n) + extra;
        let mut min_level = vec![0u32; n];
        for &(at, m) in bounds {
            min_level[at % n] = m.min(limit.saturating_sub(balanced_height(n)));
        }
        (n, limit, min_level)
    }

    /// One span per weight, two numbers apart.
    fn cuts_of(w: &[u64]) -> Vec<(u32, u64)> {
        w.iter()
            .enumerate()
            .map(|(i, &x)| (i as u32 * 2, x))
            .collect()
    }

    /// One span per weight, returning one of three codes picked by `steps`
    /// so that neighbours differ (as merged spans do) and intervals have
    /// probe chains; with each span's code.
    fn three_targets(b: &mut TreeBuilder, w: &[u64], steps: &[u32]) -> (Vec<Span>, Vec<u32>) {
        let mut s = spans(b, &cuts_of(w));
        let mut t = 0;
        let mut codes = Vec::new();
        for (sp, step) in s.iter_mut().zip(steps) {
            t = (t + step) % 3;
            sp.target = b.ret(t);
            codes.push(t);
        }
        (s, codes)
    }

    /// Each leaf's depth and decision in a built tree, read by evaluation.
    fn leaf_depths(b: TreeBuilder, root: NodeId, s: &[Span]) -> Vec<(u32, usize)> {
        let tree = b.finish(root, Vec::new());
        s.iter()
            .flat_map(|sp| [sp.lo, sp.hi])
            .map(|nr| tree.eval(&SeccompData::new(0, nr)))
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// The row-wise path of the levels below the top two fills both
        /// programmes as the general code does (the same roots at every
        /// level and the same costs), with chains (three targets, so that
        /// intervals have probe chains) and level bounds.
        #[test]
        fn free_rows_match_the_general_code(
            w in weights(),
            steps in prop::collection::vec(1u32..3, 48),
            extra in 0u32..3,
            bounds in prop::collection::vec((0usize..48, 1u32..4), 0..3),
        ) {
            let (n, limit, min_level) = limits(&w, extra, &bounds);
            let mut b = TreeBuilder::new();
            let (s, _) = three_targets(&mut b, &w, &steps);
            for alphabetic in [vec![0; n], min_level.clone()] {
                let chains = Chains::new(&s, &min_level, limit);
                let (fast, fast_table) =
                    Probed::new(&s, alphabetic.clone(), &min_level, limit, chains);
                let (slow, slow_table) = Probed::general_only(&s, alphabetic, &min_level, limit);
                prop_assert_eq!(fast_table, slow_table);
                prop_assert_eq!(fast.parts(), slow.parts());
            }
        }

        /// The probed tree without levels, where it is taken, decides
        /// every span, puts every leaf where its level allows, costs what
        /// it says at most (a chain's run counts its second bound) and
        /// never more than the optimal alphabetic tree under the same
        /// limits (the full scan).
        #[test]
        fn the_unlimited_tree_fits_and_is_never_worse(
            w in weights(),
            steps in prop::collection::vec(1u32..3, 48),
            extra in 0u32..8,
            bounds in prop::collection::vec((0usize..48, 1u32..4), 0..3),
        ) {
            let (_, limit, min_level) = limits(&w, extra, &bounds);
            let mut b = TreeBuilder::new();
            let (s, codes) = three_targets(&mut b, &w, &steps);
            let chains = Chains::new(&s, &min_level, limit);
            let Ok(plan) = Unlimited::new(&s, &min_level, limit, chains) else {
                return Ok(());
            };
            prop_assert!(plan.total <= full_scan(&w, &min_level, limit));
            let root = plan.build(&mut b, &s, 0, s.len() - 1);
            let tree = b.finish(root, Vec::new());
            let mut cost = 0u128;
            for (i, sp) in s.iter().enumerate() {
                for nr in [sp.lo, sp.hi] {
                    let (got, tests) = tree.eval(&SeccompData::new(0, nr));
                    prop_assert_eq!(got, codes[i], "nr {}", nr);
                    prop_assert!(tests as u32 + min_level[i] <= limit, "nr {}", nr);
                }
                let (_, tests) = tree.eval(&SeccompData::new(0, sp.lo));
                cost += u128::from(sp.weight) * tests as u128;
            }
            prop_assert!(cost <= plan.total, "{} > {}", cost, plan.total);
        }

        /// The windowed table equals the full O(L·n³) scan, with and
        /// without per-leaf level bounds, and the tree it builds has that
        /// cost and meets every bound.
        #[test]
        fn table_matches_the_full_scan(
            w in weights(),
            extra in 0u32..3,
            bounds in prop::collection::vec((0usize..48, 1u32..4), 0..3),
        ) {
            let (n, limit, min_level) = limits(&w, extra, &bounds);
            let table = Table::with_levels(&w, min_level.clone(), limit);
            prop_assert_eq!(table.total, full_scan(&w, &min_level, limit));
            let mut b = TreeBuilder::new();
            let s = spans(&mut b, &cuts_of(&w));
            // The probed programme's pass computes the same tables, with
            // the leaf levels and with the height limit alone.
            let chains = Chains::new(&s, &min_level, limit);
            let (_, fused) = Probed::new(&s, min_level.clone(), &min_level, limit, chains);
            prop_assert_eq!(&fused, &table);
            let chains = Chains::new(&s, &min_level, limit);
            let (_, fused) = Probed::new(&s, vec![0; n], &min_level, limit, chains);
            prop_assert_eq!(&fused, &Table::with_levels(&w, vec![0; n], limit));
            if table.total == u128::MAX {
                return Ok(());
            }
            let root = build_table(&mut b, &table, &s, limit as usize, 0, n - 1);
            let seen = leaf_depths(b, root, &s);
            let mut cost = 0u128;
            for (i, sp) in s.iter().enumerate() {
                let (raw, depth) = seen[2 * i];
                prop_assert_eq!(raw, i as u32);
                prop_assert_eq!(seen[2 * i + 1].0, i as u32);
                prop_assert!(depth as u32 + min_level[i] <= limit);
                cost += u128::from(sp.weight) * depth as u128;
            }
            prop_assert_eq!(cost, table.total);
        }

        /// Knuth's unlimited optimum equals the full scan with a height
        /// limit no tree reaches.
        #[test]
        fn knuth_matches_the_full_scan(w in weights()) {
            let n = w.len();
            prop_assert_eq!(Knuth::new(&w).total, full_scan(&w, &vec![0; n], n as u32));
        }

        /// Garsia and Wachs's depths are an optimal alphabetic tree's:
        /// they cost Knuth's optimum and satisfy Kraft's equality (a full
        /// binary tree).
        #[test]
        fn garsia_wachs_depths_cost_the_optimum(w in weights()) {
            let d = garsia_wachs_depths(&w);
            let cost: u128 = w.iter().zip(&d).map(|(&w, &d)| u128::from(w) * u128::from(d)).sum();
            prop_assert_eq!(cost, Knuth::new(&w).total);
            if w.len() > 1 {
                let kraft: f64 = d.iter().map(|&d| 0.5f64.powi(d as i32)).sum();
                prop_assert!((kraft - 1.0).abs() < 1e-9);
            }
        }

        /// Huffman's optimum lies between the entropy bound and Knuth's
        /// alphabetic optimum, so it prunes only what Knuth's would.
        #[test]
        fn huffman_is_between_the_entropy_and_knuth(w in weights()) {
            let h = huffman_cost(&w);
            prop_assert!(entropy_cost(&w) <= h);
            prop_assert!(h <= Knuth::new(&w).total);
        }

        /// The weighted layout with probe chains decides every number as
        /// its span does, within the height limit and the whole-path bound,
        /// and costs at most the optimal alphabetic tree (the full scan)
        /// and the same layout without refined subtrees.
        #[test]
        fn weighted_with_probes_is_correct_and_never_worse(
            raw in prop::collection::vec((0u32..4, prop_oneof![3 => Just(1u32), 1 => 2u32..9], weight()), 2..40),
        ) {
            let mut b = TreeBuilder::new();
            // Target 3 has three argument tests behind it (all-zero
            // arguments pass them and reach `ret 3`).
            let mut checked = b.ret(3);
            for k in 0..3 {
                let test = Test {
                    offset: sysfence_abi::data::arg_word_offset(k, Half::Lo, Endian::Little),
                    mask: None,
                    cmp: Cmp::Eq,
                    k: 0,
                };
                let other = b.ret(100);
                checked = b.branch(test, checked, other);
            }
            let mut s: Vec<Span> = Vec::new();
            let mut codes: Vec<u32> = Vec::new();
            let mut lo = 0u32;
            for &(t, width, weight) in &raw {
                let target = if t == 3 { checked } else { b.ret(t) };
                match s.last_mut() {
                    Some(last) if last.target == target => {
                        last.hi += width;
                        last.weight += weight;
                    }
                    _ => {
                        s.push(Span { lo, hi: lo + width - 1, target, weight });
                        codes.push(t);
                    }
                }
                lo += width;
            }
            s.last_mut().unwrap().hi = u32::MAX;
            let limit = balanced_height(s.len()) + 2;
            let heights = b.heights();
            let paths = Paths::new(&heights, &s, limit);
            let min_level: Vec<u32> = s.iter().map(|sp| paths.min_level(sp)).collect();
            let weights: Vec<u64> = s.iter().map(|sp| sp.weight).collect();
            let alphabetic = full_scan(&weights, &min_level, limit);
            let plain = weighted_refined(&mut b, &s, limit, &s, PLAIN);
            let unscanned = weighted_refined(&mut b, &s, limit, &s, UNSCANNED);
            let root = weighted(&mut b, &s, limit, &s);
            let unrefined = refine::cost(&b, plain, &s);
            let peeled_only = refine::cost(&b, unscanned, &s);
            let tree = b.finish(root, Vec::new());
            let mut cost = 0u128;
            for (sp, &want) in s.iter().zip(&codes) {
                let extra = heights[sp.target.index()];
                for nr in [sp.lo, sp.hi, sp.lo + (sp.hi - sp.lo) / 2] {
                    let (got, tests) = tree.eval(&SeccompData::new(0, nr));
                    prop_assert_eq!(got, want, "nr {}", nr);
                    prop_assert!(tests as u32 <= limit + extra);
                    prop_assert!(tests as u32 <= paths.budget);
                }
                let (_, tests) = tree.eval(&SeccompData::new(0, sp.lo));
                cost += u128::from(sp.weight) * u128::from(tests as u32 - extra);
            }
            prop_assert!(cost <= alphabetic, "{} > {}", cost, alphabetic);
            // Refined subtrees never cost more than the plan's own, with
            // their split roots scanned or not (all count the number tests
            // only). The scan may lose to no scan: a cheaper split leaves a
            // peel a lower cost to beat, and the peels prune with bounds of
            // the alphabetic tree, not of one with probe chains.
            prop_assert!(peeled_only <= unrefined, "{} > {}", peeled_only, unrefined);
            prop_assert!(cost <= unrefined, "{} > {}", cost, unrefined);
        }
    }
}

/// A tree the limit cannot hold is refused: doubling weights make the
/// optimal tree a path as deep as the spans are many.
#[test]
fn the_unlimited_tree_is_refused_where_it_is_too_deep() {
    let mut b = TreeBuilder::new();
    let cuts: Vec<(u32, u64)> = (0..12).map(|i| (i * 2, 1u64 << (2 * i))).collect();
    let s = spans(&mut b, &cuts);
    let limit = balanced_height(s.len()) + 2;
    let min_level = vec![0; s.len()];
    let chains = Chains::new(&s, &min_level, limit);
    assert!(Unlimited::new(&s, &min_level, limit, chains).is_err());
    let chains = Chains::new(&s, &min_level, 11);
    let plan = Unlimited::new(&s, &min_level, 11, chains).ok().unwrap();
    assert_eq!(
        plan.total,
        Knuth::new(&cuts.iter().map(|c| c.1).collect::<Vec<_>>()).total
    );
    decides_every_span(b, &s);
}

/// Weights near `u64::MAX` are shifted down so that the `u64` costs of the
/// programmes cannot overflow; the layout still decides every interval.
#[test]
fn huge_weights_are_scaled_not_overflowed() {
    let mut b = TreeBuilder::new();
    let cuts: Vec<(u32, u64)> = (0..40)
        .map(|i| (i * 2, if i % 3 == 0 { u64::MAX } else { u64::MAX / 7 }))
        .collect();
    let s = spans(&mut b, &cuts);
    let limit = balanced_height(s.len()) + 2;
    let scaled = scaled(&s, limit);
    let total: u128 = scaled.iter().map(|sp| u128::from(sp.weight)).sum();
    assert!(total * u128::from(limit + 2) < 1u128 << 62);
    assert!(scaled.iter().all(|sp| sp.weight >= 1));
    decides_every_span(b, &s);
}

/// The weighted tree over `s` (spans returning their index), checked to
/// decide every span's first number within the height limit.
fn decides_every_span(mut b: TreeBuilder, s: &[Span]) -> crate::tree::DecisionTree {
    let limit = balanced_height(s.len()) + 2;
    let root = weighted(&mut b, s, limit, s);
    let tree = b.finish(root, Vec::new());
    for (i, sp) in s.iter().enumerate() {
        let (raw, depth) = tree.eval(&SeccompData::new(0, sp.lo));
        assert_eq!(raw, i as u32);
        assert!(depth as u32 <= limit);
    }
    tree
}

/// A subtree's hot single number gets its own `jeq` in front of the
/// subtree: number 13 (36,309 calls) is cold next to the last span (76,015)
/// that the root's split takes first, so no peel of the whole set pays for
/// it, and the plan fences it with three tests; a peel in front of its
/// subtree reaches it in two. The refined tree decides every span as the
/// plain one does and costs about a tenth less.
/// Spans of `(target, width, weight)` from the first number on, the last
/// reaching the end of the numbers, each target a `ret`.
fn spans_of(b: &mut TreeBuilder, raw: &[(u32, u32, u64)]) -> Vec<Span> {
    let mut s = Vec::new();
    let mut lo = 0;
    for &(t, width, weight) in raw {
        s.push(Span {
            lo,
            hi: lo + width - 1,
            target: b.ret(t),
            weight,
        });
        lo += width;
    }
    s.last_mut().unwrap().hi = u32::MAX;
    s
}

/// Asserts that the tree at `root` decides both ends of every span as
/// `raw` says, within `limit` tests.
fn assert_decides(b: TreeBuilder, root: NodeId, s: &[Span], raw: &[(u32, u32, u64)], limit: u32) {
    let tree = b.finish(root, Vec::new());
    for (sp, &(t, _, _)) in s.iter().zip(raw) {
        for nr in [sp.lo, sp.hi] {
            let (got, tests) = tree.eval(&SeccompData::new(0, nr));
            assert_eq!(got, t, "nr {nr}");
            assert!(tests as u32 <= limit);
        }
    }
}

#[test]
fn subtrees_peel_their_own_hot_numbers() {
    // (target, width, weight) from the first number on.
    let raw = [
        (1, 5, 7),
        (2, 6, 29597),
        (0, 2, 9),
        (1, 1, 36309),
        (2, 2, 1),
        (0, 1, 1007),
        (1, 1, 251),
        (2, 1, 10),
        (0, 5, 6),
        (2, 3, 2),
        (1, 1, 4),
        (2, 1, 76015),
    ];
    let mut b = TreeBuilder::new();
    let s = spans_of(&mut b, &raw);
    let limit = balanced_height(s.len()) + 2;
    let plain = weighted_refined(&mut b, &s, limit, &s, PLAIN);
    let refined = weighted(&mut b, &s, limit, &s);
    let (before, after) = (refine::cost(&b, plain, &s), refine::cost(&b, refined, &s));
    assert_eq!((before, after), (310_064, 274_789));
    let hot = &s[3];
    let depths = [plain, refined].map(|root| refine::tests_to(&b, root, hot));
    assert_eq!(depths, [Some(3), Some(2)]);
    assert_decides(b, refined, &s, &raw, limit);
}

#[test]
fn subtrees_choose_their_split_knowing_their_peels() {
    // (target, width, weight) from the first number on: a hot run of
    // target 0, then numbers of each target with a hot single of 2.
    let raw = [
        (0, 6, 16127),
        (1, 3, 1004),
        (2, 1, 3701),
        (0, 2, 240),
        (2, 1, 171),
        (1, 6, 2542),
        (0, 1, 2726),
    ];
    let mut b = TreeBuilder::new();
    let s = spans_of(&mut b, &raw);
    let limit = balanced_height(s.len()) + 2;
    let unscanned = weighted_refined(&mut b, &s, limit, &s, UNSCANNED);
    let scanned = weighted(&mut b, &s, limit, &s);
    let costs = [unscanned, scanned].map(|root| refine::cost(&b, root, &s));
    assert_eq!(costs, [50_643, 49_105]);
    assert_decides(b, scanned, &s, &raw, limit);
}
