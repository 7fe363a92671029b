//! Before a chain is added, libseccomp walks the existing tree against it:
//! existing branches that the new, shorter chain covers with the same
//! action are removed, and a new chain that an existing shorter branch
//! already covers is flagged as redundant (libseccomp's `src/db.c`; docs/profiles.md).

use super::{
    MATCH, MATCH_ONCE, MATCH_SET, N_FINISHED, N_PREFIX, NodeId, Slot, Tree, Walk, X_FINISHED,
    X_PREFIX, same,
};
use crate::ir::Action;

/// What the level walk does after a node that differs from the new one.
enum After {
    Stop,
    NextNode,
}

impl Tree {
    /// Prunes the tree against the chain at `new`. Returns the number of
    /// nodes removed and the walk's flags (see [`super::REDUNDANT`]).
    pub(in crate::merge) fn prune(&mut self, new: NodeId, action: Action) -> (u32, u32) {
        let mut walk = Walk { flags: 0, action };
        let count = self.prune_level(self.root, Some(new), &mut walk);
        (count, walk.flags)
    }

    fn has_edge(&self, id: NodeId, on_true: bool) -> bool {
        let (leaf, next) = self.edge(id, on_true);
        leaf.is_some() || next.is_some()
    }

    fn next_of(&self, id: NodeId, on_true: bool) -> Option<NodeId> {
        self.edge(id, on_true).1
    }

    /// Recurses with `walk`'s flags adjusted, keeping a reference on `x`
    /// meanwhile; returns the nodes removed, where `x` now is, and whether
    /// the walk below matched (its flags are then merged into `into`).
    fn descend(
        &mut self,
        x: NodeId,
        existing: Option<NodeId>,
        new: Option<NodeId>,
        mut walk: Walk,
        into: &mut Walk,
    ) -> (u32, Option<NodeId>, bool) {
        self.get(Some(x));
        let mut count = self.prune_level(existing, new, &mut walk);
        let (c, x) = self.put(Some(x));
        count += c;
        let matched = walk.flags & MATCH != 0;
        if matched {
            into.flags |= walk.flags;
        }
        (count, x, matched)
    }

    fn prune_level(
        &mut self,
        existing: Option<NodeId>,
        new: Option<NodeId>,
        state: &mut Walk,
    ) -> u32 {
        let mut count = 0;
        let mut out = *state;
        'done: {
            let (Some(first), Some(n)) = (existing, new) else {
                break 'done;
            };
            if state.flags & MATCH_SET == MATCH_ONCE {
                break 'done;
            }
            let mut cur = Some(self.head(first));
            while let Some(start) = cur {
                if !self.tick() {
                    break 'done;
                }
                let after = self.node(start).lvl_nxt;
                let mut x = start;
                'node: {
                    if same(self.node(x), self.node(n)) {
                        out.flags |= MATCH_SET;
                        if self.leaf(n) {
                            out.flags |= N_FINISHED;
                        }
                        if self.leaf(x) {
                            out.flags |= X_FINISHED;
                        }
                        for edge in [true, false] {
                            if self.has_edge(x, edge) && !self.has_edge(n, edge) {
                                break 'done;
                            }
                        }
                        let finished = N_FINISHED | X_FINISHED;
                        if out.flags & finished == finished {
                            let act =
                                |t: &Tree, id: NodeId, e: bool| t.edge(id, e).0.map(|l| l.action);
                            if act(self, n, true) != act(self, x, true)
                                || act(self, n, false) != act(self, x, false)
                            {
                                break 'done;
                            }
                        }
                        for edge in [true, false] {
                            let Some(sub) = self.next_of(n, edge) else {
                                continue;
                            };
                            let mut walk = *state;
                            walk.flags |= MATCH_SET;
                            let below = self.next_of(x, edge);
                            let (c, nx, _) = self.descend(x, below, Some(sub), walk, &mut out);
                            count += c;
                            match nx {
                                Some(v) => x = v,
                                None => break 'node,
                            }
                        }
                        let covered = self.other_action(Some(x), state.action).is_none();
                        let f = out.flags;
                        if covered && f & MATCH != 0 && f & N_FINISHED != 0 && f & X_PREFIX != 0 {
                            count += self.remove(Slot::Root, x);
                            if self.root.is_none() {
                                break 'done;
                            }
                        } else if covered
                            && f & MATCH != 0
                            && f & X_FINISHED != 0
                            && f & N_PREFIX != 0
                        {
                            break 'done;
                        }
                    } else {
                        let existing_side = super::less(self.node(x), self.node(n));
                        match self.descend_one_side(x, n, state, &mut out, existing_side) {
                            (c, After::Stop) => {
                                count += c;
                                break 'done;
                            }
                            (c, After::NextNode) => count += c,
                        }
                    }
                }
                cur = after;
            }
            out.flags &= !MATCH;
        }
        if out.flags & MATCH != 0 {
            state.flags |= out.flags;
        } else {
            state.flags &= !MATCH;
        }
        count
    }

    /// The nodes differ: walk on down one side only — the existing
    /// tree's subtrees when `x` sorts after the new node, else the new
    /// chain's — unless the walk is already a prefix walk of the other
    /// side. Returns the nodes removed and whether the level walk stops.
    fn descend_one_side(
        &mut self,
        mut x: NodeId,
        n: NodeId,
        state: &Walk,
        out: &mut Walk,
        existing_side: bool,
    ) -> (u32, After) {
        let (bail, mark) = if existing_side {
            (N_PREFIX, X_PREFIX)
        } else {
            (X_PREFIX, N_PREFIX)
        };
        if state.flags & bail != 0 {
            return (0, After::Stop);
        }
        let mut count = 0;
        for edge in [true, false] {
            let side = if existing_side { x } else { n };
            let Some(next) = self.next_of(side, edge) else {
                continue;
            };
            let mut walk = *state;
            walk.flags = (walk.flags & !MATCH) | mark;
            let (existing, new) = if existing_side {
                (Some(next), Some(n))
            } else {
                (Some(x), Some(next))
            };
            let (c, nx, hit) = self.descend(x, existing, new, walk, out);
            count += c;
            if hit {
                return (count, After::Stop);
            }
            match nx {
                Some(v) => x = v,
                None => break,
            }
        }
        (count, After::NextNode)
    }

    /// Removes `node` (and what hangs below it) from the tree `slot`
    /// points into, together with nodes left without any action.
    fn remove(&mut self, slot: Slot, node: NodeId) -> u32 {
        let Some(start) = self.slot(slot) else {
            return 0;
        };
        let mut c = self.head(start);
        let mut count = 0;
        loop {
            if !self.tick() {
                return count;
            }
            if c == node {
                return count + self.unlink(slot, c);
            }
            count += self.remove(Slot::True(c), node);
            count += self.remove(Slot::False(c), node);
            if self.zombie(c) {
                return count + self.unlink(slot, c);
            }
            match self.node(c).lvl_nxt {
                Some(next) if count == 0 => c = next,
                _ => return count,
            }
        }
    }

    fn unlink(&mut self, slot: Slot, c: NodeId) -> u32 {
        let (p, q) = (self.node(c).lvl_prv, self.node(c).lvl_nxt);
        if self.slot(slot) == Some(c) {
            self.set(slot, p.or(q));
        }
        if let Some(p) = p {
            self.n(p).lvl_nxt = q;
        }
        if let Some(q) = q {
            self.n(q).lvl_prv = p;
        }
        self.n(c).lvl_prv = None;
        self.n(c).lvl_nxt = None;
        self.put(Some(c)).0
    }
}
