//! Argument checks: one syscall's ordered rules as 32-bit word tests.
//!
//! In: the rules of one syscall number (first match wins), the arch's
//! default action, argument width and byte order. Out: a [`NodeId`] in the
//! caller's [`TreeBuilder`] that decides exactly as the rules do.
//!
//! Every 64-bit comparison is split into tests on the high and the low word
//! with the usual savings: a word whose mask is 0 is not tested, an all-ones
//! mask drops the `and`, a masked compare against 0 (or a single bit) is one
//! `jset`, `>=` with a zero low word is one test on the high word, and a high
//! word of 0 needs no equality test after `jgt 0` failed. On [`ArgWidth::Bits32`]
//! arches, and for low-word conditions ([`Cond`]`::width`) anywhere, only the
//! low word is tested: one `jeq`/`jgt`/`jge`/`jset` per condition, whatever
//! the other conditions of the rule test.
//!
//! Consecutive rules that test the same condition first test it once
//! ([`shared_first`]), the rest of each rule after it.
//!
//! A run of consecutive rules that each test one argument for equality with a
//! different value (ioctl commands, futex operations, personality values)
//! becomes one search: a shared high-word test, then the least-cost search
//! over the low words ([`crate::values`]: `jge` splits that bound runs of
//! adjacent values, short `jeq` chains). Rules inside a run are
//! mutually exclusive, so testing them in another order cannot change the
//! first match.
//!
//! Nothing here checks the rules against the evaluator; that is
//! [`crate::check`]'s job.

use sysfence_abi::Endian;
use sysfence_abi::arch::arch_endian;
use sysfence_abi::data::{Half, arg_word_offset};
use sysfence_profile::ir::{ArgIndex, ArgWidth, CmpOp, Cond, Rule};

use crate::tree::{Cmp, NodeId, Test, TreeBuilder};

/// How one arch lays out and compares arguments.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ArgLayout {
    width: ArgWidth,
    endian: Endian,
    /// Test the first value of a value set before the search (hot first).
    peel_first: bool,
}

impl ArgLayout {
    /// The layout for an AUDIT_ARCH value and width.
    pub(crate) fn new(audit_arch: u32, width: ArgWidth, peel_first: bool) -> ArgLayout {
        ArgLayout {
            width,
            endian: arch_endian(audit_arch),
            peel_first,
        }
    }

    fn lo(&self, arg: ArgIndex) -> u32 {
        arg_word_offset(arg.get(), Half::Lo, self.endian)
    }

    fn hi(&self, arg: ArgIndex) -> u32 {
        arg_word_offset(arg.get(), Half::Hi, self.endian)
    }
}

/// The node deciding `rules` (first match wins), else `default`.
pub(crate) fn rules_node(
    b: &mut TreeBuilder,
    rules: &[Rule],
    default: NodeId,
    lay: &ArgLayout,
) -> NodeId {
    let mut next = default;
    let mut end = rules.len();
    while end > 0 {
        let start = run_start(rules, end, lay);
        if end - start >= 2 {
            next = value_run(b, &rules[start..end], next, lay);
            end = start;
            continue;
        }
        let start = group_start(rules, end);
        next = match first_cond(&rules[start]) {
            Some(c) if end - start >= 2 => shared_first(b, c, &rules[start..end], next, lay),
            _ => rule_node(b, &rules[start], next, lay),
        };
        end = start;
    }
    next
}

/// The condition a rule tests first: the first one on its lowest argument
/// (the order [`rule_node`] tests them in).
fn first_cond(rule: &Rule) -> Option<Cond> {
    rule.conds.iter().copied().min_by_key(|c| c.arg)
}

/// Where the run of rules ending at `end` that all test the same condition
/// first starts.
fn group_start(rules: &[Rule], end: usize) -> usize {
    let Some(c) = first_cond(&rules[end - 1]) else {
        return end - 1;
    };
    let mut start = end - 1;
    while start > 0 && first_cond(&rules[start - 1]) == Some(c) {
        start -= 1;
    }
    start
}

/// Rules that all test `c` first, as `c`, then the rules without it: when
/// `c` fails none of them can match, so the run's miss follows at once; when
/// it holds, each rule matches iff the rest of its conditions do (built like
/// any rules, so equalities left on one argument become a search).
fn shared_first(
    b: &mut TreeBuilder,
    c: Cond,
    run: &[Rule],
    miss: NodeId,
    lay: &ArgLayout,
) -> NodeId {
    let rest: Vec<Rule> = run
        .iter()
        .map(|r| {
            let mut r = r.clone();
            if let Some(i) = r.conds.iter().position(|&x| x == c) {
                r.conds.remove(i);
            }
            r
        })
        .collect();
    let inner = rules_node(b, &rest, miss, lay);
    cond_node(b, &c, inner, miss, lay)
}

