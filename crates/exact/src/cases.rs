//! Case splits on one input word: a function of the word given as sorted,
//! covering intervals, each with its diagram of the rest of the input.
//!
//! In: [`Parts`] (inclusive `(lo, hi, node)` triples covering every 32-bit
//! value, in order). Out: the canonical diagram, the same node any other
//! construction of that function gives: [`case`] and [`materialize`] when
//! no node tests the split word or a word before it in the variable order
//! (at most 32 nodes per boundary, a lone value or a boundary as the chain
//! of its bits); [`materialize_any`] for any nodes (the earlier words'
//! tests first, then the nodes that test the word read as its pieces).
//!
//! The policy's arch and number dispatch is one [`case`]; the program
//! builder keeps a run of comparisons of one word as [`Parts`], combining
//! them with [`overlay_into`] (one pass over the intervals, no diagram
//! work), and builds the diagram once where something else needs it.

use crate::store::{FALSE, FastMap, Node, Res, Store, var, var_bit};
use crate::word::Rel;

/// Sorted inclusive `(lo, hi, node)` intervals covering `0..=u32::MAX`.
pub type Parts = Vec<(u32, u32, Node)>;

/// `base` with the values `lo..=hi` taken from `top` instead; neighbours
/// with the same node merge, so a function has one list.
pub fn overlay(base: &[(u32, u32, Node)], lo: u32, hi: u32, top: &[(u32, u32, Node)]) -> Parts {
    // A piece of `base` around the whole range comes out twice.
    let mut out: Parts = Vec::with_capacity(base.len() + top.len() + 1);
    overlay_into(base, lo, hi, top, &mut out);
    out
}

/// [`overlay`] appended to `out`, which must be empty or end below `base`.
pub fn overlay_into(
    base: &[(u32, u32, Node)],
    lo: u32,
    hi: u32,
    top: &[(u32, u32, Node)],
    out: &mut Parts,
) {
    let mut push = |l: u32, h: u32, n: Node| match out.last_mut() {
        Some(last) if last.2 == n => last.1 = h,
        _ => out.push((l, h, n)),
    };
    for &(l, h, n) in base.iter().take_while(|p| p.0 < lo) {
        push(l, h.min(lo - 1), n);
    }
    for &(l, h, n) in top.iter().filter(|p| p.1 >= lo && p.0 <= hi) {
        push(l.max(lo), h.min(hi), n);
    }
    if hi < u32::MAX {
        for &(l, h, n) in base.iter().filter(|p| p.1 > hi) {
            push(l.max(hi + 1), h, n);
        }
    }
}

/// The diagram of `parts` on the word in `slot`. Neighbours with the same
/// node are merged first, so a function has one list, and each list is
/// built once per store: the program's number dispatch and the policy's,
/// or an ioctl search and the policy's list of values, are the same list
/// when the filter is right, and the second is a lookup.
pub fn materialize(s: &mut Store, slot: usize, parts: &[(u32, u32, Node)]) -> Res<Node> {
    let key = (slot, merged(parts));
    if let Some(n) = s.known_case(&key) {
        return Ok(n);
    }
    let n = split(s, slot, &key.1, 0, 32)?;
    s.remember_case(key, n);
    Ok(n)
}

