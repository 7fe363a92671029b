//! The label buffer: instructions with symbolic jump targets → instructions
//! whose every jump lands, with far-jump veneers where an 8-bit offset does
//! not reach. Both the assembler and the compiler's emitter lay out their
//! jumps here (cranelift's `MachBuffer` is the model: labels are typed
//! handles, each edge has a deadline, veneers extend an edge's reach).
//!
//! In: a sequence built with [`Buffer::bind`], [`Buffer::push`],
//! [`Buffer::jump`] and [`Buffer::branch`]; jumps go forward only (cBPF has
//! no backward jumps; a caller refuses them before they get here). Out:
//! [`Placed`]: the instructions, the address of every label, the veneers.
//!
//! **Deadlines and veneers.** A conditional edge's deadline is 255
//! instructions ([`MAX_SHORT`]) past its jump. While some edge misses its
//! deadline, the first such edge in program order (`jt` before `jf`) gets a
//! veneer placed right after its jump, behind any veneers that jump already
//! has (so two veneers of one jump come `jt` first) or, under
//! [`VeneerPolicy::newest_first`], ahead of them: a `ja` to the edge's
//! label (32-bit offset, always reaches), or under [`VeneerPolicy::share`]
//! a copy of the `ret` the label names when it names a bare `ret`, and
//! before inserting, a veneer with the same contents that the edge already
//! reaches is reused. Inserting only moves later code further away, so the
//! loop re-measures after each insertion. Each edge gets at most one veneer
//! of its own, so it ends.
//!
//! Post-invariants of [`Buffer::finish`] (what callers rely on):
//!
//! 1. every conditional edge spans at most [`MAX_SHORT`] instructions;
//! 2. every edge lands on the address of the label it names, or on a veneer
//!    made for that label ([`Placed::veneers`]);
//! 3. nothing but veneers is added, and instructions keep their order and
//!    every field the caller gave except the jump offsets.
//!
//! Not checked here: that a label is bound (an unbound label is reported by
//! [`Buffer::finish`]), what the instructions mean, the program length limit
//! (the validator's and the callers' business).

use crate::insn::Insn;
use crate::opcode::Opcode;

/// The farthest a conditional edge reaches (`jt` / `jf` are u8).
pub const MAX_SHORT: usize = u8::MAX as usize;

/// A jump target: a typed handle made by [`Buffer::label`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Label(u32);

/// What a caller allows the buffer to do about far edges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VeneerPolicy {
    /// Whether far conditional edges get veneers (else they are errors).
    pub enabled: bool,
    /// Whether veneers copy a bare `ret` target and are shared between
    /// edges that reach them (the compiler's choice; the assembler keeps one
    /// `ja` per edge so that its output follows the source).
    pub share: bool,
    /// Whether a new veneer goes directly after its jump, ahead of the
    /// veneers already there (the compiler's layout), rather than behind
    /// them (the assembler's documented `jt`-first layout).
    pub newest_first: bool,
}

/// Why a buffer could not be placed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BufferError {
    /// A conditional edge misses its deadline and veneers are off.
    Far {
        /// The caller's tag of the jump ([`Buffer::branch`]).
        origin: usize,
        /// 0 for `jt`, 1 for `jf`.
        side: usize,
        /// How many instructions the edge would skip.
        distance: usize,
    },
    /// A `ja` offset does not fit in 32 bits.
    TooLong(usize),
    /// A label was used but never bound.
    Unbound(Label),
}

/// What a veneer holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Body {
    Ja(Label),
    Ret(u32),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Unit {
    Bind(Label),
    Plain(Insn),
    Jump(Insn, Label),
    Branch {
        insn: Insn,
        to: [Label; 2],
        origin: usize,
    },
    Veneer {
        label: Label,
        body: Body,
        made_for: Label,
    },
}

impl Unit {
    fn size(&self) -> usize {
        usize::from(!matches!(self, Unit::Bind(_)))
    }
}

