//! What can be compared: a program, a stack of programs, or a policy, each
//! with its diagram and its concrete meaning (interpreter or evaluator).
//!
//! In: validated programs (a stack newest first, as `seccomp_run_filters`
//! walks it) or a policy IR. Out: [`Subject::diagram`] and [`Subject::run`],
//! which must agree on every input; [`crate::witness`] checks that they do
//! on every input it prints.

use sysfence_cbpf::SeccompData;
use sysfence_cbpf::action::RET_ALLOW;
use sysfence_cbpf::interp::{self, Config, NoTrace, ShiftMode};
use sysfence_cbpf::program::Program;
use sysfence_profile::eval::{Call, eval};
use sysfence_profile::ir::Policy;

use crate::store::{LeafOp, Node, Res, Store};
use crate::{policy, program};

/// One side of a comparison.
#[derive(Clone, Debug)]
pub enum Subject {
    /// One program, run under a shift mode.
    Program(Program, ShiftMode),
    /// Stacked programs, newest first.
    Stack(Vec<Program>, ShiftMode),
    /// A policy IR.
    Policy(Policy),
}

impl Subject {
    /// The diagram of the subject's return value.
    pub fn diagram(&self, s: &mut Store) -> Res<Node> {
        match self {
            Subject::Program(p, mode) => program::diagram(s, p, *mode),
            Subject::Stack(progs, mode) => stack(s, progs, *mode),
            Subject::Policy(p) => policy::diagram(s, p),
        }
    }

    /// The subject's return value for one input, computed concretely.
    pub fn run(&self, data: &SeccompData) -> u32 {
        match self {
            Subject::Program(p, mode) => run_program(p, *mode, data),
            Subject::Stack(progs, mode) => {
                sysfence_cbpf::action::combine(progs.iter().map(|p| run_program(p, *mode, data)))
            }
            Subject::Policy(p) => eval(p, &call_of(data)).0.to_raw(),
        }
    }

    /// The constants the subject compares with (to steer random inputs).
    pub fn programs(&self) -> Vec<&Program> {
        match self {
            Subject::Program(p, _) => vec![p],
            Subject::Stack(progs, _) => progs.iter().collect(),
            Subject::Policy(_) => vec![],
        }
    }
}

/// Every instruction of the subjects' programs (whose constants steer
/// random inputs).
pub fn insns_of(subjects: &[&Subject]) -> Vec<sysfence_cbpf::Insn> {
    subjects
        .iter()
        .flat_map(|s| s.programs())
        .flat_map(|p| p.insns().to_vec())
        .collect()
}

fn run_program(p: &Program, mode: ShiftMode, data: &SeccompData) -> u32 {
    interp::run_with(p, data, &Config::new().shift(mode), &mut NoTrace).raw
}

/// The evaluator's view of one `seccomp_data`.
pub fn call_of(d: &SeccompData) -> Call {
    Call {
        arch: d.arch,
        nr: d.nr,
        args: d.args,
        instruction_pointer: d.instruction_pointer,
    }
}

/// The diagram of a filter stack (newest first): ALLOW combined with each
/// filter in turn by the kernel's rule.
pub fn stack(s: &mut Store, progs: &[Program], mode: ShiftMode) -> Res<Node> {
    let mut acc = s.leaf(RET_ALLOW)?;
    for p in progs {
        let d = program::diagram(s, p, mode)?;
        acc = s.apply(LeafOp::Stack, acc, d)?;
    }
    Ok(acc)
}