/// The diagram of `parts` on the word in `slot`, whatever the nodes test:
/// [`materialize`] when none tests the word or an earlier one. Otherwise
/// the earlier words' tests come first: each variable that some node tests
/// before the word is split on, every node cofactored (the case split sits
/// below them); then a node that tests the word itself is read as its
/// pieces within its own piece ([`pieces_of`]). Past [`MAX_PIECES`] it is
/// one [`Store::ite_compare`] per boundary.
///
/// A run of comparisons of one word whose outcome tests an earlier word
/// (Firecracker's `mmap` flags, then its `prot` again) is built once this
/// way, not as one `ite` per comparison over the growing diagram.
pub fn materialize_any(s: &mut Store, slot: usize, parts: &[(u32, u32, Node)]) -> Res<Node> {
    let top = parts
        .iter()
        .map(|p| s.top(p.2))
        .min()
        .unwrap_or(var(slot, 31));
    if top > var(slot, 0) {
        return materialize(s, slot, parts);
    }
    let key = (slot, merged(parts));
    if let Some(n) = s.known_case(&key) {
        return Ok(n);
    }
    let first = var(slot, 31);
    let mut earlier = key.1.iter().map(|p| p.2).filter(|&n| s.top(n) < first);
    let one = earlier.next().unwrap_or(FALSE);
    let n = if earlier.all(|n| n == one) {
        // Most often one node tests earlier words (the outcome that goes
        // back to them): its diagram down to the word, with the pieces
        // laid over each node there.
        let at = One { one, at: one };
        descend(s, slot, &key.1, at, &mut FastMap::default())?
    } else {
        let nodes = All(key.1.iter().map(|p| p.2).collect());
        descend(s, slot, &key.1, nodes, &mut FastMap::default())?
    };
    s.remember_case(key, n);
    Ok(n)
}

/// Where [`descend`] is in the earlier words' tests: the nodes in place of
/// the pieces' own.
trait Place: Clone + Eq + std::hash::Hash {
    /// The first variable any of the nodes tests.
    fn top(&self, s: &Store) -> u16;
    /// The place after `top`'s 0 and 1.
    fn halves(&self, s: &Store, top: u16) -> (Self, Self);
    /// The pieces with these nodes.
    fn parts(&self, ranges: &[(u32, u32, Node)]) -> Parts;
}

/// The only node that tests earlier words, `one`, is at `at` of its
/// diagram (the memo's key: `one` is fixed).
#[derive(Clone, PartialEq, Eq, Hash)]
struct One {
    one: Node,
    at: Node,
}

impl Place for One {
    #[inline]
    fn top(&self, s: &Store) -> u16 {
        s.top(self.at)
    }
    #[inline]
    fn halves(&self, s: &Store, _: u16) -> (One, One) {
        let (zero, one) = s.children(self.at);
        let with = |at| One { one: self.one, at };
        (with(zero), with(one))
    }
    #[inline]
    fn parts(&self, ranges: &[(u32, u32, Node)]) -> Parts {
        let here = |n| if n == self.one { self.at } else { n };
        ranges.iter().map(|p| (p.0, p.1, here(p.2))).collect()
    }
}

/// Every piece's node, cofactored together.
#[derive(Clone, PartialEq, Eq, Hash)]
struct All(Vec<Node>);

impl Place for All {
    #[inline]
    fn top(&self, s: &Store) -> u16 {
        self.0.iter().map(|&n| s.top(n)).min().unwrap_or(u16::MAX)
    }
    #[inline]
    fn halves(&self, s: &Store, top: u16) -> (All, All) {
        let (zero, one) = self.0.iter().map(|&n| s.cofactors(n, top)).unzip();
        (All(zero), All(one))
    }
    #[inline]
    fn parts(&self, ranges: &[(u32, u32, Node)]) -> Parts {
        ranges
            .iter()
            .zip(&self.0)
            .map(|(r, &n)| (r.0, r.1, n))
            .collect()
    }
}

/// [`materialize_any`] of `ranges` with the nodes of `at` in place of
/// theirs: split on each variable before the word that a node tests, then
/// the word's own pieces ([`frontier`]), each place once.
fn descend<P: Place>(
    s: &mut Store,
    slot: usize,
    ranges: &[(u32, u32, Node)],
    at: P,
    memo: &mut FastMap<P, Node>,
) -> Res<Node> {
    if let Some(&n) = memo.get(&at) {
        return Ok(n);
    }
    let top = at.top(s);
    let n = if top < var(slot, 31) {
        let (zero, one) = at.halves(s, top);
        let zero = descend(s, slot, ranges, zero, memo)?;
        let one = descend(s, slot, ranges, one, memo)?;
        s.mk(top, zero, one)?
    } else {
        frontier(s, slot, &at.parts(ranges))?
    };
    memo.insert(at, n);
    Ok(n)
}