/// Instructions with symbolic targets, before placement.
#[derive(Clone, Debug, Default)]
pub struct Buffer {
    units: Vec<Unit>,
    labels: u32,
}

/// A placed buffer.
#[derive(Clone, Debug)]
pub struct Placed {
    /// The instructions, veneers included.
    pub insns: Vec<Insn>,
    addr: Addrs,
    veneers: Vec<(usize, Label)>,
}

impl Placed {
    /// The address a label is bound to.
    pub fn addr(&self, label: Label) -> Option<usize> {
        self.addr.get(label)
    }

    /// Every veneer: its address and the label it was made for.
    pub fn veneers(&self) -> &[(usize, Label)] {
        &self.veneers
    }
}

/// Label → address; labels are dense indexes, so a vector
/// ([`UNBOUND`] where a label is not bound).
#[derive(Clone, Debug)]
struct Addrs(Vec<usize>);

/// The address of a label that is not bound.
const UNBOUND: usize = usize::MAX;

impl Addrs {
    fn get(&self, label: Label) -> Option<usize> {
        self.0
            .get(label.0 as usize)
            .copied()
            .filter(|&a| a != UNBOUND)
    }
}

/// Unit index → address, and label → address, for the current units.
struct Layout {
    at: Vec<usize>,
    label: Addrs,
}

impl Layout {
    /// How many instructions an edge from unit `u` to `label` skips.
    fn reach(&self, u: usize, label: Label) -> Result<usize, BufferError> {
        let to = self.label.get(label).ok_or(BufferError::Unbound(label))?;
        Ok(to - (self.at[u] + 1))
    }

    /// The same as a 32-bit `ja` offset.
    fn long(&self, u: usize, label: Label) -> Result<u32, BufferError> {
        let len = self.at[self.at.len() - 1];
        u32::try_from(self.reach(u, label)?).map_err(|_| BufferError::TooLong(len))
    }
}

/// A conditional edge past its deadline.
struct FarEdge {
    unit: usize,
    side: usize,
    target: Label,
    origin: usize,
    distance: usize,
}

impl Buffer {
    /// An empty buffer.
    pub fn new() -> Buffer {
        Buffer::default()
    }

    /// An empty buffer with room for `units` binds, instructions and
    /// jumps.
    pub fn with_capacity(units: usize) -> Buffer {
        Buffer {
            units: Vec::with_capacity(units),
            ..Buffer::default()
        }
    }

    /// A fresh label.
    pub fn label(&mut self) -> Label {
        self.labels += 1;
        Label(self.labels - 1)
    }

    /// Binds `label` to the address of whatever comes next.
    pub fn bind(&mut self, label: Label) {
        self.units.push(Unit::Bind(label));
    }

    /// An instruction whose fields are final.
    pub fn push(&mut self, insn: Insn) {
        self.units.push(Unit::Plain(insn));
    }

    /// An unconditional jump: `insn` (a `ja`) with `k` set to reach `to`.
    pub fn jump(&mut self, insn: Insn, to: Label) {
        self.units.push(Unit::Jump(insn, to));
    }

    /// A conditional jump: `insn` with `jt` / `jf` set to reach `then` /
    /// `other`. `origin` is the caller's tag for errors.
    pub fn branch(&mut self, insn: Insn, then: Label, other: Label, origin: usize) {
        let to = [then, other];
        self.units.push(Unit::Branch { insn, to, origin });
    }

    /// Places veneers as the module documentation says and encodes.
    pub fn finish(mut self, policy: VeneerPolicy) -> Result<Placed, BufferError> {
        loop {
            let layout = self.layout();
            let Some(far) = self.first_far_edge(&layout)? else {
                return self.encode(&layout);
            };
            let (u, side) = (far.unit, far.side);
            if !policy.enabled {
                return Err(BufferError::Far {
                    origin: far.origin,
                    side,
                    distance: far.distance,
                });
            }
            let veneer = self.veneer_for(u, far.target, policy, &layout);
            if let Unit::Branch { to, .. } = &mut self.units[u] {
                to[side] = veneer;
            }
        }
    }

