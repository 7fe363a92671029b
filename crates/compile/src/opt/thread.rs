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

/// The words some branch tests unmasked, each with its column in a row of
/// facts: every other word has no fact anywhere, so a row holds only these
/// (a few words: the arch, the number, some arguments).
#[derive(Clone, Copy, Debug)]
struct Columns {
    of: [Option<u8>; WORDS],
    width: usize,
}

impl Columns {
    fn of(code: &Code, states: &[Option<Acc>]) -> Columns {
        let mut cols = Columns {
            of: [None; WORDS],
            width: 0,
        };
        for (b, state) in code.blocks().iter().zip(states) {
            if let (Exit::Branch { .. }, Some(Acc { offset, mask: None })) = (b.exit, state)
                && let Some(i) = slot(*offset)
                && cols.of[i].is_none()
            {
                cols.of[i] = Some(cols.width as u8);
                cols.width += 1;
            }
        }
        cols
    }

    /// The column of the word at `offset`, if it has one.
    fn column(&self, offset: u32) -> Option<usize> {
        slot(offset).and_then(|i| self.of[i]).map(usize::from)
    }
}

/// The slot of the word at `offset`, if it is one (4-aligned, inside).
fn slot(offset: u32) -> Option<usize> {
    let i = (offset / 4) as usize;
    (offset.is_multiple_of(4) && i < WORDS).then_some(i)
}

/// The facts on one edge: the row of its block (what holds on every path
/// to the block, one fact per column) and what the edge's own test adds.
#[derive(Clone, Copy, Debug)]
struct EdgeFacts<'a> {
    cols: &'a Columns,
    row: &'a [Fact],
    added: Option<(usize, Fact)>,
}

impl EdgeFacts<'_> {
    /// The fact in column `c`.
    fn at(&self, c: usize) -> Fact {
        match self.added {
            Some((a, f)) if a == c => self.row[c].and(f),
            _ => self.row[c],
        }
    }

    /// What holds for the word at `offset`.
    fn get(&self, offset: u32) -> Fact {
        self.cols.column(offset).map_or(Fact::None, |c| self.at(c))
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
///
/// One sweep in layout order: every edge goes forward, so when block `i` is
/// threaded every predecessor already has its final exit, and `i`'s facts
/// are those of the edges that still reach it (a block no edge reaches any
/// more is dead and neither threaded nor heard). Facts taken from the exits
/// as they were would keep the facts of edges this sweep moved away, and
/// need another call to see the difference.
pub fn thread_jumps(code: &mut Code) -> bool {
    let pos = code.positions();
    let states = code.exit_states();
    let cols = Columns::of(code, &states);
    let mut facts = Rows::new(code.blocks().len(), cols.width);
    let mut changed = false;
    for (i, state) in states.iter().enumerate() {
        if !facts.reached[i] {
            continue;
        }
        let exit = threaded(
            code,
            &pos,
            &cols,
            facts.row(i),
            *state,
            code.blocks()[i].exit,
        );
        if exit != code.blocks()[i].exit {
            code.block_mut(i).exit = exit;
            changed = true;
        }
        match exit {
            Exit::Ret(_) => {}
            Exit::Goto(t) => facts.arrive(i, pos[&t], None),
            Exit::Branch {
                cmp,
                k,
                then,
                other,
            } => {
                facts.arrive(i, pos[&then], added(&cols, *state, cmp, k, true));
                facts.arrive(i, pos[&other], added(&cols, *state, cmp, k, false));
            }
        }
    }
    changed
}

/// `exit` threaded, for a block whose entry facts are `row` and which exits
/// with accumulator `state`.
fn threaded(
    code: &Code,
    pos: &Positions,
    cols: &Columns,
    row: &[Fact],
    state: Option<Acc>,
    mut exit: Exit,
) -> Exit {
    let edge = |added| EdgeFacts { cols, row, added };
    match &mut exit {
        Exit::Ret(_) => {}
        Exit::Goto(t) => {
            let target = &code.blocks()[pos[t]];
            match (target.body.is_empty(), target.exit) {
                (true, Exit::Ret(raw)) => return Exit::Ret(raw),
                _ => *t = skip(code, pos, *t, state, &edge(None)),
            }
        }
        Exit::Branch {
            cmp,
            k,
            then,
            other,
        } => {
            let on = |taken| edge(added(cols, state, *cmp, *k, taken));
            *then = skip(code, pos, *then, state, &on(true));
            *other = skip(code, pos, *other, state, &on(false));
            if then == other {
                return Exit::Goto(*then);
            }
        }
    }
    exit
}

/// The facts at the start of every block, a row of `width` per block, and
/// which blocks an edge reaches (the entry block is reached).
struct Rows {
    facts: Vec<Fact>,
    reached: Vec<bool>,
    width: usize,
}

impl Rows {
    fn new(blocks: usize, width: usize) -> Rows {
        let mut reached = vec![false; blocks];
        if let Some(entry) = reached.first_mut() {
            *entry = true;
        }
        Rows {
            facts: vec![Fact::None; blocks * width],
            reached,
            width,
        }
    }

    /// Block `i`'s row, complete once every block before it has arrived.
    fn row(&self, i: usize) -> &[Fact] {
        &self.facts[i * self.width..(i + 1) * self.width]
    }

    /// An edge from block `i` reaches block `j > i`: `j`'s facts become
    /// what holds on this edge or on the ones before it.
    fn arrive(&mut self, i: usize, j: usize, added: Option<(usize, Fact)>) {
        let w = self.width;
        // Every edge goes forward: split so block i's row is read while
        // block j's is written.
        let (done, later) = self.facts.split_at_mut(j * w);
        let row = &done[i * w..(i + 1) * w];
        let dst = &mut later[..w];
        let old = added.map(|(c, _)| dst[c]);
        if self.reached[j] {
            for (d, r) in dst.iter_mut().zip(row) {
                *d = d.or(*r);
            }
        } else {
            dst.copy_from_slice(row);
        }
        if let Some((c, f)) = added {
            let on_edge = row[c].and(f);
            dst[c] = match (self.reached[j], old) {
                (true, Some(before)) => before.or(on_edge),
                _ => on_edge,
            };
        }
        self.reached[j] = true;
    }
}

/// What one edge of `j<cmp> #k` adds, from a block whose accumulator is
/// `acc`: a fact in the tested word's column.
fn added(cols: &Columns, acc: Option<Acc>, cmp: Cmp, k: u32, taken: bool) -> Option<(usize, Fact)> {
    match acc {
        Some(Acc { offset, mask: None }) => {
            cols.column(offset).map(|c| (c, Fact::of(cmp, k, taken)))
        }
        _ => None,
    }
}

/// Where an edge carrying accumulator `acc` with `facts` really leads.
fn skip(code: &Code, pos: &Positions, mut at: Label, acc: Option<Acc>, facts: &EdgeFacts) -> Label {
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
    fn facts_come_from_the_edges_the_sweep_left() {
        // 0: A >= 100 ? 1 : 2.  1: A == 150 ? 5 : 3.  2: A == 5 ? 5 : 3.
        // 3: A == 50 ? 5 : 4.  4: A == 120 ? 5 : 6.
        // Block 1's edge skips 3 (A >= 100 decides A == 50), so only block
        // 2's edge reaches 3, where A < 100 decides block 4's test: one
        // call finds both.
        let mut c = code(vec![
            block(
                0,
                vec![Op::Load(0)],
                Exit::Branch {
                    cmp: Cmp::Ge,
                    k: 100,
                    then: Label(1),
                    other: Label(2),
                },
            ),
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
