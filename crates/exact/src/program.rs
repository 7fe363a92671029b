//! A validated cBPF program → its diagram, by symbolic execution.
//!
//! In: a [`Program`] (the validator guarantees forward jumps, seccomp
//! opcodes only, aligned `ld [k]` below 64, scratch memory written before
//! read) and the [`ShiftMode`] of the machine. Out: the diagram of the
//! program's return value over the `seccomp_data` words.
//!
//! Registers and scratch memory hold symbolic [`Word`]s. A forward pass
//! collects the distinct register states reaching each pc (jumps change no
//! register, so a compiled program has one state per pc); a backward pass
//! gives each (pc, state) its result: a jump is `ite(condition, taken,
//! fallen)`, `div x` is `ite(X == 0, 0, next)` as the kernel's converted
//! program returns 0, `ret a` turns A into leaves. Anything past the node
//! budget, or more than [`MAX_STATES`] states, is [`OverBudget`].

use sysfence_cbpf::interp::ShiftMode;
use sysfence_cbpf::limits::SECCOMP_DATA_SIZE;
use sysfence_cbpf::program::Program;
use sysfence_cbpf::{Insn, Opcode};

use crate::cut::Cuts;
use crate::store::{FALSE, FastMap, Node, OverBudget, Res, Store, slot_of_offset};
use crate::word::{self, Rel, Word};

/// The most (pc, register state) pairs one build may visit.
pub const MAX_STATES: usize = 200_000;

/// Registers and scratch memory, as interned word ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct State {
    a: u32,
    x: u32,
    mem: [u32; 16],
}

/// Interned words, so a state is small and hashable; the ALU results
/// already computed (by instruction and operand ids); the cuts.
#[derive(Debug)]
struct Words<'c> {
    list: Vec<Word>,
    ids: FastMap<Word, u32>,
    alu: FastMap<(u16, u32, u32, u32), u32>,
    cuts: &'c mut Cuts,
}

impl<'c> Words<'c> {
    fn new(cuts: &'c mut Cuts) -> Words<'c> {
        Words {
            list: Vec::new(),
            ids: FastMap::default(),
            alu: FastMap::default(),
            cuts,
        }
    }

    fn id(&mut self, w: Word) -> u32 {
        if let Some(&id) = self.ids.get(&w) {
            return id;
        }
        let id = self.list.len() as u32;
        self.list.push(w);
        self.ids.insert(w, id);
        id
    }

    fn get(&self, id: u32) -> Word {
        self.list[id as usize]
    }
}

/// Per pc: the states reaching it, and their results once known.
#[derive(Debug, Default, Clone)]
struct Slot {
    states: Vec<State>,
    index: FastMap<State, usize>,
    results: Vec<Node>,
}

/// How `ret a` with a non-constant A becomes a leaf.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Cfg {
    mode: ShiftMode,
    /// A symbolic leaf holding A's word, instead of a leaf per value.
    symbolic: bool,
}

/// Builds the diagram of `prog` run under `mode`, with value leaves only:
/// canonical, so equal functions are equal nodes.
pub fn diagram(s: &mut Store, prog: &Program, mode: ShiftMode) -> Res<Node> {
    let cfg = Cfg {
        mode,
        symbolic: false,
    };
    build(s, prog, cfg, &mut Cuts::none())
}

/// Builds the diagram of `prog` with `ret a` as a symbolic leaf holding A's
/// word ([`Store::word_leaf`]) and costly operations cut ([`Cuts`]): no leaf
/// per value, but not canonical and over cut variables too, so compare such
/// diagrams with `crate::lazy`.
pub fn lazy_diagram(s: &mut Store, prog: &Program, mode: ShiftMode, cuts: &mut Cuts) -> Res<Node> {
    let cfg = Cfg {
        mode,
        symbolic: true,
    };
    build(s, prog, cfg, cuts)
}

