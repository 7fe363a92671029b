//! Jump distances and encoding: labelled blocks → raw instructions.
//!
//! In: optimized [`Code`]. Out: `Vec<Insn>` whose every jump lands where its
//! label says, and how many veneers it took, or an error.
//!
//! **Far-jump strategy: short forms plus veneers**, laid out by the label
//! buffer the assembler uses too ([`sysfence_cbpf::buffer`], whose module
//! docs hold the algorithm and its post-invariants). Every block becomes a
//! bound buffer label, its body plain instructions and its exit a `ret`, a
//! `ja` (nothing when the target is the next block) or a branch. The emitter
//! asks for shared veneers: a far edge to a bare `ret` gets a copy of the
//! `ret`, any other a `ja`, and a veneer the edge already reaches is reused;
//! a new veneer goes directly after its branch.
//! Veneers keep the cache property: `ja` and `ret #k` are both understood by
//! the kernel's emulator.
//!
//! [`encode`] then checks its own exits (every instruction of a block may
//! only continue inside the block, at one of the labels its exit names, or
//! at a veneer made for one of them, and every veneer lands where it was
//! made for) and refuses programs over [`BPF_MAXINSNS`].

use sysfence_cbpf::buffer::{self, Buffer, Placed, VeneerPolicy};
use sysfence_cbpf::limits::BPF_MAXINSNS;
use sysfence_cbpf::{Insn, Opcode};

use crate::CompileError;
use crate::emit::code::{Block, Code, Exit, Label, Op};
use crate::tree::Cmp;

/// The buffer label of every code label, by label (one per label below
/// [`Code::label_bound`]; those of no block are never bound nor used).
struct Marks(Vec<buffer::Label>);

impl std::ops::Index<&Label> for Marks {
    type Output = buffer::Label;
    fn index(&self, l: &Label) -> &buffer::Label {
        &self.0[l.0 as usize]
    }
}

/// Lays out and encodes `code`; returns the instructions and the number
/// of veneers added for far jumps.
pub fn encode(code: &Code) -> Result<(Vec<Insn>, usize), CompileError> {
    // A bind, a body of at most two instructions and an exit per block.
    let mut buf = Buffer::with_capacity(4 * code.blocks().len());
    let marks = Marks((0..code.label_bound()).map(|_| buf.label()).collect());
    for (i, b) in code.blocks().iter().enumerate() {
        let next = code.blocks().get(i + 1).map(|n| n.label);
        lower_block(&mut buf, &marks, i, b, next);
    }
    let policy = VeneerPolicy {
        enabled: true,
        share: true,
        newest_first: true,
    };
    let placed = buf
        .finish(policy)
        .map_err(|e| CompileError::internal(format!("jump layout failed: {e:?}")))?;
    if placed.insns.len() > BPF_MAXINSNS {
        return Err(CompileError::too_large(placed.insns.len()));
    }
    check_exits(code, &placed, &marks)?;
    let veneers = placed.veneers().len();
    Ok((placed.insns, veneers))
}

/// Block `i` into the buffer; `next` is the block placed after it.
fn lower_block(buf: &mut Buffer, marks: &Marks, i: usize, b: &Block, next: Option<Label>) {
    buf.bind(marks[&b.label]);
    for op in b.body.iter() {
        buf.push(match *op {
            Op::Load(off) => Insn::op(Opcode::LdAbsW, 0, 0, off),
            Op::And(m) => Insn::op(Opcode::AndK, 0, 0, m),
        });
    }
    match b.exit {
        Exit::Ret(raw) => buf.push(Insn::op(Opcode::RetK, 0, 0, raw)),
        Exit::Goto(t) if Some(t) == next => {}
        Exit::Goto(t) => buf.jump(Insn::op(Opcode::Ja, 0, 0, 0), marks[&t]),
        Exit::Branch {
            cmp,
            k,
            then,
            other,
        } => {
            let insn = Insn::op(jump_opcode(cmp), 0, 0, k);
            buf.branch(insn, marks[&then], marks[&other], i);
        }
    }
}

