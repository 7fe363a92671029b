//! Every difference between two diagrams, as regions of the input space.
//!
//! In: two diagrams in one store. Out: up to `limit` [`Region`]s, each a set
//! of fixed bits per word (what the paths of both diagrams test on the way
//! to a pair of differing leaves) with the two values there. Regions are
//! disjoint; together they cover every differing input when the list is not
//! truncated. A region's fixed bits print as a value/mask per word; a word
//! whose fixed bits are a prefix prints as a range.

use crate::store::{FastMap, Node, Store, WORDS, var_bit};

/// The fixed bits of one word: `value` on the bits set in `mask`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Bits {
    /// Which bits are fixed.
    pub mask: u32,
    /// Their values.
    pub value: u32,
}

impl Bits {
    /// The inclusive range the bits describe, if the fixed bits are a prefix.
    pub fn range(&self) -> Option<(u32, u32)> {
        let free = !self.mask;
        (free & free.wrapping_add(1) == 0).then_some((self.value, self.value | free))
    }
}

/// One region where the diagrams differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Region {
    /// Fixed bits per word slot.
    pub words: [Bits; WORDS],
    /// The first diagram's value on the region.
    pub a: u32,
    /// The second's.
    pub b: u32,
}

impl Region {
    /// One input of the region (free bits 0), words by slot.
    pub fn sample(&self) -> [u32; WORDS] {
        let mut w = [0; WORDS];
        for (out, bits) in w.iter_mut().zip(&self.words) {
            *out = bits.value;
        }
        w
    }
}

/// Lists the regions where `x` and `y` differ; the flag says whether the
/// list was cut at `limit`.
pub fn regions(s: &Store, x: Node, y: Node, limit: usize) -> (Vec<Region>, bool) {
    let mut out = Vec::new();
    let mut same = FastMap::default();
    let mut cur = [Bits::default(); WORDS];
    let cut = walk(s, x, y, &mut cur, &mut out, &mut same, limit);
    (out, cut)
}

fn walk(
    s: &Store,
    x: Node,
    y: Node,
    cur: &mut [Bits; WORDS],
    out: &mut Vec<Region>,
    same: &mut FastMap<(Node, Node), ()>,
    limit: usize,
) -> bool {
    if x == y || same.contains_key(&(x, y)) {
        return false;
    }
    if let (Some(a), Some(b)) = (s.value(x), s.value(y)) {
        if out.len() >= limit {
            return true;
        }
        out.push(Region { words: *cur, a, b });
        return false;
    }
    let before = out.len();
    let v = s.top(x).min(s.top(y));
    let (slot, bit) = var_bit(v);
    let (x0, x1) = s.cofactors(x, v);
    let (y0, y1) = s.cofactors(y, v);
    let saved = cur[slot];
    cur[slot].mask |= 1 << bit;
    cur[slot].value &= !(1 << bit);
    let mut cut = walk(s, x0, y0, cur, out, same, limit);
    cur[slot].value |= 1 << bit;
    cut |= !cut && walk(s, x1, y1, cur, out, same, limit);
    cur[slot] = saved;
    if out.len() == before && !cut {
        same.insert((x, y), ());
    }
    cut
}
