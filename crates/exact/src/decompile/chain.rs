//! A syscall's argument diagram as rules, one argument at a time.
//!
//! In: the diagram of one syscall (arch and number fixed) and the ABI.
//! Out: rules (leaf, conditions) for every leaf but the default. The
//! diagram tests arguments in order (arg 0's words, then arg 1's, ...);
//! at each argument its values are split into ranges by the node reached
//! after its words, so a path's condition on one argument is a range, not
//! a bit pattern. A range becomes one condition where it can (`EQ` for one
//! value, `LE` from 0, `GE` to the maximum, none for every value) and
//! otherwise `GE` and `LE` in one rule where the format allows two tests
//! of one argument ([`Dialect::Ordered`]), else aligned `MASKED_EQ`
//! blocks; a range of the low word alone on
//! a 64-bit ABI becomes low-word `MASKED_EQ` blocks. The result is the
//! product of the ranges along each path, so conjunctions of ranges stay
//! one rule each. Where an argument's bit patterns (one `MASKED_EQ` per
//! path through its words) need fewer conditions than its ranges (a flag
//! mask), the patterns are used.
//!
//! `None` when this shape does not apply (instruction pointer, big-endian
//! word order, a low-word pattern repeated over several high words, a
//! 32-bit ABI testing a high word) or past [`PIECE_LIMIT`] rules; the
//! caller falls back to one rule per path.

use std::rc::Rc;

use sysfence_profile::arch::Arch;
use sysfence_profile::ir::ArgWidth;

use super::{ArgTest, Dialect, PIECE_LIMIT, TestOp, split_word};
use crate::policy::arg_slots;
use crate::store::{FastMap, Node, Store, var_bit};

/// One range of an argument and the node reached after its words.
type Range = (u64, u64, Node);

/// Rules: a leaf value and the tests that lead to it.
type Rules = Vec<(u32, Vec<ArgTest>)>;

/// The rules of `n` for every leaf but `skip`, as a format of `dialect`
/// writes them.
pub fn rules(s: &Store, n: Node, (abi, dialect): (Arch, Dialect), skip: u32) -> Option<Rules> {
    let mut memo = FastMap::default();
    let how = How { abi, dialect, skip };
    rules_of(s, n, how, &mut memo).map(|r| r.as_ref().clone())
}

/// What the walk writes rules for: the ABI, the format's dialect and the
/// leaf that needs no rule.
#[derive(Clone, Copy)]
struct How {
    abi: Arch,
    dialect: Dialect,
    skip: u32,
}

/// [`rules`] of `n`, each node's once: the ranges of one argument often
/// lead to the same node, whose rules would otherwise be built per range
/// (and per range of every argument before it).
fn rules_of(
    s: &Store,
    n: Node,
    how: How,
    memo: &mut FastMap<Node, Option<Rc<Rules>>>,
) -> Option<Rc<Rules>> {
    if let Some(r) = memo.get(&n) {
        return r.clone();
    }
    let r = rules_uncached(s, n, how, memo).map(Rc::new);
    memo.insert(n, r.clone());
    r
}

fn rules_uncached(
    s: &Store,
    n: Node,
    how: How,
    memo: &mut FastMap<Node, Option<Rc<Rules>>>,
) -> Option<Rules> {
    let (abi, skip) = (how.abi, how.skip);
    let pairs = how.dialect == Dialect::Ordered;
    if let Some(v) = s.value(n) {
        return Some(if v == skip { vec![] } else { vec![(v, vec![])] });
    }
    let slot = var_bit(s.top(n)).0;
    let arg = (0..6u8).find(|&a| {
        let (h, l) = arg_slots(abi.audit_arch(), usize::from(a));
        slot == h || slot == l
    })?;
    let (h, l) = arg_slots(abi.audit_arch(), usize::from(arg));
    let narrow = abi.width() == ArgWidth::Bits32;
    if h > l || (narrow && slot == h) {
        return None;
    }
    // Values that reach only the default need no rule.
    let live = |m: Node| s.value(m) != Some(skip);
    let ranged = match (slot == h, wide_ranges(s, n, h, l)) {
        (true, Some(ranges)) => alternatives(arg, ranges, (u64::MAX, false, pairs), live),
        (true, None) => None,
        (false, _) => split_word(s, n, l).and_then(|pieces| {
            let r = pieces
                .into_iter()
                .map(|(a, b, m)| (u64::from(a), u64::from(b), m));
            alternatives(
                arg,
                r.collect(),
                (u64::from(u32::MAX), !narrow, pairs),
                live,
            )
        }),
    };
    // Ranges or bit patterns, whichever needs fewer conditions.
    let patterned = patterns(s, n, arg, (h, l), narrow, live);
    let size = |p: &[(Vec<Vec<ArgTest>>, Node)]| p.iter().map(|x| x.0.len()).sum::<usize>();
    let parts = match (ranged, patterned) {
        (Some(r), Some(p)) if size(&r) <= size(&p) => r,
        (_, Some(p)) => p,
        (r, None) => r?,
    };
    let mut out = Vec::new();
    for (alts, sub) in parts {
        let rest = rules_of(s, sub, how, memo)?;
        // The product is counted before it is built.
        if out.len() + alts.len() * rest.len() > PIECE_LIMIT {
            return None;
        }
        for alt in alts {
            for (v, tests) in rest.iter() {
                out.push((*v, alt.iter().chain(tests).copied().collect()));
            }
        }
    }
    Some(out)
}

