//! Hot numbers tested with `jeq` at the top of the tree's subtrees, not
//! only in front of the whole tree.
//!
//! In: the spans the weighted tree searches (after the peels in front),
//! its plan, the height left and the whole-path bound. Out: the tree, where
//! each subtree of the top [`ROUNDS`] levels below the root is the cheaper
//! of two: the plan's own (its children chosen the same way), and the
//! subtree's hottest single numbers tested with `jeq` in front of the
//! optimal tree of the rest ([`super::peel::peels_beating`], under the same
//! height limit and whole-path bound). A subtree's hot number is often an
//! isolated allowed number (crosvm's `ioctl`, `getpid`, `futex`) that the
//! alphabetic tree must fence with two bounds and that a peel for the whole
//! set does not pay for, being cold next to the set's hottest.
//!
//! Both candidates are built and measured on the spans they decide (each
//! span's weight times the tests on its path, walked in the builder), so
//! the result never costs more than the plan's tree; a candidate not taken
//! stays unreachable in the builder and is not emitted. The time is that
//! of a few [`super::plan::Plan`]s over parts of the spans, and only where
//! a peel's lower bound beats the subtree's cost.

use super::paths::Paths;
use super::peel::peels_beating;
use super::plan::Plan;
use super::{Span, split};
use crate::tree::{Node, NodeId, TreeBuilder};
use sysfence_abi::SeccompData;

/// How many levels below the root get their own peels. On crosvm's
/// `common_device.policy` with its own mix (`sysfence cost`, arguments
/// zero), two levels find nothing, three take the mean from 8.70 to 8.65
/// instructions per call, four to 8.60; more find nothing.
pub(super) const ROUNDS: u32 = 4;

/// The plan's tree over `spans` with the height `limit` left, each
/// subtree of the top `rounds` levels below its root replaced by its own
/// peels where those cost less.
pub(super) fn build(
    b: &mut TreeBuilder,
    spans: &[Span],
    plan: &Plan,
    limit: u32,
    paths: &Paths,
    rounds: u32,
) -> NodeId {
    let last = spans.len() - 1;
    let Some(r) = plan.split_at(limit, 0, last).filter(|_| rounds > 0) else {
        return plan.build(b, spans, limit);
    };
    let part = Part { spans, plan, paths };
    let right = part.subtree(b, limit - 1, r, last, rounds);
    let left = part.subtree(b, limit - 1, 0, r - 1, rounds);
    split(b, spans[r].lo, right, left)
}

struct Part<'a> {
    spans: &'a [Span],
    plan: &'a Plan,
    paths: &'a Paths<'a>,
}

impl Part<'_> {
    /// The subtree over `i..=j`, met with the height `h` left.
    fn subtree(&self, b: &mut TreeBuilder, h: u32, i: usize, j: usize, rounds: u32) -> NodeId {
        let planned = match self.plan.split_at(h, i, j) {
            Some(r) if rounds > 1 => {
                let right = self.subtree(b, h - 1, r, j, rounds - 1);
                let left = self.subtree(b, h - 1, i, r - 1, rounds - 1);
                split(b, self.spans[r].lo, right, left)
            }
            _ => self.plan.build_part(b, self.spans, h, i..=j),
        };
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
