//! sysfence's own compiler, in its three layouts.
//!
//! In: a policy and, for the weighted layout, the syscall mix to optimize
//! for. Out: a validated [`Built`]. Every compile runs the compiler's own
//! check against the policy's reference evaluator (the default), so a
//! program that reaches the tables has already been proved equal to the
//! policy on the compiler's test inputs.

use sysfence_compile::{Config, Layout, Weights, compile};
use sysfence_profile::ir::Policy;

use super::{Built, Compiler, PeerError};

/// The compiler settings for one layout (`weights` only matters for
/// [`Compiler::SysfenceWeighted`]).
pub fn config(compiler: Compiler, weights: Option<&Weights>) -> Option<Config> {
    let layout = match compiler {
        Compiler::SysfenceLinear => Layout::Linear,
        Compiler::SysfenceTree => Layout::Tree,
        Compiler::SysfenceWeighted => Layout::Weighted,
        _ => return None,
    };
    let config = Config::new().layout(layout);
    Some(match (layout, weights) {
        (Layout::Weighted, Some(w)) => config.weights(w.clone()),
        _ => config,
    })
}

/// Compiles `policy` with one of sysfence's layouts.
pub fn build(
    policy: &Policy,
    compiler: Compiler,
    weights: Option<&Weights>,
) -> Result<Built, PeerError> {
    let config = config(compiler, weights)
        .ok_or_else(|| PeerError::new(compiler, "not a sysfence layout"))?;
    let compiled = compile(policy, &config).map_err(|e| PeerError::new(compiler, e))?;
    Ok(Built {
        compiler,
        program: compiled.into_program(),
        notes: Vec::new(),
    })
}