/// One rule: all conditions, then its action, else `miss`.
fn rule_node(b: &mut TreeBuilder, rule: &Rule, miss: NodeId, lay: &ArgLayout) -> NodeId {
    let hit = b.ret(rule.action.to_raw());
    let mut conds = rule.conds.clone();
    conds.sort_by_key(|c| c.arg);
    conds
        .iter()
        .rev()
        .fold(hit, |t, c| cond_node(b, c, t, miss, lay))
}

/// One comparison: go to `t` when it holds, to `f` when not.
pub(crate) fn cond_node(
    b: &mut TreeBuilder,
    c: &Cond,
    t: NodeId,
    f: NodeId,
    lay: &ArgLayout,
) -> NodeId {
    let (lo, hi) = (lay.lo(c.arg), lay.hi(c.arg));
    let wide = c.width_on(lay.width) == ArgWidth::Bits64;
    let (vh, vl) = ((c.value >> 32) as u32, c.value as u32);
    match (c.op, wide) {
        (CmpOp::Ne, _) => cond_node(
            b,
            &Cond {
                op: CmpOp::Eq,
                ..*c
            },
            f,
            t,
            lay,
        ),
        (CmpOp::Lt, _) => cond_node(
            b,
            &Cond {
                op: CmpOp::Ge,
                ..*c
            },
            f,
            t,
            lay,
        ),
        (CmpOp::Le, _) => cond_node(
            b,
            &Cond {
                op: CmpOp::Gt,
                ..*c
            },
            f,
            t,
            lay,
        ),
        // Some bit of the mask set: the mask's bits are not all clear.
        (CmpOp::MaskedAny, _) => cond_node(
            b,
            &Cond {
                op: CmpOp::MaskedEq,
                value_two: 0,
                ..*c
            },
            f,
            t,
            lay,
        ),
        (CmpOp::Eq, false) => b.branch(test(lo, Cmp::Eq, vl), t, f),
        (CmpOp::Ge, false) => b.branch(test(lo, Cmp::Ge, vl), t, f),
        (CmpOp::Gt, false) => b.branch(test(lo, Cmp::Gt, vl), t, f),
        (CmpOp::MaskedEq, false) => masked_word(b, lo, c.value as u32, c.value_two as u32, t, f),
        (CmpOp::Eq, true) => {
            let low = b.branch(test(lo, Cmp::Eq, vl), t, f);
            b.branch(test(hi, Cmp::Eq, vh), low, f)
        }
        (CmpOp::Ge, true) if vl == 0 => b.branch(test(hi, Cmp::Ge, vh), t, f),
        (CmpOp::Gt, true) if vl == u32::MAX => b.branch(test(hi, Cmp::Gt, vh), t, f),
        (CmpOp::Ge | CmpOp::Gt, true) => {
            let cmp = if c.op == CmpOp::Ge { Cmp::Ge } else { Cmp::Gt };
            let low = b.branch(test(lo, cmp, vl), t, f);
            // After `hi > vh` failed, hi == 0 needs no test when vh is 0.
            let equal = if vh == 0 {
                low
            } else {
                b.branch(test(hi, Cmp::Eq, vh), low, f)
            };
            b.branch(test(hi, Cmp::Gt, vh), t, equal)
        }
        (CmpOp::MaskedEq, true) => {
            let low = masked_word(b, lo, c.value as u32, c.value_two as u32, t, f);
            masked_word(
                b,
                hi,
                (c.value >> 32) as u32,
                (c.value_two >> 32) as u32,
                low,
                f,
            )
        }
    }
}

/// `(word & mask) == (datum & mask)` in the cheapest form.
fn masked_word(
    b: &mut TreeBuilder,
    offset: u32,
    mask: u32,
    datum: u32,
    t: NodeId,
    f: NodeId,
) -> NodeId {
    let datum = datum & mask;
    if mask == 0 {
        t
    } else if mask == u32::MAX {
        b.branch(test(offset, Cmp::Eq, datum), t, f)
    } else if datum == 0 {
        b.branch(test(offset, Cmp::Set, mask), f, t)
    } else if datum == mask && mask.is_power_of_two() {
        b.branch(test(offset, Cmp::Set, mask), t, f)
    } else {
        b.branch(
            Test {
                offset,
                mask: Some(mask),
                cmp: Cmp::Eq,
                k: datum,
            },
            t,
            f,
        )
    }
}

