//! The bound on the merge's work, and the shape on which libseccomp's own
//! merge never ends.
//!
//! libseccomp walks a level by following `lvl_nxt` (or `lvl_prv`) until
//! it ends. A chain node reached by two edges is linked into a level
//! twice, and the second link can close a level on itself (`a0 != 1 &&
//! a1 == 2` then `a0 != 1 && a2 == 3`); from then on every walk of that
//! level — the next rule's prune or add, freeing the chain, exporting the
//! filter — goes round forever. [`Tree::cyclic`] finds such a level.
//!
//! Every walk here also takes one unit of work per node visited; past
//! [`WORK_LIMIT`] units since the last [`Tree::refuel`] the walks stop
//! early and [`Tree::exhausted`] says so, so the caller refuses the
//! profile instead of trusting a half-done merge.

use super::{NodeId, Tree};

/// The most node visits one rule's merge (or one read-back) may take.
pub(in crate::merge) const WORK_LIMIT: u32 = 1 << 24;

/// The most node visits the merges of all of one profile's rules may take
/// together: each rule's merge is bounded by [`WORK_LIMIT`], but thousands
/// of conditional rules on one syscall would still take time quadratic in
/// their number (20,000 of them: half a minute).
pub(crate) const PROFILE_WORK_LIMIT: u64 = 1 << 26;

impl Tree {
    /// Takes one unit of work; false once the limit is passed.
    pub(super) fn tick(&self) -> bool {
        let w = self.work.get().saturating_add(1);
        self.work.set(w);
        w <= WORK_LIMIT
    }

    /// Starts a new unit of work (one rule's merge, or the read-back).
    pub(in crate::merge) fn refuel(&self) {
        self.work.set(0);
    }

    /// The work taken since the last [`Tree::refuel`].
    pub(in crate::merge) fn spent(&self) -> u32 {
        self.work.get()
    }

    /// Whether a walk stopped early since the last [`Tree::refuel`].
    pub(in crate::merge) fn exhausted(&self) -> bool {
        self.work.get() > WORK_LIMIT
    }

    /// Whether a level reachable from the root closes on itself, in either
    /// direction.
    /// The nodes it reaches count as work.
    pub(in crate::merge) fn cyclic(&self) -> bool {
        let reach = self.reachable();
        let visits = u32::try_from(reach.len()).unwrap_or(u32::MAX);
        self.work.set(self.work.get().saturating_add(visits));
        let mut mark = self.marks.borrow_mut();
        [true, false].into_iter().any(|forward| {
            let step = |id: NodeId| {
                let n = self.node(id);
                if forward { n.lvl_nxt } else { n.lvl_prv }
            };
            // 0: not seen; walk number + 1 while on that walk, u32::MAX once cleared.
            mark.start(self.nodes.len());
            for (k, &start) in reach.iter().enumerate() {
                let this = u32::try_from(k).unwrap_or(u32::MAX - 1) + 1;
                let mut cur = Some(start);
                while let Some(id) = cur {
                    match mark.get(id) {
                        0 => mark.set(id, this),
                        m if m == this => return true,
                        _ => break,
                    }
                    cur = step(id);
                }
                let mut cur = Some(start);
                while let Some(id) = cur.filter(|&id| mark.get(id) == this) {
                    mark.set(id, u32::MAX);
                    cur = step(id);
                }
            }
            false
        })
    }

    /// Every node reachable from the root by any link.
    fn reachable(&self) -> Vec<NodeId> {
        let mut seen = self.marks.borrow_mut();
        seen.start(self.nodes.len());
        let mut out = Vec::new();
        let mut stack: Vec<NodeId> = self.root.into_iter().collect();
        while let Some(i) = stack.pop() {
            if seen.get(i) != 0 {
                continue;
            }
            seen.set(i, 1);
            out.push(i);
            let n = self.node(i);
            stack.extend(
                [n.nxt_t, n.nxt_f, n.lvl_prv, n.lvl_nxt]
                    .into_iter()
                    .flatten(),
            );
        }
        out
    }
}

/// Per-node scratch marks that outlive one walk: a mark counts only when
/// its stamp is the current walk's, so a walk costs what it visits, not the
/// arena's size (the arena keeps every node a merge ever made, and the
/// walks run after every rule: clearing a mark per arena node each time
/// made a profile that names one syscall 100,000 times quadratic).
#[derive(Debug, Default)]
pub(super) struct Marks {
    stamp: u32,
    cells: Vec<(u32, u32)>,
}

impl Marks {
    /// Starts a walk over an arena of `len` nodes: every mark reads 0.
    fn start(&mut self, len: usize) {
        self.stamp = self.stamp.wrapping_add(1);
        if self.stamp == 0 {
            self.cells.clear();
            self.stamp = 1;
        }
        self.cells.resize(len, (0, 0));
    }

    fn get(&self, id: NodeId) -> u32 {
        match self.cells[id.at()] {
            (s, v) if s == self.stamp => v,
            _ => 0,
        }
    }

    fn set(&mut self, id: NodeId, v: u32) {
        self.cells[id.at()] = (self.stamp, v);
    }
}
