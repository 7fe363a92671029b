//! Chains of probes that end in one target.
//!
//! In: spans, each span's smallest level (the whole-path bound) and a height
//! limit. Out: for every interval `i..=j` that can be decided by testing its
//! spans of other targets one by one and sending everything else to one
//! target `T` (the target of span `i` or of span `j`), the least such cost
//! and the lowest level the chain may start at. A single number is tested
//! with one `jeq`; a run of numbers with two `jge` (one where it is the
//! interval's first or last span, which one bound decides). An isolated
//! allowed number between two denied ranges costs one `jeq` this way, where
//! an alphabetic tree needs two `jge` bounds, and the two denied ranges
//! become one leaf.
//!
//! The probes are tested in the order that minimises the chain's expected
//! cost: by weight per comparison, highest first (Smith's rule for
//! weighted completion times; a run's cost is counted as its second
//! comparison's, an upper bound for the calls that go on). Only chains of
//! at most `limit` and at most [`CHAIN_MAX`] comparisons are kept; which
//! `T` a chain uses is recomputed by [`Chains::build`] when the tree is
//! built.

use super::{Cmp, Span, number_test};
use crate::tree::{NodeId, TreeBuilder};

/// The most comparisons of a chain. Longer chains were never chosen on
/// any profile of the benchmark set (with each of its mixes) nor on any of
/// crosvm's 97 policies (the same programs with a bound of 99), and
/// growing them took a tenth of a weighted compile.
pub(super) const CHAIN_MAX: u32 = 6;

/// The most spans a chain covers: neighbouring spans have different
/// targets, so at most every other span of a chain goes to its target `T`,
/// and a chain has at most [`CHAIN_MAX`] probes. (A longer one would not be
/// kept: only the layout's cost could suffer, never its correctness.)
const WIDEST: usize = 2 * CHAIN_MAX as usize + 1;

/// The best chain of one interval.
#[derive(Clone, Copy, Debug)]
pub(super) struct Chain {
    /// Weighted comparisons of the chain's subtree.
    pub(super) cost: u64,
    /// The lowest level its first probe may sit at.
    pub(super) level: u32,
    /// Whether `T` is the target of the last span (else of the first).
    from_last: bool,
}

/// The best chain of every interval that has one.
pub(super) struct Chains {
    /// `best[i * width + (j - i)]`: the best chain of `i..=j`.
    best: Vec<Option<Chain>>,
    /// The row length of `best`: [`WIDEST`], or fewer spans.
    width: usize,
    /// The most spans any chain covers.
    longest: usize,
    /// `longest_at[h]`: the most spans a chain that may start at level
    /// `h` covers (the last entry holds for every level above).
    longest_at: Vec<usize>,
}

/// One probe of a chain: a span, the comparisons that test it and its
/// place in [`first`]'s order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Probe {
    span: usize,
    tests: u32,
    /// The weight per comparison, doubled to stay whole: `2w / tests`
    /// (tests is 1 or 2). The layout's weights are below 2^62
    /// ([`super::scaled`]), so twice one fits.
    key: u64,
}

impl Probe {
    fn new(spans: &[Span], span: usize, tests: u32) -> Probe {
        let per = if tests == 1 { 2 } else { 1 };
        Probe {
            span,
            tests,
            key: spans[span].weight.saturating_mul(per),
        }
    }
}

impl Chains {
    pub(super) fn new(spans: &[Span], min_level: &[u32], limit: u32) -> Chains {
        let n = spans.len();
        let width = WIDEST.min(n.max(1));
        let mut best = vec![None; n * width];
        let mut longest = 0;
        let mut record = |i: usize, j: usize, c: Chain| {
            if j - i < width {
                keep(&mut best[i * width + (j - i)], c);
                longest = longest.max(j - i + 1);
            }
        };
        let mut grow = Grower::new(spans, min_level, limit.min(CHAIN_MAX));
        for i in 0..n {
            grow.start(i, false);
            for j in i + 1..n {
                if !grow.add(j, Some(|c| record(i, j, c))) {
                    break;
                }
            }
        }
        // Grown from the last span, a chain whose first span has the same
        // target is the one grown from the first (the same probes, none at
        // an edge), which wins the tie: only grown past, not built.
        for j in (0..n).rev() {
            grow.start(j, true);
            for i in (0..j).rev() {
                let new = spans[i].target != spans[j].target;
                if !grow.add(i, new.then_some(|c| record(i, j, c))) {
                    break;
                }
            }
        }
        let mut longest_at = Vec::new();
        for (at, c) in best.iter().enumerate() {
            let Some(c) = c else { continue };
            let level = c.level as usize;
            if longest_at.len() <= level {
                longest_at.resize(level + 1, 0);
            }
            longest_at[level] = longest_at[level].max(at % width + 1);
        }
        for h in 1..longest_at.len() {
            longest_at[h] = longest_at[h].max(longest_at[h - 1]);
        }
        Chains {
            best,
            width,
            longest,
            longest_at,
        }
    }

