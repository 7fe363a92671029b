//! The node store: a hash-consed multi-terminal binary decision diagram over
//! the 512 bits of `seccomp_data`.
//!
//! In: leaf values (32-bit filter return values) and variables (see
//! [`var`]). Out: [`Node`] handles, canonical within one [`Store`]: two
//! handles are equal iff the functions they denote are equal. Boolean
//! diagrams are the ones whose leaves are 0 and 1 ([`FALSE`], [`TRUE`]).
//!
//! Every node creation counts against the store's budget; past it every
//! operation returns [`OverBudget`], so a caller can answer "undecided
//! within budget N" instead of a guess. Nothing here knows about cBPF or
//! policies.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::word::Rel;

/// A node handle (index into the store).
pub type Node = u32;

/// The leaf 0 (also boolean false and `SECCOMP_RET_KILL_THREAD`).
pub const FALSE: Node = 0;
/// The leaf 1 (also boolean true).
pub const TRUE: Node = 1;

/// The variable marker of a leaf.
const LEAF: u16 = u16::MAX;
/// The variable marker of a symbolic leaf: its value is a word of the input
/// (`lo` indexes the store's symbolic words; see [`Store::word_leaf`]).
const SYM: u16 = u16::MAX - 1;

/// Number of 32-bit words of `seccomp_data`.
pub const WORDS: usize = 16;
/// Number of variables (bits of `seccomp_data`).
pub const VARS: u16 = (WORDS * 32) as u16;

/// The byte offsets of `seccomp_data` words in variable order: arch, nr,
/// each argument's two words (the one at the higher offset first, which is
/// the high word on little-endian arches), then the instruction pointer.
pub const SLOT_OFFSETS: [u32; WORDS] =
    [4, 0, 20, 16, 28, 24, 36, 32, 44, 40, 52, 48, 60, 56, 12, 8];

/// The variable slot of the word at byte offset `offset` (4-aligned, < 64).
pub fn slot_of_offset(offset: u32) -> usize {
    SLOT_OFFSETS
        .iter()
        .position(|&o| o == offset)
        .unwrap_or(WORDS - 1)
}

/// The variable for bit `bit` (0 = least significant) of word slot `slot`.
/// Within a word the most significant bit comes first.
pub const fn var(slot: usize, bit: u32) -> u16 {
    (slot as u32 * 32 + (31 - bit)) as u16
}

/// The (slot, bit) of a variable.
pub const fn var_bit(v: u16) -> (usize, u32) {
    ((v / 32) as usize, 31 - (v % 32) as u32)
}

/// The node budget was exceeded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("undecided within budget {0} nodes")]
pub struct OverBudget(pub usize);

/// Result of a store operation.
pub type Res<T> = Result<T, OverBudget>;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Entry {
    var: u16,
    lo: u32,
    hi: u32,
}

/// A small multiplicative hasher for the store's integer keys.
#[derive(Clone, Copy, Debug, Default)]
pub struct FastHasher(u64);

impl Hasher for FastHasher {
    fn finish(&self) -> u64 {
        // A product's low bits depend only on the factors' low bits, and
        // the table picks buckets by the low bits: bring the well-mixed
        // high bits down.
        self.0.rotate_left(26)
    }
    fn write(&mut self, bytes: &[u8]) {
        // Slices of integers (a word's 32 node ids) hash as their bytes:
        // eight at a time.
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(c);
            self.write_u64(u64::from_le_bytes(word));
        }
        for &b in chunks.remainder() {
            self.write_u64(u64::from(b));
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.write_u64(u64::from(i));
    }
    fn write_u16(&mut self, i: u16) {
        self.write_u64(u64::from(i));
    }
    fn write_u32(&mut self, i: u32) {
        self.write_u64(u64::from(i));
    }
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

/// A `HashMap` with [`FastHasher`].
pub type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;

/// A case split: a word slot and its merged, covering pieces.
pub(crate) type CaseKey = (usize, Vec<(u32, u32, Node)>);

/// Binary operations on leaves that [`Store::apply`] caches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LeafOp {
    /// Stacked filters: the kernel's `seccomp_run_filters` rule, newer first.
    Stack,
    /// Boolean: the leaves differ.
    Differ,
    /// Boolean: a caller-numbered predicate (see [`Store::apply_with`]).
    Custom(u8),
}

