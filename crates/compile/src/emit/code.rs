//! Labelled code: the program as blocks, before jump offsets exist.
//!
//! In: a [`DecisionTree`] ([`Code::from_tree`]). Out: [`Code`], blocks in
//! layout order, each with a typed [`Label`], straight-line body ([`Op`]:
//! loads and `and`) and one [`Exit`] (return, goto, or a two-way branch).
//!
//! Invariants, kept by [`Code::from_tree`] and by every optimizer pass:
//!
//! 1. Every exit names labels of blocks placed **after** it (cBPF jumps only
//!    go forward), and every label names exactly one block.
//! 2. The first block is the entry.
//! 3. A block with `entry: Some(acc)` relies on the accumulator holding `acc`
//!    when it starts; every block that reaches it ends with exactly that
//!    accumulator (see [`Code::exit_states`]).
//!
//! Nothing here limits jump distances; [`crate::emit::far`] does that in
//! the shared label buffer, so veneers never appear as blocks.

use std::ops::Index;

use crate::tree::{Cmp, DecisionTree, Node, NodeId};

/// A typed jump target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Label(pub(crate) u32);

/// A straight-line instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    /// `ld [offset]`.
    Load(u32),
    /// `and #mask`.
    And(u32),
}

/// A block's loads and `and`s, held inline: a block from the tree loads one
/// word and may mask it, so a body never needs more than [`Body::MAX`] ops,
/// and a vector per block was an allocation per block.
#[derive(Clone, Copy)]
pub struct Body {
    ops: [Op; Body::MAX],
    len: u8,
}

impl Body {
    /// The most ops a body holds.
    pub const MAX: usize = 2;

    /// No ops.
    pub const EMPTY: Body = Body {
        ops: [Op::Load(0); Body::MAX],
        len: 0,
    };

    /// `ld [offset]`, then `and #mask` when there is one.
    pub fn load(offset: u32, mask: Option<u32>) -> Body {
        let mut body = Body::EMPTY;
        body.ops[0] = Op::Load(offset);
        body.len = 1;
        if let Some(m) = mask {
            body.ops[1] = Op::And(m);
            body.len = 2;
        }
        body
    }

    /// The body of `ops`; `None` when there are more than [`Body::MAX`].
    pub fn of(ops: &[Op]) -> Option<Body> {
        let mut body = Body::EMPTY;
        body.ops.get_mut(..ops.len())?.copy_from_slice(ops);
        body.len = ops.len() as u8;
        Some(body)
    }

    /// The ops in order.
    pub fn as_slice(&self) -> &[Op] {
        &self.ops[..usize::from(self.len)]
    }

    /// Drops the first `n` ops (all of them when there are fewer).
    pub fn drop_front(&mut self, n: usize) {
        let rest = Body::of(self.as_slice().get(n..).unwrap_or(&[]));
        *self = rest.unwrap_or(Body::EMPTY);
    }
}

impl std::ops::Deref for Body {
    type Target = [Op];
    fn deref(&self) -> &[Op] {
        self.as_slice()
    }
}

impl PartialEq for Body {
    fn eq(&self, other: &Body) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for Body {}

impl std::hash::Hash for Body {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_slice().hash(state);
    }
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.as_slice().fmt(f)
    }
}

/// How control leaves a block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Exit {
    /// `ret #raw`.
    Ret(u32),
    /// Go to a block: nothing when it is the next one, else `ja`.
    Goto(Label),
    /// `j<cmp> #k, then, other`.
    Branch {
        /// The comparison.
        cmp: Cmp,
        /// Its constant.
        k: u32,
        /// Target when it holds.
        then: Label,
        /// Target when it does not.
        other: Label,
    },
}

impl Exit {
    /// The labels this exit may go to.
    pub fn targets(&self) -> impl Iterator<Item = Label> {
        let (a, b) = match *self {
            Exit::Ret(_) => (None, None),
            Exit::Goto(l) => (Some(l), None),
            Exit::Branch { then, other, .. } => (Some(then), Some(other)),
        };
        a.into_iter().chain(b)
    }

    /// Replaces every target with `f(target)`.
    pub fn map_targets(&mut self, mut f: impl FnMut(Label) -> Label) {
        match self {
            Exit::Ret(_) => {}
            Exit::Goto(l) => *l = f(*l),
            Exit::Branch { then, other, .. } => {
                *then = f(*then);
                *other = f(*other);
            }
        }
    }
}

/// What the accumulator holds: the word at `offset`, possibly masked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Acc {
    /// Byte offset of the loaded word.
    pub offset: u32,
    /// The `and` applied since, if any.
    pub mask: Option<u32>,
}

/// One block.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Block {
    /// Its label.
    pub label: Label,
    /// What the accumulator must hold on entry when the body does not load.
    pub entry: Option<Acc>,
    /// Loads and `and`s.
    pub body: Body,
    /// How it ends.
    pub exit: Exit,
}

