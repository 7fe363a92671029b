//! Chains of `jeq` probes that end in one target.
//!
//! In: spans, each span's smallest level (the whole-path bound) and a height
//! limit. Out: for every interval `i..=j` that can be decided by testing its
//! single-number spans of other targets with `jeq`, hottest first, and
//! sending everything else to one target `T` (the target of span `i` or of
//! span `j`), the least such cost and the lowest level the chain may start
//! at. An isolated allowed number between two denied ranges costs one
//! `jeq` this way, where an alphabetic tree needs two `jge` bounds, and the
//! two denied ranges become one leaf.
//!
//! Only chains of at most `limit` probes are kept; which `T` a chain uses is
//! recomputed by [`Chains::plan`] when the tree is built.

use super::{Cmp, Span, number_test};
use crate::tree::{NodeId, TreeBuilder};

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
    /// `best[i * longest + (j - i)]`: the best chain of `i..=j`.
    best: Vec<Option<Chain>>,
    /// The most spans any chain covers.
    pub(super) longest: usize,
}

impl Chains {
    pub(super) fn new(spans: &[Span], min_level: &[u32], limit: u32) -> Chains {
        let n = spans.len();
        let mut found: Vec<(usize, usize, Chain)> = Vec::new();
        let mut grow = Grower::new(spans, min_level, limit);
        for i in 0..n {
            grow.start(i, false);
            for j in i + 1..n {
                let Some(c) = grow.add(j) else { break };
                found.push((i, j, c));
            }
        }
        for j in (0..n).rev() {
            grow.start(j, true);
            for i in (0..j).rev() {
                let Some(c) = grow.add(i) else { break };
                found.push((i, j, c));
            }
        }
        let longest = found.iter().map(|&(i, j, _)| j - i + 1).max().unwrap_or(0);
        let mut best = vec![None; n * longest];
        for (i, j, c) in found {
            keep(&mut best[i * longest + (j - i)], c);
        }
        Chains { best, longest }
    }

    /// The best chain of `i..=j`, if it has one.
    pub(super) fn get(&self, i: usize, j: usize) -> Option<Chain> {
        if j - i >= self.longest {
            return None;
        }
        self.best[i * self.longest + (j - i)]
    }

    /// Builds the chain of `i..=j`.
    pub(super) fn build(&self, b: &mut TreeBuilder, spans: &[Span], i: usize, j: usize) -> NodeId {
        let from_last = self.get(i, j).is_some_and(|c| c.from_last);
        let (t, probes) = plan(spans, i, j, from_last);
        let mut node = t;
        for &p in probes.iter().rev() {
            node = number_test(b, Cmp::Eq, spans[p].lo, spans[p].target, node);
        }
        node
    }
}

fn keep(slot: &mut Option<Chain>, c: Chain) {
    if slot.is_none_or(|old| c.cost < old.cost) {
        *slot = Some(c);
    }
}

/// The target `T` and the probes (hottest first) of `i..=j`'s chain; the
/// probes are empty when a span of another target spans several numbers.
fn plan(spans: &[Span], i: usize, j: usize, from_last: bool) -> (NodeId, Vec<usize>) {
    let t = if from_last {
        spans[j].target
    } else {
        spans[i].target
    };
    let mut probes: Vec<usize> = (i..=j).filter(|&k| spans[k].target != t).collect();
    if probes.iter().any(|&k| spans[k].lo != spans[k].hi) {
        probes.clear();
    }
    probes.sort_by(|&a, &b| spans[b].weight.cmp(&spans[a].weight).then(a.cmp(&b)));
    (t, probes)
}

/// Grows one chain from a fixed end span, one span at a time.
struct Grower<'s> {
    spans: &'s [Span],
    min_level: &'s [u32],
    limit: usize,
    target: NodeId,
    from_last: bool,
    /// The probes, hottest first (ties: lower index first).
    probes: Vec<usize>,
    /// Weight of the spans that go to the target.
    rest: u64,
    /// The highest smallest level among the spans that go to the target.
    rest_level: u32,
}

impl<'s> Grower<'s> {
    fn new(spans: &'s [Span], min_level: &'s [u32], limit: u32) -> Grower<'s> {
        Grower {
            spans,
            min_level,
            limit: limit as usize,
            target: spans[0].target,
            from_last: false,
            probes: Vec::new(),
            rest: 0,
            rest_level: 0,
        }
    }

    /// Starts over with span `k` alone; `T` is its target.
    fn start(&mut self, k: usize, from_last: bool) {
        self.target = self.spans[k].target;
        self.from_last = from_last;
        self.probes.clear();
        self.rest = self.spans[k].weight;
        self.rest_level = self.min_level[k];
    }

    /// Adds span `k`; `None` once no chain can hold it (and no wider one).
    fn add(&mut self, k: usize) -> Option<Chain> {
        let s = &self.spans[k];
        if s.target == self.target {
            self.rest += s.weight;
            self.rest_level = self.rest_level.max(self.min_level[k]);
        } else if s.lo == s.hi && self.probes.len() < self.limit {
            let spans = self.spans;
            let hotter = |&p: &usize| {
                (spans[p].weight, std::cmp::Reverse(p)) > (s.weight, std::cmp::Reverse(k))
            };
            let at = self.probes.iter().take_while(|p| hotter(p)).count();
            self.probes.insert(at, k);
        } else {
            return None;
        }
        (!self.probes.is_empty()).then(|| self.chain())
    }

    fn chain(&self) -> Chain {
        let m = self.probes.len() as u32;
        let mut cost = self.rest * u64::from(m);
        let mut level = m + self.rest_level;
        for (t, &p) in self.probes.iter().enumerate() {
            let depth = t as u32 + 1;
            cost += self.spans[p].weight * u64::from(depth);
            level = level.max(depth + self.min_level[p]);
        }
        Chain {
            cost,
            level,
            from_last: self.from_last,
        }
    }
}