/// The node store. Use one store for every diagram that is compared.
///
/// The unique table is open addressing over node ids (the entry lives once,
/// in `nodes`); the `ite` cache is direct-mapped and lossy (a collision
/// evicts, which costs a recomputation, never a wrong answer), sized with
/// the unique table, so neither grows by rehashing pairs.
#[derive(Debug)]
pub struct Store {
    nodes: Vec<Entry>,
    unique: Vec<Node>,
    ite_cache: Vec<IteSlot>,
    apply_cache: FastMap<(LeafOp, Node, Node), Node>,
    /// [`Store::ite_compare`]'s memo, kept to reuse its table.
    compare_memo: FastMap<(u32, Node, Node), Node>,
    /// Case splits already built, by word slot and merged pieces (see
    /// [`crate::cases::materialize`]).
    cases: FastMap<CaseKey, Node>,
    budget: usize,
    syms: Syms,
    /// Recursive steps taken by the operations so far ([`Store::ite`]'s
    /// cache misses).
    steps: usize,
    /// The step count past which the store is over budget:
    /// [`STEPS_PER_NODE`] times the budget, or less within
    /// [`Store::limited`].
    step_cap: usize,
}

/// The words of symbolic leaves, interned: 32 boolean diagrams each.
#[derive(Debug, Default)]
struct Syms {
    words: Vec<[Node; 32]>,
    ids: FastMap<[Node; 32], u32>,
}

/// An empty slot of the unique table.
const EMPTY: Node = Node::MAX;

/// Initial unique-table slots (a power of two); the `ite` cache has as many.
const INITIAL_SLOTS: usize = 1 << 12;

/// One `ite` cache line: the key (c, f, g) and the result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct IteSlot {
    key: (Node, Node, Node),
    result: Node,
}

/// Steps an operation may take per node of the budget: each miss of the
/// lossy `ite` cache is one.
pub const STEPS_PER_NODE: usize = 16;

/// Unique-table slots per line of the lossy `ite` cache.
const ITE_LINES_PER_SLOT: usize = 4;

const NO_ITE: IteSlot = IteSlot {
    key: (EMPTY, EMPTY, EMPTY),
    result: EMPTY,
};

/// A 64-bit mix of three words (multiply-rotate, high bits folded down).
fn mix3(a: u32, b: u32, c: u32) -> usize {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let h = (u64::from(a).wrapping_mul(K) ^ u64::from(b)).wrapping_mul(K) ^ u64::from(c);
    let h = h.wrapping_mul(K);
    (h ^ (h >> 29)) as usize
}

fn entry_hash(e: &Entry) -> usize {
    mix3(u32::from(e.var), e.lo, e.hi)
}

impl Store {
    /// A store that refuses to grow past `budget` nodes.
    pub fn new(budget: usize) -> Store {
        Store::with_capacity(budget, INITIAL_SLOTS / 2)
    }

    /// A store sized for about `nodes` nodes (it grows past that, up to
    /// `budget`): a good guess saves rebuilding the tables while it grows.
    pub fn with_capacity(budget: usize, nodes: usize) -> Store {
        let slots = (nodes.min(budget).max(2) * 2).next_power_of_two();
        let mut s = Store {
            nodes: Vec::with_capacity(slots / 2),
            unique: vec![EMPTY; slots],
            ite_cache: vec![NO_ITE; slots / ITE_LINES_PER_SLOT],
            apply_cache: FastMap::default(),
            compare_memo: FastMap::default(),
            cases: FastMap::default(),
            budget: budget.max(2),
            syms: Syms::default(),
            steps: 0,
            step_cap: budget.max(2).saturating_mul(STEPS_PER_NODE),
        };
        s.insert(Entry {
            var: LEAF,
            lo: 0,
            hi: 0,
        });
        s.insert(Entry {
            var: LEAF,
            lo: 1,
            hi: 0,
        });
        s
    }

