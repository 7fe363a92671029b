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
//!
//! A comparison of an input word with a constant (a number dispatch over
//! its leaves, a search over ioctl commands, a list of flags values whose
//! miss tests an earlier argument again) keeps its result as intervals of
//! the word ([`crate::cases`]); the comparisons before it on the same word
//! overlay their intervals, and the diagram is built once, where another
//! instruction needs it ([`crate::cases::materialize_any`]). The node is
//! the one `ite` per comparison would give (the store is canonical),
//! without walking the growing diagram at every comparison.

use sysfence_cbpf::interp::ShiftMode;
use sysfence_cbpf::limits::SECCOMP_DATA_SIZE;
use sysfence_cbpf::program::Program;
use sysfence_cbpf::{Insn, Opcode};

use crate::cases::{Parts, materialize_any, overlay_into};
use crate::cut::Cuts;
use crate::store::{FALSE, FastMap, Node, OverBudget, Res, Store, WORDS, slot_of_offset};
use crate::word::{self, Rel, Word};

/// The most (pc, register state) pairs one build may visit.
pub const MAX_STATES: usize = 200_000;

/// Registers and scratch memory, as interned ids: A and X of words, the
/// memory of its sixteen words (most programs never write it, and a small
/// state is cheap to copy, compare and hash).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct State {
    a: u32,
    x: u32,
    mem: u32,
}

/// Scratch memory: sixteen word ids.
type Memory = [u32; 16];

/// The most intervals all results kept as [`Parts`] may hold together;
/// past it results are built as diagrams at once.
const MAX_PARTS: usize = 1 << 20;

/// Interned words, so a state is small and hashable, with what each is (a
/// constant, an untouched input word) found once; the input words already
/// built; the ALU results already computed (by instruction and operand ids);
/// the cuts; how many more intervals results may keep.
#[derive(Debug)]
struct Words<'c> {
    list: Vec<Word>,
    kinds: Vec<Kind>,
    ids: FastMap<Word, u32>,
    /// Interned scratch memories, by [`State`]'s `mem`.
    memories: Vec<Memory>,
    memory_ids: FastMap<Memory, u32>,
    inputs: [Option<u32>; WORDS],
    alu: FastMap<(u16, u32, u32, u32), u32>,
    cuts: &'c mut Cuts,
    parts_left: usize,
    /// Every result kept as intervals, by [`Out::Case`]'s index: its
    /// pieces' place in `pieces`.
    parts: Vec<(usize, usize)>,
    /// The pieces of every result kept as intervals, one after another.
    pieces: Parts,
    /// Room for the pieces of the comparison being built.
    scratch: Parts,
}

/// What an interned word is, as the comparisons need it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Const(u32),
    Input(usize),
    Other,
}

