//! Turning one rule into a chain of word comparisons, and adding a chain
//! to the tree (libseccomp's `src/db.c`).

use super::{Exists, Leaf, Node, NodeId, Slot, Tree, WordOp, less, same};
use crate::ir::{ArgWidth, CmpOp, Cond};

/// The nodes of one comparison whose edges lead on: to the next
/// comparison, or to the rule's action. `true` means the true edges.
struct Exits {
    nodes: Vec<NodeId>,
    on_true: bool,
}

impl Tree {
    fn word(&mut self, c: &Cond, hi: bool, op: WordOp) -> NodeId {
        let (mask, datum) = if c.op == CmpOp::MaskedEq {
            (c.value, c.value_two)
        } else {
            (u64::MAX, c.value)
        };
        let half = |v: u64| if hi { (v >> 32) as u32 } else { v as u32 };
        let arg = u8::try_from(c.arg.get()).unwrap_or(u8::MAX);
        self.alloc(Node {
            arg,
            hi,
            op,
            op_orig: c.op,
            mask: half(mask),
            datum: half(datum) & half(mask),
            datum_full: datum,
            act_t: None,
            act_f: None,
            nxt_t: None,
            nxt_f: None,
            lvl_prv: None,
            lvl_nxt: None,
            refs: 0,
            freed: false,
        })
    }

    /// The nodes of one 64-bit comparison: its first node and its exits.
    fn cmp64(&mut self, c: &Cond) -> (NodeId, Exits) {
        match c.op {
            CmpOp::Gt | CmpOp::Ge | CmpOp::Lt | CmpOp::Le => {
                let above = self.word(c, true, WordOp::Gt);
                let equal = self.word(c, true, WordOp::Eq);
                let low_op = if matches!(c.op, CmpOp::Gt | CmpOp::Le) {
                    WordOp::Gt
                } else {
                    WordOp::Ge
                };
                let low = self.word(c, false, low_op);
                self.n(above).nxt_f = self.get(Some(equal));
                self.n(equal).nxt_t = self.get(Some(low));
                let exits = if matches!(c.op, CmpOp::Gt | CmpOp::Ge) {
                    Exits {
                        nodes: vec![above, low],
                        on_true: true,
                    }
                } else {
                    Exits {
                        nodes: vec![equal, low],
                        on_true: false,
                    }
                };
                (above, exits)
            }
            CmpOp::Eq | CmpOp::MaskedEq | CmpOp::Ne | CmpOp::MaskedAny => {
                let op = if matches!(c.op, CmpOp::MaskedEq | CmpOp::MaskedAny) {
                    WordOp::Masked
                } else {
                    WordOp::Eq
                };
                let high = self.word(c, true, op);
                let low = self.word(c, false, op);
                self.n(high).nxt_t = self.get(Some(low));
                let exits = if matches!(c.op, CmpOp::Ne | CmpOp::MaskedAny) {
                    Exits {
                        nodes: vec![high, low],
                        on_true: false,
                    }
                } else {
                    Exits {
                        nodes: vec![low],
                        on_true: true,
                    }
                };
                (high, exits)
            }
        }
    }

    /// One 32-bit comparison: NE, LT and LE become EQ, GE and GT with the
    /// rule continuing on the false edge.
    fn cmp32(&mut self, c: &Cond) -> (NodeId, Exits) {
        let (op, on_true) = match c.op {
            CmpOp::Ne => (WordOp::Eq, false),
            CmpOp::Lt => (WordOp::Ge, false),
            CmpOp::Le => (WordOp::Gt, false),
            CmpOp::Eq => (WordOp::Eq, true),
            CmpOp::Ge => (WordOp::Ge, true),
            CmpOp::Gt => (WordOp::Gt, true),
            CmpOp::MaskedEq => (WordOp::Masked, true),
            CmpOp::MaskedAny => (WordOp::Masked, false),
        };
        let node = self.word(c, false, op);
        let exits = Exits {
            nodes: vec![node],
            on_true,
        };
        (node, exits)
    }

    /// Builds the chain of a rule (conditions normalized: ascending
    /// arguments, one each). `None` for a rule without conditions.
    pub(in crate::merge) fn chain(
        &mut self,
        conds: &[Cond],
        leaf: Leaf,
        width: ArgWidth,
    ) -> Option<NodeId> {
        let mut first = None;
        let mut prev: Option<Exits> = None;
        for c in conds {
            let (start, exits) = match width {
                ArgWidth::Bits64 => self.cmp64(c),
                ArgWidth::Bits32 => self.cmp32(c),
            };
            match &prev {
                None => first = self.get(Some(start)),
                Some(p) => {
                    for &e in &p.nodes {
                        let g = self.get(Some(start));
                        if p.on_true {
                            self.n(e).nxt_t = g;
                        } else {
                            self.n(e).nxt_f = g;
                        }
                    }
                }
            }
            prev = Some(exits);
        }
        if let Some(p) = prev {
            for e in p.nodes {
                if p.on_true {
                    self.n(e).act_t = Some(leaf);
                } else {
                    self.n(e).act_f = Some(leaf);
                }
            }
        }
        first
    }