    /// The budget in nodes.
    pub fn budget(&self) -> usize {
        self.budget
    }

    /// `f` with at most `nodes` new nodes and [`STEPS_PER_NODE`] times as
    /// many steps (never more than the store's own budget allows); the
    /// budget is restored afterwards, whatever `f` returns.
    pub fn limited<T>(&mut self, nodes: usize, f: impl FnOnce(&mut Store) -> Res<T>) -> Res<T> {
        let (budget, cap) = (self.budget, self.step_cap);
        self.budget = budget.min(self.nodes.len() + nodes).max(2);
        let op_cap = self
            .steps
            .saturating_add(nodes.saturating_mul(STEPS_PER_NODE));
        self.step_cap = cap.min(op_cap);
        let r = f(self);
        (self.budget, self.step_cap) = (budget, cap);
        r
    }

    /// The node of a case split built before: `pieces` (merged, covering)
    /// on the word in `slot`.
    pub(crate) fn known_case(&self, key: &CaseKey) -> Option<Node> {
        self.cases.get(key).copied()
    }

    /// Remembers the node of a case split.
    pub(crate) fn remember_case(&mut self, key: CaseKey, n: Node) {
        self.cases.insert(key, n);
    }

    /// Nodes created so far (leaves included).
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether only the two boolean leaves exist.
    pub fn is_empty(&self) -> bool {
        self.nodes.len() <= 2
    }

    /// The unique-table slot holding `e`, or the empty slot where it goes.
    fn slot(&self, e: &Entry) -> usize {
        let mask = self.unique.len() - 1;
        let mut i = entry_hash(e) & mask;
        loop {
            let id = self.unique[i];
            if id == EMPTY || self.nodes[id as usize] == *e {
                return i;
            }
            i = (i + 1) & mask;
        }
    }

    fn insert(&mut self, e: Entry) -> Node {
        if (self.nodes.len() + 1) * 2 > self.unique.len() {
            self.grow();
        }
        let i = self.slot(&e);
        let id = self.nodes.len() as Node;
        self.nodes.push(e);
        self.unique[i] = id;
        id
    }

    /// Doubles the unique table (re-placing every node) and the `ite` cache
    /// (emptied: it is lossy anyway).
    fn grow(&mut self) {
        let size = self.unique.len() * 2;
        self.unique = vec![EMPTY; size];
        let mask = size - 1;
        for (id, e) in self.nodes.iter().enumerate() {
            let mut i = entry_hash(e) & mask;
            while self.unique[i] != EMPTY {
                i = (i + 1) & mask;
            }
            self.unique[i] = id as Node;
        }
        self.ite_cache = vec![NO_ITE; size / ITE_LINES_PER_SLOT];
    }

    /// One recursive step of an operation; past [`STEPS_PER_NODE`] times
    /// the budget the store is over budget: the lossy `ite` cache can make
    /// an operation recompute the same subproblems while it creates few
    /// nodes (a product of two words compared took 444 million steps for
    /// 2 million nodes), so the node budget alone does not bound the time.
    fn step(&mut self) -> Res<()> {
        self.steps += 1;
        if self.steps > self.step_cap {
            return Err(OverBudget(self.budget));
        }
        Ok(())
    }

    fn intern(&mut self, e: Entry) -> Res<Node> {
        let i = self.slot(&e);
        if self.unique[i] != EMPTY {
            return Ok(self.unique[i]);
        }
        if self.nodes.len() >= self.budget {
            return Err(OverBudget(self.budget));
        }
        if (self.nodes.len() + 1) * 2 > self.unique.len() {
            // The table doubles: the slot found above moves.
            return Ok(self.insert(e));
        }
        let id = self.nodes.len() as Node;
        self.nodes.push(e);
        self.unique[i] = id;
        Ok(id)
    }