/// The alternatives of each range whose node is `live`, with that node;
/// `None` past [`PIECE_LIMIT`] alternatives. `(max, low_only, pairs)` as
/// [`range_tests`] takes them.
fn alternatives(
    arg: u8,
    ranges: Vec<Range>,
    (max, low_only, pairs): (u64, bool, bool),
    live: impl Fn(Node) -> bool,
) -> Option<Vec<(Vec<Vec<ArgTest>>, Node)>> {
    let mut out = Vec::new();
    let mut count = 0;
    for (lo, hi, sub) in ranges.into_iter().filter(|r| live(r.2)) {
        let alts = range_tests(arg, (lo, hi), max, (low_only, pairs));
        count += alts.len();
        if count > PIECE_LIMIT {
            return None;
        }
        out.push((alts, sub));
    }
    Some(out)
}

/// The bit patterns of one argument's words (a `MASKED_EQ`, or `EQ` when
/// every bit is fixed) with the node after them, for an argument whose
/// values are not a few ranges (a mask test repeated over high words),
/// those whose node is `live`; `None` past [`PIECE_LIMIT`] patterns (the
/// paths through 64 bits can be exponentially many).
fn patterns(
    s: &Store,
    n: Node,
    arg: u8,
    (h, l): (usize, usize),
    narrow: bool,
    live: impl Fn(Node) -> bool,
) -> Option<Vec<(Vec<Vec<ArgTest>>, Node)>> {
    let mut out = Vec::new();
    let mut stack = vec![(n, 0u64, 0u64)];
    while let Some((m, mask, value)) = stack.pop() {
        if out.len() > PIECE_LIMIT {
            return None;
        }
        let (slot, bit) = match s.value(m) {
            None => var_bit(s.top(m)),
            Some(_) => (usize::MAX, 0),
        };
        if slot != h && slot != l {
            if !live(m) {
                continue;
            }
            let full = mask == u64::MAX || (narrow && mask == 0xffff_ffff);
            let op = if full { TestOp::Eq } else { TestOp::MaskedEq };
            let mask = if full { u64::MAX } else { mask };
            let test = ArgTest {
                arg,
                op,
                mask,
                value,
            };
            out.push((vec![if mask == 0 { vec![] } else { vec![test] }], m));
            continue;
        }
        let b = if slot == h {
            1u64 << (32 + bit)
        } else {
            1u64 << bit
        };
        let (lo, hi) = s.children(m);
        stack.push((lo, mask | b, value));
        stack.push((hi, mask | b, value | b));
    }
    Some(out)
}

/// The 64-bit ranges of an argument whose high word `h` is tested first;
/// `None` past 16 × [`PIECE_LIMIT`] of them.
fn wide_ranges(s: &Store, n: Node, h: usize, l: usize) -> Option<Vec<Range>> {
    let mut out: Vec<Range> = Vec::new();
    let push = |out: &mut Vec<Range>, lo: u64, hi: u64, m: Node| match out.last_mut() {
        Some(last) if last.2 == m && last.1 + 1 == lo => last.1 = hi,
        _ => out.push((lo, hi, m)),
    };
    for (hlo, hhi, m) in split_word(s, n, h)? {
        let (lo, hi) = (u64::from(hlo) << 32, u64::from(hhi) << 32 | 0xffff_ffff);
        let tests_low = s.value(m).is_none() && var_bit(s.top(m)).0 == l;
        if !tests_low {
            push(&mut out, lo, hi, m);
        } else if hlo == hhi {
            for (a, b, k) in split_word(s, m, l)? {
                push(&mut out, lo | u64::from(a), lo | u64::from(b), k);
            }
        } else {
            return None;
        }
        // Each high word may split the low word anew; most ranges of a
        // big split lead to the default and are dropped later.
        if out.len() > 16 * PIECE_LIMIT {
            return None;
        }
    }
    Some(out)
}

