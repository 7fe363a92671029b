//! Jump threading: skip blocks that only pass control on, or whose test is
//! already decided on the edge that reaches them.
//!
//! In: [`Code`]. Out: the same program with edges moved further forward,
//! past what they need not visit, and with the facts of `opt::facts`
//! taken from the edges as they end up.

use super::facts::{Columns, EdgeFacts, Entries, added};
use crate::emit::code::{Acc, Block, Code, Exit, Label, Op, Positions, run_body};

/// Retargets edges past `goto` blocks that leave the accumulator as it came
/// and past tests that the facts of their path decide, turns a `goto` to a
/// `ret` into that `ret`, and a branch whose edges meet into a `goto`.
///
/// A fact is about an input word, not the accumulator, so it survives loads
/// of other words: after `hi == 0` and a test of the low word, a second test
/// of the high word is decided. Edges only move further forward. A skipped
/// block's load is skipped with it, so the new target must not rely on an
/// accumulator the edge does not carry: its entry assumption, if any, must be
/// the edge's accumulator.
///
/// Each sweep goes in layout order: every edge goes forward, so when block
/// `i` is threaded every predecessor already has its final exit, and `i`'s
/// facts and accumulator are those of the edges that still reach it (a
/// block no edge reaches any more is dead and neither threaded nor heard).
/// Another sweep could only find more where an edge stopped at a block (or
/// asked a block whether it accepts the edge's accumulator) whose exit the
/// sweep changed afterwards; then it sweeps again. So one call reaches the
/// fixpoint of calling it again, and [`super::dead::remove_dead`] and
/// [`super::loads::drop_redundant_loads`] give it nothing new: the first
/// drops blocks it already ignores, the second turns a load the edges
/// already carry into an entry assumption, which a hop, a decided test or
/// an accepted edge sees as it saw the load.
pub fn thread_jumps(code: &mut Code) -> bool {
    let mut changed = false;
    loop {
        match sweep(code) {
            Sweep::Same => return changed,
            Sweep::Settled => return true,
            Sweep::Again => changed = true,
        }
    }
}

/// How much of a block's exit an earlier edge's threading read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Watch {
    /// Nothing.
    No,
    /// Its kind: an edge stopped at it, a `ret`, a `goto` it cannot pass or
    /// a test its facts do not decide, which a `goto` may become.
    Kind,
    /// Its targets too: whether a target accepts an edge's accumulator.
    Targets,
}

/// What one sweep did.
enum Sweep {
    /// Nothing changed.
    Same,
    /// Something changed, and another sweep would find nothing.
    Settled,
    /// Something changed where an earlier edge looked.
    Again,
}

/// One sweep of [`thread_jumps`].
fn sweep(code: &mut Code) -> Sweep {
    let pos = code.positions();
    let cols = Columns::of(code);
    let mut entries = Entries::new(code.blocks().len(), cols.width);
    let mut watched = vec![Watch::No; code.blocks().len()];
    let (mut changed, mut again) = (false, false);
    for i in 0..code.blocks().len() {
        if !entries.reached(i) {
            continue;
        }
        let b = &code.blocks()[i];
        let state = run_body(b.entry.or(entries.acc(i)), &b.body);
        let facts = EdgeFacts {
            cols: &cols,
            row: entries.row(i),
            added: None,
        };
        let exit = threaded(code, &pos, facts, state, b.exit, &mut watched);
        let before = code.blocks()[i].exit;
        if exit != before {
            code.block_mut(i).exit = exit;
            changed = true;
            again |= match watched[i] {
                Watch::No => false,
                Watch::Kind => std::mem::discriminant(&exit) != std::mem::discriminant(&before),
                Watch::Targets => true,
            };
        }
        match exit {
            Exit::Ret(_) => {}
            Exit::Goto(t) => entries.arrive(i, pos[&t], state, None),
            Exit::Branch {
                cmp,
                k,
                then,
                other,
            } => {
                let on = |taken| added(&cols, state, cmp, k, taken);
                entries.arrive(i, pos[&then], state, on(true));
                entries.arrive(i, pos[&other], state, on(false));
            }
        }
    }
    match (changed, again) {
        (false, _) => Sweep::Same,
        (true, false) => Sweep::Settled,
        (true, true) => Sweep::Again,
    }
}