/// The diagram of `parts` whose nodes test only the word or later ones.
fn frontier(s: &mut Store, slot: usize, parts: &[(u32, u32, Node)]) -> Res<Node> {
    match flatten(s, slot, parts) {
        Some(flat) => materialize(s, slot, &flat),
        None => boundaries(s, slot, &merged(parts)),
    }
}

/// `parts` with each node that tests the word replaced by its own pieces
/// within its piece; `None` past [`MAX_PIECES`] pieces of one node.
fn flatten(s: &Store, slot: usize, parts: &[(u32, u32, Node)]) -> Option<Parts> {
    let mut out = Vec::with_capacity(parts.len());
    for &(lo, hi, n) in parts {
        let inner = pieces_of(s, n, slot)?;
        let from = inner.partition_point(|p| p.1 < lo);
        for &(l, h, m) in inner[from..].iter().take_while(|p| p.0 <= hi) {
            out.push((l.max(lo), h.min(hi), m));
        }
    }
    Some(merged(&out))
}

/// The diagram of `parts` as one [`Store::ite_compare`] per boundary, from
/// the last piece down: right whatever the nodes test, and slow.
fn boundaries(s: &mut Store, slot: usize, parts: &[(u32, u32, Node)]) -> Res<Node> {
    let mut down = parts.iter().rev();
    let Some(&(mut from, _, mut acc)) = down.next() else {
        return Ok(FALSE);
    };
    for &(lo, _, n) in down {
        acc = s.ite_compare(slot, Rel::Ge, from, acc, n)?;
        from = lo;
    }
    Ok(acc)
}

/// Neighbours with the same node joined.
fn merged(parts: &[(u32, u32, Node)]) -> Parts {
    let mut out: Parts = Vec::with_capacity(parts.len());
    for &(lo, hi, n) in parts {
        match out.last_mut() {
            Some(last) if last.2 == n => last.1 = hi,
            _ => out.push((lo, hi, n)),
        }
    }
    out
}

/// The most pieces [`pieces_of`] lists before it gives up.
pub const MAX_PIECES: usize = 4096;

/// `n` as pieces of the word in `slot` (the inverse of [`materialize`]):
/// `None` when `n` tests a word before `slot` or has more than
/// [`MAX_PIECES`] pieces (a test of a low bit has 2^31 of them).
pub fn pieces_of(s: &Store, n: Node, slot: usize) -> Option<Parts> {
    let mut out = Vec::new();
    walk(s, n, slot, (32, 0), &mut out).then_some(out)
}

/// Appends the pieces of `n` for the values `base .. base + 2^width`.
fn walk(s: &Store, n: Node, slot: usize, (width, base): (u32, u64), out: &mut Parts) -> bool {
    let (word, bit) = var_bit(s.top(n));
    if word < slot {
        return false;
    }
    if word > slot || width == 0 {
        let hi = (base + (1u64 << width) - 1) as u32;
        let full = out.len() == MAX_PIECES;
        match out.last_mut() {
            Some(last) if last.2 == n => last.1 = hi,
            _ if full => return false,
            _ => out.push((base as u32, hi, n)),
        }
        return true;
    }
    // The bits above `width` are fixed by the path: `n` tests this bit or
    // a lower one (then both halves are `n`).
    let (zero, one) = match bit + 1 == width {
        true => s.children(n),
        false => (n, n),
    };
    let half = 1u64 << (width - 1);
    walk(s, zero, slot, (width - 1, base), out) && walk(s, one, slot, (width - 1, base + half), out)
}

