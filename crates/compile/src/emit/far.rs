//! Jump distances and encoding: labelled blocks → raw instructions.
//!
//! In: optimized [`Code`]. Out: `Vec<Insn>` whose every jump lands where its
//! label says, or an error.
//!
//! **Far-jump strategy: short forms plus veneers.** Every conditional jump is
//! first laid out in its short form (8-bit `jt`/`jf`). While some edge of a
//! branch is more than 255 instructions away, a *veneer* block is inserted
//! right after the branching block and the edge is pointed at it: a copy of
//! the `ret` when the target is a bare return, else `ja target` (`ja` has a
//! 32-bit offset and always reaches). An existing veneer to the same place
//! that the branch can reach is reused instead. Inserting only moves later
//! code further away, so the loop re-measures until nothing is out of reach;
//! each edge gets at most one veneer, so it ends. Veneers keep the cache
//! property: `ja` and `ret #k` are both understood by the kernel's emulator.
//!
//! Invariants on return of [`place`]: every branch edge reaches (≤ 255), every
//! `goto` is either to the next block (emitted as nothing) or a `ja`.
//!
//! [`encode`] then checks its own exits (every instruction of a block may
//! only continue inside the block or at one of the labels its exit names)
//! and refuses programs over [`BPF_MAXINSNS`].

use std::collections::HashMap;

use sysfence_cbpf::limits::BPF_MAXINSNS;
use sysfence_cbpf::{Insn, Opcode};

use crate::CompileError;
use crate::emit::code::{Block, Code, Exit, Label, Op};
use crate::tree::Cmp;

/// Farthest a conditional jump reaches.
const SHORT_MAX: usize = 255;

/// Inserts veneers until every branch reaches; returns how many were added.
pub fn place(code: &mut Code) -> usize {
    let mut added = 0;
    while let Some((block, edge, target)) = first_far_edge(code) {
        let veneer = match reusable_veneer(code, block, target) {
            Some(label) => label,
            None => {
                added += 1;
                insert_veneer(code, block, target)
            }
        };
        set_edge(&mut code.block_mut(block).exit, edge, veneer);
    }
    added
}

/// Instruction index where each block starts, plus the total length.
fn starts(code: &Code) -> (Vec<usize>, usize) {
    let mut out = Vec::with_capacity(code.blocks().len());
    let mut pc = 0;
    for (i, b) in code.blocks().iter().enumerate() {
        out.push(pc);
        pc += size(b, code.blocks().get(i + 1).map(|n| n.label));
    }
    (out, pc)
}

/// Instructions a block takes when `next` follows it.
fn size(b: &Block, next: Option<Label>) -> usize {
    let exit = match b.exit {
        Exit::Goto(t) if Some(t) == next => 0,
        _ => 1,
    };
    b.body.len() + exit
}

/// The first branch edge that does not reach: block index, whether it is
/// the true edge, and its target.
fn first_far_edge(code: &Code) -> Option<(usize, bool, Label)> {
    let (start, _) = starts(code);
    let pos = code.positions();
    code.blocks().iter().enumerate().find_map(|(i, b)| {
        let Exit::Branch { then, other, .. } = b.exit else {
            return None;
        };
        let pc = start[i] + b.body.len();
        let far = |l: Label| start[pos[&l]] - (pc + 1) > SHORT_MAX;
        if far(then) {
            Some((i, true, then))
        } else if far(other) {
            Some((i, false, other))
        } else {
            None
        }
    })
}

fn set_edge(exit: &mut Exit, edge: bool, to: Label) {
    if let Exit::Branch { then, other, .. } = exit {
        if edge {
            *then = to;
        } else {
            *other = to;
        }
    }
}

/// What a veneer to `target` contains: the `ret` itself, or a `ja`.
fn veneer_exit(code: &Code, target: Label) -> Exit {
    let pos = code.positions();
    let b = &code.blocks()[pos[&target]];
    match (b.body.is_empty(), b.exit) {
        (true, Exit::Ret(raw)) => Exit::Ret(raw),
        _ => Exit::Goto(target),
    }
}

/// A veneer after `block` with the right contents that the branch reaches.
fn reusable_veneer(code: &Code, block: usize, target: Label) -> Option<Label> {
    let want = veneer_exit(code, target);
    let (start, _) = starts(code);
    let pc = start[block] + code.blocks()[block].body.len();
    code.blocks()
        .iter()
        .enumerate()
        .skip(block + 1)
        .take_while(|(j, _)| start[*j] - (pc + 1) <= SHORT_MAX)
        .find(|(_, b)| b.veneer && b.exit == want)
        .map(|(_, b)| b.label)
}

fn insert_veneer(code: &mut Code, block: usize, target: Label) -> Label {
    let exit = veneer_exit(code, target);
    let label = code.fresh_label();
    let v = Block {
        label,
        entry: None,
        body: Vec::new(),
        exit,
        veneer: true,
    };
    code.insert_block(block + 1, v);
    label
}