    /// The leaf with value `value`.
    pub fn leaf(&mut self, value: u32) -> Res<Node> {
        self.intern(Entry {
            var: LEAF,
            lo: value,
            hi: 0,
        })
    }

    /// The node testing `var`: `lo` when the bit is 0, `hi` when it is 1.
    pub fn mk(&mut self, var: u16, lo: Node, hi: Node) -> Res<Node> {
        if lo == hi {
            return Ok(lo);
        }
        self.intern(Entry { var, lo, hi })
    }

    /// The boolean diagram of one variable.
    pub fn literal(&mut self, var: u16) -> Res<Node> {
        self.mk(var, FALSE, TRUE)
    }

    /// The leaf value of `n`, if it is a leaf.
    pub fn value(&self, n: Node) -> Option<u32> {
        let e = self.nodes[n as usize];
        (e.var == LEAF).then_some(e.lo)
    }

    /// The variable `n` tests (`VARS` or more for a leaf).
    pub fn top(&self, n: Node) -> u16 {
        self.nodes[n as usize].var
    }

    /// The two children of an inner node (a leaf is its own children).
    pub fn children(&self, n: Node) -> (Node, Node) {
        let e = self.nodes[n as usize];
        if e.var >= SYM { (n, n) } else { (e.lo, e.hi) }
    }

    /// The cofactors of `n` for `var` (which must not be below `n`'s top).
    pub fn cofactors(&self, n: Node, var: u16) -> (Node, Node) {
        if self.top(n) == var {
            self.children(n)
        } else {
            (n, n)
        }
    }

    /// `if c then f else g`, where `c` is boolean.
    pub fn ite(&mut self, c: Node, f: Node, g: Node) -> Res<Node> {
        match c {
            TRUE => return Ok(f),
            FALSE => return Ok(g),
            _ if f == g => return Ok(f),
            _ if f == TRUE && g == FALSE => return Ok(c),
            _ => {}
        }
        let line = mix3(c, f, g) & (self.ite_cache.len() - 1);
        if self.ite_cache[line].key == (c, f, g) {
            return Ok(self.ite_cache[line].result);
        }
        self.step()?;
        let v = self.top(c).min(self.top(f)).min(self.top(g));
        let (c0, c1) = self.cofactors(c, v);
        let (f0, f1) = self.cofactors(f, v);
        let (g0, g1) = self.cofactors(g, v);
        let lo = self.ite(c0, f0, g0)?;
        let hi = self.ite(c1, f1, g1)?;
        let r = self.mk(v, lo, hi)?;
        // The cache may have been replaced while the children were built.
        let line = mix3(c, f, g) & (self.ite_cache.len() - 1);
        self.ite_cache[line] = IteSlot {
            key: (c, f, g),
            result: r,
        };
        Ok(r)
    }

    /// `if w REL k then f else g` for the input word in `slot` and a
    /// constant `k`, built in one descent over the word's bits (most
    /// significant first) without building the condition's chain: while the
    /// bits seen equal `k`'s the comparison is open; the first differing bit
    /// decides it, and the branch keeps `f` or `g` cofactored on the path.
    /// `Rel::Set` is not a comparison of this kind and is built with [`ite`]
    /// by the caller.
    ///
    /// [`ite`]: Store::ite
    pub fn ite_compare(&mut self, slot: usize, rel: Rel, k: u32, f: Node, g: Node) -> Res<Node> {
        let mut memo = std::mem::take(&mut self.compare_memo);
        memo.clear();
        let r = self.compare_rec(&mut memo, (slot, rel, k), 31, f, g);
        self.compare_memo = memo;
        r
    }