fn test(offset: u32, cmp: Cmp, k: u32) -> Test {
    Test {
        offset,
        mask: None,
        cmp,
        k,
    }
}

/// An equality on one argument: the high word (if tested) and the low word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct EqShape {
    arg: ArgIndex,
    hi: Option<u32>,
    lo: u32,
}

/// The rule as a single equality, if it is one.
fn eq_shape(rule: &Rule, lay: &ArgLayout) -> Option<EqShape> {
    let [c] = rule.conds.as_slice() else {
        return None;
    };
    let wide = c.width_on(lay.width) == ArgWidth::Bits64;
    let (mask, datum) = match c.op {
        CmpOp::Eq => (u64::MAX, c.value),
        CmpOp::MaskedEq => (c.value, c.value_two),
        _ => return None,
    };
    let hi_mask = if wide { (mask >> 32) as u32 } else { 0 };
    if mask as u32 != u32::MAX || (hi_mask != 0 && hi_mask != u32::MAX) {
        return None;
    }
    let hi = (hi_mask == u32::MAX).then_some((datum >> 32) as u32);
    Some(EqShape {
        arg: c.arg,
        hi,
        lo: datum as u32,
    })
}

/// Where the run of same-argument equalities ending at `end` starts.
fn run_start(rules: &[Rule], end: usize, lay: &ArgLayout) -> usize {
    let Some(last) = eq_shape(&rules[end - 1], lay) else {
        return end - 1;
    };
    let mut start = end - 1;
    while start > 0 {
        match eq_shape(&rules[start - 1], lay) {
            Some(s) if s.arg == last.arg && s.hi.is_some() == last.hi.is_some() => start -= 1,
            _ => break,
        }
    }
    start
}

/// A run of equalities as a search: high-word groups, then low-word values.
fn value_run(b: &mut TreeBuilder, run: &[Rule], miss: NodeId, lay: &ArgLayout) -> NodeId {
    let shapes: Vec<(EqShape, u32)> = run
        .iter()
        .filter_map(|r| eq_shape(r, lay).map(|s| (s, r.action.to_raw())))
        .collect();
    let arg = shapes[0].0.arg;
    let mut groups: Vec<Option<u32>> = Vec::new();
    for (s, _) in &shapes {
        if !groups.contains(&s.hi) {
            groups.push(s.hi);
        }
    }
    groups.iter().rev().fold(miss, |next, &hi| {
        // First match wins: keep the first rule of each value.
        let mut values: Vec<(u32, u32)> = Vec::new();
        for (s, raw) in shapes.iter().filter(|(s, _)| s.hi == hi) {
            if !values.iter().any(|(v, _)| *v == s.lo) {
                values.push((s.lo, *raw));
            }
        }
        let low = value_search(b, lay.lo(arg), &values, miss, lay.peel_first);
        match hi {
            Some(h) => b.branch(test(lay.hi(arg), Cmp::Eq, h), low, next),
            None => low,
        }
    })
}

