//! Exact counts: how many inputs reach each return value.
//!
//! In: a diagram and the first variable of the space to count over (the
//! variables before it are fixed by the caller, for example by restricting
//! the arch and number words). Out: per leaf value, the exact number of
//! assignments of the remaining variables that reach it ([`Count`], a
//! 576-bit unsigned integer: up to 2^512 inputs), and the fraction of the
//! space it is. [`support`] says which words a diagram reads, so a report
//! can say "of fd values" when only `args[0]` matters.
//!
//! Counting walks each node once, top down in variable order: a node's
//! weight (the assignments above it that reach it) flows along each edge,
//! times two to the number of variables the edge skips, and a leaf's count
//! is what reaches it. Memory is one count per node, however many values
//! the leaves hold.

use std::collections::BTreeMap;
use std::sync::Arc;

use sysfence_profile::arch::Arch;

use crate::policy::{ARCH_SLOT, NR_SLOT};
use crate::store::{FastMap, Node, Res, Store, VARS, WORDS, var, var_bit};

/// The bits after arch and number: six 64-bit arguments and the
/// instruction pointer.
pub const ARG_BITS: u32 = VARS as u32 - 64;

/// Limbs of a [`Count`] (64 bits each): 2^512 and a little headroom.
const LIMBS: usize = 9;

/// An exact, unsigned number of inputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Count([u64; LIMBS]);

impl Count {
    /// One input.
    pub fn one() -> Count {
        Count::from_u64(1)
    }

    /// The number `v`.
    pub fn from_u64(v: u64) -> Count {
        let mut c = Count::default();
        c.0[0] = v;
        c
    }
}

impl std::ops::Shl<u32> for Count {
    type Output = Count;

    /// `self * 2^k`.
    fn shl(self, k: u32) -> Count {
        let mut out = [0u64; LIMBS];
        let (words, bits) = ((k / 64) as usize, k % 64);
        for i in (words..LIMBS).rev() {
            let src = i - words;
            let mut v = self.0[src] << bits;
            if bits > 0 && src > 0 {
                v |= self.0[src - 1] >> (64 - bits);
            }
            out[i] = v;
        }
        Count(out)
    }
}

impl std::ops::Shr<u32> for Count {
    type Output = Count;

    /// `self / 2^k`, rounded down.
    fn shr(self, k: u32) -> Count {
        let mut out = [0u64; LIMBS];
        let (words, bits) = ((k / 64) as usize, k % 64);
        for (i, o) in out.iter_mut().enumerate().take(LIMBS.saturating_sub(words)) {
            let src = i + words;
            let mut v = self.0[src] >> bits;
            if bits > 0 && src + 1 < LIMBS {
                v |= self.0[src + 1] << (64 - bits);
            }
            *o = v;
        }
        Count(out)
    }
}

impl std::ops::Add for Count {
    type Output = Count;

    /// `self + other`.
    fn add(self, other: Count) -> Count {
        let mut out = [0u64; LIMBS];
        let mut carry = false;
        for (i, o) in out.iter_mut().enumerate() {
            let (s1, c1) = self.0[i].overflowing_add(other.0[i]);
            let (s2, c2) = s1.overflowing_add(u64::from(carry));
            *o = s2;
            carry = c1 || c2;
        }
        Count(out)
    }
}

impl Count {
    /// `self / 2^bits` as a float (the fraction of a space of `2^bits`).
    pub fn fraction(self, bits: u32) -> f64 {
        self.0
            .iter()
            .enumerate()
            .map(|(i, &l)| l as f64 * 2f64.powi(64 * i as i32 - bits as i32))
            .sum()
    }

    /// The count as a `u128`, if it fits.
    pub fn to_u128(self) -> Option<u128> {
        self.0[2..]
            .iter()
            .all(|&l| l == 0)
            .then(|| u128::from(self.0[1]) << 64 | u128::from(self.0[0]))
    }
}

/// Per leaf value, the number of assignments of the variables `from..VARS`
/// that reach it from `n` (whose top must not be above `from`).
///
/// Top down, in one pass over the nodes in variable order: a node's weight
/// is the number of assignments of the variables above it that reach it,
/// and each edge passes its source's weight on, times two to the number of
/// variables it skips. A leaf's count is what its edges bring. Memory is one
/// [`Count`] per node, whatever the number of leaf values (a per-node map of
/// the values below each node grew with nodes times values: a `ret a` of 16
/// argument bits took gigabytes).
pub fn per_leaf(s: &Store, n: Node, from: u16) -> BTreeMap<u32, Count> {
    let mut out: BTreeMap<u32, Count> = BTreeMap::new();
    let root_weight = Count::one() << u32::from(level(s, n) - from);
    if let Some(v) = s.value(n) {
        out.insert(v, root_weight);
        return out;
    }
    let mut nodes = inner_nodes(s, n);
    nodes.sort_unstable_by_key(|&x| level(s, x));
    let mut weight: FastMap<Node, Count> = FastMap::default();
    weight.insert(n, root_weight);
    for x in nodes {
        let w = weight.remove(&x).unwrap_or_default();
        let top = level(s, x);
        let (lo, hi) = s.children(x);
        for child in [lo, hi] {
            let c = w << u32::from(level(s, child) - top - 1);
            let slot = match s.value(child) {
                Some(v) => out.entry(v).or_default(),
                None => weight.entry(child).or_default(),
            };
            *slot = *slot + c;
        }
    }
    out
}