    fn compare_rec(
        &mut self,
        memo: &mut FastMap<(u32, Node, Node), Node>,
        (slot, rel, k): (usize, Rel, u32),
        bit: u32,
        f: Node,
        g: Node,
    ) -> Res<Node> {
        if f == g {
            return Ok(f);
        }
        // Only the top bit is remembered: above the word's first bit the
        // descent branches (tests of earlier words, in both cofactors),
        // but once it tests the word's bits it follows `k`'s path alone
        // (cofactors have no test above the next bit), one step per bit,
        // and no step is reached twice from one entry.
        let entry = bit == 31;
        if entry && let Some(&r) = memo.get(&(bit, f, g)) {
            return Ok(r);
        }
        let here = var(slot, bit);
        let v = self.top(f).min(self.top(g)).min(here);
        let (f0, f1) = self.cofactors(f, v);
        let (g0, g1) = self.cofactors(g, v);
        let key = (slot, rel, k);
        let (lo, hi) = if v < here {
            (
                self.compare_rec(memo, key, bit, f0, g0)?,
                self.compare_rec(memo, key, bit, f1, g1)?,
            )
        } else {
            // The word's bit `bit` against k's, the bits above being equal.
            let after = |s: &mut Store, memo: &mut FastMap<_, _>, f, g| match bit {
                0 if rel == Rel::Gt => Ok(g),
                0 => Ok(f),
                _ => s.compare_rec(memo, key, bit - 1, f, g),
            };
            let above = if rel == Rel::Eq { g1 } else { f1 };
            if k >> bit & 1 == 1 {
                (g0, after(self, memo, f1, g1)?)
            } else {
                (after(self, memo, f0, g0)?, above)
            }
        };
        let r = self.mk(v, lo, hi)?;
        if entry {
            memo.insert((bit, f, g), r);
        }
        Ok(r)
    }

    /// Boolean negation.
    pub fn not(&mut self, a: Node) -> Res<Node> {
        self.ite(a, FALSE, TRUE)
    }

    /// Boolean conjunction.
    pub fn and(&mut self, a: Node, b: Node) -> Res<Node> {
        self.ite(a, b, FALSE)
    }

    /// Boolean disjunction.
    pub fn or(&mut self, a: Node, b: Node) -> Res<Node> {
        self.ite(a, TRUE, b)
    }

    /// Boolean exclusive or.
    pub fn xor(&mut self, a: Node, b: Node) -> Res<Node> {
        let nb = self.not(b)?;
        self.ite(a, nb, b)
    }

    /// Combines two diagrams leaf by leaf with a built-in operation.
    pub fn apply(&mut self, op: LeafOp, f: Node, g: Node) -> Res<Node> {
        let func = match op {
            LeafOp::Stack => stack_leaf,
            LeafOp::Differ => |a: u32, b: u32| u32::from(a != b),
            LeafOp::Custom(_) => return Ok(FALSE),
        };
        self.apply_with(op, f, g, &func)
    }

    /// Combines two diagrams leaf by leaf with `func`; `op` names `func` in
    /// the cache, so one `op` must always mean one `func` within a store.
    pub fn apply_with(
        &mut self,
        op: LeafOp,
        f: Node,
        g: Node,
        func: &dyn Fn(u32, u32) -> u32,
    ) -> Res<Node> {
        if let (Some(a), Some(b)) = (self.value(f), self.value(g)) {
            return self.leaf(func(a, b));
        }
        if self.top(f).min(self.top(g)) >= SYM {
            let (f, g) = (self.expand(f)?, self.expand(g)?);
            return self.apply_with(op, f, g, func);
        }
        if let Some(&r) = self.apply_cache.get(&(op, f, g)) {
            return Ok(r);
        }
        let v = self.top(f).min(self.top(g));
        let (f0, f1) = self.cofactors(f, v);
        let (g0, g1) = self.cofactors(g, v);
        let lo = self.apply_with(op, f0, g0, func)?;
        let hi = self.apply_with(op, f1, g1, func)?;
        let r = self.join(v, lo, hi)?;
        self.apply_cache.insert((op, f, g), r);
        Ok(r)
    }