/// Distinct `(value, action)` pairs in profile order as a search on one word.
fn value_search(
    b: &mut TreeBuilder,
    offset: u32,
    values: &[(u32, u32)],
    miss: NodeId,
    peel: bool,
) -> NodeId {
    let (first, rest) = match values.split_first() {
        Some((f, r)) if peel => (Some(*f), r),
        _ => (None, values),
    };
    let mut sorted = rest.to_vec();
    sorted.sort_unstable();
    let search = crate::values::search(b, offset, &sorted, miss);
    match first {
        Some((v, raw)) => {
            let hit = b.ret(raw);
            b.branch(test(offset, Cmp::Eq, v), hit, search)
        }
        None => search,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use sysfence_cbpf::SeccompData;
    use sysfence_profile::ir::Action;

    use sysfence_abi::arch::AUDIT_ARCH_X86_64 as X86_64;

    use sysfence_testkit::fixtures::{cond, rule};

    fn decide(rules: &[Rule], width: ArgWidth, args: [u64; 6]) -> (u32, usize) {
        let mut b = TreeBuilder::new();
        let lay = ArgLayout::new(X86_64, width, false);
        let default = b.ret(Action::Errno(1).to_raw());
        let root = rules_node(&mut b, rules, default, &lay);
        let data = SeccompData {
            args,
            ..SeccompData::new(X86_64, 0)
        };
        b.finish(root, Vec::new()).eval(&data)
    }

    #[test]
    fn sixty_four_bit_ranges_split_into_words() {
        let allow = Action::Allow.to_raw();
        let ge = [rule(
            vec![cond(0, CmpOp::Ge, 0x1_0000_0005, 0)],
            Action::Allow,
        )];
        assert_eq!(
            decide(&ge, ArgWidth::Bits64, [0x1_0000_0005, 0, 0, 0, 0, 0]),
            (allow, 3)
        );
        assert_eq!(
            decide(&ge, ArgWidth::Bits64, [0x2_0000_0000, 0, 0, 0, 0, 0]),
            (allow, 1)
        );
        assert_eq!(
            decide(&ge, ArgWidth::Bits64, [0x1_0000_0004, 0, 0, 0, 0, 0]).0,
            0x5_0001
        );
        assert_eq!(
            decide(&ge, ArgWidth::Bits64, [0xffff_ffff, 0, 0, 0, 0, 0]),
            (0x5_0001, 2)
        );
        let low = [rule(vec![cond(0, CmpOp::Lt, 7, 0)], Action::Allow)];
        assert_eq!(
            decide(&low, ArgWidth::Bits64, [6, 0, 0, 0, 0, 0]),
            (allow, 2)
        );
        assert_eq!(
            decide(&low, ArgWidth::Bits64, [0x1_0000_0000, 0, 0, 0, 0, 0]).0,
            0x5_0001
        );
        assert_eq!(
            decide(&low, ArgWidth::Bits32, [0x1_0000_0000, 0, 0, 0, 0, 0]),
            (allow, 1)
        );
    }

    #[test]
    fn masks_become_jset_and_skip_zero_high_words() {
        let clone = [rule(
            vec![cond(0, CmpOp::MaskedEq, 0x7e02_0000, 0)],
            Action::Allow,
        )];
        assert_eq!(
            decide(&clone, ArgWidth::Bits64, [0x11, 0, 0, 0, 0, 0]),
            (Action::Allow.to_raw(), 1)
        );
        assert_eq!(
            decide(&clone, ArgWidth::Bits64, [0x0002_0000, 0, 0, 0, 0, 0]).0,
            0x5_0001
        );
    }

    #[test]
    fn any_bit_is_one_jset_per_word() {
        let (allow, deny) = (Action::Allow.to_raw(), 0x5_0001);
        let any = |mask| {
            [rule(
                vec![cond(0, CmpOp::MaskedAny, mask, 0)],
                Action::Allow,
            )]
        };
        let both = any(0x3_0000_6400);
        let at = |arg0| [arg0, 0, 0, 0, 0, 0];
        assert_eq!(
            decide(&both, ArgWidth::Bits64, at(0x1_0000_0000)),
            (allow, 1)
        );
        assert_eq!(decide(&both, ArgWidth::Bits64, at(0x400)), (allow, 2));
        assert_eq!(
            decide(&both, ArgWidth::Bits64, at(0x4_0000_8000)),
            (deny, 2)
        );
        // A low-word mask tests no high word; on the low word only, the
        // mask's high half is cut.
        assert_eq!(
            decide(&any(0x6400), ArgWidth::Bits64, at(0x8000)),
            (deny, 1)
        );
        assert_eq!(
            decide(&both, ArgWidth::Bits32, at(0x1_0000_0000)),
            (deny, 1)
        );
    }

    /// The first matching rule's action by the reference evaluator.
    fn reference(rules: &[Rule], width: ArgWidth, args: &[u64; 6]) -> u32 {
        rules
            .iter()
            .find(|r| sysfence_profile::eval::rule_matches(r, args, width))
            .map_or(Action::Errno(1).to_raw(), |r| r.action.to_raw())
    }

    /// The tests one input takes with every rule built on its own (no
    /// shared first condition, no value search).
    fn ungrouped_tests(rules: &[Rule], width: ArgWidth, args: [u64; 6]) -> usize {
        let mut b = TreeBuilder::new();
        let lay = ArgLayout::new(X86_64, width, false);
        let default = b.ret(Action::Errno(1).to_raw());
        let root = rules
            .iter()
            .rev()
            .fold(default, |miss, r| rule_node(&mut b, r, miss, &lay));
        let data = SeccompData {
            args,
            ..SeccompData::new(X86_64, 0)
        };
        b.finish(root, Vec::new()).eval(&data).1
    }

    /// Rules from a few shared conditions (so runs share their first one),
    /// and an input near their values.
    fn grouped_rules() -> impl Strategy<Value = (Vec<Rule>, [u64; 6], bool)> {
        let conds = prop::collection::vec(
            (
                0u8..3,
                prop::sample::select(vec![
                    CmpOp::Eq,
                    CmpOp::Ne,
                    CmpOp::Ge,
                    CmpOp::MaskedEq,
                    CmpOp::MaskedAny,
                ]),
                prop::sample::select(vec![0u64, 4, 7, 0x1_0000_0004]),
            ),
            4,
        );
        let picks = prop::collection::vec((prop::collection::vec(0usize..4, 0..3), 0u16..3), 1..9);
        let args = prop::collection::vec(
            prop::sample::select(vec![0u64, 3, 4, 7, 8, 0x1_0000_0004, u64::MAX]),
            6,
        );
        (conds, picks, args, any::<bool>()).prop_map(|(conds, picks, args, wide)| {
            let conds: Vec<Cond> = conds
                .into_iter()
                .map(|(arg, op, v)| {
                    let (value, two) = if op == CmpOp::MaskedEq {
                        (v | 4, v)
                    } else {
                        (v, 0)
                    };
                    cond(arg, op, value, two)
                })
                .collect();
            let rules = picks
                .into_iter()
                .map(|(ix, act)| {
                    let action = if act == 0 {
                        Action::Allow
                    } else {
                        Action::Errno(act)
                    };
                    rule(ix.into_iter().map(|i| conds[i]).collect(), action)
                })
                .collect();
            (rules, <[u64; 6]>::try_from(args).unwrap(), wide)
        })
    }

    proptest::proptest! {
        #[test]
        fn shared_first_conditions_decide_as_the_rules(
            (rules, args, wide) in grouped_rules()
        ) {
            let width = if wide { ArgWidth::Bits64 } else { ArgWidth::Bits32 };
            prop_assert_eq!(decide(&rules, width, args).0, reference(&rules, width, &args));
        }
    }

    #[test]
    fn a_shared_first_condition_is_tested_once() {
        // mmap's shape in Firecracker's vmm filter: seven flag values, each
        // with `PROT_EXEC` clear.
        let no_exec = cond(2, CmpOp::MaskedEq, 4, 0);
        let rules: Vec<Rule> = [50u64, 1, 34, 0x8001, 0x4001, 0x4022, 0x4011]
            .iter()
            .map(|&v| rule(vec![cond(3, CmpOp::Eq, v, 0), no_exec], Action::Allow))
            .collect();
        for (i, v) in [50u64, 1, 34, 0x8001, 0x4001, 0x4022, 0x4011]
            .into_iter()
            .enumerate()
        {
            let args = [0, 0, 3, v, 0, 0];
            let (raw, tests) = decide(&rules, ArgWidth::Bits32, args);
            assert_eq!(raw, Action::Allow.to_raw());
            assert!(tests <= 5, "value {v:#x}: {tests} tests");
            assert_eq!(ungrouped_tests(&rules, ArgWidth::Bits32, args), 2 * i + 2);
            assert_eq!(
                decide(&rules, ArgWidth::Bits32, [0, 0, 7, v, 0, 0]),
                (0x5_0001, 1)
            );
        }
    }

    #[test]
    fn value_sets_search_and_first_match_wins() {
        let mut rules: Vec<Rule> = (0..20u64)
            .map(|v| {
                rule(
                    vec![cond(1, CmpOp::Eq, v * 3, 0)],
                    Action::Errno(v as u16 + 10),
                )
            })
            .collect();
        rules.insert(5, rule(vec![cond(1, CmpOp::Eq, 0, 0)], Action::Trap(0)));
        for v in 0..20u64 {
            let (raw, tests) = decide(&rules, ArgWidth::Bits64, [0, v * 3, 0, 0, 0, 0]);
            assert_eq!(
                raw,
                Action::Errno(v as u16 + 10).to_raw(),
                "value {}",
                v * 3
            );
            assert!(tests <= 7, "value {} took {tests} tests", v * 3);
            assert_eq!(
                decide(&rules, ArgWidth::Bits64, [0, v * 3 + 1, 0, 0, 0, 0]).0,
                0x5_0001
            );
        }
        assert_eq!(
            decide(&rules, ArgWidth::Bits64, [0, 1 << 32, 0, 0, 0, 0]).0,
            0x5_0001
        );
    }
}