fn build(s: &mut Store, prog: &Program, cfg: Cfg, cuts: &mut Cuts) -> Res<Node> {
    let mode = cfg.mode;
    let insns = prog.insns();
    let mut words = Words::new(cuts);
    let zero = words.id(Word::constant(0));
    let mut slots: Vec<Slot> = vec![Slot::default(); insns.len()];
    add_state(
        &mut slots[0],
        State {
            a: zero,
            x: zero,
            mem: [zero; 16],
        },
    );
    let mut total = 1usize;
    for pc in 0..insns.len() {
        for i in 0..slots[pc].states.len() {
            let st = slots[pc].states[i];
            for (to, next) in successors(s, &mut words, insns, pc, st, mode)? {
                if add_state(&mut slots[to], next) {
                    total += 1;
                    if total > MAX_STATES {
                        return Err(OverBudget(s.budget()));
                    }
                }
            }
        }
    }
    for pc in (0..insns.len()).rev() {
        for i in 0..slots[pc].states.len() {
            let st = slots[pc].states[i];
            let r = result(s, &mut words, &slots, insns, pc, st, cfg)?;
            slots[pc].results.push(r);
        }
    }
    Ok(slots[0].results[0])
}

fn add_state(slot: &mut Slot, st: State) -> bool {
    if slot.index.contains_key(&st) {
        return false;
    }
    slot.index.insert(st, slot.states.len());
    slot.states.push(st);
    true
}

fn lookup(slots: &[Slot], pc: usize, st: &State) -> Node {
    let slot = &slots[pc];
    slot.results[slot.index[st]]
}

/// The states after `insns[pc]` and where they go.
fn successors(
    s: &mut Store,
    words: &mut Words,
    insns: &[Insn],
    pc: usize,
    st: State,
    mode: ShiftMode,
) -> Res<Vec<(usize, State)>> {
    let insn = insns[pc];
    let op = opcode(&insn);
    let next = pc + 1;
    let out = match op {
        Opcode::RetK | Opcode::RetA => vec![],
        Opcode::Ja => vec![(next + insn.k as usize, st)],
        _ if op.operand().is_conditional() => {
            let (t, f) = (next + insn.jt as usize, next + insn.jf as usize);
            if t == f {
                vec![(t, st)]
            } else {
                vec![(t, st), (f, st)]
            }
        }
        _ => vec![(next, step(s, words, &insn, op, st, mode)?)],
    };
    Ok(out)
}

fn opcode(insn: &Insn) -> Opcode {
    // A validated program holds only known codes.
    insn.opcode().unwrap_or(Opcode::RetK)
}

/// Executes one non-jump, non-return instruction.
fn step(
    s: &mut Store,
    words: &mut Words,
    insn: &Insn,
    op: Opcode,
    mut st: State,
    mode: ShiftMode,
) -> Res<State> {
    let k = insn.k;
    let kw = Word::constant(k);
    let set_a = |w: Word, words: &mut Words, st: &mut State| st.a = words.id(w);
    match op {
        Opcode::LdImm => set_a(kw, words, &mut st),
        Opcode::LdAbsW => set_a(Word::input(s, slot_of_offset(k))?, words, &mut st),
        Opcode::LdLen => set_a(Word::constant(SECCOMP_DATA_SIZE), words, &mut st),
        Opcode::LdMem => st.a = st.mem[k as usize % 16],
        Opcode::LdxImm => st.x = words.id(kw),
        Opcode::LdxLen => st.x = words.id(Word::constant(SECCOMP_DATA_SIZE)),
        Opcode::LdxMem => st.x = st.mem[k as usize % 16],
        Opcode::St => st.mem[k as usize % 16] = st.a,
        Opcode::Stx => st.mem[k as usize % 16] = st.x,
        Opcode::Tax => st.x = st.a,
        Opcode::Txa => st.a = st.x,
        _ => st.a = alu_cached(s, words, insn, st, mode)?,
    }
    Ok(st)
}

/// The id of the ALU result of `insn` in state `st`, built once per
/// (instruction, operands), cut past the limit.
fn alu_cached(
    s: &mut Store,
    words: &mut Words,
    insn: &Insn,
    st: State,
    mode: ShiftMode,
) -> Res<u32> {
    let key = (insn.code, insn.k, st.a, st.x);
    if let Some(&id) = words.alu.get(&key) {
        return Ok(id);
    }
    let (a, x, kw) = (words.get(st.a), words.get(st.x), Word::constant(insn.k));
    let op = opcode(insn);
    let w = words
        .cuts
        .alu(s, *insn, (&a, &x), mode, |s| alu(s, op, &a, &x, &kw, mode))?;
    let id = words.id(w);
    words.alu.insert(key, id);
    Ok(id)
}

