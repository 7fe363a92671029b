//! Cut points: a word too costly to build bit by bit becomes 32 fresh
//! variables.
//!
//! In: an ALU operation or a jump condition on symbolic words, and a
//! per-operation node limit. Out: its word (or condition) built exactly when
//! that takes at most `limit` new nodes; otherwise a *cut*: fresh variables
//! (word slot 16 + cut number, after every input bit) standing for its
//! value, remembered with its operands so that the same operation on the
//! same words gets the same variables in both diagrams of a comparison.
//!
//! A diagram with cuts is a function of the input *and* the cut variables;
//! treating them as free over-approximates what the program can do. So:
//! a diagram of differences that is FALSE for every cut value proves the
//! programs equal, while a difference found on a path must be confirmed by
//! an input whose real cut values ([`Cuts::values`], computed by running
//! the operation through the interpreter) take that path. Without a limit
//! ([`Cuts::none`]) nothing is cut and diagrams are over input bits only.

use sysfence_cbpf::SeccompData;
use sysfence_cbpf::insn::Insn;
use sysfence_cbpf::interp::{self, Config, NoTrace, ShiftMode};
use sysfence_cbpf::opcode::Opcode;
use sysfence_cbpf::program::Program;

use crate::store::{FALSE, FastMap, Node, OverBudget, Res, Store, VARS, WORDS, var, var_bit};
use crate::word::Word;

/// Where A and X come from in a cut's one-operation program.
const A_OFFSET: u32 = 16;
const X_OFFSET: u32 = 24;

/// One cut: the operation (a one-instruction program between loads of A and
/// X and a return) and its operands.
#[derive(Clone, Debug)]
struct Cut {
    a: Word,
    x: Word,
    prog: Program,
    mode: ShiftMode,
}

/// Identity of a cut: the instruction, the shift mode and the operands.
type Key = (u16, u32, bool, Word, Word);

/// The cuts made while building the diagrams of one comparison.
#[derive(Debug, Default)]
pub struct Cuts {
    limit: Option<usize>,
    list: Vec<Cut>,
    ids: FastMap<Key, usize>,
}

impl Cuts {
    /// Never cut: every word is built bit by bit (or the budget runs out).
    pub fn none() -> Cuts {
        Cuts::default()
    }

    /// Cut any operation that would create more than `limit` nodes.
    pub fn with_limit(limit: usize) -> Cuts {
        Cuts {
            limit: Some(limit),
            ..Cuts::default()
        }
    }

    /// How many cuts were made.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether nothing was cut.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The word of `insn` (an ALU instruction) on A = `a`, X = `x`: `build`
    /// within the limit, else a cut.
    pub fn alu(
        &mut self,
        s: &mut Store,
        insn: Insn,
        (a, x): (&Word, &Word),
        mode: ShiftMode,
        build: impl FnOnce(&mut Store) -> Res<Word>,
    ) -> Res<Word> {
        if let Some(w) = self.within_limit(s, build)? {
            return Ok(w);
        }
        let c = self.cut(s, insn, (a, x), mode, false)?;
        let mut bits = [FALSE; 32];
        for (i, b) in bits.iter_mut().enumerate() {
            *b = s.literal(var(WORDS + c, i as u32))?;
        }
        Ok(Word { bits })
    }

    /// The condition of `insn` (a conditional jump) on A = `a`, X = `x`.
    pub fn condition(
        &mut self,
        s: &mut Store,
        insn: Insn,
        (a, x): (&Word, &Word),
        build: impl FnOnce(&mut Store) -> Res<Node>,
    ) -> Res<Node> {
        if let Some(n) = self.within_limit(s, build)? {
            return Ok(n);
        }
        let c = self.cut(s, insn, (a, x), ShiftMode::Mask31, true)?;
        s.literal(var(WORDS + c, 0))
    }

    fn within_limit<T>(
        &self,
        s: &mut Store,
        build: impl FnOnce(&mut Store) -> Res<T>,
    ) -> Res<Option<T>> {
        let Some(limit) = self.limit.filter(|&l| s.len() + l < s.budget()) else {
            return build(s).map(Some);
        };
        Ok(s.limited(limit, build).ok())
    }

