//! libseccomp's per-syscall rule database at the level of 32-bit words.
//!
//! Each rule becomes a small graph of word comparisons (a "chain"), which
//! is merged into the syscall's tree node by node (libseccomp's `src/db.c`;
//! `_db_tree_add`). The merge is reproduced here operation for operation on
//! an arena — levels as doubly linked sibling lists, reference counts,
//! subtree pruning — because its outcome depends on those details: a
//! chain node reached by two edges (the next argument after `!=`, `<`,
//! `>`) is linked into two levels and splices them, a node freed by a
//! reference drop unlinks itself from a level another branch still reaches,
//! and a branch that already ends in an action silently absorbs a longer
//! chain. What the tree then means is read by [`super::paths`].
//!
//! The model follows libseccomp 2.6.1 where it differs from 2.5.4 (the
//! GHSA-4q85-33p6-j5g6 fix: a shared `<`/`<=` high-word node's false
//! action comes from the smaller 64-bit datum).

use std::cell::{Cell, RefCell};

use crate::ir::{Action, CmpOp};

/// A node's place in the arena.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) struct NodeId(u32);

impl NodeId {
    fn at(self) -> usize {
        self.0 as usize
    }
}

/// The 32-bit comparison a node emits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum WordOp {
    Eq,
    Gt,
    Ge,
    Masked,
}

/// An action hung on a node edge, with the rule that put it there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Leaf {
    pub action: Action,
    pub rule: usize,
}

/// One word comparison.
#[derive(Clone, Debug)]
pub(super) struct Node {
    pub arg: u8,
    pub hi: bool,
    pub op: WordOp,
    op_orig: CmpOp,
    pub mask: u32,
    pub datum: u32,
    datum_full: u64,
    pub act_t: Option<Leaf>,
    pub act_f: Option<Leaf>,
    pub nxt_t: Option<NodeId>,
    pub nxt_f: Option<NodeId>,
    pub lvl_prv: Option<NodeId>,
    pub lvl_nxt: Option<NodeId>,
    refs: u32,
    freed: bool,
}

/// A pointer that the merge may rewrite.
#[derive(Clone, Copy, Debug)]
enum Slot {
    Root,
    True(NodeId),
    False(NodeId),
}

/// Why libseccomp refuses a rule (`-EEXIST`): a branch would need two
/// actions; the existing one, when known.
#[derive(Debug)]
pub(super) struct Exists(pub Option<Leaf>);

/// The tree of one syscall on one arch.
#[derive(Debug, Default)]
pub(super) struct Tree {
    nodes: Vec<Node>,
    pub root: Option<NodeId>,
    /// Existing actions where the last chain added was cut short: its
    /// remaining comparisons were dropped there.
    pub absorbed: Vec<Leaf>,
    /// Steps taken since the last [`Tree::refuel`] (see [`WORK_LIMIT`]).
    work: Cell<u32>,
    /// Scratch marks of the walks after each rule ([`work::Marks`]).
    marks: RefCell<work::Marks>,
    /// Merge as libseccomp before 2.6.1 does (GHSA-4q85-33p6-j5g6).
    pub ghsa: bool,
    /// Whether a merge took the branch where those releases differ.
    pub ghsa_site: bool,
}

/// Flags of the prune walk (whether the new chain matched, finished, or
/// is a prefix of the existing tree, and the reverse).
const MATCH: u32 = 0x1;
const MATCH_ONCE: u32 = 0x2;
const X_FINISHED: u32 = 0x10;
const N_FINISHED: u32 = 0x20;
const X_PREFIX: u32 = 0x100;
const N_PREFIX: u32 = 0x200;
const MATCH_SET: u32 = MATCH | MATCH_ONCE;
/// The existing tree is shorter: the new chain is redundant.
pub(super) const REDUNDANT: u32 = MATCH | X_FINISHED | N_PREFIX;

/// The prune walk's state.
#[derive(Clone, Copy)]
struct Walk {
    flags: u32,
    action: Action,
}