/// The inner (non-leaf) nodes reachable from `n`, each once.
fn inner_nodes(s: &Store, n: Node) -> Vec<Node> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    let mut stack = vec![n];
    while let Some(x) = stack.pop() {
        if s.value(x).is_some() || !seen.insert(x) {
            continue;
        }
        out.push(x);
        let (lo, hi) = s.children(x);
        stack.extend([lo, hi]);
    }
    out
}

/// The level of a node: its variable, or `VARS` for a leaf.
fn level(s: &Store, n: Node) -> u16 {
    s.top(n).min(VARS)
}

/// The word slots `n` reads (tests a bit of), sorted.
pub fn support(s: &Store, n: Node) -> Vec<usize> {
    let mut slots = [false; WORDS];
    let mut seen = std::collections::HashSet::new();
    let mut stack = vec![n];
    while let Some(x) = stack.pop() {
        if s.value(x).is_some() || !seen.insert(x) {
            continue;
        }
        slots[var_bit(s.top(x)).0] = true;
        let (lo, hi) = s.children(x);
        stack.extend([lo, hi]);
    }
    (0..WORDS).filter(|&i| slots[i]).collect()
}

/// Per return value, a count of inputs; shared by the numbers a filter
/// treats alike.
pub type Leaves = Arc<BTreeMap<u32, Count>>;

/// What one syscall gets, over its argument space.
#[derive(Clone, Debug)]
pub struct SyscallCount {
    /// The name in the arch's table.
    pub name: &'static str,
    /// The number as `seccomp_data.nr` carries it.
    pub nr: u32,
    /// Per return value, the inputs (of 2^[`ARG_BITS`]) that get it (shared
    /// by the numbers the filter treats alike).
    pub leaves: Leaves,
    /// The words the result depends on (empty: one value for every input).
    pub slots: Vec<usize>,
}

impl SyscallCount {
    /// The inputs of `leaf` counted over the words the result reads only:
    /// (count, bits of that space), exact when it fits in 128 bits.
    pub fn over_support(&self, leaf: u32) -> (Option<u128>, u32) {
        let bits = 32 * self.slots.len() as u32;
        let c = self.leaves.get(&leaf).copied().unwrap_or_default();
        ((c >> (ARG_BITS - bits)).to_u128(), bits)
    }
}

/// Per syscall of `arch`'s table, what the diagram `root` gives it.
pub fn syscalls(s: &mut Store, root: Node, arch: Arch) -> Res<Vec<SyscallCount>> {
    let on_arch = s.restrict_word(root, ARCH_SLOT, arch.audit_arch())?;
    let mut out = Vec::new();
    // Numbers the filter treats alike share one diagram: count it once.
    let mut done: FastMap<Node, (Leaves, Vec<usize>)> = FastMap::default();
    for &(name, nr) in arch.table() {
        let n = s.restrict_word(on_arch, NR_SLOT, nr)?;
        let (leaves, slots) = done
            .entry(n)
            .or_insert_with(|| {
                let leaves = per_leaf(s, n, var(NR_SLOT + 1, 31));
                (Arc::new(leaves), support(s, n))
            })
            .clone();
        out.push(SyscallCount {
            name,
            nr,
            leaves,
            slots,
        });
    }
    Ok(out)
}

/// Per return value, the share of `arch`'s inputs (every number, every
/// argument) that get it: counts of 2^(`ARG_BITS` + 32).
pub fn per_arch(s: &mut Store, root: Node, arch: Arch) -> Res<BTreeMap<u32, Count>> {
    let on_arch = s.restrict_word(root, ARCH_SLOT, arch.audit_arch())?;
    Ok(per_leaf(s, on_arch, var(NR_SLOT, 31)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::var;
    use crate::word::greater_input;

    #[test]
    fn a_threshold_splits_the_word_exactly() {
        let mut s = Store::new(10_000);
        // args[0] at slot 3 > 99: 2^32 - 100 of its 2^32 values; the other
        // 13 words of the 448 bits after arch and nr are free.
        let c = greater_input(&mut s, 3, 99, true).unwrap();
        let counts = per_leaf(&s, c, var(2, 31));
        assert_eq!(counts[&1], Count::from_u64((1 << 32) - 100) << 416);
        assert_eq!(counts[&0], Count::from_u64(100) << 416);
        assert_eq!(counts[&0] + counts[&1], Count::one() << 448);
        let f = counts[&0].fraction(448);
        assert!((f - 100.0 / 4_294_967_296.0).abs() < 1e-15, "{f}");
        assert_eq!(support(&s, c), vec![3]);
        assert_eq!(counts[&0] >> 416, Count::from_u64(100));
        assert_eq!((Count::one() << 300) >> 299, Count::from_u64(2));
    }
}