/// Encodes placed code and checks every block's exits.
pub fn encode(code: &Code) -> Result<Vec<Insn>, CompileError> {
    let (start, len) = starts(code);
    if len > BPF_MAXINSNS {
        return Err(CompileError::too_large(len));
    }
    let pos = code.positions();
    let at = |l: Label| start[pos[&l]];
    let mut out = Vec::with_capacity(len);
    for (i, b) in code.blocks().iter().enumerate() {
        for op in &b.body {
            out.push(match *op {
                Op::Load(off) => Insn::op(Opcode::LdAbsW, 0, 0, off),
                Op::And(m) => Insn::op(Opcode::AndK, 0, 0, m),
            });
        }
        let pc = start[i] + b.body.len();
        let next = code.blocks().get(i + 1).map(|n| n.label);
        match b.exit {
            Exit::Ret(raw) => out.push(Insn::op(Opcode::RetK, 0, 0, raw)),
            Exit::Goto(t) if Some(t) == next => {}
            Exit::Goto(t) => out.push(Insn::op(Opcode::Ja, 0, 0, (at(t) - (pc + 1)) as u32)),
            Exit::Branch {
                cmp,
                k,
                then,
                other,
            } => {
                let (jt, jf) = (short(at(then), pc, i)?, short(at(other), pc, i)?);
                out.push(Insn::op(jump_opcode(cmp), jt, jf, k));
            }
        }
    }
    check_exits(code, &start, &out)?;
    Ok(out)
}

fn short(target: usize, pc: usize, block: usize) -> Result<u8, CompileError> {
    u8::try_from(target - (pc + 1))
        .map_err(|_| CompileError::internal(format!("block {block}: jump at pc {pc} out of reach")))
}

fn jump_opcode(cmp: Cmp) -> Opcode {
    match cmp {
        Cmp::Eq => Opcode::JeqK,
        Cmp::Gt => Opcode::JgtK,
        Cmp::Ge => Opcode::JgeK,
        Cmp::Set => Opcode::JsetK,
    }
}

/// The exit guard: every instruction of every block continues inside its
/// block or at a label its exit names, and only a `goto` may fall out of the
/// bottom (to the next block, which must be its target).
fn check_exits(code: &Code, start: &[usize], insns: &[Insn]) -> Result<(), CompileError> {
    let pos: HashMap<Label, usize> = code.positions();
    for (i, b) in code.blocks().iter().enumerate() {
        let end = start.get(i + 1).copied().unwrap_or(insns.len());
        let allowed: Vec<usize> = b.exit.targets().map(|l| start[pos[&l]]).collect();
        for (pc, &insn) in insns.iter().enumerate().take(end).skip(start[i]) {
            for succ in insn.successors(pc) {
                let inside = succ > pc && succ < end;
                if !inside && !allowed.contains(&succ) {
                    return Err(CompileError::internal(format!(
                        "block {i} ({:?}) leaves at pc {pc} to {succ}, which its exit does not name",
                        b.label
                    )));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::opt::testutil::{block, code, ret, test};

    /// A branch at the top whose targets sit behind `filler` loads.
    fn far_program(filler: usize) -> Code {
        let mut blocks = vec![test(0, 0, 1, 1, 2)];
        blocks.push(block(1, vec![Op::Load(0); filler], Exit::Goto(Label(3))));
        blocks.push(block(2, vec![Op::Load(16)], Exit::Goto(Label(3))));
        blocks.push(ret(3, 7));
        code(blocks)
    }

    #[test]
    fn near_jumps_need_no_veneer() {
        let mut c = far_program(10);
        assert_eq!(place(&mut c), 0);
        let insns = encode(&c).unwrap();
        assert_eq!(insns.len(), 15);
        assert_eq!(insns[1], Insn::op(Opcode::JeqK, 0, 11, 1));
        assert_eq!(insns[12], Insn::op(Opcode::Ja, 0, 0, 1));
    }

    #[test]
    fn far_edges_get_a_ja_veneer() {
        let mut c = far_program(300);
        assert_eq!(place(&mut c), 1);
        let insns = encode(&c).unwrap();
        assert_eq!(insns[1], Insn::op(Opcode::JeqK, 1, 0, 1));
        assert_eq!(insns[2], Insn::op(Opcode::Ja, 0, 0, 300 + 1));
        assert_eq!(insns[2 + 1 + 301].code, Opcode::LdAbsW as u16);
    }

    #[test]
    fn far_returns_are_copied() {
        let mut blocks = vec![test(0, 0, 1, 1, 2)];
        blocks.push(block(1, vec![Op::Load(0); 300], Exit::Ret(1)));
        blocks.push(ret(2, 7));
        let mut c = code(blocks);
        assert_eq!(place(&mut c), 1);
        let insns = encode(&c).unwrap();
        assert_eq!(insns[1], Insn::op(Opcode::JeqK, 1, 0, 1));
        assert_eq!(insns[2], Insn::op(Opcode::RetK, 0, 0, 7));
    }

    #[test]
    fn oversized_programs_name_their_size() {
        let c = code(vec![block(0, vec![Op::Load(0); 4096], Exit::Ret(0))]);
        assert_eq!(
            encode(&c).unwrap_err().to_string(),
            "program of 4097 instructions exceeds the kernel limit of 4096"
        );
    }
}