    fn layout(&self) -> Layout {
        let mut at = Vec::with_capacity(self.units.len() + 1);
        let mut label = vec![UNBOUND; self.labels as usize];
        let mut pc = 0;
        for unit in &self.units {
            at.push(pc);
            match *unit {
                Unit::Bind(l) | Unit::Veneer { label: l, .. } => {
                    label[l.0 as usize] = pc;
                }
                _ => {}
            }
            pc += unit.size();
        }
        at.push(pc);
        Layout {
            at,
            label: Addrs(label),
        }
    }

    /// The first conditional edge past its deadline.
    fn first_far_edge(&self, layout: &Layout) -> Result<Option<FarEdge>, BufferError> {
        for (u, unit) in self.units.iter().enumerate() {
            let Unit::Branch { to, origin, .. } = *unit else {
                continue;
            };
            for (side, target) in to.into_iter().enumerate() {
                let distance = layout.reach(u, target)?;
                if distance > MAX_SHORT {
                    let (unit, origin) = (u, origin);
                    return Ok(Some(FarEdge {
                        unit,
                        side,
                        target,
                        origin,
                        distance,
                    }));
                }
            }
        }
        Ok(None)
    }

    /// A veneer for the edge of branch `u` to `target`: reused or new.
    fn veneer_for(
        &mut self,
        u: usize,
        target: Label,
        policy: VeneerPolicy,
        layout: &Layout,
    ) -> Label {
        let body = match policy.share {
            true => self.bare_ret(target).map_or(Body::Ja(target), Body::Ret),
            false => Body::Ja(target),
        };
        if policy.share
            && let Some(l) = self.reachable_veneer(u, body, layout)
        {
            return l;
        }
        let label = self.label();
        let mut at = u + 1;
        while !policy.newest_first && matches!(self.units.get(at), Some(Unit::Veneer { .. })) {
            at += 1;
        }
        let made_for = target;
        self.units.insert(
            at,
            Unit::Veneer {
                label,
                body,
                made_for,
            },
        );
        label
    }

    /// The `k` of the `ret #k` that `label` is bound directly before.
    fn bare_ret(&self, label: Label) -> Option<u32> {
        let i = self.units.iter().position(
            |u| matches!(*u, Unit::Bind(l) | Unit::Veneer { label: l, .. } if l == label),
        )?;
        match (self.units[i], self.units.get(i + 1)) {
            (
                Unit::Veneer {
                    body: Body::Ret(k), ..
                },
                _,
            ) => Some(k),
            (Unit::Bind(_), Some(Unit::Plain(insn))) if insn.opcode() == Some(Opcode::RetK) => {
                Some(insn.k)
            }
            _ => None,
        }
    }

    /// A veneer after branch `u`, within its reach, holding `body`.
    fn reachable_veneer(&self, u: usize, body: Body, layout: &Layout) -> Option<Label> {
        let pc = layout.at[u];
        (u + 1..self.units.len())
            .take_while(|&j| layout.at[j] - (pc + 1) <= MAX_SHORT)
            .find_map(|j| match self.units[j] {
                Unit::Veneer { label, body: b, .. } if b == body => Some(label),
                _ => None,
            })
    }

