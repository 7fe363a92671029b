//! Every difference between two diagrams, as regions of the input space.
//!
//! In: two diagrams in one store. Out: up to `limit` [`Region`]s, each a set
//! of fixed bits per word (what the paths of both diagrams test on the way
//! to a pair of differing leaves) with the two values there. Regions are
//! disjoint; together they cover every differing input when the list is not
//! truncated. A region's fixed bits print as a value/mask per word; a word
//! whose fixed bits are a prefix prints as a range.
//!
//! A path fixes bits in prefixes, so one difference such as "argument word
//! above 0x53fc" is found as one region per bit prefix (0x53fd, 0x53fe..=0x53ff,
//! 0x5400..=0x57ff, ...). [`areas`] merges them back: regions with the same
//! pair of values whose words are equal but for one, where their ranges
//! touch, become one [`Area`] of inclusive ranges, until no two merge. The
//! union is exactly the regions' union, so areas stay disjoint and cover the
//! same inputs.

use crate::store::{FastMap, Node, Store, WORDS, var_bit};

/// The fixed bits of one word: `value` on the bits set in `mask`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
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

/// Raw regions [`areas`] reads per area it may list.
const REGIONS_PER_AREA: usize = 64;

/// At most this many raw regions are read whatever the limit (136 bytes
/// each: 36 MB).
const REGIONS_MAX: usize = 1 << 18;

/// What one word of an [`Area`] holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Word {
    /// Every value from the first to the second, inclusive (`0..=u32::MAX`:
    /// any value).
    Range(u32, u32),
    /// Fixed bits that are not a prefix (a `jset` or masked test).
    Bits(Bits),
}

impl Word {
    const ANY: Word = Word::Range(0, u32::MAX);

    fn of(bits: Bits) -> Word {
        match bits.range() {
            Some((lo, hi)) => Word::Range(lo, hi),
            None => Word::Bits(bits),
        }
    }

    /// Whether the word holds every value.
    pub fn is_any(&self) -> bool {
        *self == Word::ANY
    }

    /// The smallest value the word holds.
    pub fn first(&self) -> u32 {
        match *self {
            Word::Range(lo, _) => lo,
            Word::Bits(b) => b.value,
        }
    }
}

/// A box of the input space where the diagrams differ: one [`Word`] per
/// word slot, with the two values there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Area {
    /// What each word slot holds.
    pub words: [Word; WORDS],
    /// The first diagram's value on the area.
    pub a: u32,
    /// The second's.
    pub b: u32,
}

impl Area {
    fn of(r: &Region) -> Area {
        Area {
            words: r.words.map(Word::of),
            a: r.a,
            b: r.b,
        }
    }

    /// One input of the area (each word's smallest value), words by slot.
    pub fn sample(&self) -> [u32; WORDS] {
        self.words.map(|w| w.first())
    }
}

/// Lists the areas where `x` and `y` differ, in input order; the flag says
/// whether the list was cut at `limit` (or the regions read to build it
/// were).
///
/// When the raw regions read were cut, the read is repeated with four times
/// as many (up to 2^18), so that the areas listed are whole, not
/// pieces cut where the read stopped.
pub fn areas(s: &Store, x: Node, y: Node, limit: usize) -> (Vec<Area>, bool) {
    let mut raw = limit.saturating_mul(REGIONS_PER_AREA).min(REGIONS_MAX);
    loop {
        let (list, cut) = regions(s, x, y, raw);
        let mut merged = merge(list.iter().map(Area::of).collect());
        if cut && raw < REGIONS_MAX && limit > 0 {
            raw = raw.saturating_mul(4).min(REGIONS_MAX);
            continue;
        }
        let over = merged.len() > limit;
        merged.truncate(limit);
        return (merged, cut || over);
    }
}

/// Merges areas that touch in one word until none do, then sorts them.
fn merge(mut list: Vec<Area>) -> Vec<Area> {
    loop {
        let before = list.len();
        for slot in (0..WORDS).rev() {
            list = merge_slot(list, slot);
        }
        if list.len() == before {
            break;
        }
    }
    list.sort_unstable_by_key(|a| a.words);
    list
}

/// One sweep: areas equal but in `slot`, whose ranges there touch, merge.
fn merge_slot(mut list: Vec<Area>, slot: usize) -> Vec<Area> {
    let rest = |r: &Area| {
        let mut words = r.words;
        words[slot] = Word::ANY;
        (r.a, r.b, words)
    };
    list.sort_unstable_by_key(|r| (rest(r), r.words[slot]));
    let mut out: Vec<Area> = Vec::with_capacity(list.len());
    for r in list {
        if let Some(last) = out.last_mut()
            && let (Word::Range(lo, hi), Word::Range(next, end)) = (last.words[slot], r.words[slot])
            && hi.checked_add(1) == Some(next)
            && rest(last) == rest(&r)
        {
            last.words[slot] = Word::Range(lo, end);
            continue;
        }
        out.push(r);
    }
    out
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
