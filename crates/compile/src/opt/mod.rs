//! The optimizer: an ordered list of small passes over [`Code`], run to a
//! fixpoint.
//!
//! In: labelled [`Code`] straight from the decision tree. Out: the same
//! program, decided the same way, with fewer or cheaper instructions. Each
//! [`Pass`] is a `fn(&mut Code) -> bool` that says whether it changed
//! anything, and reaches its own fixpoint (run again at once, it finds
//! nothing). [`optimize`] runs the list in rounds, running a pass again
//! only after another pass changed the code, and not even then when the
//! pass is deaf to that one ([`Pass::deaf_to`]: its changes never give it
//! anything to do, as each pass's documentation argues and a property test
//! holds on random policies). It stops when no pass is left to run. Every
//! pass keeps the invariants written in [`crate::emit::code`]; in debug
//! builds [`optimize`] checks them ([`Code::check`]) after every pass that
//! changed something.
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
mod facts;
pub mod loads;
pub mod tails;
pub mod thread;

use crate::emit::code::Code;

/// One optimizer pass: changes `code` in place and says whether it did. A
/// pass reaches its own fixpoint: run again at once, it finds nothing.
#[derive(Clone, Copy, Debug)]
pub struct Pass {
    /// Its name, for reports and tests.
    pub name: &'static str,
    /// The pass.
    pub run: fn(&mut Code) -> bool,
    /// The passes whose changes never give this one anything to do (each
    /// pass's documentation says why).
    pub deaf_to: &'static [&'static str],
}

/// The passes in order.
pub const PASSES: &[Pass] = &[
    Pass {
        name: "thread_jumps",
        run: thread::thread_jumps,
        deaf_to: &["remove_dead", "drop_redundant_loads"],
    },
    Pass {
        name: "remove_dead",
        run: dead::remove_dead,
        deaf_to: &["merge_tails", "drop_redundant_loads"],
    },
    Pass {
        name: "merge_tails",
        run: tails::merge_tails,
        deaf_to: &["remove_dead"],
    },
    Pass {
        name: "drop_redundant_loads",
        run: loads::drop_redundant_loads,
        deaf_to: &[],
    },
];

/// Upper bound on rounds; every pass strictly shrinks the program or the
/// number of edges when it reports a change, so this is never reached on
/// well-formed code.
const MAX_ROUNDS: usize = 10_000;

/// Runs `passes` to a fixpoint; returns how many passes reported a change.
///
/// A pass is run again only after another pass, not deaf to it, changed
/// the code: a pass reaches its own fixpoint, so on code only it or the
/// passes it is deaf to have changed it would find nothing. The fixpoint is
/// the one a full round of every pass would reach, with fewer runs.
pub fn optimize(code: &mut Code, passes: &[Pass]) -> usize {
    let mut changes = 0;
    let mut idle = vec![false; passes.len()];
    for _ in 0..MAX_ROUNDS {
        let mut ran = false;
        for (p, pass) in passes.iter().enumerate() {
            if idle[p] {
                continue;
            }
            ran = true;
            idle[p] = true;
            if !(pass.run)(code) {
                continue;
            }
            if cfg!(debug_assertions)
                && let Err(e) = code.check()
            {
                panic!(
                    "optimizer pass {} broke the code invariants: {e}",
                    pass.name
                );
            }
            changes += 1;
            for (q, other) in passes.iter().enumerate() {
                idle[q] &= q == p || other.deaf_to.contains(&pass.name);
            }
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
    use crate::emit::code::{Block, Body, Code, Exit, Label, Op};
    use crate::tree::Cmp;

    /// A block with a label, body and exit.
    pub(crate) fn block(label: u32, body: Vec<Op>, exit: Exit) -> Block {
        Block {
            label: Label(label),
            entry: None,
            body: Body::of(&body).expect("a test body of at most two ops"),
            exit,
        }
    }

    /// `ld [off]; jeq #k, then, other`.
    pub(crate) fn test(label: u32, off: u32, k: u32, then: u32, other: u32) -> Block {
        compare(label, off, (Cmp::Eq, k), then, other)
    }

    /// `ld [off]; j<cmp> #k, then, other`.
    pub(crate) fn compare(
        label: u32,
        off: u32,
        (cmp, k): (Cmp, u32),
        then: u32,
        other: u32,
    ) -> Block {
        block(
            label,
            vec![Op::Load(off)],
            Exit::Branch {
                cmp,
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