    fn encode(&self, layout: &Layout) -> Result<Placed, BufferError> {
        let len = layout.at[self.units.len()];
        let mut insns = Vec::with_capacity(len);
        let mut veneers = Vec::new();
        for (u, unit) in self.units.iter().enumerate() {
            match *unit {
                Unit::Bind(_) => {}
                Unit::Plain(insn) => insns.push(insn),
                Unit::Jump(insn, to) => insns.push(Insn {
                    k: layout.long(u, to)?,
                    ..insn
                }),
                // Post-invariant 1: both edges reach (first_far_edge found none).
                Unit::Branch { insn, to, .. } => insns.push(Insn {
                    jt: layout.reach(u, to[0])? as u8,
                    jf: layout.reach(u, to[1])? as u8,
                    ..insn
                }),
                Unit::Veneer { body, made_for, .. } => {
                    veneers.push((layout.at[u], made_for));
                    insns.push(match body {
                        Body::Ja(to) => Insn::op(Opcode::Ja, 0, 0, layout.long(u, to)?),
                        Body::Ret(k) => Insn::op(Opcode::RetK, 0, 0, k),
                    });
                }
            }
        }
        let addr = layout.label.clone();
        Ok(Placed {
            insns,
            addr,
            veneers,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ON: VeneerPolicy = VeneerPolicy {
        enabled: true,
        share: false,
        newest_first: false,
    };

    /// `jeq` to two labels behind `gap_t` / `gap_f` filler loads.
    fn far(gap_t: usize, gap_f: usize, policy: VeneerPolicy) -> Result<Placed, BufferError> {
        let mut b = Buffer::new();
        let (t, f) = (b.label(), b.label());
        b.branch(Insn::op(Opcode::JeqK, 0, 0, 1), t, f, 7);
        for _ in 0..gap_t {
            b.push(Insn::op(Opcode::LdAbsW, 0, 0, 0));
        }
        b.bind(t);
        b.push(Insn::op(Opcode::RetK, 0, 0, 1));
        for _ in 0..gap_f {
            b.push(Insn::op(Opcode::LdAbsW, 0, 0, 0));
        }
        b.bind(f);
        b.push(Insn::op(Opcode::RetK, 0, 0, 2));
        b.finish(policy)
    }

    #[test]
    fn near_edges_are_short() {
        let p = far(254, 0, ON).unwrap();
        assert_eq!(p.insns[0], Insn::op(Opcode::JeqK, 254, 255, 1));
        assert!(p.veneers().is_empty());
    }

    #[test]
    fn both_far_edges_get_veneers_jt_first() {
        let p = far(256, 10, ON).unwrap();
        assert_eq!(p.insns[0], Insn::op(Opcode::JeqK, 0, 1, 1));
        assert_eq!(p.insns[1], Insn::op(Opcode::Ja, 0, 0, 257));
        assert_eq!(p.insns[2], Insn::op(Opcode::Ja, 0, 0, 256 + 1 + 10));
        assert_eq!(p.veneers().len(), 2);
        assert_eq!(p.addr(Label(0)), Some(259));
        let newest = VeneerPolicy {
            newest_first: true,
            ..ON
        };
        let p = far(256, 10, newest).unwrap();
        assert_eq!(p.insns[0], Insn::op(Opcode::JeqK, 1, 0, 1));
        assert_eq!(p.insns[1], Insn::op(Opcode::Ja, 0, 0, 256 + 1 + 10 + 1));
    }

    #[test]
    fn shared_veneers_copy_bare_returns() {
        let share = VeneerPolicy { share: true, ..ON };
        let p = far(256, 0, share).unwrap();
        assert_eq!(p.insns[1], Insn::op(Opcode::RetK, 0, 0, 1));
    }

    #[test]
    fn without_veneers_a_far_edge_is_an_error() {
        let off = VeneerPolicy {
            enabled: false,
            ..ON
        };
        let e = far(10, 300, off).unwrap_err();
        assert_eq!(
            e,
            BufferError::Far {
                origin: 7,
                side: 1,
                distance: 311
            }
        );
        let mut b = Buffer::new();
        let l = b.label();
        b.jump(Insn::op(Opcode::Ja, 0, 0, 0), l);
        assert_eq!(b.finish(ON).unwrap_err(), BufferError::Unbound(l));
    }
}
