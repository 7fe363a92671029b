//! Jump threading: skip blocks that only pass control on, or whose test is
//! already decided on the edge that reaches them.

use crate::emit::code::{Acc, Block, Code, Exit, Label, Op, Positions};
use crate::tree::Cmp;
use sysfence_abi::data::SECCOMP_DATA_SIZE;

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
            Fact::NotEq(v) => match cmp {
                Cmp::Eq if k == v => Some(false),
                Cmp::Gt if v == 0 && k == 0 => Some(true),
                Cmp::Ge if v == 0 && k == 1 => Some(true),
                _ => None,
            },
            Fact::None => None,
        }
    }

    /// Both facts hold: the tighter one (or the intersection of ranges).
    fn and(self, other: Fact) -> Fact {
        match (self, other) {
            (Fact::Range(a, b), Fact::Range(c, d)) if a.max(c) <= b.min(d) => {
                Fact::Range(a.max(c), b.min(d))
            }
            (Fact::Range(..), _) => self,
            (_, Fact::None) => self,
            _ => other,
        }
    }

    /// One of the facts holds: what both imply.
    fn or(self, other: Fact) -> Fact {
        match (self, other) {
            (Fact::Range(a, b), Fact::Range(c, d)) => Fact::Range(a.min(c), b.max(d)),
            (Fact::NotEq(v), Fact::NotEq(w)) if v == w => self,
            _ => Fact::None,
        }
    }
}

/// The 32-bit words of `seccomp_data`.
const WORDS: usize = SECCOMP_DATA_SIZE as usize / 4;

/// Facts about the words of `seccomp_data` that hold on every path to a
/// point, one per word (by offset). A value, not a list: an edge copies
/// its block's facts, and a copy allocates nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Facts([Fact; WORDS]);

impl Facts {
    const NONE: Facts = Facts([Fact::None; WORDS]);

    /// The slot of the word at `offset`, if it is one (4-aligned, inside).
    fn slot(offset: u32) -> Option<usize> {
        let i = (offset / 4) as usize;
        (offset.is_multiple_of(4) && i < WORDS).then_some(i)
    }

    /// What holds for the word at `offset`.
    fn get(&self, offset: u32) -> Fact {
        Facts::slot(offset).map_or(Fact::None, |i| self.0[i])
    }
}

/// Retargets edges past empty `goto` blocks and past tests that the facts
/// of their path decide, turns a `goto` to a bare `ret` into that `ret`, and
/// a branch whose edges meet into a `goto`.
///
/// A fact is about an input word, not the accumulator, so it survives loads
/// of other words: after `hi == 0` and a test of the low word, a second test
/// of the high word is decided. Edges only move further forward. A skipped
/// block's load is skipped with it, so the new target must not rely on an
/// accumulator the edge does not carry: its entry assumption, if any, must be
/// the edge's accumulator.
pub fn thread_jumps(code: &mut Code) -> bool {
    let pos = code.positions();
    let states = code.exit_states();
    let facts = entry_facts(code, &pos, &states);
    let mut changed = false;
    for (i, state) in states.iter().enumerate() {
        let mut exit = code.blocks()[i].exit;
        match &mut exit {
            Exit::Ret(_) => {}
            Exit::Goto(t) => {
                let target = &code.blocks()[pos[t]];
                match (target.body.is_empty(), target.exit) {
                    (true, Exit::Ret(raw)) => exit = Exit::Ret(raw),
                    _ => *t = skip(code, &pos, *t, *state, &facts[i]),
                }
            }
            Exit::Branch {
                cmp,
                k,
                then,
                other,
            } => {
                let on = |taken| edge_facts(&facts[i], *state, *cmp, *k, taken);
                *then = skip(code, &pos, *then, *state, &on(true));
                *other = skip(code, &pos, *other, *state, &on(false));
                if then == other {
                    exit = Exit::Goto(*then);
                }
            }
        }
        if exit != code.blocks()[i].exit {
            code.block_mut(i).exit = exit;
            changed = true;
        }
    }
    changed
}