impl Tree {
    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id.at()]
    }

    fn n(&mut self, id: NodeId) -> &mut Node {
        &mut self.nodes[id.at()]
    }

    fn get(&mut self, id: Option<NodeId>) -> Option<NodeId> {
        if let Some(i) = id {
            self.n(i).refs += 1;
        }
        id
    }

    fn slot(&self, s: Slot) -> Option<NodeId> {
        match s {
            Slot::Root => self.root,
            Slot::True(i) => self.node(i).nxt_t,
            Slot::False(i) => self.node(i).nxt_f,
        }
    }

    fn set(&mut self, s: Slot, v: Option<NodeId>) {
        match s {
            Slot::Root => self.root = v,
            Slot::True(i) => self.n(i).nxt_t = v,
            Slot::False(i) => self.n(i).nxt_f = v,
        }
    }

    /// The first node of the level `id` is on, as the code generator finds it.
    pub fn head(&self, mut id: NodeId) -> NodeId {
        let mut steps = 0;
        while let Some(p) = self.node(id).lvl_prv {
            id = p;
            steps += 1;
            if steps > self.nodes.len() || !self.tick() {
                break;
            }
        }
        id
    }

    fn alloc(&mut self, node: Node) -> NodeId {
        let id = NodeId(u32::try_from(self.nodes.len()).unwrap_or(u32::MAX));
        self.nodes.push(node);
        id
    }

    fn leaf(&self, id: NodeId) -> bool {
        let n = self.node(id);
        n.nxt_t.is_none() && n.nxt_f.is_none()
    }

    fn zombie(&self, id: NodeId) -> bool {
        let n = self.node(id);
        self.leaf(id) && n.act_t.is_none() && n.act_f.is_none()
    }

    /// Drops one reference; a node left without any is freed, unlinked
    /// from its level and its subtrees released. Returns the number of
    /// nodes freed and where the caller's pointer now points.
    fn put(&mut self, id: Option<NodeId>) -> (u32, Option<NodeId>) {
        let Some(i) = id else { return (0, None) };
        if !self.tick() {
            return (0, None);
        }
        self.n(i).refs = self.node(i).refs.saturating_sub(1);
        if self.node(i).refs > 0 {
            return (0, id);
        }
        let (mut p, mut q) = (self.node(i).lvl_prv, self.node(i).lvl_nxt);
        let (t, f) = (self.node(i).nxt_t, self.node(i).nxt_f);
        if let Some(p) = p {
            self.n(p).lvl_nxt = None;
        }
        if let Some(q) = q {
            self.n(q).lvl_prv = None;
        }
        let mut count = 0;
        if p.is_some() {
            let (c, np) = self.put(p);
            count += c;
            p = np;
        }
        if q.is_some() {
            let (c, nq) = self.put(q);
            count += c;
            q = nq;
        }
        if let Some(p) = p {
            let g = self.get(q);
            self.n(p).lvl_nxt = g;
        }
        if let Some(q) = q {
            let g = self.get(p);
            self.n(q).lvl_prv = g;
        }
        count += self.put_tree(t) + self.put_tree(f) + 1;
        self.n(i).freed = true;
        (count, p.or(q))
    }

    /// Drops a reference to a subtree and frees its level if nothing
    /// outside the level still points into it.
    fn put_tree(&mut self, id: Option<NodeId>) -> u32 {
        let (mut count, rest) = self.put(id);
        if let Some(r) = rest {
            count += self.clean_level(r);
        }
        count
    }

    fn clean_level(&mut self, id: NodeId) -> u32 {
        let start = self.head(id);
        let mut n = Some(start);
        while let Some(i) = n {
            if !self.tick() {
                return 0;
            }
            let node = self.node(i);
            let links = u32::from(node.lvl_prv.is_some()) + u32::from(node.lvl_nxt.is_some());
            if node.refs > links {
                return 0;
            }
            n = node.lvl_nxt;
        }
        let (mut count, mut n) = (0, Some(start));
        while n.is_some() && self.tick() {
            let (c, next) = self.put(n);
            count += c;
            n = next;
        }
        count
    }

    /// The first action in the levels below `id` that is not `action`.
    fn other_action(&self, id: Option<NodeId>, action: Action) -> Option<Leaf> {
        let mut n = Some(self.head(id?));
        while let Some(c) = n {
            if !self.tick() {
                return None;
            }
            let node = self.node(c);
            let other = |l: Option<Leaf>| l.filter(|l| l.action != action);
            let found = other(node.act_t)
                .or_else(|| other(node.act_f))
                .or_else(|| self.other_action(node.nxt_t, action))
                .or_else(|| self.other_action(node.nxt_f, action));
            if found.is_some() {
                return found;
            }
            n = node.lvl_nxt;
        }
        None
    }

    /// Drops the new chain's own reference once it has been merged.
    pub(super) fn release(&mut self, chain: NodeId) {
        self.put_tree(Some(chain));
    }

    /// Where libseccomp's code generator compares a stale accumulator:
    /// a node that tests the same word as its previous sibling emits no
    /// load, but when that sibling's subtree matches nothing, control
    /// arrives with the subtree's last word loaded instead
    /// (libseccomp's `src/gen_bpf.c`). Returns, per such node, an action of the
    /// sibling's subtree and one the node leads to.
    pub fn stale_reads(&self) -> Vec<(Leaf, Leaf)> {
        let mut out = Vec::new();
        let mut seen = vec![false; self.nodes.len()];
        let mut heads: Vec<NodeId> = self.root.into_iter().collect();
        while let Some(h) = heads.pop() {
            let h = self.head(h);
            if std::mem::replace(&mut seen[h.at()], true) {
                continue;
            }
            let mut prev: Option<NodeId> = None;
            let mut cur = Some(h);
            let mut steps = 0;
            while let Some(id) = cur {
                steps += 1;
                if steps > self.nodes.len() {
                    break;
                }
                let n = self.node(id);
                heads.extend(n.nxt_t.into_iter().chain(n.nxt_f));
                if let Some(p) = prev.map(|p| self.node(p))
                    && (p.nxt_t.is_some() || p.nxt_f.is_some())
                    && arg_rank(p) == arg_rank(n)
                    && n.mask & p.mask == n.mask
                    && let (Some(a), Some(b)) = (
                        self.first_leaf(p.nxt_t.or(p.nxt_f)),
                        self.first_leaf(Some(id)),
                    )
                {
                    out.push((a, b));
                }
                prev = Some(id);
                cur = n.lvl_nxt;
            }
        }
        out
    }

    /// The first action reachable from a node's level, depth first.
    fn first_leaf(&self, id: Option<NodeId>) -> Option<Leaf> {
        let n = self.node(id?);
        if !self.tick() {
            return None;
        }
        n.act_t
            .or(n.act_f)
            .or_else(|| self.first_leaf(n.nxt_t))
            .or_else(|| self.first_leaf(n.nxt_f))
    }

    /// Every action leaf reachable from the root.
    pub fn leaves(&self) -> Vec<Leaf> {
        let mut out = Vec::new();
        let mut stack: Vec<NodeId> = self.root.into_iter().collect();
        let mut seen = vec![false; self.nodes.len()];
        while let Some(i) = stack.pop() {
            if std::mem::replace(&mut seen[i.at()], true) {
                continue;
            }
            let n = self.node(i);
            out.extend(n.act_t.into_iter().chain(n.act_f));
            stack.extend(
                [n.nxt_t, n.nxt_f, n.lvl_prv, n.lvl_nxt]
                    .into_iter()
                    .flatten(),
            );
        }
        out
    }
}