/// The ALU opcodes; anything else the validator would have refused under
/// seccomp leaves A alone.
fn alu(s: &mut Store, op: Opcode, a: &Word, x: &Word, kw: &Word, mode: ShiftMode) -> Res<Word> {
    let k = kw.as_const().unwrap_or(0);
    Ok(match op {
        Opcode::AddK => word::add(s, a, kw)?,
        Opcode::AddX => word::add(s, a, x)?,
        Opcode::SubK => word::sub(s, a, kw)?,
        Opcode::SubX => word::sub(s, a, x)?,
        Opcode::MulK => word::mul(s, a, kw)?,
        Opcode::MulX => word::mul(s, a, x)?,
        Opcode::DivK => word::divmod(s, a, kw)?.0,
        Opcode::DivX => word::divmod(s, a, x)?.0,
        Opcode::ModK => word::divmod(s, a, kw)?.1,
        Opcode::ModX => word::divmod(s, a, x)?.1,
        Opcode::AndK => word::and(s, a, kw)?,
        Opcode::AndX => word::and(s, a, x)?,
        Opcode::OrK => word::or(s, a, kw)?,
        Opcode::OrX => word::or(s, a, x)?,
        Opcode::XorK => word::xor(s, a, kw)?,
        Opcode::XorX => word::xor(s, a, x)?,
        Opcode::LshK => word::shl_const(a, k & 31),
        Opcode::RshK => word::shr_const(a, k & 31),
        Opcode::LshX => word::shift(s, a, x, true, mode)?,
        Opcode::RshX => word::shift(s, a, x, false, mode)?,
        Opcode::Neg => word::neg(s, a)?,
        _ => *a,
    })
}

/// The result of the program from (pc, state), successors already known.
fn result(
    s: &mut Store,
    words: &mut Words,
    slots: &[Slot],
    insns: &[Insn],
    pc: usize,
    st: State,
    cfg: Cfg,
) -> Res<Node> {
    let mode = cfg.mode;
    let insn = insns[pc];
    let op = opcode(&insn);
    let next = pc + 1;
    let a = words.get(st.a);
    let x = words.get(st.x);
    match op {
        Opcode::RetK => s.leaf(insn.k),
        Opcode::RetA if cfg.symbolic => s.word_leaf(&a.bits),
        Opcode::RetA => leaves(s, &a),
        Opcode::Ja => Ok(lookup(slots, next + insn.k as usize, &st)),
        _ if op.operand().is_conditional() => {
            let taken = lookup(slots, next + insn.jt as usize, &st);
            let fallen = lookup(slots, next + insn.jf as usize, &st);
            if taken == fallen {
                return Ok(taken);
            }
            let rhs = if op.operand() == sysfence_cbpf::opcode::Operand::CondX {
                x
            } else {
                Word::constant(insn.k)
            };
            let rel = relation(op);
            if let (Some(slot), Some(k), false) = (a.as_input(s), rhs.as_const(), rel == Rel::Set) {
                return s.ite_compare(slot, rel, k, taken, fallen);
            }
            let c = words
                .cuts
                .condition(s, insn, (&a, &rhs), |s| word::relate(s, rel, &a, &rhs))?;
            s.ite(c, taken, fallen)
        }
        Opcode::DivX | Opcode::ModX => {
            let after = step(s, words, &insn, op, st, mode)?;
            let rest = lookup(slots, next, &after);
            let is_zero = Insn::op(Opcode::JeqK, 0, 0, 0);
            let zero = words.cuts.condition(s, is_zero, (&x, &x), |s| {
                word::relate(s, Rel::Eq, &x, &Word::constant(0))
            })?;
            s.ite(zero, FALSE, rest)
        }
        _ => {
            let after = step(s, words, &insn, op, st, mode)?;
            Ok(lookup(slots, next, &after))
        }
    }
}

fn relation(op: Opcode) -> Rel {
    match op {
        Opcode::JeqK | Opcode::JeqX => Rel::Eq,
        Opcode::JgtK | Opcode::JgtX => Rel::Gt,
        Opcode::JgeK | Opcode::JgeX => Rel::Ge,
        _ => Rel::Set,
    }
}

/// The multi-terminal diagram whose leaf is the value of `w`.
pub fn leaves(s: &mut Store, w: &Word) -> Res<Node> {
    s.word_leaves(&w.bits)
}
