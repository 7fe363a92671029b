//! The least-cost alphabetic tree under the height limit and the whole-path
//! bound.
//!
//! In: spans, a height limit, the bound and a cost to beat. Out: the first
//! of these that meets both limits, each optimal for fewer limits, so the
//! first that meets them all is optimal under all: Knuth's unlimited
//! optimum ([`super::knuth`], O(n²)); the height-limited optimum without
//! the whole-path bound ([`super::table`], O(L·n²)); the height-limited
//! optimum with it (the table with per-leaf levels, which always meets
//! them). No plan when even the unlimited optimum (a lower bound) does not
//! beat the cost to beat.

use super::Span;
use super::knuth::Knuth;
use super::paths::Paths;
use super::table::Table;
use crate::tree::{NodeId, TreeBuilder};

/// One optimal tree and how to build it.
pub(super) enum Plan {
    Free(Knuth),
    Limited(Table),
}

impl Plan {
    /// The optimal plan, or `None` when its cost cannot be below `beat`.
    pub(super) fn new(spans: &[Span], limit: u32, paths: &Paths, beat: u128) -> Option<Plan> {
        let weights: Vec<u64> = spans.iter().map(|s| s.weight).collect();
        let free = Knuth::new(&weights);
        if free.total >= beat {
            return None;
        }
        let fits = |depths: Vec<u32>| {
            (depths.iter().zip(spans)).all(|(&d, s)| d <= limit && paths.fits(s, d))
        };
        if fits(free.depths()) {
            return Some(Plan::Free(free));
        }
        let min_level: Vec<u32> = spans.iter().map(|s| paths.min_level(s)).collect();
        if min_level.iter().any(|&m| m > 0) {
            let height_only = Table::with_levels(&weights, vec![0; spans.len()], limit);
            if height_only.total != u128::MAX && fits(height_only.depths(limit)) {
                return Some(Plan::Limited(height_only));
            }
        }
        Some(Plan::Limited(Table::with_levels(
            &weights, min_level, limit,
        )))
    }

    /// The expected cost in weighted comparisons (`u128::MAX`: no tree).
    pub(super) fn total(&self) -> u128 {
        match self {
            Plan::Free(k) => k.total,
            Plan::Limited(t) => t.total,
        }
    }

    pub(super) fn build(&self, b: &mut TreeBuilder, spans: &[Span], limit: u32) -> NodeId {
        match self {
            Plan::Free(k) => k.build(b, spans, 0, spans.len() - 1),
            Plan::Limited(t) => t.build(b, spans, limit, 0, spans.len() - 1),
        }
    }
}