    /// The most spans a chain that may start at level `h` covers.
    pub(super) fn longest_at(&self, h: usize) -> usize {
        let last = self.longest_at.len().checked_sub(1);
        last.map_or(0, |last| self.longest_at[h.min(last)])
    }

    /// The best chain of `i..=j`, if it has one.
    pub(super) fn get(&self, i: usize, j: usize) -> Option<Chain> {
        if j - i >= self.longest {
            return None;
        }
        self.best[i * self.width + (j - i)]
    }

    /// The cost of the best chain of `i..=j` where it may start at level
    /// `h`, else `u64::MAX`.
    #[inline]
    pub(super) fn cost_at(&self, i: usize, j: usize, h: usize) -> u64 {
        match self.get(i, j) {
            Some(c) if c.level as usize <= h => c.cost,
            _ => u64::MAX,
        }
    }

    /// Builds the chain of `i..=j`.
    pub(super) fn build(&self, b: &mut TreeBuilder, spans: &[Span], i: usize, j: usize) -> NodeId {
        let from_last = self.get(i, j).is_some_and(|c| c.from_last);
        let t = if from_last {
            spans[j].target
        } else {
            spans[i].target
        };
        let edge = if from_last { i } else { j };
        let probes: Vec<usize> = (i..=j).filter(|&k| spans[k].target != t).collect();
        let probes = ordered(spans, &probes, edge);
        let mut node = t;
        for p in probes.iter().rev() {
            node = probe(
                b,
                &spans[p.span],
                p.span == edge && p.tests == 1,
                from_last,
                node,
            );
        }
        node
    }
}

/// The test of one probe in front of `next`: `jeq` for a single number, one
/// bound for a run at the interval's edge (the first span when `T` is the
/// last's target, else the last span), two bounds for a run in the middle.
fn probe(b: &mut TreeBuilder, s: &Span, at_edge: bool, from_last: bool, next: NodeId) -> NodeId {
    if s.lo == s.hi {
        return number_test(b, Cmp::Eq, s.lo, s.target, next);
    }
    if at_edge && from_last {
        return number_test(b, Cmp::Ge, s.hi + 1, next, s.target);
    }
    if at_edge {
        return number_test(b, Cmp::Ge, s.lo, s.target, next);
    }
    let upper = number_test(b, Cmp::Ge, s.hi + 1, next, s.target);
    number_test(b, Cmp::Ge, s.lo, upper, next)
}

fn keep(slot: &mut Option<Chain>, c: Chain) {
    if slot.is_none_or(|old| c.cost < old.cost) {
        *slot = Some(c);
    }
}

/// The probes of `spans` with their comparisons (one for a single number or
/// a run at the `edge` span, else two), in [`first`]'s order.
fn ordered(spans: &[Span], probes: &[usize], edge: usize) -> Vec<Probe> {
    let mut out: Vec<Probe> = probes
        .iter()
        .map(|&k| Probe::new(spans, k, tests(&spans[k], k == edge)))
        .collect();
    out.sort_by(|a, b| {
        if a.span == b.span {
            std::cmp::Ordering::Equal
        } else if first(a, b) {
            std::cmp::Ordering::Less
        } else {
            std::cmp::Ordering::Greater
        }
    });
    out
}

/// Comparisons to test one span: one for a single number or a run at the
/// interval's edge, two for a run in the middle.
fn tests(s: &Span, at_edge: bool) -> u32 {
    if s.lo == s.hi || at_edge { 1 } else { 2 }
}

/// Smith's order: whether `a` is tested before `b` (more weight per
/// comparison; ties by span index).
fn first(a: &Probe, b: &Probe) -> bool {
    a.key > b.key || (a.key == b.key && a.span < b.span)
}

/// Grows one chain from a fixed end span, one span at a time.
struct Grower<'s> {
    spans: &'s [Span],
    min_level: &'s [u32],
    limit: u32,
    target: NodeId,
    /// The probes behind the growing end, in [`first`]'s order.
    inner: Vec<Probe>,
    /// Comparisons of the inner probes.
    inner_tests: u32,
    /// The probe at the growing end (one comparison), if that span is not
    /// the target's.
    edge: Option<Probe>,
    /// Weight of the spans that go to the target.
    rest: u64,
    /// The highest smallest level among the spans that go to the target.
    rest_level: u32,
    from_last: bool,
}