/// The alternatives (each a conjunction of tests) that say `lo <= arg <=
/// hi`: one test or none where one says it; else, with `pairs` (a rule may
/// test an argument twice), `>= lo` and `<= hi`; else aligned `MASKED_EQ`
/// blocks, one per alternative. `low_only`: of the low word of a 64-bit
/// argument, whose high word no comparison may bound (blocks only).
fn range_tests(
    arg: u8,
    (lo, hi): (u64, u64),
    max: u64,
    (low_only, pairs): (bool, bool),
) -> Vec<Vec<ArgTest>> {
    let test = |op, mask, value| {
        vec![ArgTest {
            arg,
            op,
            mask,
            value,
        }]
    };
    match (lo, hi) {
        (0, b) if b == max => vec![vec![]],
        _ if low_only => blocks(lo, hi, max)
            .into_iter()
            .map(|(mask, value)| test(TestOp::MaskedEq, mask, value))
            .collect(),
        (a, b) if a == b => vec![test(TestOp::Eq, u64::MAX, a)],
        (0, b) => vec![test(TestOp::Le, u64::MAX, b)],
        (a, b) if b == max => vec![test(TestOp::Ge, u64::MAX, a)],
        (a, b) if pairs => {
            vec![[test(TestOp::Ge, u64::MAX, a), test(TestOp::Le, u64::MAX, b)].concat()]
        }
        (a, b) => blocks(a, b, max)
            .into_iter()
            .map(|(mask, value)| test(TestOp::MaskedEq, mask, value))
            .collect(),
    }
}

/// `lo..=hi` as maximal aligned blocks, each a (mask, value) pair with the
/// mask cut to `max` (the argument's width).
pub fn blocks(mut lo: u64, hi: u64, max: u64) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    loop {
        let mut size: u64 = 1;
        while size < (1 << 63)
            && lo.is_multiple_of(size << 1)
            && lo.checked_add((size << 1) - 1).is_some_and(|end| end <= hi)
        {
            size <<= 1;
        }
        out.push((!(size - 1) & max, lo));
        match (lo + (size - 1)).checked_add(1) {
            Some(next) if next <= hi => lo = next,
            _ => return out,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_become_aligned_blocks() {
        assert_eq!(blocks(5, 8, u64::MAX), vec![(!0, 5), (!1, 6), (!0, 8)]);
        assert_eq!(blocks(4, 7, 0xffff_ffff), vec![(0xffff_fffc, 4)]);
        assert_eq!(
            blocks(u64::MAX - 1, u64::MAX, u64::MAX),
            vec![(!1, u64::MAX - 1)]
        );
    }

    #[test]
    fn a_range_is_one_condition_where_it_can_be() {
        let tests = |(lo, hi), max, how| range_tests(1, (lo, hi), max, how);
        let ops = |alts: Vec<Vec<ArgTest>>| -> Vec<Vec<TestOp>> {
            alts.iter()
                .map(|a| a.iter().map(|t| t.op).collect())
                .collect()
        };
        assert_eq!(tests((0, u64::MAX), u64::MAX, (false, false)), vec![vec![]]);
        assert_eq!(ops(tests((0, 9), u64::MAX, (false, false))), [[TestOp::Le]]);
        assert_eq!(
            ops(tests((9, u64::MAX), u64::MAX, (false, false))),
            [[TestOp::Ge]]
        );
        let low = tests((7, 7), 0xffff_ffff, (true, false));
        assert_eq!(low[0][0].op, TestOp::MaskedEq);
        assert_eq!(low[0][0].mask, 0xffff_ffff);
        // Both ends: blocks, or one pair where a rule may test twice.
        assert_eq!(tests((5, 8), u64::MAX, (false, false)).len(), 3);
        assert_eq!(
            ops(tests((5, 8), u64::MAX, (false, true))),
            [[TestOp::Ge, TestOp::Le]]
        );
        // A low word's range stays blocks: no comparison leaves the high
        // word free.
        assert_eq!(tests((5, 8), 0xffff_ffff, (true, true)).len(), 3);
    }
}