    /// The diagram with word slot `slot` fixed to `value`.
    pub fn restrict_word(&mut self, n: Node, slot: usize, value: u32) -> Res<Node> {
        let mut memo = FastMap::default();
        self.restrict_rec(n, slot, value, &mut memo)
    }

    fn restrict_rec(
        &mut self,
        n: Node,
        slot: usize,
        value: u32,
        memo: &mut FastMap<Node, Node>,
    ) -> Res<Node> {
        // Tests of the fixed word itself: follow `value`'s bits (no node is
        // built on this path, so none is remembered).
        let mut n = n;
        while self.top(n) < SYM && self.top(n) as usize / 32 == slot {
            let (_, bit) = var_bit(self.top(n));
            let (lo, hi) = self.children(n);
            n = if value >> bit & 1 == 1 { hi } else { lo };
        }
        let v = self.top(n);
        if v == SYM {
            return self.restrict_leaf(n, slot, value, memo);
        }
        if v == LEAF || (v as usize / 32) > slot {
            return Ok(n);
        }
        if let Some(&r) = memo.get(&n) {
            return Ok(r);
        }
        let (lo, hi) = self.children(n);
        let l = self.restrict_rec(lo, slot, value, memo)?;
        let h = self.restrict_rec(hi, slot, value, memo)?;
        let r = self.mk(v, l, h)?;
        memo.insert(n, r);
        Ok(r)
    }

    /// The number of distinct nodes reachable from `n` (leaves included).
    pub fn size(&self, n: Node) -> usize {
        let mut seen = std::collections::HashSet::new();
        let mut stack = vec![n];
        while let Some(x) = stack.pop() {
            if seen.insert(x) && self.value(x).is_none() {
                let (lo, hi) = self.children(x);
                stack.push(lo);
                stack.push(hi);
            }
        }
        seen.len()
    }

    /// Whether every inner node below `n` tests a later variable than its
    /// parent: the order canonicity rests on (for tests of constructions
    /// that build nodes directly).
    pub fn is_ordered(&self, n: Node) -> bool {
        let mut seen = std::collections::HashSet::new();
        let mut stack = vec![n];
        while let Some(x) = stack.pop() {
            if !seen.insert(x) || self.value(x).is_some() || self.top(x) == SYM {
                continue;
            }
            let (lo, hi) = self.children(x);
            if self.top(lo) <= self.top(x) || self.top(hi) <= self.top(x) {
                return false;
            }
            stack.push(lo);
            stack.push(hi);
        }
        true
    }

    /// The leaf reached by the input whose words (by slot) are `words`.
    pub fn eval(&self, mut n: Node, words: &[u32; WORDS]) -> u32 {
        loop {
            if let Some(v) = self.value(n) {
                return v;
            }
            if let Some(bits) = self.leaf_word(n) {
                return (0..32).fold(0, |acc, i| acc | self.eval(bits[i], words) << i);
            }
            let (slot, bit) = var_bit(self.top(n));
            let (lo, hi) = self.children(n);
            n = if words[slot] >> bit & 1 == 1 { hi } else { lo };
        }
    }
}

/// Symbolic leaves: a leaf whose value is a word of the input, kept as its
/// 32 bit diagrams until a comparison needs it. A diagram with symbolic
/// leaves is a correct function but not canonical (a symbolic leaf may equal
/// a constant under the path that reaches it), so equal roots still mean
/// equal functions but different roots must be compared (see
/// `crate::lazy`). [`Store::apply_with`] expands them into value leaves.
impl Store {
    /// The leaf whose value is the word `bits` (a value leaf if constant).
    pub fn word_leaf(&mut self, bits: &[Node; 32]) -> Res<Node> {
        if let Some(k) = self.constant_of(bits) {
            return self.leaf(k);
        }
        let id = match self.syms.ids.get(bits) {
            Some(&id) => id,
            None => {
                let id = self.syms.words.len() as u32;
                self.syms.words.push(*bits);
                self.syms.ids.insert(*bits, id);
                id
            }
        };
        self.intern(Entry {
            var: SYM,
            lo: id,
            hi: 0,
        })
    }