/// A case split on the word in `slot`: `cases` are sorted, disjoint
/// inclusive ranges with their diagrams; every other value gets `default`.
/// Builds at most 32 nodes per case boundary.
pub fn case(s: &mut Store, slot: usize, cases: &[(u32, u32, Node)], default: Node) -> Res<Node> {
    let mut full: Vec<(u32, u32, Node)> = Vec::with_capacity(cases.len() * 2 + 1);
    let mut next: u64 = 0;
    for &(lo, hi, n) in cases {
        if u64::from(lo) > next {
            full.push((next as u32, lo - 1, default));
        }
        full.push((lo, hi, n));
        next = u64::from(hi) + 1;
    }
    if next <= u64::from(u32::MAX) {
        full.push((next as u32, u32::MAX, default));
    }
    materialize(s, slot, &full)
}

/// The diagram for values `base .. base + 2^width` of the word, `here`
/// being the (sorted, covering) pieces that meet that block: the pieces
/// of each half are found with one search for the first piece that ends
/// in the upper half (at most one piece meets both).
fn split(
    s: &mut Store,
    slot: usize,
    here: &[(u32, u32, Node)],
    base: u64,
    width: u32,
) -> Res<Node> {
    // Neighbours differ (materialize merged them), so one piece is the
    // only constant block.
    match here {
        [(_, _, n)] => return Ok(*n),
        // Below the boundaries' common bits a block holds one boundary:
        // a chain, built without the search (most calls are these).
        [(_, _, below), (at, _, from)] => {
            return boundary(s, slot, (*below, *from), u64::from(*at) - base, width);
        }
        // One value between two pieces of the same node (a `jeq`, a value
        // of a list): the chain of its bits, bottom up.
        [(_, _, out), (at, to, this), (_, _, out_too)] if at == to && out == out_too => {
            return point(s, slot, (*this, *out), u64::from(*at) - base, width);
        }
        _ => {}
    }
    let mid = base + (1u64 << (width - 1));
    let upper = here.partition_point(|p| u64::from(p.1) < mid);
    let lower = upper + usize::from(u64::from(here[upper].0) < mid);
    let lo = split(s, slot, &here[..lower], base, width - 1)?;
    let hi = split(s, slot, &here[upper..], mid, width - 1)?;
    s.mk(var(slot, width - 1), lo, hi)
}

/// The diagram for values `base .. base + 2^width` that go to `below`
/// under `base + at` and to `from` from there on (`0 < at < 2^width`): one
/// node per bit from the lowest set bit of `at` up, the nodes
/// [`split`] builds for the same two pieces.
fn boundary(
    s: &mut Store,
    slot: usize,
    (below, from): (Node, Node),
    at: u64,
    width: u32,
) -> Res<Node> {
    let low = at.trailing_zeros();
    let mut n = s.mk(var(slot, low), below, from)?;
    for bit in low + 1..width {
        n = match at >> bit & 1 {
            1 => s.mk(var(slot, bit), below, n)?,
            _ => s.mk(var(slot, bit), n, from)?,
        };
    }
    Ok(n)
}

/// The diagram for values `base .. base + 2^width` that go to `this` at
/// `base + at` and to `out` everywhere else: one node per bit, the nodes
/// [`split`] builds for the same three pieces.
fn point(s: &mut Store, slot: usize, (this, out): (Node, Node), at: u64, width: u32) -> Res<Node> {
    let mut n = this;
    for bit in 0..width {
        n = match at >> bit & 1 {
            1 => s.mk(var(slot, bit), out, n)?,
            _ => s.mk(var(slot, bit), n, out)?,
        };
    }
    Ok(n)
}