/// `exit` threaded, for a block whose entry `facts` hold and which exits
/// with accumulator `state`. Marks in `watched` the blocks whose exits the
/// answer depends on.
fn threaded(
    code: &Code,
    pos: &Positions,
    facts: EdgeFacts,
    state: Option<Acc>,
    mut exit: Exit,
    watched: &mut [Watch],
) -> Exit {
    let goto = |t: Label| match code.blocks()[pos[&t]].exit {
        // A `ret` returns its constant, whatever its body loads.
        Exit::Ret(raw) => Exit::Ret(raw),
        _ => Exit::Goto(t),
    };
    match &mut exit {
        Exit::Ret(_) => exit,
        Exit::Goto(t) => goto(skip(code, pos, *t, state, &facts, watched)),
        Exit::Branch {
            cmp,
            k,
            then,
            other,
        } => {
            let cols = facts.cols;
            let mut on = |t: Label, taken| {
                let facts = EdgeFacts {
                    added: added(cols, state, *cmp, *k, taken),
                    ..facts
                };
                skip(code, pos, t, state, &facts, watched)
            };
            *then = on(*then, true);
            *other = on(*other, false);
            if then == other { goto(*then) } else { exit }
        }
    }
}

/// Where an edge carrying accumulator `acc` with `facts` really leads; the
/// block it stops at is marked in `watched`.
fn skip(
    code: &Code,
    pos: &Positions,
    mut at: Label,
    acc: Option<Acc>,
    facts: &EdgeFacts,
    watched: &mut [Watch],
) -> Label {
    loop {
        let b = &code.blocks()[pos[&at]];
        let next = match b.exit {
            Exit::Goto(t) if passes_on(b, acc) => Some(t),
            Exit::Branch {
                cmp,
                k,
                then,
                other,
            } => match tested_word(b, acc).and_then(|o| facts.get(o).decides(cmp, k)) {
                Some(taken) => {
                    let t = if taken { then } else { other };
                    let ok = accepts(code, pos, t, acc, watched);
                    if !ok {
                        watched[pos[&at]] = Watch::Targets;
                    }
                    ok.then_some(t)
                }
                None => None,
            },
            _ => None,
        };
        match next {
            Some(t) => at = t,
            None => {
                let w = &mut watched[pos[&at]];
                *w = (*w).max(Watch::Kind);
                return at;
            }
        }
    }
}

/// Whether block `b` leaves the accumulator `acc` it is entered with as it
/// was: it has no body, or its body only loads what `acc` already is.
fn passes_on(b: &Block, acc: Option<Acc>) -> bool {
    b.body.is_empty() || (acc.is_some() && run_body(acc, &b.body) == acc)
}

/// Whether block `at` (and any empty `goto` chain from it) is correct when
/// entered with accumulator `acc`: it loads first, returns, or its entry
/// assumption is exactly `acc`. Marks in `watched` the `goto` blocks it
/// reads through.
fn accepts(
    code: &Code,
    pos: &Positions,
    at: Label,
    acc: Option<Acc>,
    watched: &mut [Watch],
) -> bool {
    let i = pos[&at];
    let b = &code.blocks()[i];
    match (b.body.first(), b.entry, b.exit) {
        (Some(Op::Load(_)), _, _) => true,
        (_, Some(e), _) => Some(e) == acc,
        (None, None, Exit::Ret(_)) => true,
        (None, None, Exit::Goto(t)) => {
            watched[i] = Watch::Targets;
            accepts(code, pos, t, acc, watched)
        }
        _ => false,
    }
}