impl<'c> Words<'c> {
    /// Words for a program of `len` instructions.
    fn new(cuts: &'c mut Cuts, len: usize) -> Words<'c> {
        Words {
            list: Vec::with_capacity(16),
            kinds: Vec::with_capacity(16),
            ids: FastMap::default(),
            memories: Vec::new(),
            memory_ids: FastMap::default(),
            inputs: [None; WORDS],
            alu: FastMap::default(),
            cuts,
            parts_left: MAX_PARTS,
            // A compiled program keeps about one list per jump, of a few
            // pieces each.
            parts: Vec::with_capacity(len),
            pieces: Vec::with_capacity(4 * len),
            scratch: Vec::with_capacity(64),
        }
    }

    fn id(&mut self, s: &Store, w: Word) -> u32 {
        if let Some(&id) = self.ids.get(&w) {
            return id;
        }
        let kind = match (w.as_const(), w.as_input(s)) {
            (Some(k), _) => Kind::Const(k),
            (None, Some(slot)) => Kind::Input(slot),
            (None, None) => Kind::Other,
        };
        let id = self.list.len() as u32;
        self.list.push(w);
        self.kinds.push(kind);
        self.ids.insert(w, id);
        id
    }

    /// The id of the input word in `slot`, built the first time.
    fn input(&mut self, s: &mut Store, slot: usize) -> Res<u32> {
        if let Some(id) = self.inputs[slot] {
            return Ok(id);
        }
        let w = Word::input(s, slot)?;
        let id = self.id(s, w);
        self.inputs[slot] = Some(id);
        Ok(id)
    }

    fn get(&self, id: u32) -> Word {
        self.list[id as usize]
    }

    fn memory_id(&mut self, m: Memory) -> u32 {
        if let Some(&id) = self.memory_ids.get(&m) {
            return id;
        }
        let id = self.memories.len() as u32;
        self.memories.push(m);
        self.memory_ids.insert(m, id);
        id
    }

    /// Word `k` (mod 16) of memory `mem`.
    fn load(&self, mem: u32, k: u32) -> u32 {
        self.memories[mem as usize][k as usize % 16]
    }

    /// Memory `mem` with `word` stored at `k` (mod 16).
    fn store(&mut self, mem: u32, k: u32, word: u32) -> u32 {
        let mut m = self.memories[mem as usize];
        m[k as usize % 16] = word;
        self.memory_id(m)
    }

    fn kind(&self, id: u32) -> Kind {
        self.kinds[id as usize]
    }

    /// The pieces of the result kept as intervals at `index`.
    fn parts(&self, index: usize) -> &[(u32, u32, Node)] {
        let (from, to) = self.parts[index];
        &self.pieces[from..to]
    }
}

/// Per pc: the states reaching it, and their results once known.
#[derive(Debug, Default, Clone)]
struct Slot {
    states: Few<State>,
    /// The states' positions, once there are more than [`FEW_STATES`] (a
    /// compiled program has one state per pc: a scan of one state is
    /// cheaper than hashing it).
    index: FastMap<State, usize>,
    results: Few<Out>,
}

/// A list holding its first item inline: a compiled program has one state
/// per pc, and a vector per pc would allocate for it.
#[derive(Debug, Clone)]
struct Few<T> {
    first: Option<T>,
    more: Vec<T>,
}

impl<T> Default for Few<T> {
    fn default() -> Few<T> {
        Few {
            first: None,
            more: Vec::new(),
        }
    }
}

impl<T> Few<T> {
    fn len(&self) -> usize {
        usize::from(self.first.is_some()) + self.more.len()
    }

    fn push(&mut self, item: T) {
        match self.first {
            None => self.first = Some(item),
            Some(_) => self.more.push(item),
        }
    }

    fn iter(&self) -> impl Iterator<Item = &T> {
        self.first.iter().chain(&self.more)
    }
}

impl<T> std::ops::Index<usize> for Few<T> {
    type Output = T;
    fn index(&self, i: usize) -> &T {
        match (i, &self.first) {
            (0, Some(item)) => item,
            _ => &self.more[i.wrapping_sub(1)],
        }
    }
}

impl<T> std::ops::IndexMut<usize> for Few<T> {
    fn index_mut(&mut self, i: usize) -> &mut T {
        match (i, &mut self.first) {
            (0, Some(item)) => item,
            _ => &mut self.more[i.wrapping_sub(1)],
        }
    }
}

/// Up to this many states a slot finds a state by scanning.
const FEW_STATES: usize = 4;

impl Slot {
    /// The position of `st` among the slot's states.
    fn find(&self, st: &State) -> Option<usize> {
        if self.states.len() <= FEW_STATES {
            self.states.iter().position(|s| s == st)
        } else {
            self.index.get(st).copied()
        }
    }

