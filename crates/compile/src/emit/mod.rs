//! [`DecisionTree`] → validated [`Program`].
//!
//! In: a decision DAG from [`crate::build`] (or built by hand). Out: a
//! [`Program`] the kernel accepts, with figures about how it was made.
//!
//! Steps, each in its own module:
//!
//! 1. [`code`]: one labelled block per node, in an order where every jump goes
//!    forward (`ld` + optional `and` + one conditional jump, or `ret`).
//! 2. [`crate::opt`]: the optimizer passes, to a fixpoint.
//! 3. [`far`]: jump layout in the shared label buffer (veneers for edges
//!    longer than 255), encoding with the exit guard, the 4096-instruction
//!    limit.
//! 4. [`Program::new`]: the kernel's own load-time checks. A failure there is
//!    a compiler bug and is reported as such.
//!
//! Whether the program decides what the policy says is [`crate::check`]'s
//! question, not this module's.

pub mod code;
pub mod far;

use sysfence_cbpf::program::Program;

use crate::CompileError;
use crate::opt::{PASSES, optimize};
use crate::tree::DecisionTree;

/// How emission went.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct EmitStats {
    /// Blocks straight from the tree.
    pub blocks: usize,
    /// Optimizer passes that changed something.
    pub opt_changes: usize,
    /// Veneers inserted for far jumps.
    pub veneers: usize,
}

/// Emits, optimizes, places and validates the program for `tree`.
pub fn emit_from_tree(tree: &DecisionTree) -> Result<(Program, EmitStats), CompileError> {
    let mut code = code::Code::from_tree(tree);
    let blocks = code.blocks().len();
    let opt_changes = optimize(&mut code, PASSES);
    let (insns, veneers) = far::encode(&code)?;
    let program = Program::new(&insns)
        .map_err(|e| CompileError::internal(format!("emitted program is invalid: {e}")))?;
    Ok((
        program,
        EmitStats {
            blocks,
            opt_changes,
            veneers,
        },
    ))
}
