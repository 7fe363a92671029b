//! Jump threading: skip blocks that only pass control on, or whose test is
//! already decided on the edge that reaches them.

use crate::emit::code::{Acc, Block, Code, Exit, Label, Op};
use crate::tree::Cmp;

/// What an edge proves about the accumulator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fact {
    /// `lo <= A <= hi`.
    Range(u32, u32),
    /// `A != k`.
    NotEq(u32),
    /// Nothing usable.
    None,
}

impl Fact {
    /// The fact on the `taken` edge of `j<cmp> #k`.
    fn of(cmp: Cmp, k: u32, taken: bool) -> Fact {
        match (cmp, taken) {
            (Cmp::Eq, true) => Fact::Range(k, k),
            (Cmp::Eq, false) => Fact::NotEq(k),
            (Cmp::Gt, true) => k
                .checked_add(1)
                .map_or(Fact::None, |lo| Fact::Range(lo, u32::MAX)),
            (Cmp::Gt, false) => Fact::Range(0, k),
            (Cmp::Ge, true) => Fact::Range(k, u32::MAX),
            (Cmp::Ge, false) => k.checked_sub(1).map_or(Fact::None, |hi| Fact::Range(0, hi)),
            (Cmp::Set, _) => Fact::None,
        }
    }

    /// The outcome of `j<cmp> #k` when this fact decides it.
    fn decides(self, cmp: Cmp, k: u32) -> Option<bool> {
        match self {
            Fact::Range(lo, hi) if lo == hi => Some(cmp.holds(lo, k)),
            Fact::Range(lo, hi) => match cmp {
                Cmp::Eq => (k < lo || k > hi).then_some(false),
                Cmp::Gt if lo > k => Some(true),
                Cmp::Gt if hi <= k => Some(false),
                Cmp::Ge if lo >= k => Some(true),
                Cmp::Ge if hi < k => Some(false),
                _ => None,
            },
            Fact::NotEq(v) => (cmp == Cmp::Eq && k == v).then_some(false),
            Fact::None => None,
        }
    }
}

/// Retargets edges past empty `goto` blocks and past tests their edge
/// decides, turns a `goto` to a bare `ret` into that `ret`, and a branch
/// whose edges meet into a `goto`. Edges only move further forward, and a
/// block is skipped only when the accumulator it would test is the one the
/// edge carries, so entry assumptions stay true.
pub fn thread_jumps(code: &mut Code) -> bool {
    let pos = code.positions();
    let states = code.exit_states();
    let mut changed = false;
    for (i, state) in states.iter().enumerate() {
        let mut exit = code.blocks[i].exit;
        match &mut exit {
            Exit::Ret(_) => {}
            Exit::Goto(t) => {
                let target = &code.blocks[pos[t]];
                match (target.body.is_empty(), target.exit) {
                    (true, Exit::Ret(raw)) => exit = Exit::Ret(raw),
                    _ => *t = skip(code, &pos, *t, *state, Fact::None),
                }
            }
            Exit::Branch {
                cmp,
                k,
                then,
                other,
            } => {
                *then = skip(code, &pos, *then, *state, Fact::of(*cmp, *k, true));
                *other = skip(code, &pos, *other, *state, Fact::of(*cmp, *k, false));
                if then == other {
                    exit = Exit::Goto(*then);
                }
            }
        }
        if exit != code.blocks[i].exit {
            code.blocks[i].exit = exit;
            changed = true;
        }
    }
    changed
}

/// Where an edge carrying accumulator `acc` with `fact` really leads.
fn skip(
    code: &Code,
    pos: &std::collections::HashMap<Label, usize>,
    mut at: Label,
    acc: Option<Acc>,
    fact: Fact,
) -> Label {
    loop {
        let b = &code.blocks[pos[&at]];
        let next = match b.exit {
            Exit::Goto(t) if b.body.is_empty() => Some(t),
            Exit::Branch {
                cmp,
                k,
                then,
                other,
            } if same_accumulator(b, acc) => fact
                .decides(cmp, k)
                .map(|taken| if taken { then } else { other }),
            _ => None,
        };
        match next {
            Some(t) => at = t,
            None => return at,
        }
    }
}

/// Whether the block tests the accumulator the edge already carries.
fn same_accumulator(b: &Block, acc: Option<Acc>) -> bool {
    let Some(acc) = acc else { return false };
    match b.body.as_slice() {
        [] => b.entry.is_none_or(|e| e == acc),
        [Op::Load(o)] => {
            acc == Acc {
                offset: *o,
                mask: None,
            }
        }
        [Op::Load(o), Op::And(m)] => {
            acc == Acc {
                offset: *o,
                mask: Some(*m),
            }
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::opt::testutil::{block, code, ret, test};

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
        assert!(thread_jumps(&mut c));
        assert_eq!(c.blocks[0].exit, Exit::Goto(Label(4)));
        assert!(thread_jumps(&mut c));
        assert_eq!(c.blocks[0].exit, Exit::Ret(9));
        assert!(!thread_jumps(&mut c));
    }

    #[test]
    fn ranges_decide_later_tests_but_not_other_words() {
        let mut c = code(vec![
            block(
                0,
                vec![Op::Load(0)],
                Exit::Branch {
                    cmp: Cmp::Gt,
                    k: 10,
                    then: Label(1),
                    other: Label(2),
                },
            ),
            block(
                1,
                vec![Op::Load(0)],
                Exit::Branch {
                    cmp: Cmp::Ge,
                    k: 5,
                    then: Label(3),
                    other: Label(2),
                },
            ),
            block(
                2,
                vec![Op::Load(16)],
                Exit::Branch {
                    cmp: Cmp::Ge,
                    k: 50,
                    then: Label(3),
                    other: Label(4),
                },
            ),
            ret(3, 1),
            ret(4, 2),
        ]);
        assert!(thread_jumps(&mut c));
        assert_eq!(
            c.blocks[0].exit,
            Exit::Branch {
                cmp: Cmp::Gt,
                k: 10,
                then: Label(3),
                other: Label(2)
            }
        );
        assert!(!thread_jumps(&mut c));
    }
}