    /// The position of `st`, which the forward pass added.
    fn at(&self, st: &State) -> usize {
        // Every (pc, state) the backward pass asks for was added forward,
        // so a slot's only state is the one asked for; a `ret k` records
        // every state reaching it as one, and its result is the same.
        if self.states.len() == 1 {
            return 0;
        }
        self.find(st).unwrap_or(usize::MAX)
    }
}

/// The result of a (pc, state): a diagram, or intervals of one input word
/// (with their diagram once something needed it).
#[derive(Debug, Clone)]
enum Out {
    Node(Node),
    Case {
        slot: usize,
        /// Its intervals, in [`Words`]'s list.
        parts: usize,
        built: Option<Node>,
    },
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
    let mut words = Words::new(cuts, insns.len());
    let zero = words.id(s, Word::constant(0));
    let mut slots: Vec<Slot> = vec![Slot::default(); insns.len()];
    let start = State {
        a: zero,
        x: zero,
        mem: words.memory_id([zero; 16]),
    };
    add_state(&mut slots[0], start);
    let mut total = 1usize;
    for pc in 0..insns.len() {
        for i in 0..slots[pc].states.len() {
            let st = slots[pc].states[i];
            let (first, second) = successors(s, &mut words, insns, pc, st, mode)?;
            for (to, next) in first.into_iter().chain(second) {
                // A `ret k` reads no register: every state reaching it is
                // recorded as the one state `start` (see `Slot::at`).
                let next = if opcode(&insns[to]) == Opcode::RetK {
                    start
                } else {
                    next
                };
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
            let r = result(s, &mut words, &mut slots, insns, pc, st, cfg)?;
            slots[pc].results.push(r);
        }
    }
    let entry = slots[0].states[0];
    node_at(s, &words, &mut slots, 0, &entry)
}

fn add_state(slot: &mut Slot, st: State) -> bool {
    if slot.find(&st).is_some() {
        return false;
    }
    slot.states.push(st);
    if slot.states.len() > FEW_STATES {
        if slot.index.is_empty() {
            slot.index = slot
                .states
                .iter()
                .enumerate()
                .map(|(i, s)| (*s, i))
                .collect();
        } else {
            slot.index.insert(st, slot.states.len() - 1);
        }
    }
    true
}

/// The diagram of (pc, state), built from its intervals the first time.
fn node_at(s: &mut Store, words: &Words, slots: &mut [Slot], pc: usize, st: &State) -> Res<Node> {
    let slot = &mut slots[pc];
    let at = slot.at(st);
    match &mut slot.results[at] {
        Out::Node(n) | Out::Case { built: Some(n), .. } => Ok(*n),
        Out::Case { slot, parts, built } => {
            let n = materialize_any(s, *slot, words.parts(*parts))?;
            *built = Some(n);
            Ok(n)
        }
    }
}

/// One outcome of a comparison as intervals of the compared word.
enum Side {
    /// A diagram that tests neither the word nor any word before it.
    Whole([(u32, u32, Node); 1]),
    /// A result kept as intervals of the word (its index in [`Words`]'s
    /// list).
    Parts(usize),
}

impl Side {
    fn parts<'a>(&'a self, words: &'a Words) -> &'a [(u32, u32, Node)] {
        match self {
            Side::Whole(p) => p,
            Side::Parts(i) => words.parts(*i),
        }
    }
}

/// The result of (pc, state) as intervals of the input word in slot
/// `word`: its own when it is kept so, else its diagram for every value
/// (which may test the word or earlier ones: [`materialize_any`] builds
/// such lists).
fn parts_at(
    s: &mut Store,
    words: &Words,
    slots: &mut [Slot],
    pc: usize,
    st: &State,
    word: usize,
) -> Res<Side> {
    let slot = &slots[pc];
    if let Out::Case { slot, parts, .. } = &slot.results[slot.at(st)]
        && *slot == word
    {
        return Ok(Side::Parts(*parts));
    }
    let n = node_at(s, words, slots, pc, st)?;
    Ok(Side::Whole([(0, u32::MAX, n)]))
}

/// Keeps `parts` as a result while the interval budget lasts.
fn keep_parts(
    s: &mut Store,
    words: &mut Words,
    word: usize,
    parts: &[(u32, u32, Node)],
) -> Res<Out> {
    if let [(_, _, n)] = parts {
        return Ok(Out::Node(*n));
    }
    if parts.len() > words.parts_left {
        return materialize_any(s, word, parts).map(Out::Node);
    }
    words.parts_left -= parts.len();
    let from = words.pieces.len();
    words.pieces.extend_from_slice(parts);
    words.parts.push((from, words.pieces.len()));
    Ok(Out::Case {
        slot: word,
        parts: words.parts.len() - 1,
        built: None,
    })
}

/// Where an instruction goes and with which state: none after a return, a
/// second one after a jump whose two targets differ.
type Next = (Option<(usize, State)>, Option<(usize, State)>);

/// The states after `insns[pc]` and where they go.
fn successors(
    s: &mut Store,
    words: &mut Words,
    insns: &[Insn],
    pc: usize,
    st: State,
    mode: ShiftMode,
) -> Res<Next> {
    let insn = insns[pc];
    let op = opcode(&insn);
    let next = pc + 1;
    let out = match op {
        Opcode::RetK | Opcode::RetA => (None, None),
        Opcode::Ja => (Some((next + insn.k as usize, st)), None),
        _ if op.operand().is_conditional() => {
            let (t, f) = (next + insn.jt as usize, next + insn.jf as usize);
            (Some((t, st)), (t != f).then_some((f, st)))
        }
        _ => (Some((next, step(s, words, &insn, op, st, mode)?)), None),
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
    let constant = |s: &Store, words: &mut Words, k| words.id(s, Word::constant(k));
    match op {
        Opcode::LdImm => st.a = constant(s, words, k),
        Opcode::LdAbsW => st.a = words.input(s, slot_of_offset(k))?,
        Opcode::LdLen => st.a = constant(s, words, SECCOMP_DATA_SIZE),
        Opcode::LdMem => st.a = words.load(st.mem, k),
        Opcode::LdxImm => st.x = constant(s, words, k),
        Opcode::LdxLen => st.x = constant(s, words, SECCOMP_DATA_SIZE),
        Opcode::LdxMem => st.x = words.load(st.mem, k),
        Opcode::St => st.mem = words.store(st.mem, k, st.a),
        Opcode::Stx => st.mem = words.store(st.mem, k, st.x),
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
    let id = words.id(s, w);
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
    slots: &mut [Slot],
    insns: &[Insn],
    pc: usize,
    st: State,
    cfg: Cfg,
) -> Res<Out> {
    let mode = cfg.mode;
    let insn = insns[pc];
    let op = opcode(&insn);
    let next = pc + 1;
    match op {
        Opcode::RetK => s.leaf(insn.k).map(Out::Node),
        Opcode::RetA if cfg.symbolic => s.word_leaf(&words.get(st.a).bits).map(Out::Node),
        Opcode::RetA => leaves(s, &words.get(st.a)).map(Out::Node),
        Opcode::Ja => {
            let to = &slots[next + insn.k as usize];
            Ok(to.results[to.at(&st)].clone())
        }
        _ if op.operand().is_conditional() => jump(s, words, slots, (insn, next), op, st),
        Opcode::DivX | Opcode::ModX => {
            let x = words.get(st.x);
            let after = step(s, words, &insn, op, st, mode)?;
            let rest = node_at(s, words, slots, next, &after)?;
            let is_zero = Insn::op(Opcode::JeqK, 0, 0, 0);
            let zero = words.cuts.condition(s, is_zero, (&x, &x), |s| {
                word::relate(s, Rel::Eq, &x, &Word::constant(0))
            })?;
            s.ite(zero, FALSE, rest).map(Out::Node)
        }
        _ => {
            let after = step(s, words, &insn, op, st, mode)?;
            node_at(s, words, slots, next, &after).map(Out::Node)
        }
    }
}

/// The result of a conditional jump: as intervals of the compared word
/// when it compares an input word with a constant (not `jset`), else `ite`
/// of the comparison.
fn jump(
    s: &mut Store,
    words: &mut Words,
    slots: &mut [Slot],
    (insn, next): (Insn, usize),
    op: Opcode,
    st: State,
) -> Res<Out> {
    let (t, f) = (next + insn.jt as usize, next + insn.jf as usize);
    let by_x = op.operand() == sysfence_cbpf::opcode::Operand::CondX;
    let rel = relation(op);
    let rhs = if by_x {
        words.kind(st.x)
    } else {
        Kind::Const(insn.k)
    };
    if let (Kind::Input(slot), Kind::Const(k)) = (words.kind(st.a), rhs)
        && rel != Rel::Set
    {
        return compare_parts(s, words, slots, (t, f), &st, (slot, rel, k));
    }
    let taken = node_at(s, words, slots, t, &st)?;
    let fallen = node_at(s, words, slots, f, &st)?;
    if taken == fallen {
        return Ok(Out::Node(taken));
    }
    let a = words.get(st.a);
    let rhs = if by_x {
        words.get(st.x)
    } else {
        Word::constant(insn.k)
    };
    let c = words
        .cuts
        .condition(s, insn, (&a, &rhs), |s| word::relate(s, rel, &a, &rhs))?;
    s.ite(c, taken, fallen).map(Out::Node)
}

/// `word REL k ? taken : fallen` as intervals of the word, whatever the
/// outcomes test ([`parts_at`]).
fn compare_parts(
    s: &mut Store,
    words: &mut Words,
    slots: &mut [Slot],
    (t, f): (usize, usize),
    st: &State,
    (word, rel, k): (usize, Rel, u32),
) -> Res<Out> {
    let taken = parts_at(s, words, slots, t, st, word)?;
    let fallen = parts_at(s, words, slots, f, st, word)?;
    let mut out = std::mem::take(&mut words.scratch);
    out.clear();
    let (taken, fallen) = (taken.parts(words), fallen.parts(words));
    match rel {
        Rel::Gt if k == u32::MAX => out.extend_from_slice(fallen),
        Rel::Gt => overlay_into(fallen, k + 1, u32::MAX, taken, &mut out),
        Rel::Ge => overlay_into(fallen, k, u32::MAX, taken, &mut out),
        _ => overlay_into(fallen, k, k, taken, &mut out),
    }
    let kept = keep_parts(s, words, word, &out);
    words.scratch = out;
    kept
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