    /// The word of a symbolic leaf (`None` for anything else).
    pub fn leaf_word(&self, n: Node) -> Option<[Node; 32]> {
        let e = self.nodes[n as usize];
        (e.var == SYM).then(|| self.syms.words[e.lo as usize])
    }

    /// The word of any leaf: a value leaf as constant bits.
    pub fn terminal_word(&self, n: Node) -> Option<[Node; 32]> {
        let k = self.value(n)?;
        let mut bits = [FALSE; 32];
        for (i, b) in bits.iter_mut().enumerate() {
            *b = if k >> i & 1 == 1 { TRUE } else { FALSE };
        }
        Some(bits)
    }

    fn constant_of(&self, bits: &[Node; 32]) -> Option<u32> {
        bits.iter()
            .enumerate()
            .try_fold(0u32, |k, (i, &b)| match b {
                TRUE => Some(k | 1 << i),
                FALSE => Some(k),
                _ => None,
            })
    }

    /// Whether `n` is a leaf of either kind.
    pub fn is_terminal(&self, n: Node) -> bool {
        self.top(n) >= SYM
    }

    fn restrict_leaf(
        &mut self,
        n: Node,
        slot: usize,
        value: u32,
        memo: &mut FastMap<Node, Node>,
    ) -> Res<Node> {
        let mut bits = self.leaf_word(n).unwrap_or([FALSE; 32]);
        for b in &mut bits {
            *b = self.restrict_rec(*b, slot, value, memo)?;
        }
        self.word_leaf(&bits)
    }

    /// `n` with a symbolic leaf replaced by the diagram of its values.
    pub fn expand(&mut self, n: Node) -> Res<Node> {
        match self.leaf_word(n) {
            Some(bits) => self.word_leaves(&bits),
            None => Ok(n),
        }
    }

    /// The multi-terminal diagram whose leaf is the value of the word `bits`
    /// (a leaf per value it can take).
    pub fn word_leaves(&mut self, bits: &[Node; 32]) -> Res<Node> {
        let mut memo = FastMap::default();
        self.word_leaves_rec(bits, &mut memo)
    }

    fn word_leaves_rec(
        &mut self,
        bits: &[Node; 32],
        memo: &mut FastMap<[Node; 32], Node>,
    ) -> Res<Node> {
        if let Some(k) = self.constant_of(bits) {
            return self.leaf(k);
        }
        if let Some(&n) = memo.get(bits) {
            return Ok(n);
        }
        let v = bits.iter().map(|&b| self.top(b)).min().unwrap_or(0);
        let (mut lo, mut hi) = (*bits, *bits);
        for i in 0..32 {
            (lo[i], hi[i]) = self.cofactors(bits[i], v);
        }
        let l = self.word_leaves_rec(&lo, memo)?;
        let h = self.word_leaves_rec(&hi, memo)?;
        let n = self.mk(v, l, h)?;
        memo.insert(*bits, n);
        Ok(n)
    }

    /// The node "if `v` then `hi` else `lo`" where the children may test
    /// variables at or above `v` (after a symbolic leaf was expanded).
    pub fn join(&mut self, v: u16, lo: Node, hi: Node) -> Res<Node> {
        if self.top(lo) > v && self.top(hi) > v {
            return self.mk(v, lo, hi);
        }
        let c = self.literal(v)?;
        self.ite(c, hi, lo)
    }
}

