//! The least-cost alphabetic tree under the height limit and the whole-path
//! bound.
//!
//! In: spans, a height limit, the bound and a cost to beat. Out: Knuth's
//! unlimited optimum when it already meets both limits (then nothing better
//! exists), else the exact height-limited programme ([`super::table`]); no
//! plan when even the unlimited optimum (a lower bound) does not beat the
//! cost to beat.

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
        let fits = free
            .depths()
            .iter()
            .zip(spans)
            .all(|(&d, s)| d <= limit && paths.fits(s, d));
        if fits {
            Some(Plan::Free(free))
        } else {
            Some(Plan::Limited(Table::new(spans, limit, paths)))
        }
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
