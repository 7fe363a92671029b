//! Resolves labels and lays out far-jump veneers (the strategy is written in
//! the [module docs](super)).
//!
//! Input: the parser's statements, whose jump fields are still 0, and the
//! label definitions. Output: the final instructions. Checked here:
//! duplicate and undefined labels, backward jumps, far conditional edges
//! (veneer or error), literal `.insn` jumps that a veneer would break, and
//! programs too long for a 32-bit `ja` offset.

use std::collections::BTreeMap;

use crate::insn::Insn;
use crate::opcode::{Opcode, Operand};

use super::parser::{LabelRef, Source, Stmt, Targets};
use super::{AsmError, AsmOptions, ErrorKind};

/// The farthest a conditional edge reaches (`jt` / `jf` are u8).
const MAX_SHORT: usize = u8::MAX as usize;

/// The true and false edge of a statement, as statement indexes.
#[derive(Clone, Copy, Debug)]
enum Edges {
    None,
    Always(usize),
    Cond([usize; 2]),
}

/// Assembles parsed statements into instructions.
pub(super) fn link(source: &Source, opts: &AsmOptions) -> Result<Vec<Insn>, AsmError> {
    let labels = label_table(source)?;
    let edges = source
        .stmts
        .iter()
        .enumerate()
        .map(|(i, s)| resolve(i, s, &labels))
        .collect::<Result<Vec<_>, _>>()?;
    let far = layout(source, &edges, opts)?;
    let addr = addresses(&far);
    check_literal_jumps(source, &far)?;
    let mut out = Vec::with_capacity(addr[addr.len() - 1]);
    for (i, stmt) in source.stmts.iter().enumerate() {
        emit(i, stmt, edges[i], far[i], &addr, &mut out)?;
    }
    Ok(out)
}

/// Label name → (statement index, line of definition); duplicates are errors.
fn label_table(source: &Source) -> Result<BTreeMap<&str, (usize, u32)>, AsmError> {
    let mut labels = BTreeMap::new();
    for def in &source.labels {
        if let Some(&(_, first_line)) = labels.get(def.name.as_str()) {
            return Err(AsmError::new(
                def.pos,
                ErrorKind::DuplicateLabel {
                    name: def.name.clone(),
                    first_line,
                },
            ));
        }
        labels.insert(def.name.as_str(), (def.index, def.pos.line));
    }
    Ok(labels)
}

/// The statement index a label names; it must lie after statement `from`.
fn target(
    from: usize,
    l: &LabelRef,
    labels: &BTreeMap<&str, (usize, u32)>,
) -> Result<usize, AsmError> {
    match labels.get(l.name.as_str()) {
        None => Err(AsmError::new(
            l.pos,
            ErrorKind::UndefinedLabel(l.name.clone()),
        )),
        Some(&(to, _)) if to <= from => Err(AsmError::new(
            l.pos,
            ErrorKind::BackwardJump(l.name.clone()),
        )),
        Some(&(to, _)) => Ok(to),
    }
}

fn resolve(
    i: usize,
    stmt: &Stmt,
    labels: &BTreeMap<&str, (usize, u32)>,
) -> Result<Edges, AsmError> {
    let side = |l: &Option<LabelRef>| l.as_ref().map_or(Ok(i + 1), |l| target(i, l, labels));
    Ok(match &stmt.targets {
        Targets::None => Edges::None,
        Targets::Always(l) => Edges::Always(target(i, l, labels)?),
        Targets::Cond { jt, jf } => Edges::Cond([side(jt)?, side(jf)?]),
    })
}

/// `addr[i]` is the address of statement `i`; `addr[n]` the program length.
/// Each statement takes one slot plus one per far edge (its veneers).
fn addresses(far: &[[bool; 2]]) -> Vec<usize> {
    let mut addr = Vec::with_capacity(far.len() + 1);
    let mut next = 0;
    addr.push(0);
    for f in far {
        next += 1 + usize::from(f[0]) + usize::from(f[1]);
        addr.push(next);
    }
    addr
}