impl<'s> Grower<'s> {
    fn new(spans: &'s [Span], min_level: &'s [u32], limit: u32) -> Grower<'s> {
        Grower {
            spans,
            min_level,
            limit,
            target: spans[0].target,
            inner: Vec::new(),
            inner_tests: 0,
            edge: None,
            rest: 0,
            rest_level: 0,
            from_last: false,
        }
    }

    /// Starts over with span `k` alone; `T` is its target.
    fn start(&mut self, k: usize, from_last: bool) {
        self.target = self.spans[k].target;
        self.from_last = from_last;
        self.inner.clear();
        self.inner_tests = 0;
        self.edge = None;
        self.rest = self.spans[k].weight;
        self.rest_level = self.min_level[k];
    }

    /// Adds span `k`, the new growing end, and hands `found` (if any) the
    /// chain so far (if it has a probe); false once no chain can hold it
    /// (nor any wider one: growing never makes a chain shorter). The chain
    /// goes to `found`, inlined, rather than back to the caller: returned
    /// through memory, it was read back as one wide load of narrower
    /// stores, a store-forwarding stall.
    #[inline(always)]
    fn add(&mut self, k: usize, found: Option<impl FnOnce(Chain)>) -> bool {
        if let Some(e) = self.edge.take() {
            let p = Probe::new(self.spans, e.span, tests(&self.spans[e.span], false));
            let at = self.inner.partition_point(|q| first(q, &p));
            self.inner.insert(at, p);
            self.inner_tests += p.tests;
        }
        let s = &self.spans[k];
        let edge = if s.target == self.target {
            self.rest += s.weight;
            self.rest_level = self.rest_level.max(self.min_level[k]);
            None
        } else {
            Some(Probe::new(self.spans, k, 1))
        };
        self.edge = edge;
        let all = self.inner_tests + u32::from(edge.is_some());
        if all > self.limit {
            return false;
        }
        if let Some(found) = found.filter(|_| all > 0) {
            found(self.chain(edge));
        }
        true
    }

    /// The chain so far: the inner probes with the edge probe (the growing
    /// end's, if it is not the target's) in its place.
    #[inline(always)]
    fn chain(&self, mut edge: Option<Probe>) -> Chain {
        let spans = self.spans;
        let mut depth = 0u32;
        let mut cost = 0u64;
        let mut level = 0u32;
        let mut visit = |p: &Probe| {
            depth += p.tests;
            cost += spans[p.span].weight * u64::from(depth);
            level = level.max(depth + self.min_level[p.span]);
        };
        for q in &self.inner {
            if let Some(e) = edge.filter(|e| first(e, q)) {
                visit(&e);
                edge = None;
            }
            visit(q);
        }
        if let Some(e) = edge {
            visit(&e);
        }
        cost += self.rest * u64::from(depth);
        level = level.max(depth + self.rest_level);
        Chain {
            cost,
            level,
            from_last: self.from_last,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sysfence_abi::SeccompData;

    /// Spans `(lo, hi, code, weight)` returning `code`, the last up to
    /// `u32::MAX`.
    fn spans(b: &mut TreeBuilder, raw: &[(u32, u32, u32, u64)]) -> Vec<Span> {
        raw.iter()
            .map(|&(lo, hi, code, weight)| Span {
                lo,
                hi,
                target: b.ret(code),
                weight,
            })
            .collect()
    }

    /// A run in the middle costs two bounds, a single number one; the
    /// heavier per comparison goes first (ties: lower span first).
    #[test]
    fn a_run_in_the_middle_is_tested_with_two_bounds() {
        let mut b = TreeBuilder::new();
        let raw = [
            (0, 9, 0, 1),
            (10, 19, 1, 100),
            (20, 20, 0, 1),
            (21, 21, 2, 50),
            (22, u32::MAX, 0, 1),
        ];
        let s = spans(&mut b, &raw);
        let chains = Chains::new(&s, &[0; 5], 8);
        let c = chains.get(0, 4).unwrap();
        // run: 100 × 2; single: 50 × 3; the three denied spans: 3 × 3.
        assert_eq!(c.cost, 359);
        assert_eq!(c.level, 3);
        let cases = [(15, 1, 2), (21, 2, 3), (25, 0, 3), (5, 0, 2), (20, 0, 3)];
        assert_chain_decides(b, &chains, &s, (0, 4), &cases);
    }

    /// The chain of `i..=j` built alone returns `code` for `nr` after
    /// `tests` comparisons, for each `(nr, code, tests)`.
    fn assert_chain_decides(
        mut b: TreeBuilder,
        chains: &Chains,
        s: &[Span],
        (i, j): (usize, usize),
        cases: &[(u32, u32, usize)],
    ) {
        let root = chains.build(&mut b, s, i, j);
        let tree = b.finish(root, Vec::new());
        for &(nr, code, tests) in cases {
            assert_eq!(
                tree.eval(&SeccompData::new(0, nr)),
                (code, tests),
                "nr {nr}"
            );
        }
    }

    /// A run at the interval's edge needs one bound.
    #[test]
    fn a_run_at_the_edge_is_tested_with_one_bound() {
        let mut b = TreeBuilder::new();
        let s = spans(
            &mut b,
            &[(0, 9, 0, 7), (10, 10, 1, 1), (11, u32::MAX, 2, 1)],
        );
        let chains = Chains::new(&s, &[0; 3], 8);
        // T is span 2's target: span 0 (run, edge) one bound, span 1 one `jeq`.
        let c = chains.get(0, 2).unwrap();
        assert_eq!(c.cost, 7 + 2 + 2);
        assert_chain_decides(
            b,
            &chains,
            &s,
            (0, 2),
            &[(3, 0, 1), (10, 1, 2), (500, 2, 2)],
        );
    }

    /// No chain is longer than the limit in comparisons.
    #[test]
    fn chains_stop_at_the_limit() {
        let mut b = TreeBuilder::new();
        let raw: Vec<(u32, u32, u32, u64)> = (0..12)
            .map(|k| (k * 10, k * 10 + 9, k % 2, 1))
            .chain([(120, u32::MAX, 0, 1)])
            .collect();
        let s = spans(&mut b, &raw);
        let chains = Chains::new(&s, &[0; 13], 4);
        // From span 0 (target 0), runs 1 and 3 cost two bounds each: 0..=4
        // fits in 4; 0..=5 adds run 5 at the edge (one bound), 5 in all.
        // From span 5 (target 1), run 0 at the edge costs one, 2 and 4 two.
        assert!(chains.get(0, 4).is_some());
        assert!(chains.get(0, 5).is_none());
        // A higher limit stops at CHAIN_MAX (6): 0..=6 holds runs 1, 3, 5.
        let chains = Chains::new(&s, &[0; 13], 20);
        assert!(chains.get(0, 6).is_some());
        assert!(chains.get(0, 7).is_none());
    }

    proptest::proptest! {
        /// A chain grown from the last span whose first span has the same
        /// target costs what the one grown from the first costs, at the
        /// same level: [`Chains::new`] skips building it.
        #[test]
        fn chains_with_both_ends_on_the_target_are_the_same_both_ways(
            raw in proptest::collection::vec((0u32..3, 1u32..4, 1u64..5000, 0u32..3), 2..24),
        ) {
            let mut b = TreeBuilder::new();
            let mut s: Vec<Span> = Vec::new();
            let mut min_level = Vec::new();
            let mut lo = 0;
            for &(t, width, weight, m) in &raw {
                if s.last().is_some_and(|l: &Span| l.target == b.ret(t)) {
                    continue;
                }
                s.push(Span { lo, hi: lo + width - 1, target: b.ret(t), weight });
                min_level.push(m);
                lo += width;
            }
            let n = s.len();
            for i in 0..n {
                for j in i + 1..n {
                    if s[i].target != s[j].target {
                        continue;
                    }
                    let mut forward = Grower::new(&s, &min_level, CHAIN_MAX);
                    forward.start(i, false);
                    let mut ahead = None;
                    for k in i + 1..=j {
                        if !forward.add(k, Some(|c| ahead = Some(c))) {
                            ahead = None;
                            break;
                        }
                    }
                    let mut backward = Grower::new(&s, &min_level, CHAIN_MAX);
                    backward.start(j, true);
                    let mut behind = None;
                    for k in (i..j).rev() {
                        if !backward.add(k, Some(|c| behind = Some(c))) {
                            behind = None;
                            break;
                        }
                    }
                    let key = |c: Option<Chain>| c.map(|c| (c.cost, c.level));
                    proptest::prop_assert_eq!(key(ahead), key(behind), "{}..={}", i, j);
                }
            }
        }
    }
}