/// The facts at the start of every block (edges go forward, so one pass in
/// layout order sees every predecessor first).
fn entry_facts(code: &Code, pos: &Positions, states: &[Option<Acc>]) -> Vec<Facts> {
    let mut facts: Vec<Option<Facts>> = vec![None; code.blocks().len()];
    facts[0] = Some(Facts::NONE);
    for (i, b) in code.blocks().iter().enumerate() {
        // Every edge goes forward: split so block i's facts are read while
        // later blocks' are written, without a copy.
        let (done, later) = facts.split_at_mut(i + 1);
        let here = *done[i].get_or_insert(Facts::NONE);
        let mut arrive = |t: Label, f: Facts| {
            let slot = &mut later[pos[&t] - i - 1];
            *slot = Some(match slot.take() {
                None => f,
                Some(old) => meet(&old, &f),
            });
        };
        match b.exit {
            Exit::Ret(_) => {}
            Exit::Goto(t) => arrive(t, here),
            Exit::Branch {
                cmp,
                k,
                then,
                other,
            } => {
                arrive(then, edge_facts(&here, states[i], cmp, k, true));
                arrive(other, edge_facts(&here, states[i], cmp, k, false));
            }
        }
    }
    facts
        .into_iter()
        .map(|f| f.unwrap_or(Facts::NONE))
        .collect()
}

/// The facts on one edge of `j<cmp> #k` taken from a block with `facts`
/// whose accumulator is `acc`.
fn edge_facts(facts: &Facts, acc: Option<Acc>, cmp: Cmp, k: u32, taken: bool) -> Facts {
    let mut out = *facts;
    if let Some(Acc { offset, mask: None }) = acc
        && let Some(i) = Facts::slot(offset)
    {
        out.0[i] = out.0[i].and(Fact::of(cmp, k, taken));
    }
    out
}

/// What holds on both of two sets of paths.
fn meet(a: &Facts, b: &Facts) -> Facts {
    Facts(std::array::from_fn(|i| a.0[i].or(b.0[i])))
}

/// Where an edge carrying accumulator `acc` with `facts` really leads.
fn skip(code: &Code, pos: &Positions, mut at: Label, acc: Option<Acc>, facts: &Facts) -> Label {
    loop {
        let b = &code.blocks()[pos[&at]];
        let next = match b.exit {
            Exit::Goto(t) if b.body.is_empty() => Some(t),
            Exit::Branch {
                cmp,
                k,
                then,
                other,
            } => tested_word(b, acc)
                .and_then(|o| facts.get(o).decides(cmp, k))
                .map(|taken| if taken { then } else { other })
                .filter(|t| accepts(code, pos, *t, acc)),
            _ => None,
        };
        match next {
            Some(t) => at = t,
            None => return at,
        }
    }
}

/// Whether block `at` (and any empty `goto` chain from it) is correct when
/// entered with accumulator `acc`: it loads first, returns, or its entry
/// assumption is exactly `acc`.
fn accepts(code: &Code, pos: &Positions, at: Label, acc: Option<Acc>) -> bool {
    let b = &code.blocks()[pos[&at]];
    match (b.body.first(), b.entry, b.exit) {
        (Some(Op::Load(_)), _, _) => true,
        (_, Some(e), _) => Some(e) == acc,
        (None, None, Exit::Ret(_)) => true,
        (None, None, Exit::Goto(t)) => accepts(code, pos, t, acc),
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
        assert_eq!(c.blocks()[0].exit, Exit::Goto(Label(4)));
        assert!(thread_jumps(&mut c));
        assert_eq!(c.blocks()[0].exit, Exit::Ret(9));
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
            c.blocks()[0].exit,
            Exit::Branch {
                cmp: Cmp::Gt,
                k: 10,
                then: Label(3),
                other: Label(2)
            }
        );
        assert!(!thread_jumps(&mut c));
    }

    #[test]
    fn word_facts_survive_loads_of_other_words() {
        // 0: hi == 0 ? 1 : 3.  1: lo == 7 ? 4 : 2.  2: hi > 0 ? 4 : 5 (decided: false).
        let mut c = code(vec![
            test(0, 20, 0, 1, 3),
            test(1, 16, 7, 4, 2),
            block(
                2,
                vec![Op::Load(20)],
                Exit::Branch {
                    cmp: Cmp::Gt,
                    k: 0,
                    then: Label(4),
                    other: Label(5),
                },
            ),
            block(
                3,
                vec![Op::Load(20)],
                Exit::Branch {
                    cmp: Cmp::Gt,
                    k: 0,
                    then: Label(4),
                    other: Label(5),
                },
            ),
            ret(4, 1),
            ret(5, 2),
        ]);
        assert!(thread_jumps(&mut c));
        assert_eq!(
            c.blocks()[1].exit,
            Exit::Branch {
                cmp: Cmp::Eq,
                k: 7,
                then: Label(4),
                other: Label(5)
            }
        );
        // From 0's false edge, hi != 0 decides `hi > 0` as well.
        assert_eq!(
            c.blocks()[0].exit,
            Exit::Branch {
                cmp: Cmp::Eq,
                k: 0,
                then: Label(1),
                other: Label(4)
            }
        );
    }
}