/// Runs the veneer fixpoint and returns, per statement, which edges are far.
///
/// Post-invariant: under `addresses(&far)`, every edge not marked far spans
/// at most [`MAX_SHORT`] instructions.
fn layout(source: &Source, edges: &[Edges], opts: &AsmOptions) -> Result<Vec<[bool; 2]>, AsmError> {
    let mut far = vec![[false; 2]; edges.len()];
    loop {
        let addr = addresses(&far);
        let mut changed = false;
        for (i, e) in edges.iter().enumerate() {
            let Edges::Cond(to) = e else { continue };
            for side in 0..2 {
                let distance = addr[to[side]] - addr[i] - 1;
                if far[i][side] || distance <= MAX_SHORT {
                    continue;
                }
                if !opts.veneers {
                    return Err(too_far(&source.stmts[i], side, distance));
                }
                far[i][side] = true;
                changed = true;
            }
        }
        if !changed {
            return Ok(far);
        }
    }
}

fn too_far(stmt: &Stmt, side: usize, distance: usize) -> AsmError {
    let Targets::Cond { jt, jf } = &stmt.targets else {
        return AsmError::new(stmt.pos, ErrorKind::TooLong(distance));
    };
    match [jt, jf][side] {
        Some(l) => AsmError::new(
            l.pos,
            ErrorKind::JumpTooFar {
                label: l.name.clone(),
                distance,
            },
        ),
        // An implicit fall-through edge spans only its own veneers.
        None => AsmError::new(
            stmt.pos,
            ErrorKind::JumpTooFar {
                label: "next".into(),
                distance,
            },
        ),
    }
}

/// A `.insn` jump keeps its literal offsets, so no veneer may appear
/// between it and where those offsets land.
fn check_literal_jumps(source: &Source, far: &[[bool; 2]]) -> Result<(), AsmError> {
    let n = far.len();
    // veneers_before[m]: veneers placed after statements 0..m.
    let mut veneers_before = vec![0usize; n + 1];
    for (m, f) in far.iter().enumerate() {
        veneers_before[m + 1] = veneers_before[m] + usize::from(f[0]) + usize::from(f[1]);
    }
    if veneers_before[n] == 0 {
        return Ok(());
    }
    for (i, stmt) in source.stmts.iter().enumerate() {
        let offsets = match (&stmt.targets, stmt.insn.info().map(|info| info.operand)) {
            (Targets::None, Some(Operand::Jump)) => [stmt.insn.k as usize, 0],
            (Targets::None, Some(Operand::CondK | Operand::CondX)) => {
                [stmt.insn.jt.into(), stmt.insn.jf.into()]
            }
            _ => continue,
        };
        for off in offsets {
            let to = (i + 1).saturating_add(off).min(n);
            if veneers_before[to] != veneers_before[i + 1] {
                return Err(AsmError::new(stmt.pos, ErrorKind::LiteralJumpSpansVeneer));
            }
        }
    }
    Ok(())
}

/// Writes statement `i` and its veneers.
fn emit(
    i: usize,
    stmt: &Stmt,
    edges: Edges,
    far: [bool; 2],
    addr: &[usize],
    out: &mut Vec<Insn>,
) -> Result<(), AsmError> {
    let here = addr[i];
    let offset = |to: usize, from: usize| -> Result<u32, AsmError> {
        u32::try_from(to - from - 1)
            .map_err(|_| AsmError::new(stmt.pos, ErrorKind::TooLong(addr[addr.len() - 1])))
    };
    let mut insn = stmt.insn;
    match edges {
        Edges::None => out.push(insn),
        Edges::Always(to) => {
            insn.k = offset(addr[to], here)?;
            out.push(insn);
        }
        Edges::Cond(to) => {
            // Veneer slots follow the jump: the jt one first.
            let slot = [0u8, u8::from(far[0])];
            let short = |side: usize| {
                offset(addr[to[side]], here).map(|d| if far[side] { slot[side] } else { d as u8 })
            };
            insn.jt = short(0)?;
            insn.jf = short(1)?;
            out.push(insn);
            for side in (0..2).filter(|&s| far[s]) {
                let veneer_at = here + 1 + usize::from(slot[side]);
                out.push(Insn::op(
                    Opcode::Ja,
                    0,
                    0,
                    offset(addr[to[side]], veneer_at)?,
                ));
            }
        }
    }
    Ok(())
}