    fn cut(
        &mut self,
        s: &Store,
        insn: Insn,
        (a, x): (&Word, &Word),
        mode: ShiftMode,
        boolean: bool,
    ) -> Res<usize> {
        let key = (insn.code, insn.k, mode == ShiftMode::Mask31, *a, *x);
        if let Some(&c) = self.ids.get(&key) {
            return Ok(c);
        }
        let c = self.list.len();
        if (WORDS + c + 1) * 32 > usize::from(u16::MAX - 1) {
            return Err(OverBudget(s.budget()));
        }
        let prog = one_operation(insn, boolean).ok_or(OverBudget(s.budget()))?;
        self.list.push(Cut {
            a: *a,
            x: *x,
            prog,
            mode,
        });
        self.ids.insert(key, c);
        Ok(c)
    }

    /// The real value of every cut on the input whose words (by slot) are
    /// `words`, in order (a cut's operands only use earlier cuts).
    pub fn values(&self, s: &Store, words: &[u32; WORDS]) -> Vec<u32> {
        let mut out = Vec::with_capacity(self.list.len());
        for c in &self.list {
            let a = eval_word(s, &c.a, words, &out);
            let x = eval_word(s, &c.x, words, &out);
            let mut d = SeccompData::default();
            // Both halves, so the byte order of the (zero) arch is moot.
            d.args[0] = u64::from(a) << 32 | u64::from(a);
            d.args[1] = u64::from(x) << 32 | u64::from(x);
            let config = Config::new().shift(c.mode);
            out.push(interp::run_with(&c.prog, &d, &config, &mut NoTrace).raw);
        }
        out
    }
}

/// `ld [16]; tax` for X, `ld [24]` for A, the instruction, then `ret a` (an
/// ALU operation) or `ret #1` / `ret #0` (a jump, true first).
fn one_operation(insn: Insn, boolean: bool) -> Option<Program> {
    let ld = |off| Insn::op(Opcode::LdAbsW, 0, 0, off);
    let mut insns = vec![ld(X_OFFSET), Insn::op(Opcode::Tax, 0, 0, 0), ld(A_OFFSET)];
    if boolean {
        let op = insn.opcode()?;
        insns.push(Insn::op(op, 0, 1, insn.k));
        insns.push(Insn::op(Opcode::RetK, 0, 0, 1));
        insns.push(Insn::op(Opcode::RetK, 0, 0, 0));
    } else {
        insns.push(Insn::op(insn.opcode()?, 0, 0, insn.k));
        insns.push(Insn::op(Opcode::RetA, 0, 0, 0));
    }
    Program::new(&insns).ok()
}

/// The value of a diagram at an input and cut values.
pub fn eval(s: &Store, mut n: Node, words: &[u32; WORDS], cuts: &[u32]) -> u32 {
    loop {
        if let Some(v) = s.value(n) {
            return v;
        }
        if let Some(bits) = s.leaf_word(n) {
            return eval_word(s, &Word { bits }, words, cuts);
        }
        let (slot, bit) = var_bit(s.top(n));
        let w = if slot < WORDS {
            words[slot]
        } else {
            cuts.get(slot - WORDS).copied().unwrap_or(0)
        };
        let (lo, hi) = s.children(n);
        n = if w >> bit & 1 == 1 { hi } else { lo };
    }
}

/// The value of a symbolic word at an input and cut values.
pub fn eval_word(s: &Store, w: &Word, words: &[u32; WORDS], cuts: &[u32]) -> u32 {
    (0..32).fold(0, |acc, i| acc | (eval(s, w.bits[i], words, cuts) & 1) << i)
}

/// Whether `n` tests a cut variable anywhere.
pub fn has_cut_vars(s: &Store, n: Node) -> bool {
    let mut seen = std::collections::HashSet::new();
    let mut stack = vec![n];
    while let Some(x) = stack.pop() {
        if !seen.insert(x) {
            continue;
        }
        if let Some(bits) = s.leaf_word(x) {
            stack.extend(bits);
        } else if s.value(x).is_none() {
            if s.top(x) >= VARS {
                return true;
            }
            let (lo, hi) = s.children(x);
            stack.extend([lo, hi]);
        }
    }
    false
}