/// The unmasked word a block tests, when it tests one.
fn tested_word(b: &Block, acc: Option<Acc>) -> Option<u32> {
    let word = match b.body.as_slice() {
        [] => b.entry.or(acc)?,
        [Op::Load(o)] => Acc {
            offset: *o,
            mask: None,
        },
        _ => return None,
    };
    if b.body.is_empty() && b.entry.is_some() && b.entry != acc {
        return None;
    }
    word.mask.is_none().then_some(word.offset)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::opt::testutil::{block, code, compare, ret, test};
    use crate::tree::Cmp;

    #[test]
    fn decided_tests_and_gotos_are_skipped() {
        // 0: ld [0]; jeq 5 -> 1 else 3.  1: ld [0]; jeq 5 -> 2 else 4 (decided: true).
        let mut c = code(vec![
            test(0, 0, 5, 1, 3),
            test(1, 0, 5, 2, 4),
            block(2, vec![], Exit::Goto(Label(4))),
            block(3, vec![], Exit::Goto(Label(4))),
            ret(4, 9),
        ]);
        // Both edges of 0 end at `ret 9`: the branch becomes that `ret`.
        assert!(thread_jumps(&mut c));
        assert_eq!(c.blocks()[0].exit, Exit::Ret(9));
        assert!(!thread_jumps(&mut c));
    }

    #[test]
    fn facts_come_from_the_edges_the_sweep_left() {
        // 0: A >= 100 ? 1 : 2.  1: A == 150 ? 5 : 3.  2: A == 5 ? 5 : 3.
        // 3: A == 50 ? 5 : 4.  4: A == 120 ? 5 : 6.
        // Block 1's edge skips 3 (A >= 100 decides A == 50), so only block
        // 2's edge reaches 3, where A < 100 decides block 4's test: one
        // call finds both.
        let mut c = code(vec![
            compare(0, 0, (Cmp::Ge, 100), 1, 2),
            test(1, 0, 150, 5, 3),
            test(2, 0, 5, 5, 3),
            test(3, 0, 50, 5, 4),
            test(4, 0, 120, 5, 6),
            ret(5, 1),
            ret(6, 2),
        ]);
        assert!(thread_jumps(&mut c));
        assert_eq!(c.blocks()[1].exit, test(1, 0, 150, 5, 4).exit);
        assert_eq!(c.blocks()[3].exit, test(3, 0, 50, 5, 6).exit);
        assert!(!thread_jumps(&mut c));
    }

    #[test]
    fn a_goto_that_reloads_what_the_edge_carries_is_passed() {
        // 1 loads word 0 again and goes on: the edge from 0 carries it.
        let mut c = code(vec![
            test(0, 0, 5, 1, 3),
            block(1, vec![Op::Load(0)], Exit::Goto(Label(2))),
            test(2, 16, 7, 3, 4),
            ret(3, 1),
            ret(4, 2),
        ]);
        assert!(thread_jumps(&mut c));
        assert_eq!(c.blocks()[0].exit, test(0, 0, 5, 2, 3).exit);
        // From an edge carrying another word, the reload matters.
        let mut c = code(vec![
            test(0, 4, 5, 1, 3),
            block(1, vec![Op::Load(0)], Exit::Goto(Label(2))),
            block(2, vec![], test(2, 0, 7, 3, 4).exit),
            ret(3, 1),
            ret(4, 2),
        ]);
        assert!(!thread_jumps(&mut c));
    }

    #[test]
    fn a_block_an_edge_stopped_at_that_becomes_a_goto_is_passed_in_the_same_call() {
        // 2's edges meet once 3 is passed: 2 becomes `ld [16]; goto 6`,
        // which the edge from 1 (carrying word 16) then passes.
        let mut c = code(vec![
            test(0, 0, 1, 1, 2),
            test(1, 16, 9, 5, 2),
            test(2, 16, 3, 3, 6),
            block(3, vec![], Exit::Goto(Label(6))),
            test(6, 24, 0, 4, 5),
            ret(4, 1),
            ret(5, 2),
        ]);
        assert!(thread_jumps(&mut c));
        assert_eq!(c.blocks()[2].exit, Exit::Goto(Label(6)));
        assert_eq!(c.blocks()[1].exit, test(1, 16, 9, 5, 6).exit);
        assert_eq!(c.blocks()[0].exit, test(0, 0, 1, 1, 2).exit);
        assert!(!thread_jumps(&mut c));
    }

    #[test]
    fn ranges_decide_later_tests_but_not_other_words() {
        let mut c = code(vec![
            compare(0, 0, (Cmp::Gt, 10), 1, 2),
            compare(1, 0, (Cmp::Ge, 5), 3, 2),
            compare(2, 16, (Cmp::Ge, 50), 3, 4),
            ret(3, 1),
            ret(4, 2),
        ]);
        assert!(thread_jumps(&mut c));
        assert_eq!(c.blocks()[0].exit, compare(0, 0, (Cmp::Gt, 10), 3, 2).exit);
        assert!(!thread_jumps(&mut c));
    }

    #[test]
    fn word_facts_survive_loads_of_other_words() {
        // 0: hi == 0 ? 1 : 3.  1: lo == 7 ? 4 : 2.  2: hi > 0 ? 4 : 5 (decided: false).
        let mut c = code(vec![
            test(0, 20, 0, 1, 3),
            test(1, 16, 7, 4, 2),
            compare(2, 20, (Cmp::Gt, 0), 4, 5),
            compare(3, 20, (Cmp::Gt, 0), 4, 5),
            ret(4, 1),
            ret(5, 2),
        ]);
        assert!(thread_jumps(&mut c));
        assert_eq!(c.blocks()[1].exit, compare(0, 0, (Cmp::Eq, 7), 4, 5).exit);
        // From 0's false edge, hi != 0 decides `hi > 0` as well.
        assert_eq!(c.blocks()[0].exit, compare(0, 0, (Cmp::Eq, 0), 1, 4).exit);
    }
}
