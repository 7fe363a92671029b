//! The optimizer: an ordered list of small passes over [`Code`], run to a
//! fixpoint.
//!
//! In: labelled [`Code`] straight from the decision tree. Out: the same
//! program, decided the same way, with fewer or cheaper instructions. Each
//! pass is a `fn(&mut Code) -> bool` that says whether it changed anything;
//! [`optimize`] runs the list in rounds, skipping a pass that found nothing
//! to do on the code as it still is, and stops when no pass is left to run
//! (restarting from the top after every change cost up to one round per
//! change). Every pass keeps the invariants written in
//! [`crate::emit::code`]; in debug builds [`optimize`] checks them
//! ([`Code::check`]) after every pass that changed something.
//!
//! Order of [`PASSES`] and why:
//!
//! 1. [`thread::thread_jumps`] first: it removes hops and decided tests,
//!    which makes blocks dead and tails identical.
//! 2. [`dead::remove_dead`] drops what threading left unreachable, so that
//!    the next passes see only live predecessors.
//! 3. [`tails::merge_tails`] shares identical blocks (after threading, two
//!    tails can become equal), cascades included (blocks equal once their
//!    successors are shared), and removes the copies it leaves, so that a
//!    merge costs no further round of every pass.
//! 4. [`loads::drop_redundant_loads`] last: it turns loads into entry
//!    assumptions (`Block::entry`), which the earlier passes respect but which
//!    make fewer blocks look identical, so it should see the final shape.
//!
//! The passes never reorder blocks and never add any, so distances only
//! shrink; far jumps are handled after, by [`crate::emit::far`].

pub mod dead;
pub mod loads;
pub mod tails;
pub mod thread;

use crate::emit::code::Code;

/// One optimizer pass: changes `code` in place and says whether it did.
pub type Pass = fn(&mut Code) -> bool;

/// The passes in order, with names for reports and tests.
pub const PASSES: &[(&str, Pass)] = &[
    ("thread_jumps", thread::thread_jumps),
    ("remove_dead", dead::remove_dead),
    ("merge_tails", tails::merge_tails),
    ("drop_redundant_loads", loads::drop_redundant_loads),
];

/// Upper bound on rounds; every pass strictly shrinks the program or the
/// number of edges when it reports a change, so this is never reached on
/// well-formed code.
const MAX_ROUNDS: usize = 10_000;

/// Runs `passes` to a fixpoint; returns how many passes reported a change.
///
/// A pass that found nothing to do is not run again until another pass has
/// changed the code: a pass reads only the code, so on the same code it
/// would find nothing again. The fixpoint is the one a full round of every
/// pass would reach, with fewer runs.
pub fn optimize(code: &mut Code, passes: &[(&str, Pass)]) -> usize {
    let mut changes = 0;
    // The change count at which each pass last found nothing to do.
    let mut idle_at: Vec<Option<usize>> = vec![None; passes.len()];
    for _ in 0..MAX_ROUNDS {
        let mut ran = false;
        for ((name, pass), idle) in passes.iter().zip(&mut idle_at) {
            if *idle == Some(changes) {
                continue;
            }
            ran = true;
            if !pass(code) {
                *idle = Some(changes);
                continue;
            }
            if cfg!(debug_assertions)
                && let Err(e) = code.check()
            {
                panic!("optimizer pass {name} broke the code invariants: {e}");
            }
            changes += 1;
        }
        if !ran {
            break;
        }
    }
    changes
}

#[cfg(test)]
pub(crate) mod testutil {
    //! Small hand-made programs for the pass tests.
    use crate::emit::code::{Block, Code, Exit, Label, Op};
    use crate::tree::Cmp;

    /// A block with a label, body and exit.
    pub(crate) fn block(label: u32, body: Vec<Op>, exit: Exit) -> Block {
        Block {
            label: Label(label),
            entry: None,
            body,
            exit,
        }
    }

    /// `ld [off]; jeq #k, then, other`.
    pub(crate) fn test(label: u32, off: u32, k: u32, then: u32, other: u32) -> Block {
        block(
            label,
            vec![Op::Load(off)],
            Exit::Branch {
                cmp: Cmp::Eq,
                k,
                then: Label(then),
                other: Label(other),
            },
        )
    }

    /// `ret #raw`.
    pub(crate) fn ret(label: u32, raw: u32) -> Block {
        block(label, vec![], Exit::Ret(raw))
    }

    /// Code from blocks.
    pub(crate) fn code(blocks: Vec<Block>) -> Code {
        Code::new(blocks)
    }
}
