//! The proof run on every compile: the program's decision diagram is the
//! policy's, over every input.
//!
//! In: the selected policy (its entries in dispatch order and the bad-arch
//! action every other arch value gets) and the validated [`Program`]. Out:
//! [`Proved`] (the diagrams are one node of a `sysfence_exact` store), a
//! [`Mismatch`] whose input was replayed through the interpreter and the
//! reference evaluator, or [`Unproved`] when the diagrams exceed the node
//! budget (the caller then falls back to the sampled check).
//!
//! The policy side is `sysfence_exact::policy`, built from the IR by a
//! construction that shares no code with this crate's tree building; the
//! program side is the symbolic execution of the emitted instructions
//! (`sysfence_exact::program`). Both are built in one store, so equality is
//! one comparison of node ids.
//!
//! Not covered here: the kernel's action cache (whether always-allowed
//! numbers are a constant ALLOW), which [`crate::check`] tests per number.

use sysfence_cbpf::SeccompData;
use sysfence_cbpf::interp::{self, ShiftMode};
use sysfence_cbpf::program::Program;
use sysfence_exact::compare::{DEFAULT_BUDGET, difference_where};
use sysfence_exact::store::{OverBudget, Store};
use sysfence_exact::witness;
use sysfence_profile::eval::eval_arch;
use sysfence_profile::ir::{Action, ArchPolicy};

use crate::CompileError;
use crate::check::Mismatch;

/// The diagrams are equal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Proved {
    /// Nodes in the store once both diagrams were built (leaves included).
    pub nodes: usize,
}

/// The diagrams exceed the budget: neither proved nor refuted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unproved {
    /// The budget in nodes.
    pub budget: usize,
}

/// Proves `program` equal to the policy made of `entries` (in dispatch
/// order) with `bad_arch` for every other arch value.
pub fn prove(
    entries: &[&ArchPolicy],
    bad_arch: Action,
    program: &Program,
) -> Result<Result<Proved, Unproved>, CompileError> {
    // Compiled programs build about 7 to 14 nodes per instruction, program
    // and policy together (Docker's profile: 639 for 93 instructions,
    // Firecracker's vmm filter 1,914 for 138, vmm-args 2,384 for 230); the
    // store doubles past the hint, and a table twice the size cost more in
    // cache misses than its shorter probes saved.
    let mut s = Store::with_capacity(DEFAULT_BUDGET, 12 * program.len());
    let bad = bad_arch.to_raw();
    let built =
        sysfence_exact::program::diagram(&mut s, program, ShiftMode::Mask31).and_then(|p| {
            Ok((
                p,
                sysfence_exact::policy::diagram_of(&mut s, entries.iter().copied(), bad)?,
            ))
        });
    let (p, q) = match built {
        Ok(pq) => pq,
        Err(OverBudget(budget)) => return Ok(Err(Unproved { budget })),
    };
    if p == q {
        return Ok(Ok(Proved { nodes: s.len() }));
    }
    let words = match difference_where(&mut s, p, q, &[]) {
        Ok(Some(words)) => words,
        Ok(None) => {
            return Err(CompileError::internal(
                "distinct diagrams with no difference".into(),
            ));
        }
        Err(OverBudget(budget)) => return Ok(Err(Unproved { budget })),
    };
    let data = witness::data_of(&words);
    let (want, got) = (s.eval(q, &words), s.eval(p, &words));
    Err(confirmed(entries, bad, program, data, (want, got)))
}

/// The mismatch at `data`, replayed concretely; an engine whose diagrams
/// disagree with the concrete runs is a compiler bug too (the program is
/// refused either way).
fn confirmed(
    entries: &[&ArchPolicy],
    bad: u32,
    program: &Program,
    data: SeccompData,
    (want, got): (u32, u32),
) -> CompileError {
    let expected = entries
        .iter()
        .find(|ap| ap.audit_arch == data.arch)
        .map_or(bad, |ap| eval_arch(ap, &data).0.to_raw());
    let ran = interp::run(program, &data).raw;
    if (expected, ran) != (want, got) {
        return CompileError::internal(format!(
            "the exact engine's witness does not replay: diagrams give policy {want:#x} and \
             program {got:#x}, the evaluator {expected:#x} and the interpreter {ran:#x}"
        ));
    }
    CompileError::mismatch(Mismatch::Action {
        data,
        expected,
        got: ran,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Config, compile};
    use sysfence_cbpf::{Insn, Opcode};
    use sysfence_profile::ir::{ArgIndex, ArgWidth, CmpOp, Cond};
    use sysfence_testkit::fixtures::{allow_if_eq, rule, x86_64_allow_list};

    /// Numbers 0..4 allowed, `personality(0 | 8)` and `mmap(args[1] > 2^32)`
    /// checked, foreign arches killed.
    fn policy() -> sysfence_profile::ir::Policy {
        let gt = Cond {
            arg: ArgIndex::new(1).unwrap(),
            op: CmpOp::Gt,
            value: 0x1_0000_0000,
            value_two: 0,
            width: ArgWidth::Bits64,
        };
        x86_64_allow_list(
            0..4,
            vec![
                (9, vec![rule(vec![gt], Action::Allow)]),
                (135, vec![allow_if_eq(0, 0), allow_if_eq(0, 8)]),
            ],
            Action::KillProcess,
        )
    }

    #[test]
    fn every_one_instruction_mutant_is_refuted_or_proved_with_a_replayed_witness() {
        let p = policy();
        let c = compile(&p, &Config::new().check(false)).unwrap();
        let entries: Vec<&ArchPolicy> = p.arches().iter().collect();
        let bad = p.bad_arch();
        assert!(matches!(prove(&entries, bad, c.program()), Ok(Ok(_))));
        let mut refuted = 0;
        for pc in 0..c.program().len() {
            let mut insns = c.program().insns().to_vec();
            let i = insns[pc];
            insns[pc] = match i.opcode() {
                Some(Opcode::RetK) => Insn { k: i.k ^ 1, ..i },
                _ => Insn {
                    k: i.k.wrapping_add(1),
                    ..i
                },
            };
            let Ok(m) = Program::new(&insns) else {
                continue;
            };
            match prove(&entries, bad, &m) {
                Ok(Ok(_)) => {}
                Err(e) => {
                    let Some(Mismatch::Action {
                        data,
                        expected,
                        got,
                    }) = e.witness()
                    else {
                        panic!("pc {pc}: {e}");
                    };
                    assert_ne!(expected, got);
                    assert_eq!(interp::run(&m, data).raw, *got);
                    refuted += 1;
                }
                Ok(Err(u)) => panic!("pc {pc}: over budget {u:?}"),
            }
        }
        assert!(refuted * 2 > c.program().len(), "{refuted} refuted");
    }
}
