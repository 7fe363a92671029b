//! Watching the interpreter: the [`Tracer`] hook and three ready-made tracers.
//!
//! [`super::run_with`] calls [`Tracer::step`] before each instruction it
//! executes, with the pc, the original instruction (junk fields included)
//! and the registers as they are before the instruction runs. The return
//! value is not reported here; it is in the [`super::Outcome`].
//!
//! * [`NoTrace`] does nothing and compiles away.
//! * [`Steps`] records every step, for `--trace` style listings.
//! * [`Coverage`] counts executions per pc across many runs.
//! * Any `FnMut(usize, &Insn, u32, u32)` closure is a tracer too.

use crate::insn::Insn;
use crate::program::Program;

/// Called before each executed instruction.
pub trait Tracer {
    /// `pc` is about to run `insn` with registers `a` and `x`.
    fn step(&mut self, pc: usize, insn: &Insn, a: u32, x: u32);
}

/// The tracer that does nothing; [`super::run`] uses it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NoTrace;

impl Tracer for NoTrace {
    #[inline(always)]
    fn step(&mut self, _pc: usize, _insn: &Insn, _a: u32, _x: u32) {}
}

impl<F: FnMut(usize, &Insn, u32, u32)> Tracer for F {
    #[inline(always)]
    fn step(&mut self, pc: usize, insn: &Insn, a: u32, x: u32) {
        self(pc, insn, a, x)
    }
}

/// One executed instruction, as [`Steps`] records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Step {
    /// Where it ran.
    pub pc: usize,
    /// The instruction as given.
    pub insn: Insn,
    /// A before it ran.
    pub a: u32,
    /// X before it ran.
    pub x: u32,
}

/// Records every executed instruction in order. Reuse one value (after
/// [`Steps::clear`]) to avoid allocating per run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Steps {
    steps: Vec<Step>,
}

impl Steps {
    /// An empty record.
    pub fn new() -> Steps {
        Steps::default()
    }

    /// The recorded steps, oldest first.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// Forgets the recorded steps, keeping the allocation.
    pub fn clear(&mut self) {
        self.steps.clear();
    }
}

impl Tracer for Steps {
    fn step(&mut self, pc: usize, insn: &Insn, a: u32, x: u32) {
        self.steps.push(Step {
            pc,
            insn: *insn,
            a,
            x,
        });
    }
}

/// How often each pc of one program ran, summed over any number of runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Coverage {
    hits: Vec<u64>,
}

impl Coverage {
    /// Zero counts for every instruction of `prog`.
    pub fn new(prog: &Program) -> Coverage {
        Coverage {
            hits: vec![0; prog.len()],
        }
    }

    /// Executions per pc.
    pub fn hits(&self) -> &[u64] {
        &self.hits
    }

    /// How many instructions ran at least once.
    pub fn covered(&self) -> usize {
        self.hits.iter().filter(|&&h| h > 0).count()
    }

    /// The pcs that never ran.
    pub fn uncovered(&self) -> impl Iterator<Item = usize> + '_ {
        self.hits
            .iter()
            .enumerate()
            .filter(|&(_, &h)| h == 0)
            .map(|(pc, _)| pc)
    }
}

impl Tracer for Coverage {
    #[inline]
    fn step(&mut self, pc: usize, _insn: &Insn, _a: u32, _x: u32) {
        if let Some(h) = self.hits.get_mut(pc) {
            *h += 1;
        }
    }
}