/// Sibling priority of the argument word: higher arguments first, the
/// high word before the low word.
fn arg_rank(n: &Node) -> u32 {
    (u32::from(n.arg) << 1) + u32::from(n.hi)
}

fn op_rank(op: CmpOp) -> u32 {
    match op {
        CmpOp::MaskedEq | CmpOp::MaskedAny | CmpOp::Eq | CmpOp::Ne => 3,
        CmpOp::Le | CmpOp::Lt => 2,
        CmpOp::Ge | CmpOp::Gt => 1,
    }
}

/// Whether `a` sorts after `b` on a level (is tested later).
fn less(a: &Node, b: &Node) -> bool {
    let (x, y) = (arg_rank(a), arg_rank(b));
    if x != y {
        return x < y;
    }
    let (x, y) = (op_rank(a.op_orig), op_rank(b.op_orig));
    if x != y {
        return x < y;
    }
    match a.op_orig {
        CmpOp::Le | CmpOp::Lt => a.datum > b.datum,
        _ => a.datum < b.datum,
    }
}

/// Whether two nodes are the same comparison (libseccomp merges them).
fn same(a: &Node, b: &Node) -> bool {
    arg_rank(a) == arg_rank(b) && a.op == b.op && a.datum == b.datum && a.mask == b.mask
}

mod build;
mod prune;
mod work;

pub(crate) use work::PROFILE_WORK_LIMIT;
pub(super) use work::WORK_LIMIT;
