//! Lower bounds on the dispatch cost of a policy under a mix.
//!
//! In: a single-arch policy, any program compiled from it, and a mix. Out:
//! [`Bounds`], taken from the compiler's cost model
//! ([`sysfence_compile::cost::measure`]): the number of intervals (maximal
//! runs of numbers with one behaviour), the entropy of the mix over those
//! intervals and the optimal alphabetic tree's expected depth over them, each
//! plus the instructions every evaluation runs (`ld [4]`, the arch test,
//! `ld [0]`, `ret`).
//!
//! Argument checks are not included, so both are lower bounds on what any
//! program pays for the dispatch. The entropy bound holds for every binary
//! test; the optimal alphabetic tree can be beaten slightly by trees that
//! also test `nr == k` (sysfence's weighted layout does that for hot numbers).

use serde::Serialize;
use sysfence_cbpf::program::Program;
use sysfence_compile::cost::measure;
use sysfence_profile::ir::Policy;

use crate::mixes::Mix;

/// The bounds of one (policy arch, mix).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Bounds {
    /// Intervals of the number space.
    pub intervals: usize,
    /// Entropy of the mix over the intervals, plus the fixed instructions.
    pub entropy_bound: f64,
    /// Optimal alphabetic tree's expected comparisons, plus the fixed instructions.
    pub optimal_tree: f64,
}

/// The bounds of `mix` for the first arch of `policy`; `program` is any
/// program compiled from `policy` (the bounds do not depend on it).
pub fn bounds(policy: &Policy, program: &Program, mix: &Mix) -> Option<Bounds> {
    let arch = policy.arches().first()?.audit_arch;
    let cost = measure(
        policy,
        program,
        &[arch],
        &[(mix.name().to_string(), mix.weights().clone())],
    );
    let a = cost.arches.first()?;
    let m = a.mixes.first()?;
    Some(Bounds {
        intervals: a.intervals,
        entropy_bound: m.entropy_bound,
        optimal_tree: m.optimal_tree,
    })
}
