//! Hot numbers tested with `jeq` at the top of the tree's subtrees, not
//! only in front of the whole tree, and the splits above them chosen
//! knowing them.
//!
//! In: the spans the weighted tree searches (after the peels in front),
//! its plan, the height left and the whole-path bound. Out: the tree, where
//! each subtree of the top [`Refine::rounds`] levels below the root is the
//! cheaper of two: the plan's own split (its children chosen the same way),
//! and the subtree's hottest single numbers tested with `jeq` in front of
//! the optimal tree of the rest ([`super::peel::peels_beating`], under the
//! same height limit and whole-path bound). A subtree's hot number is often
//! an isolated allowed number (crosvm's `ioctl`, `getpid`, `futex`) that
//! the alphabetic tree must fence with two bounds and that a peel for the
//! whole set does not pay for, being cold next to the set's hottest.
//!
//! The plan's split of a subtree was the best one for trees without those
//! peels, so with [`Refine::scan`] a subtree where a peel may pay also
//! tries every other split root, each side refined the same way, where
//! that is cheap: on the last refined level (whose sides are not split
//! further) and in subtrees of at most [`SCAN_MAX`] spans. A root other
//! than the plan's is taken only when its tree keeps every span within the
//! height left and the whole-path bound. Subtrees are memoized by
//! (height left, first, last, rounds), so a side shared by two roots is
//! refined once.
//!
//! Every candidate is built and measured on the spans it decides (each
//! span's weight times the tests on its path, walked in the builder), so
//! the result never costs more than the plan's tree; a candidate not taken
//! stays unreachable in the builder and is not emitted. (The scan may,
//! rarely, end above the same refinement without it: a cheaper split
//! leaves a peel less to beat, and the peels prune with bounds of the
//! alphabetic tree, not of one with probe chains.) The time is that of a
//! few [`super::plan::Plan`]s over parts of the spans, and only where a
//! peel's lower bound beats the subtree's cost: on crosvm's
//! `common_device.policy` with its own mix, the scan takes the weighted
//! compile from 3.47 to 6.38 million instructions (callgrind) and the mean
//! from 8.60 to 8.53 per call (`sysfence cost`, arguments zero); uniform
//! mixes keep their time (within 1 %).

use super::paths::Paths;
use super::peel::peels_beating;
use super::plan::Plan;
use super::{Span, split};
use crate::tree::{Node, NodeId, TreeBuilder};
use sysfence_abi::SeccompData;
use sysfence_exact::store::FastMap;

/// How many levels below the root get their own peels. On crosvm's
/// `common_device.policy` with its own mix (`sysfence cost`, arguments
/// zero), two levels find nothing, three take the mean from 8.70 to 8.65
/// instructions per call, four to 8.60 (8.53 with the scan); five or six
/// find nothing more without the scan and lose its gain with it (8.60:
/// its last level then lies deeper).
pub(super) const ROUNDS: u32 = 4;

/// Subtrees of at most this many spans try every split root at any
/// refined level. On `corpus/profiles/vmm-args.json` with the python mix,
/// the scan at every level takes the mean from 8.49 to 8.40 at 88 times
/// the compile; scanning subtrees of up to 16 spans gets all of it at
/// twice the compile, up to 12 none of it.
const SCAN_MAX: usize = 16;

/// How far the weighted tree is refined below its root.
#[derive(Clone, Copy, Debug)]
pub(super) struct Refine {
    /// Levels below the root whose subtrees may be peeled (0: none).
    pub(super) rounds: u32,
    /// Whether subtrees where a peel may pay choose their split root too.
    pub(super) scan: bool,
}

impl Refine {
    /// What the weighted layout does.
    pub(super) const FULL: Refine = Refine {
        rounds: ROUNDS,
        scan: true,
    };
}

/// The plan's tree over `spans` with the height `limit` left, refined as
/// `refine` says.
pub(super) fn build(
    b: &mut TreeBuilder,
    spans: &[Span],
    plan: &Plan,
    limit: u32,
    paths: &Paths,
    refine: Refine,
) -> NodeId {
    let last = spans.len() - 1;
    let Some(r) = plan.split_at(limit, 0, last).filter(|_| refine.rounds > 0) else {
        return plan.build(b, spans, limit);
    };
    let mut part = Part {
        spans,
        plan,
        paths,
        scan: refine.scan,
        memo: FastMap::default(),
    };
    part.split(b, limit, 0, last, r, refine.rounds)
}

struct Part<'a> {
    spans: &'a [Span],
    plan: &'a Plan,
    paths: &'a Paths<'a>,
    scan: bool,
    /// Subtrees built, by (height left, first, last, rounds).
    memo: FastMap<(u32, usize, usize, u32), NodeId>,
}