    /// Merges the chain starting at `new` into the level `existing`
    /// points at.
    pub(in crate::merge) fn add(&mut self, new: NodeId) -> Result<(), Exists> {
        self.add_at(Slot::Root, new)
    }

    fn add_at(&mut self, existing: Slot, new: NodeId) -> Result<(), Exists> {
        let Some(mut x) = self.slot(existing) else {
            return Ok(());
        };
        loop {
            if !self.tick() {
                return Ok(());
            }
            if same(self.node(x), self.node(new)) {
                return self.merge_node(x, new);
            }
            if !less(self.node(x), self.node(new)) {
                match self.node(x).lvl_nxt {
                    Some(next) => x = next,
                    None => {
                        self.n(new).lvl_prv = self.get(Some(x));
                        self.n(x).lvl_nxt = self.get(Some(new));
                        return Ok(());
                    }
                }
                continue;
            }
            match self.node(x).lvl_prv {
                Some(p) => {
                    self.n(p).lvl_nxt = self.get(Some(new));
                    self.n(new).lvl_prv = Some(p);
                    self.n(x).lvl_prv = self.get(Some(new));
                    self.n(new).lvl_nxt = Some(x);
                }
                None => {
                    self.n(x).lvl_prv = self.get(Some(new));
                    self.n(new).lvl_nxt = self.get(Some(x));
                }
            }
            if self.slot(existing) == Some(x) {
                let g = self.get(Some(new));
                self.set(existing, g);
                self.put(Some(x));
            }
            return Ok(());
        }
    }

    /// Two equal nodes: merge the new one's actions and subtrees into `x`.
    fn merge_node(&mut self, x: NodeId, n: NodeId) -> Result<(), Exists> {
        for edge in [true, false] {
            let Some(new_leaf) = self.edge(n, edge).0 else {
                continue;
            };
            match self.edge(x, edge).0 {
                None => {
                    let below = self.edge(x, edge).1;
                    if let Some(other) = self.other_action(below, new_leaf.action) {
                        return Err(Exists(Some(other)));
                    }
                    let (_, _) = self.put(below);
                    self.set_edge(x, edge, Some(new_leaf), None);
                }
                Some(old) if old.action != new_leaf.action => {
                    let (xn, nn) = (self.node(x), self.node(n));
                    let wins = nn.hi
                        && if edge {
                            nn.datum_full > xn.datum_full
                        } else {
                            nn.datum_full < xn.datum_full
                        };
                    let below = self.edge(x, edge).1;
                    if wins && !edge {
                        // Before 2.6.1 the false action lands on the true
                        // edge (GHSA-4q85-33p6-j5g6).
                        self.ghsa_site = true;
                        if self.ghsa {
                            self.n(x).act_t = Some(new_leaf);
                        } else {
                            self.set_edge(x, edge, Some(new_leaf), below);
                        }
                    } else if wins {
                        self.set_edge(x, edge, Some(new_leaf), below);
                    }
                    if self.leaf(x) || self.leaf(n) {
                        return Err(Exists(Some(old)));
                    }
                }
                Some(_) => {}
            }
        }
        for edge in [true, false] {
            let Some(sub) = self.edge(n, edge).1 else {
                continue;
            };
            let slot = if edge { Slot::True(x) } else { Slot::False(x) };
            match self.edge(x, edge) {
                (_, Some(_)) => self.add_at(slot, sub)?,
                (None, None) => {
                    let g = self.get(Some(sub));
                    self.set(slot, g);
                }
                (Some(existing), None) => {
                    self.absorbed.push(existing);
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    pub(super) fn edge(&self, id: NodeId, on_true: bool) -> (Option<Leaf>, Option<NodeId>) {
        let n = self.node(id);
        if on_true {
            (n.act_t, n.nxt_t)
        } else {
            (n.act_f, n.nxt_f)
        }
    }

    fn set_edge(&mut self, id: NodeId, on_true: bool, leaf: Option<Leaf>, next: Option<NodeId>) {
        let n = self.n(id);
        if on_true {
            n.act_t = leaf;
            n.nxt_t = next;
        } else {
            n.act_f = leaf;
            n.nxt_f = next;
        }
    }
}