/// Pieces starting at 0 and at each of `cuts` (ascending, none 0), the
/// `i`th with the node `node(i)`: for tests.
#[cfg(test)]
pub(crate) fn pieces_at(
    cuts: impl IntoIterator<Item = u32>,
    mut node: impl FnMut(usize) -> Node,
) -> Parts {
    let starts: Vec<u32> = std::iter::once(0).chain(cuts).collect();
    let ends = starts
        .iter()
        .skip(1)
        .map(|&next| next - 1)
        .chain([u32::MAX]);
    starts
        .iter()
        .zip(ends)
        .enumerate()
        .map(|(i, (&lo, hi))| (lo, hi, node(i)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::WORDS;
    use proptest::prelude::*;

    proptest! {
        /// The diagram of random pieces (boundaries anywhere, neighbours
        /// sometimes equal) gives each piece's leaf at its ends and inside,
        /// and equal functions give one node.
        #[test]
        fn materialize_decides_every_piece(
            cuts in prop::collection::btree_set(1u32.., 0..40),
            leaves in prop::collection::vec(0u32..4, 41),
            slot in 0usize..WORDS,
            probes in prop::collection::vec(any::<u32>(), 16),
        ) {
            let mut s = Store::new(1_000_000);
            let parts = pieces_at(cuts, |i| s.leaf(leaves[i]).unwrap());
            let n = materialize(&mut s, slot, &parts).unwrap();
            for &(lo, hi, leaf) in &parts {
                for v in [lo, lo + (hi - lo) / 2, hi] {
                    let mut words = [0u32; WORDS];
                    words[slot] = v;
                    prop_assert_eq!(s.eval(n, &words), s.value(leaf).unwrap(), "at {}", v);
                }
            }
            for v in probes {
                let &(_, _, leaf) = parts.iter().find(|p| p.1 >= v).unwrap();
                let mut words = [0u32; WORDS];
                words[slot] = v;
                prop_assert_eq!(s.eval(n, &words), s.value(leaf).unwrap(), "at {}", v);
            }
            // The same function with neighbours merged first.
            let merged = overlay(&parts, 0, 0, &parts[..1]);
            prop_assert_eq!(materialize(&mut s, slot, &merged).unwrap(), n);
            // And back: the diagram's pieces are the merged list.
            prop_assert_eq!(pieces_of(&s, n, slot), Some(merged));
            // A word before: one piece; a word after: none unless a leaf.
            if slot > 0 {
                prop_assert_eq!(pieces_of(&s, n, slot - 1), Some(vec![(0, u32::MAX, n)]));
            }
            if slot + 1 < WORDS {
                let leaf = s.value(n).is_some();
                prop_assert_eq!(pieces_of(&s, n, slot + 1).is_some(), leaf);
            }
        }
    }

    /// A node from a small pool: leaves, comparisons of the word before
    /// the split word, of the split word and of the one after, and their
    /// combinations.
    fn pool_node(s: &mut Store, slot: usize, pick: (u8, u32, u32)) -> Node {
        use crate::word::relate_input;
        let (kind, k, leaf) = pick;
        let l = s.leaf(leaf % 3).unwrap();
        let m = s.leaf(leaf % 3 + 1).unwrap();
        let rels = [Rel::Eq, Rel::Ge, Rel::Gt, Rel::Set];
        let rel = rels[(k % 4) as usize];
        let at = |s: &mut Store, w: usize| relate_input(s, rel, w, k).unwrap();
        let c = match kind % 6 {
            0 => return l,
            1 => at(s, slot - 1),
            2 => at(s, slot),
            3 => at(s, slot + 1),
            4 => {
                let a = at(s, slot - 1);
                let b = at(s, slot);
                s.and(a, b).unwrap()
            }
            _ => {
                let a = at(s, slot - 1);
                let b = at(s, slot + 1);
                s.xor(a, b).unwrap()
            }
        };
        s.ite(c, l, m).unwrap()
    }

    proptest! {
        /// Lists of single values (a `jeq` list, an ioctl allow-list),
        /// some adjacent, some sharing the default's node: the split is
        /// the node the fold of one `ite` per value gives.
        #[test]
        fn a_list_of_values_is_the_fold_of_its_comparisons(
            values in prop::collection::btree_set(
                prop_oneof![0u32..64, any::<u32>(), u32::MAX - 64..=u32::MAX],
                0..24,
            ),
            leaves in prop::collection::vec(0u32..4, 24),
            slot in 0usize..WORDS,
        ) {
            let mut s = Store::new(1_000_000);
            let default = s.leaf(0).unwrap();
            let mut cases = Vec::new();
            for (&v, &leaf) in values.iter().zip(&leaves) {
                cases.push((v, v, s.leaf(leaf).unwrap()));
            }
            let n = case(&mut s, slot, &cases, default).unwrap();
            let mut fold = default;
            for &(v, _, leaf) in &cases {
                let eq = crate::word::relate_input(&mut s, crate::word::Rel::Eq, slot, v).unwrap();
                fold = s.ite(eq, leaf, fold).unwrap();
            }
            prop_assert_eq!(n, fold);
        }

        /// Pieces whose nodes test earlier words, the word itself and later
        /// ones: the node is the fold of one comparison per boundary, with
        /// one node testing earlier words and with several.
        #[test]
        fn any_pieces_give_the_fold_of_their_boundaries(
            cuts in prop::collection::btree_set(
                prop_oneof![1u32..80, any::<u32>(), u32::MAX - 40..=u32::MAX],
                0..8,
            ),
            picks in prop::collection::vec(
                (0u8..6, prop_oneof![0u32..80, any::<u32>()], 0u32..4),
                9,
            ),
            shared in any::<bool>(),
            slot in 1usize..WORDS - 1,
        ) {
            let mut s = Store::new(1_000_000);
            // With `shared`, every piece that tests an earlier word has the
            // same node.
            let first = pool_node(&mut s, slot, (1, picks[0].1, picks[0].2));
            let parts = pieces_at(cuts, |i| {
                let n = pool_node(&mut s, slot, picks[i]);
                if shared && s.top(n) < var(slot, 31) { first } else { n }
            });
            let want = boundaries(&mut s, slot, &parts).unwrap();
            prop_assert_eq!(materialize_any(&mut s, slot, &parts).unwrap(), want);
        }
    }

    #[test]
    fn a_low_bit_has_too_many_pieces() {
        let mut s = Store::new(1000);
        let odd = s.literal(var(3, 0)).unwrap();
        assert_eq!(pieces_of(&s, odd, 3), None);
        // Bit 20 alternates every 2^20 values: 4096 pieces, the most kept.
        let bit20 = s.literal(var(3, 20)).unwrap();
        assert_eq!(pieces_of(&s, bit20, 3).map(|p| p.len()), Some(MAX_PIECES));
        let bit19 = s.literal(var(3, 19)).unwrap();
        assert_eq!(pieces_of(&s, bit19, 3), None);
    }

    fn whole(n: Node) -> Parts {
        vec![(0, u32::MAX, n)]
    }

    #[test]
    fn overlay_replaces_a_range_and_merges_neighbours() {
        let base = vec![(0, 9, 1), (10, 19, 2), (20, u32::MAX, 1)];
        assert_eq!(overlay(&base, 10, 19, &whole(1)), whole(1));
        assert_eq!(
            overlay(&base, 15, 15, &whole(7)),
            vec![
                (0, 9, 1),
                (10, 14, 2),
                (15, 15, 7),
                (16, 19, 2),
                (20, u32::MAX, 1)
            ]
        );
        assert_eq!(
            overlay(&base, 5, u32::MAX, &[(0, 11, 2), (12, u32::MAX, 3)]),
            vec![(0, 4, 1), (5, 11, 2), (12, u32::MAX, 3)]
        );
        assert_eq!(overlay(&base, 0, u32::MAX, &whole(4)), whole(4));
        assert_eq!(
            overlay(&base, 0, 0, &whole(2)),
            vec![(0, 0, 2), (1, 9, 1), (10, 19, 2), (20, u32::MAX, 1)]
        );
    }
}