/// Instructions a block takes when `next` follows it.
fn size(b: &Block, next: Option<Label>) -> usize {
    let exit = match b.exit {
        Exit::Goto(t) if Some(t) == next => 0,
        _ => 1,
    };
    b.body.len() + exit
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
/// block, at a label its exit names or at a veneer made for one of those
/// labels; only a `goto` may fall out of the bottom (to the next block,
/// which must be its target); every veneer lands where it was made for.
fn check_exits(code: &Code, placed: &Placed, marks: &Marks) -> Result<(), CompileError> {
    let at = |l: &Label| placed.addr(marks[l]).unwrap_or(usize::MAX);
    for (i, b) in code.blocks().iter().enumerate() {
        let start = at(&b.label);
        let end = start + size(b, code.blocks().get(i + 1).map(|n| n.label));
        let names = |to: usize| {
            b.exit.targets().any(|l| at(&l) == to)
                || placed.veneers().iter().any(|&(v, made_for)| {
                    v == to && b.exit.targets().any(|l| marks[&l] == made_for)
                })
        };
        for (pc, insn) in placed.insns.iter().enumerate().take(end).skip(start) {
            for succ in insn.successors(pc) {
                let inside = succ > pc && succ < end;
                if !inside && !names(succ) {
                    return Err(CompileError::internal(format!(
                        "block {i} ({:?}) leaves at pc {pc} to {succ}, which its exit does not name",
                        b.label
                    )));
                }
            }
        }
    }
    check_veneers(placed)
}

/// Every veneer is a `ja` to the label it was made for, or a copy of the
/// `ret` at that label.
fn check_veneers(placed: &Placed) -> Result<(), CompileError> {
    for &(pc, made_for) in placed.veneers() {
        let to = placed.addr(made_for).unwrap_or(usize::MAX);
        let insn = placed.insns[pc];
        let lands = match insn.opcode() {
            Some(Opcode::Ja) => insn.successors(pc).eq([to]),
            _ => placed.insns.get(to) == Some(&insn),
        };
        if !lands {
            return Err(CompileError::internal(format!(
                "veneer at pc {pc} does not land at pc {to}"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::opt::testutil::{block, code, ret, test};

    /// `count` loads in a row, one block each, labelled `label` and then
    /// `label * 1000 + k`; each block falls through to the next (no
    /// instruction), the last one ends with `exit`.
    fn loads(label: u32, count: usize, exit: Exit) -> Vec<Block> {
        let labels: Vec<u32> = std::iter::once(label)
            .chain((1..count as u32).map(|k| label * 1000 + k))
            .collect();
        labels
            .iter()
            .enumerate()
            .map(|(k, &l)| {
                let next = labels.get(k + 1).map_or(exit, |&n| Exit::Goto(Label(n)));
                block(l, vec![Op::Load(0)], next)
            })
            .collect()
    }

    /// A branch at the top whose targets sit behind `filler` loads.
    fn far_program(filler: usize) -> Code {
        let mut blocks = vec![test(0, 0, 1, 1, 2)];
        blocks.extend(loads(1, filler, Exit::Goto(Label(3))));
        blocks.push(block(2, vec![Op::Load(16)], Exit::Goto(Label(3))));
        blocks.push(ret(3, 7));
        code(blocks)
    }

    #[test]
    fn near_jumps_need_no_veneer() {
        let c = far_program(10);
        let (insns, veneers) = encode(&c).unwrap();
        assert_eq!(veneers, 0);
        assert_eq!(insns.len(), 15);
        assert_eq!(insns[1], Insn::op(Opcode::JeqK, 0, 11, 1));
        assert_eq!(insns[12], Insn::op(Opcode::Ja, 0, 0, 1));
    }

    #[test]
    fn far_edges_get_a_ja_veneer() {
        let c = far_program(300);
        let (insns, veneers) = encode(&c).unwrap();
        assert_eq!(veneers, 1);
        assert_eq!(insns[1], Insn::op(Opcode::JeqK, 1, 0, 1));
        assert_eq!(insns[2], Insn::op(Opcode::Ja, 0, 0, 300 + 1));
        assert_eq!(insns[2 + 1 + 301].code, Opcode::LdAbsW as u16);
    }

    #[test]
    fn far_returns_are_copied() {
        let mut blocks = vec![test(0, 0, 1, 1, 2)];
        blocks.extend(loads(1, 300, Exit::Ret(1)));
        blocks.push(ret(2, 7));
        let c = code(blocks);
        let (insns, veneers) = encode(&c).unwrap();
        assert_eq!(veneers, 1);
        assert_eq!(insns[1], Insn::op(Opcode::JeqK, 1, 0, 1));
        assert_eq!(insns[2], Insn::op(Opcode::RetK, 0, 0, 7));
    }

    #[test]
    fn oversized_programs_name_their_size() {
        let c = code(loads(1, 4096, Exit::Ret(0)));
        assert_eq!(
            encode(&c).unwrap_err().to_string(),
            "program of 4097 instructions exceeds the kernel limit of 4096"
        );
    }
}
