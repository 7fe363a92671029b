//! The least-cost tree under the height limit and the whole-path bound.
//!
//! In: spans, a height limit, the bound and a cost to beat. Out: the optimal
//! alphabetic tree under both limits, with `jeq` probe chains put in where
//! they lower the cost ([`super::probe`]); no plan when even Knuth's
//! unlimited alphabetic optimum, a lower bound of the alphabetic tree, does
//! not beat the cost to beat (tried after the entropy bound, which is below
//! it and costs O(n), so the answer is Knuth's).
//!
//! The alphabetic tree is the first of these that meets both limits, each
//! optimal for fewer limits, so the first that meets them all is optimal
//! under all: the height-limited optimum without the whole-path bound
//! ([`super::table`], O(L·n²)); the height-limited optimum with it (the
//! table with per-leaf levels, which always meets them). Each table is
//! computed in the same pass as the probed tree that follows it
//! ([`super::probe::Probed::new`]); the second pass runs only when the
//! first table's tree misses a level. The first is not computed when an
//! optimal tree without any limit ([`garsia_wachs_depths`], O(n²) list
//! steps) already puts a leaf below its level: the limited one almost
//! never does better (on the benchmark set with every mix and on every
//! crosvm policy, 1 plan of 203 whose first table would have fitted, and
//! its program came out the same), and where both run the first is wasted.
//! Either way the alphabetic tree is optimal under both limits.
//!
//! Before either table, where the unlimited optimum puts the bounded leaves
//! where they may be and is at most one level deeper than the limit, the
//! probed programme runs once without levels ([`super::unlimited`], O(n²)):
//! when its tree fits the height limit and every level, its cost is at
//! most Knuth's unlimited optimum, so at most the optimal alphabetic tree
//! under both limits, and the tables are not computed. That is the common case (Docker's profile with every mix, the
//! Firecracker filters with their real mixes, 64 of the 97 crosvm
//! policies); the others, such as a uniform mix over a small filter, whose
//! cold denied ranges an optimal tree sinks below the limit, take the
//! tables.

use std::ops::RangeInclusive;

use super::Span;
use super::chain::Chains;
use super::knuth::{Knuth, entropy_cost, garsia_wachs_depths, huffman_cost};
use super::paths::Paths;
use super::probe::Probed;
use super::table::Table;
use super::unlimited::Unlimited;
use crate::tree::{NodeId, TreeBuilder};

/// One tree and how to build it.
pub(super) enum Plan {
    /// Found without levels ([`Unlimited`]).
    Unlimited(Unlimited),
    /// Found by the programme over levels.
    Levels(Probed),
}

impl Plan {
    /// The plan, or `None` when the alphabetic optimum cannot be below
    /// `beat` (not computed when there is nothing to beat).
    pub(super) fn new(spans: &[Span], limit: u32, paths: &Paths, beat: u128) -> Option<Plan> {
        if beat != u128::MAX && !may_beat(spans, beat) {
            return None;
        }
        let min_level: Vec<u32> = spans.iter().map(|s| paths.min_level(s)).collect();
        let chains = Chains::new(spans, &min_level, limit);
        let optimum = Unbounded::of(spans, &min_level, limit);
        if !optimum.levels_met {
            let (probed, _) = Probed::new(spans, min_level.clone(), &min_level, limit, chains);
            return Some(Plan::Levels(probed));
        }
        let chains = if optimum.deepest <= limit + 1 {
            match Unlimited::new(spans, &min_level, limit, chains) {
                Ok(tree) => return Some(Plan::Unlimited(tree)),
                Err(chains) => chains,
            }
        } else {
            chains
        };
        let alphabetic = vec![0; spans.len()];
        let (probed, height_only) = Probed::new(spans, alphabetic, &min_level, limit, chains);
        if fits(&height_only, &min_level, limit) {
            return Some(Plan::Levels(probed));
        }
        let chains = probed.into_chains();
        let (probed, _) = Probed::new(spans, min_level.clone(), &min_level, limit, chains);
        Some(Plan::Levels(probed))
    }

    /// The expected cost in weighted comparisons (`u128::MAX`: no tree).
    pub(super) fn total(&self) -> u128 {
        match self {
            Plan::Unlimited(tree) => tree.total,
            Plan::Levels(probed) => probed.total,
        }
    }

    pub(super) fn build(&self, b: &mut TreeBuilder, spans: &[Span], limit: u32) -> NodeId {
        self.build_part(b, spans, limit, 0..=spans.len() - 1)
    }

    /// Builds the plan's subtree over the spans `part`, which it meets with
    /// the height `h` left.
    pub(super) fn build_part(
        &self,
        b: &mut TreeBuilder,
        spans: &[Span],
        h: u32,
        part: RangeInclusive<usize>,
    ) -> NodeId {
        let (i, j) = part.into_inner();
        match self {
            Plan::Unlimited(tree) => tree.build(b, spans, i, j),
            Plan::Levels(probed) => probed.build(b, spans, h, i, j),
        }
    }

    /// The first right-hand span of the plan's split over `i..=j` met with
    /// the height `h` left, or `None` where it is a leaf or a chain.
    pub(super) fn split_at(&self, h: u32, i: usize, j: usize) -> Option<usize> {
        if i == j {
            return None;
        }
        let r = match self {
            Plan::Unlimited(tree) => tree.root_at(i, j),
            Plan::Levels(probed) => probed.root_at(h, i, j),
        };
        (r != 0).then_some(r)
    }
}

/// Whether an alphabetic tree over the spans may cost less than `beat`: the
/// entropy bound (O(n)), Huffman's optimum (O(n log n)) and then Knuth's
/// unlimited alphabetic optimum (O(n²)) are lower bounds of its cost, each
/// at least the one before.
fn may_beat(spans: &[Span], beat: u128) -> bool {
    let weights: Vec<u64> = spans.iter().map(|s| s.weight).collect();
    beat > 0
        && entropy_cost(&weights) < beat
        && huffman_cost(&weights) < beat
        && Knuth::new(&weights).total < beat
}

/// Where an optimal alphabetic tree without a height limit puts its leaves
/// ([`garsia_wachs_depths`], a few list steps per leaf).
struct Unbounded {
    /// Every leaf with a level sits where its level allows. When not, the
    /// height-limited optimum almost never does either, and its table is
    /// not computed.
    levels_met: bool,
    /// The deepest leaf's depth. Where it is more than one level deeper
    /// than the height limit, the probed tree without levels is not tried: on the benchmark
    /// set with every mix and on every crosvm policy, each plan at most one
    /// level too deep fitted once probe chains were in, and none three or
    /// more too deep did (33 plans, whose wasted pass cost up to a quarter
    /// of their compile).
    deepest: u32,
}

impl Unbounded {
    fn of(spans: &[Span], min_level: &[u32], limit: u32) -> Unbounded {
        let weights: Vec<u64> = spans.iter().map(|s| s.weight).collect();
        let depths = garsia_wachs_depths(&weights);
        Unbounded {
            levels_met: depths
                .iter()
                .zip(min_level)
                .all(|(&d, &m)| m == 0 || d + m <= limit),
            deepest: depths.iter().copied().max().unwrap_or(0),
        }
    }
}

/// Whether the height-limited alphabetic optimum (leaves at any level)
/// has a tree whose leaves all meet their levels.
fn fits(height_only: &Table, min_level: &[u32], limit: u32) -> bool {
    if min_level.iter().all(|&m| m == 0) {
        return true;
    }
    let depths = height_only.depths(limit);
    let fits = depths.iter().zip(min_level).all(|(&d, &m)| d + m <= limit);
    height_only.total != u128::MAX && fits
}
