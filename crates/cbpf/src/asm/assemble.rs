//! Resolves labels and hands the jumps to the shared label buffer
//! ([`crate::buffer`]), which lays out far-jump veneers (the strategy is
//! written in the [module docs](super)).
//!
//! Input: the parser's statements, whose jump fields are still 0, and the
//! label definitions. Output: the final instructions. Checked here:
//! duplicate and undefined labels, backward jumps, far conditional edges
//! (veneer or error), literal `.insn` jumps that a veneer would break, and
//! programs too long for a 32-bit `ja` offset.

use std::collections::BTreeMap;

use crate::buffer::{Buffer, BufferError, Label, Placed, VeneerPolicy};
use crate::insn::Insn;
use crate::opcode::Operand;

use super::parser::{LabelRef, Source, Stmt, Targets};
use super::{AsmError, AsmOptions, ErrorKind, Pos};

/// The true and false edge of a statement, as statement indexes.
#[derive(Clone, Copy, Debug)]
enum Edges {
    None,
    Always(usize),
    Cond([usize; 2]),
}

/// Assembles parsed statements into instructions.
pub(super) fn link(source: &Source, opts: &AsmOptions) -> Result<Vec<Insn>, AsmError> {
    if source.stmts.is_empty() {
        return Err(AsmError::new(
            Pos { line: 1, column: 1 },
            ErrorKind::NoInstructions,
        ));
    }
    let labels = label_table(source)?;
    let edges = source
        .stmts
        .iter()
        .enumerate()
        .map(|(i, s)| resolve(i, s, &labels))
        .collect::<Result<Vec<_>, _>>()?;
    let mut buf = Buffer::new();
    // One buffer label per statement, and one for the end of the program.
    let at: Vec<Label> = (0..=edges.len()).map(|_| buf.label()).collect();
    for (i, (stmt, e)) in source.stmts.iter().zip(&edges).enumerate() {
        buf.bind(at[i]);
        match *e {
            Edges::None => buf.push(stmt.insn),
            Edges::Always(to) => buf.jump(stmt.insn, at[to]),
            Edges::Cond([t, f]) => buf.branch(stmt.insn, at[t], at[f], i),
        }
    }
    buf.bind(at[edges.len()]);
    let policy = VeneerPolicy {
        enabled: opts.veneers,
        share: false,
        newest_first: false,
    };
    let placed = buf.finish(policy).map_err(|e| buffer_error(source, e))?;
    check_literal_jumps(source, &placed, &at)?;
    Ok(placed.insns)
}

fn buffer_error(source: &Source, e: BufferError) -> AsmError {
    // Only a program with jumps can fail here, so it has a first statement.
    let first = source
        .stmts
        .first()
        .map_or(Pos { line: 1, column: 1 }, |s| s.pos);
    match e {
        BufferError::Far {
            origin,
            side,
            distance,
        } => too_far(&source.stmts[origin], side, distance),
        BufferError::TooLong(len) => AsmError::new(first, ErrorKind::TooLong(len)),
        BufferError::Unbound(l) => {
            AsmError::new(first, ErrorKind::UndefinedLabel(format!("{l:?}")))
        }
    }
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
fn check_literal_jumps(source: &Source, placed: &Placed, at: &[Label]) -> Result<(), AsmError> {
    let n = at.len() - 1;
    if placed.veneers().is_empty() {
        return Ok(());
    }
    // Veneers placed before statement m.
    let veneers_before = |m: usize| placed.addr(at[m]).map_or(0, |a| a - m);
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
            if veneers_before(to) != veneers_before(i + 1) {
                return Err(AsmError::new(stmt.pos, ErrorKind::LiteralJumpSpansVeneer));
            }
        }
    }
    Ok(())
}