/// The whole program as blocks in layout order.
///
/// The block list is private: passes read it as a slice and change blocks in
/// place or drop blocks ([`Code::retain_blocks`]); [`Code::check`] says whether the invariants in
/// the module documentation hold, and the optimizer runs it after every pass
/// in debug builds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Code {
    blocks: Vec<Block>,
    next_label: u32,
}

impl Code {
    /// A program from blocks (the first is the entry). The caller keeps the
    /// invariants in the module documentation.
    pub fn new(blocks: Vec<Block>) -> Code {
        let next_label = blocks.iter().map(|b| b.label.0 + 1).max().unwrap_or(0);
        Code { blocks, next_label }
    }

    /// Every label of the program is below this one.
    pub fn label_bound(&self) -> usize {
        self.next_label as usize
    }

    /// One block per reachable node, in reverse post-order (every block
    /// before its successors), the false edge of each test placed right after
    /// it when nothing else must come first.
    pub fn from_tree(tree: &DecisionTree) -> Code {
        let order = reverse_post_order(tree);
        let blocks = order.iter().map(|&id| block_for(tree, id)).collect();
        Code::new(blocks)
    }

    /// The blocks in layout order; the first is the entry.
    pub fn blocks(&self) -> &[Block] {
        &self.blocks
    }

    /// The blocks, to change in place (labels must stay unique).
    pub fn blocks_mut(&mut self) -> &mut [Block] {
        &mut self.blocks
    }

    /// Block `i`, to change in place.
    pub fn block_mut(&mut self, i: usize) -> &mut Block {
        &mut self.blocks[i]
    }

    /// Keeps the blocks for which `keep` says yes, in order.
    pub fn retain_blocks(&mut self, keep: impl FnMut(&Block) -> bool) {
        self.blocks.retain(keep);
    }

    /// Checks the invariants of the module documentation: labels unique,
    /// every exit naming a label placed after its block, and every entry
    /// assumption met by every predecessor. The message names the block.
    pub fn check(&self) -> Result<(), String> {
        let pos = self.positions();
        if pos.distinct != self.blocks.len() {
            return Err("two blocks share a label".into());
        }
        for (i, b) in self.blocks.iter().enumerate() {
            for t in b.exit.targets() {
                match pos.get(t) {
                    Some(j) if j > i => {}
                    Some(_) => {
                        return Err(format!("block {i} ({:?}) jumps back to {t:?}", b.label));
                    }
                    None => return Err(format!("block {i} ({:?}) names no block: {t:?}", b.label)),
                }
            }
        }
        self.check_entries()
    }

    /// Invariant 3: a block assuming an accumulator gets it from every
    /// predecessor, and the entry block assumes nothing.
    fn check_entries(&self) -> Result<(), String> {
        if self.blocks.first().is_some_and(|b| b.entry.is_some()) {
            return Err("the entry block assumes an accumulator".into());
        }
        let states = self.exit_states();
        let preds = self.predecessors();
        for (i, b) in self.blocks.iter().enumerate() {
            let Some(want) = b.entry else { continue };
            if let Some(&p) = preds[i].iter().find(|&&p| states[p] != Some(want)) {
                return Err(format!(
                    "block {i} ({:?}) assumes {want:?} but block {p} ends with {:?}",
                    b.label, states[p]
                ));
            }
        }
        Ok(())
    }

    /// A label no block uses yet.
    pub fn fresh_label(&mut self) -> Label {
        let l = Label(self.next_label);
        self.next_label += 1;
        l
    }

    /// Block index of every label.
    pub fn positions(&self) -> Positions {
        Positions::of(&self.blocks)
    }

    /// Number of blocks that jump to each block index.
    pub fn predecessors(&self) -> Vec<Vec<usize>> {
        let pos = self.positions();
        let mut preds = vec![Vec::new(); self.blocks.len()];
        for (i, b) in self.blocks.iter().enumerate() {
            for t in b.exit.targets() {
                if let Some(j) = pos.get(t) {
                    preds[j].push(i);
                }
            }
        }
        preds
    }

    /// The accumulator at the end of each block (`None`: unknown), computed
    /// forward in layout order (all edges go forward).
    pub fn exit_states(&self) -> Vec<Option<Acc>> {
        let mut out = Vec::with_capacity(self.blocks.len());
        self.forward_states(|i, entry| {
            let b = &self.blocks[i];
            let after = run_body(b.entry.or(entry), &b.body);
            out.push(after);
            after
        });
        out
    }