impl Part<'_> {
    /// The subtree over `i..=j`, met with the height `h` left, its top
    /// `rounds` levels refined.
    fn subtree(&mut self, b: &mut TreeBuilder, h: u32, i: usize, j: usize, rounds: u32) -> NodeId {
        if let Some(&node) = self.memo.get(&(h, i, j, rounds)) {
            return node;
        }
        let planned = match self.plan.split_at(h, i, j) {
            Some(r) if rounds > 1 => self.split(b, h, i, j, r, rounds - 1),
            _ => self.plan.build_part(b, self.spans, h, i..=j),
        };
        let node = self.peeled(b, h, i, j, planned);
        self.memo.insert((h, i, j, rounds), node);
        node
    }

    /// `i..=j` split at the plan's root `r`, each side refined `rounds`
    /// levels deep, or at another root where the scan tries one and it
    /// costs less and fits.
    fn split(
        &mut self,
        b: &mut TreeBuilder,
        h: u32,
        i: usize,
        j: usize,
        r: usize,
        rounds: u32,
    ) -> NodeId {
        let mut best = self.split_at(b, h, i, j, r, rounds);
        if !self.scans(i, j, rounds) {
            return best;
        }
        let mut best_cost = cost(b, best, &self.spans[i..=j]);
        for c in (i + 1..=j).filter(|&c| c != r) {
            let node = self.split_at(b, h, i, j, c, rounds);
            let node_cost = cost(b, node, &self.spans[i..=j]);
            if node_cost < best_cost && self.fits(b, node, h, i, j) {
                (best, best_cost) = (node, node_cost);
            }
        }
        best
    }

    /// `jge` the first number of span `c`, each side refined.
    fn split_at(
        &mut self,
        b: &mut TreeBuilder,
        h: u32,
        i: usize,
        j: usize,
        c: usize,
        rounds: u32,
    ) -> NodeId {
        let right = self.subtree(b, h - 1, c, j, rounds);
        let left = self.subtree(b, h - 1, i, c - 1, rounds);
        split(b, self.spans[c].lo, right, left)
    }

    /// Whether `i..=j`, split with its sides refined `rounds` levels deep,
    /// tries every root: where a peel may pay and the scan is cheap.
    fn scans(&self, i: usize, j: usize, rounds: u32) -> bool {
        let part = &self.spans[i..=j];
        self.scan && (rounds == 1 || part.len() <= SCAN_MAX) && worth_peeling(part)
    }

    /// Whether every span of `i..=j` sits within the height `h` left and
    /// its whole path within the bound.
    fn fits(&self, b: &TreeBuilder, node: NodeId, h: u32, i: usize, j: usize) -> bool {
        let above = self.paths.limit - h;
        self.spans[i..=j]
            .iter()
            .all(|s| tests_to(b, node, s).is_some_and(|d| d <= h && self.paths.fits(s, above + d)))
    }

    /// `planned`, or the hottest single numbers of `i..=j` peeled in front
    /// of the rest's tree where that costs less.
    fn peeled(&self, b: &mut TreeBuilder, h: u32, i: usize, j: usize, planned: NodeId) -> NodeId {
        let part = &self.spans[i..=j];
        if !worth_peeling(part) {
            return planned;
        }
        let beat = cost(b, planned, part);
        let Some(peels) = peels_beating(part, h, self.paths, beat) else {
            return planned;
        };
        let rest = peels.tree.build(b, &peels.rest, h - peels.depth());
        let other = peels.in_front_of(b, rest);
        if cost(b, other, part) < beat {
            other
        } else {
            planned
        }
    }
}

/// Whether a peel may pay: a single number carries at least a third of the
/// part's weight (every other number pays a test for it), and there are
/// spans on both sides of it to fence. On the crosvm policies a quarter
/// finds the same trees for the mean over every call, at a quarter more
/// compile time on `common_device.policy`; a half misses some.
fn worth_peeling(part: &[Span]) -> bool {
    let [_, inner @ .., _] = part else {
        return false;
    };
    let weight: u128 = part.iter().map(|s| u128::from(s.weight)).sum();
    let hottest = inner
        .iter()
        .filter(|s| s.lo == s.hi)
        .map(|s| u128::from(s.weight))
        .max();
    hottest.is_some_and(|w| w * 3 >= weight)
}

/// The weighted number of tests `root` runs before it reaches each span's
/// target (`u128::MAX` if one is not reached, which a tree built for the
/// spans never does).
pub(super) fn cost(b: &TreeBuilder, root: NodeId, spans: &[Span]) -> u128 {
    spans
        .iter()
        .try_fold(0u128, |sum, s| {
            let tests = tests_to(b, root, s)?;
            Some(sum + u128::from(s.weight) * u128::from(tests))
        })
        .unwrap_or(u128::MAX)
}

/// The number tests on the path of span `s`'s numbers from `root` to its
/// target.
pub(super) fn tests_to(b: &TreeBuilder, mut at: NodeId, s: &Span) -> Option<u32> {
    let data = SeccompData::new(0, s.lo);
    let mut tests = 0;
    while at != s.target {
        let Node::Branch { test, then, other } = *b.node(at) else {
            return None;
        };
        at = if test.holds(&data) { then } else { other };
        tests += 1;
    }
    Some(tests)
}
