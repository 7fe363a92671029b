//! What jump threading knows on an edge: a fact per input word some test
//! reads, and the accumulator every predecessor of a block agrees on.
//!
//! In: the blocks, visited in layout order by [`crate::opt::thread`]. Out:
//! per block, the facts and the accumulator on entry, from the edges that
//! reach it as they are when it is visited.

use crate::emit::code::{Acc, Code, Op};
use crate::tree::Cmp;
use sysfence_abi::data::SECCOMP_DATA_SIZE;

/// What an edge proves about the accumulator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Fact {
    /// `lo <= A <= hi`.
    Range(u32, u32),
    /// `A != k`.
    NotEq(u32),
    /// Nothing usable.
    None,
}

impl Fact {
    /// The fact on the `taken` edge of `j<cmp> #k`.
    pub(super) fn of(cmp: Cmp, k: u32, taken: bool) -> Fact {
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
    pub(super) fn decides(self, cmp: Cmp, k: u32) -> Option<bool> {
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

/// The words a block can leave unmasked in the accumulator (its body ends
/// with `ld`, or it has no body and assumes such a word), each with its
/// column in a row of facts. Only these can be tested unmasked, whatever
/// the edges are (an accumulator taken from predecessors is one of theirs),
/// so no other word has a fact anywhere, and a row holds only these (a few
/// words: the arch, the number, some arguments).
#[derive(Clone, Copy, Debug)]
pub(super) struct Columns {
    of: [Option<u8>; WORDS],
    /// How many words have a column.
    pub(super) width: usize,
}

impl Columns {
    pub(super) fn of(code: &Code) -> Columns {
        let mut cols = Columns {
            of: [None; WORDS],
            width: 0,
        };
        for b in code.blocks() {
            let word = match (b.body.last(), b.entry) {
                (Some(Op::Load(o)), _) => Some(*o),
                (None, Some(Acc { offset, mask: None })) => Some(offset),
                _ => None,
            };
            if let Some(i) = word.and_then(slot)
                && cols.of[i].is_none()
            {
                cols.of[i] = Some(cols.width as u8);
                cols.width += 1;
            }
        }
        cols
    }

    /// The column of the word at `offset`, if it has one.
    pub(super) fn column(&self, offset: u32) -> Option<usize> {
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
pub(super) struct EdgeFacts<'a> {
    pub(super) cols: &'a Columns,
    pub(super) row: &'a [Fact],
    pub(super) added: Option<(usize, Fact)>,
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
    pub(super) fn get(&self, offset: u32) -> Fact {
        self.cols.column(offset).map_or(Fact::None, |c| self.at(c))
    }
}

/// What one edge of `j<cmp> #k` adds, from a block whose accumulator is
/// `acc`: a fact in the tested word's column.
pub(super) fn added(
    cols: &Columns,
    acc: Option<Acc>,
    cmp: Cmp,
    k: u32,
    taken: bool,
) -> Option<(usize, Fact)> {
    match acc {
        Some(Acc { offset, mask: None }) => {
            cols.column(offset).map(|c| (c, Fact::of(cmp, k, taken)))
        }
        _ => None,
    }
}

/// Per block, from the edges that have reached it so far: the facts on
/// entry (a row of `width`) and the accumulator every such edge carries.
/// The entry block is reached, knowing nothing.
pub(super) struct Entries {
    facts: Vec<Fact>,
    /// `None`: no edge yet; `Some(acc)`: the accumulator the edges agree on
    /// (`Some(None)` when they disagree or carry an unknown one).
    acc: Vec<Option<Option<Acc>>>,
    width: usize,
}

impl Entries {
    pub(super) fn new(blocks: usize, width: usize) -> Entries {
        let mut acc = vec![None; blocks];
        if let Some(entry) = acc.first_mut() {
            *entry = Some(None);
        }
        Entries {
            facts: vec![Fact::None; blocks * width],
            acc,
            width,
        }
    }

    /// Whether an edge reaches block `i` (or it is the entry).
    pub(super) fn reached(&self, i: usize) -> bool {
        self.acc[i].is_some()
    }

    /// The accumulator every edge into block `i` carries, if they agree.
    pub(super) fn acc(&self, i: usize) -> Option<Acc> {
        self.acc[i].flatten()
    }

    /// Block `i`'s row, complete once every block before it has arrived.
    pub(super) fn row(&self, i: usize) -> &[Fact] {
        &self.facts[i * self.width..(i + 1) * self.width]
    }

    /// An edge from block `i`, leaving with accumulator `acc`, reaches block
    /// `j > i`: `j`'s facts become what holds on this edge or on the ones
    /// before it.
    pub(super) fn arrive(
        &mut self,
        i: usize,
        j: usize,
        acc: Option<Acc>,
        added: Option<(usize, Fact)>,
    ) {
        let w = self.width;
        let reached = self.reached(j);
        self.acc[j] = Some(match self.acc[j] {
            Some(seen) if seen != acc => None,
            _ => acc,
        });
        // Every edge goes forward: split so block i's row is read while
        // block j's is written.
        let (done, later) = self.facts.split_at_mut(j * w);
        let row = &done[i * w..(i + 1) * w];
        let dst = &mut later[..w];
        let old = added.map(|(c, _)| dst[c]);
        if reached {
            for (d, r) in dst.iter_mut().zip(row) {
                *d = d.or(*r);
            }
        } else {
            dst.copy_from_slice(row);
        }
        if let Some((c, f)) = added {
            let on_edge = row[c].and(f);
            dst[c] = match (reached, old) {
                (true, Some(before)) => before.or(on_edge),
                _ => on_edge,
            };
        }
    }
}