    /// Walks the blocks in layout order, calling `visit(i, entry)` with the
    /// accumulator every predecessor of block `i` agrees on (the meet of
    /// their exits: `None` for the entry block or when they disagree) and
    /// taking the accumulator block `i` exits with. Edges go forward, so
    /// every predecessor has been visited first; no predecessor lists are
    /// built.
    pub fn forward_states(&self, mut visit: impl FnMut(usize, Option<Acc>) -> Option<Acc>) {
        let pos = self.positions();
        // Per block: no predecessor seen yet, or the meet so far.
        let mut incoming: Vec<Option<Option<Acc>>> = vec![None; self.blocks.len()];
        for i in 0..self.blocks.len() {
            let entry = incoming[i].flatten();
            let exit = visit(i, entry);
            for t in self.blocks[i].exit.targets() {
                let Some(j) = pos.get(t) else { continue };
                incoming[j] = Some(match incoming[j] {
                    None => exit,
                    Some(seen) if seen == exit => exit,
                    Some(_) => None,
                });
            }
        }
    }
}

/// Block index by label, as a dense table (labels are small numbers).
#[derive(Clone, Debug)]
pub struct Positions {
    at: Vec<usize>,
    distinct: usize,
}

impl Positions {
    fn of(blocks: &[Block]) -> Positions {
        let len = blocks.iter().map(|b| b.label.0 as usize + 1).max();
        let mut at = vec![usize::MAX; len.unwrap_or(0)];
        let mut distinct = 0;
        for (i, b) in blocks.iter().enumerate() {
            let slot = &mut at[b.label.0 as usize];
            distinct += usize::from(*slot == usize::MAX);
            *slot = i;
        }
        Positions { at, distinct }
    }

    /// The index of the block labelled `l`, if any.
    pub fn get(&self, l: Label) -> Option<usize> {
        self.at
            .get(l.0 as usize)
            .copied()
            .filter(|&i| i != usize::MAX)
    }
}

impl Index<&Label> for Positions {
    type Output = usize;

    /// The index of the block labelled `l` (which must exist).
    fn index(&self, l: &Label) -> &usize {
        &self.at[l.0 as usize]
    }
}

/// The accumulator after `body` when it held `entry` before.
pub(crate) fn run_body(entry: Option<Acc>, body: &[Op]) -> Option<Acc> {
    body.iter().fold(entry, |acc, op| match *op {
        Op::Load(offset) => Some(Acc { offset, mask: None }),
        Op::And(m) => acc.map(|a| Acc {
            offset: a.offset,
            mask: Some(a.mask.unwrap_or(u32::MAX) & m),
        }),
    })
}

fn label_of(id: NodeId) -> Label {
    Label(id.index() as u32)
}

fn block_for(tree: &DecisionTree, id: NodeId) -> Block {
    let (body, exit) = match *tree.node(id) {
        Node::Ret(raw) => (Body::EMPTY, Exit::Ret(raw)),
        Node::Branch { test, then, other } => (
            Body::load(test.offset, test.mask),
            Exit::Branch {
                cmp: test.cmp,
                k: test.k,
                then: label_of(then),
                other: label_of(other),
            },
        ),
    };
    Block {
        label: label_of(id),
        entry: None,
        body,
        exit,
    }
}

/// Reverse post-order of the DAG from the root, visiting the `then` child
/// before the `other` child, so that `other` tends to follow its parent.
fn reverse_post_order(tree: &DecisionTree) -> Vec<NodeId> {
    let mut seen = vec![false; tree.nodes().len()];
    let mut post = Vec::with_capacity(tree.nodes().len());
    let mut stack: Vec<(NodeId, bool)> = Vec::with_capacity(2 * tree.nodes().len() + 1);
    stack.push((tree.root(), false));
    while let Some((id, done)) = stack.pop() {
        if done {
            post.push(id);
            continue;
        }
        if seen[id.index()] {
            continue;
        }
        seen[id.index()] = true;
        stack.push((id, true));
        if let Node::Branch { then, other, .. } = *tree.node(id) {
            // Popped in reverse: `then` is finished first.
            stack.push((other, false));
            stack.push((then, false));
        }
    }
    post.reverse();
    post
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::opt::testutil::{block, code, ret, test};

    #[test]
    fn check_names_the_broken_invariant() {
        let ok = code(vec![test(0, 0, 1, 1, 2), ret(1, 1), ret(2, 2)]);
        assert_eq!(ok.check(), Ok(()));
        let back = code(vec![ret(1, 1), test(0, 0, 1, 1, 2), ret(2, 2)]);
        assert!(back.check().unwrap_err().contains("jumps back"));
        let missing = code(vec![test(0, 0, 1, 1, 9), ret(1, 1)]);
        assert!(missing.check().unwrap_err().contains("names no block"));
        let mut assumes = code(vec![
            test(0, 0, 1, 1, 2),
            block(1, vec![], Exit::Goto(Label(2))),
            ret(2, 2),
        ]);
        assumes.block_mut(2).entry = Some(Acc {
            offset: 4,
            mask: None,
        });
        assert!(assumes.check().unwrap_err().contains("assumes"));
    }
}