/// `seccomp_run_filters` for two results: `newer` is the running result of
/// the newer filters, `older` the next filter's; the strictly lower action
/// (signed comparison of the action part) replaces it.
pub fn stack_leaf(newer: u32, older: u32) -> u32 {
    sysfence_cbpf::action::combine([newer, older])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_consing_makes_equal_functions_one_node() {
        let mut s = Store::new(1000);
        let a = s.literal(var(0, 3)).unwrap();
        let b = s.literal(var(1, 0)).unwrap();
        let ab = s.and(a, b).unwrap();
        let ba = s.and(b, a).unwrap();
        assert_eq!(ab, ba);
        let na = s.not(a).unwrap();
        let nna = s.not(na).unwrap();
        assert_eq!(nna, a);
        let x = s.xor(a, a).unwrap();
        assert_eq!(x, FALSE);
    }

    #[test]
    fn ite_compare_is_ite_of_the_comparison() {
        use crate::word::{Rel, relate_input};
        let mut s = Store::new(1_000_000);
        // f and g depend on the compared word (slot 1), on an earlier word
        // (slot 0) and on a later one (slot 2).
        let a = relate_input(&mut s, Rel::Gt, 1, 0x1234).unwrap();
        let b = relate_input(&mut s, Rel::Eq, 0, 7).unwrap();
        let c = relate_input(&mut s, Rel::Ge, 2, 0x8000_0000).unwrap();
        let (l5, l9) = (s.leaf(5).unwrap(), s.leaf(9).unwrap());
        let f0 = s.ite(c, l5, l9).unwrap();
        let f = s.ite(a, f0, l9).unwrap();
        let g0 = s.ite(b, l9, f0).unwrap();
        let g = s.ite(a, l5, g0).unwrap();
        for k in [
            0,
            1,
            7,
            0x1233,
            0x1234,
            0x1235,
            0x8000_0000,
            u32::MAX - 1,
            u32::MAX,
        ] {
            for rel in [Rel::Eq, Rel::Gt, Rel::Ge] {
                let cond = relate_input(&mut s, rel, 1, k).unwrap();
                let want = s.ite(cond, f, g).unwrap();
                assert_eq!(
                    s.ite_compare(1, rel, k, f, g).unwrap(),
                    want,
                    "{rel:?} {k:#x}"
                );
                assert_eq!(
                    s.ite_compare(1, rel, k, g, f).unwrap(),
                    s.ite(cond, g, f).unwrap()
                );
            }
        }
    }

    #[test]
    fn budget_is_enforced() {
        let mut s = Store::new(4);
        let a = s.literal(var(0, 0)).unwrap();
        assert_eq!(s.len(), 3);
        assert!(s.literal(var(0, 1)).is_ok());
        assert_eq!(s.literal(var(0, 2)), Err(OverBudget(4)));
        assert_eq!(s.literal(var(0, 0)), Ok(a));
    }

    /// Steps are bounded by the budget, and more tightly inside
    /// `limited`, whose caps are restored after it even on failure.
    #[test]
    fn steps_are_bounded_by_the_budget() {
        let mut s = Store::new(10);
        let many = |n: usize| move |s: &mut Store| (0..n).try_for_each(|_| s.step());
        let r = s.limited(2, many(2 * STEPS_PER_NODE + 1));
        assert_eq!(r, Err(OverBudget(4)));
        assert_eq!(s.budget(), 10);
        assert!(s.limited(2, many(2 * STEPS_PER_NODE)).is_ok());
        let left = 10 * STEPS_PER_NODE - s.steps;
        assert!(many(left)(&mut s).is_ok());
        assert_eq!(s.step(), Err(OverBudget(10)));
    }

    #[test]
    fn stack_keeps_the_stricter_and_the_newer_on_ties() {
        assert_eq!(stack_leaf(0x7fff_0000, 0x0005_0001), 0x0005_0001);
        assert_eq!(stack_leaf(0x0005_0002, 0x0005_0001), 0x0005_0002);
        assert_eq!(stack_leaf(0x8000_0000, 0), 0x8000_0000);
    }
}
