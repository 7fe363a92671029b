//! A run of rules that each allow (or deny) one value of one argument: a
//! case split on the argument's words instead of a fold of comparisons.
//!
//! In: consecutive rules of one syscall that each have a condition `arg ==
//! value`, all on the same argument and width, and the same other
//! conditions (often none), and the diagram of what follows the run (the
//! rules after it, or the default). Out: the diagram of "where the shared
//! conditions hold, the action of the first rule whose value the argument
//! has; else what follows", the values built with [`case`] (one split per
//! word, at most 32 nodes per boundary) and the shared conditions folded
//! on top.
//!
//! A case split needs its pieces to test only later words. When what
//! follows tests the argument's (32-bit) word, it is read back as pieces of
//! that word ([`pieces_of`]) and the values are laid over them; else, when
//! every rule of the run has the same action, the values are a boolean
//! split joined to what follows with one `ite`; else `None`, and the
//! caller folds the rules one by one.
//!
//! This is the shape of ioctl allow-lists (Firecracker's filters, VMM
//! profiles): folding each value with `ite_compare` walks the growing
//! diagram once per value, a case split builds it once. The store is
//! canonical, so both give the same node.

use std::collections::BTreeMap;

use sysfence_profile::ir::{ArchPolicy, ArgWidth, CmpOp, Cond, Rule};

use crate::cases::{Parts, case, materialize, pieces_of};
use crate::policy::{arg_slots, cond_ite};
use crate::store::{FALSE, Node, Res, Store, TRUE};

/// What the rules of a run share: their other conditions (in order), the
/// argument their first `==` compares and whether it is 64 bits wide on
/// this arch.
#[derive(Clone, Copy, Debug)]
pub struct Key<'r> {
    conds: &'r [Cond],
    at: usize,
    arg: usize,
    wide: bool,
}

impl Key<'_> {
    /// The conditions other than the compared one.
    fn others(&self) -> impl Iterator<Item = &Cond> {
        let at = self.at;
        self.conds
            .iter()
            .enumerate()
            .filter(move |(i, _)| *i != at)
            .map(|(_, c)| c)
    }
}

impl PartialEq for Key<'_> {
    fn eq(&self, other: &Key<'_>) -> bool {
        (self.arg, self.wide, self.conds.len()) == (other.arg, other.wide, other.conds.len())
            && self.others().eq(other.others())
    }
}

/// The key and value of `rule` if one of its conditions is `arg == value`
/// (the first such; the conditions are a conjunction, so which one is
/// taken out does not change the rule).
pub fn single_eq<'r>(ap: &ArchPolicy, rule: &'r Rule) -> Option<(Key<'r>, u64)> {
    let at = rule.conds.iter().position(|c| c.op == CmpOp::Eq)?;
    let c = rule.conds[at];
    let wide = c.width_on(ap.width) == ArgWidth::Bits64;
    let value = if wide { c.value } else { c.value & 0xffff_ffff };
    let key = Key {
        conds: &rule.conds,
        at,
        arg: c.arg.get(),
        wide,
    };
    Some((key, value))
}

/// How many rules at the end of `rules` form one run (same key).
pub fn run_at_end(ap: &ArchPolicy, rules: &[Rule]) -> usize {
    let Some(key) = rules.last().and_then(|r| single_eq(ap, r)).map(|k| k.0) else {
        return 0;
    };
    rules
        .iter()
        .rev()
        .take_while(|r| single_eq(ap, r).is_some_and(|(k, _)| k == key))
        .count()
}

/// The diagram of `run` (rules with one key, see [`run_at_end`]) followed
/// by `rest`; `None` when `rest` tests a word at or before the argument's
/// and the rules' actions differ. When `rest` tests such a word and every
/// action is the same, the values are a boolean case split and `rest` is
/// joined to it with one `ite` (instead of one walk of the growing diagram
/// per value).
pub fn run_diagram(s: &mut Store, ap: &ArchPolicy, run: &[Rule], rest: Node) -> Res<Option<Node>> {
    let Some((key, _)) = run.first().and_then(|r| single_eq(ap, r)) else {
        return Ok(None);
    };
    let (hi, lo) = arg_slots(ap.audit_arch, key.arg);
    let slots = Slots {
        hi,
        lo,
        wide: key.wide,
    };
    // The first rule with a value wins: later duplicates never match.
    let mut by_value: BTreeMap<u64, Node> = BTreeMap::new();
    for rule in run {
        if let Some((_, v)) = single_eq(ap, rule)
            && !by_value.contains_key(&v)
        {
            let leaf = s.leaf(rule.action.to_raw())?;
            by_value.insert(v, leaf);
        }
    }
    let top = usize::from(s.top(rest)) / 32;
    let values = if top > slots.last() {
        slots.split(s, &by_value, rest)?
    } else if let Some(parts) = (!key.wide && top == lo)
        .then(|| pieces_of(s, rest, lo))
        .flatten()
    {
        // `rest` as pieces of the word, the values laid over them.
        let values = by_value.iter().map(|(&v, &n)| (v as u32, n));
        materialize(s, lo, &lay_points(&parts, values))?
    } else {
        let mut leaves = by_value.values().copied();
        let Some(action) = leaves.next().filter(|&a| leaves.all(|b| b == a)) else {
            return Ok(None);
        };
        let member: BTreeMap<u64, Node> = by_value.keys().map(|&v| (v, TRUE)).collect();
        let holds = slots.split(s, &member, FALSE)?;
        s.ite(holds, action, rest)?
    };
    with_others(s, ap, &key, values, rest).map(Some)
}

/// `parts` with each of the single values of `points` (ascending) taken
/// to its node: one pass, as [`crate::cases::overlay`] once per value
/// would give.
fn lay_points(parts: &[(u32, u32, Node)], points: impl Iterator<Item = (u32, Node)>) -> Parts {
    let mut out: Parts = Vec::with_capacity(parts.len() + 2 * points.size_hint().0);
    let mut push = |lo: u32, hi: u32, n: Node| match out.last_mut() {
        Some(last) if last.2 == n => last.1 = hi,
        _ => out.push((lo, hi, n)),
    };
    let mut points = points.peekable();
    for &(lo, hi, n) in parts {
        let mut from = lo;
        while let Some((v, m)) = points.next_if(|&(v, _)| v <= hi) {
            if v > from {
                push(from, v - 1, n);
            }
            push(v, v, m);
            match v.checked_add(1) {
                Some(next) => from = next,
                None => return out,
            }
        }
        if from <= hi {
            push(from, hi, n);
        }
    }
    out
}

/// The word slots of the compared argument.
#[derive(Clone, Copy, Debug)]
struct Slots {
    hi: usize,
    lo: usize,
    wide: bool,
}

impl Slots {
    /// The slot tested first and the one tested last (the same when only
    /// the low word is compared).
    fn order(&self) -> (usize, usize) {
        match self.wide {
            true => (self.hi.min(self.lo), self.hi.max(self.lo)),
            false => (self.lo, self.lo),
        }
    }

    fn last(&self) -> usize {
        self.order().1
    }

    /// The word of `v` in `slot`.
    fn word(&self, v: u64, slot: usize) -> u32 {
        match slot == self.hi && self.wide {
            true => (v >> 32) as u32,
            false => v as u32,
        }
    }

    /// The diagram giving each value's node and `rest` elsewhere; `rest`
    /// tests only words after the argument's.
    fn split(&self, s: &mut Store, by_value: &BTreeMap<u64, Node>, rest: Node) -> Res<Node> {
        let (first, second) = self.order();
        if !self.wide {
            let cases: Vec<_> = by_value
                .iter()
                .map(|(&v, &n)| (v as u32, v as u32, n))
                .collect();
            return case(s, first, &cases, rest);
        }
        // Grouped by the word that comes first in the variable order.
        let mut groups: BTreeMap<u32, Vec<(u32, u32, Node)>> = BTreeMap::new();
        for (&v, &n) in by_value {
            let w = self.word(v, second);
            groups
                .entry(self.word(v, first))
                .or_default()
                .push((w, w, n));
        }
        let mut outer = Vec::with_capacity(groups.len());
        for (w, mut inner) in groups {
            inner.sort_by_key(|c| c.0);
            outer.push((w, w, case(s, second, &inner, rest)?));
        }
        case(s, first, &outer, rest)
    }
}

/// `values` where every other condition of the run's rules holds, else
/// `rest`.
fn with_others(s: &mut Store, ap: &ArchPolicy, key: &Key, values: Node, rest: Node) -> Res<Node> {
    let others: Vec<&Cond> = key.others().collect();
    let mut r = values;
    for c in others.into_iter().rev() {
        r = cond_ite(s, ap, c, r, rest)?;
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::rule_ite;
    use proptest::prelude::*;
    use sysfence_profile::ir::{Action, ArgIndex};
    use sysfence_testkit::fixtures::{rule, x86_64_allow_list};

    proptest! {
        /// Laying the values in one pass is laying them one by one.
        #[test]
        fn points_laid_at_once_are_points_laid_one_by_one(
            cuts in prop::collection::btree_set(
                prop_oneof![1u32..40, u32::MAX - 3..=u32::MAX],
                0..6,
            ),
            values in prop::collection::btree_map(
                prop_oneof![0u32..42, u32::MAX - 4..=u32::MAX],
                0u32..4,
                0..10,
            ),
        ) {
            let parts = crate::cases::pieces_at(cuts, |i| (i % 3) as Node);
            let one_by_one = values.iter().fold(parts.clone(), |p, (&v, &n)| {
                crate::cases::overlay(&p, v, v, &[(0, u32::MAX, n)])
            });
            let at_once = lay_points(&parts, values.iter().map(|(&v, &n)| (v, n)));
            // The fold merges equal neighbours only where it lays a value.
            let merged = crate::cases::overlay(&one_by_one, 0, 0, &one_by_one[..1]);
            prop_assert_eq!(at_once, merged);
        }
    }

    /// A condition from a small pool, so that runs, breaks, duplicate
    /// values, values differing only in the high word and shared other
    /// conditions all occur.
    fn cond_of((arg, op, value, wide): RawCond) -> Cond {
        let values = [0, 1, 7, 0x1_0000_0001, 0x1_0000_0007, 0xffff_ffff, u64::MAX];
        let ops = [CmpOp::Eq, CmpOp::Eq, CmpOp::Eq, CmpOp::Gt, CmpOp::MaskedEq];
        Cond {
            arg: ArgIndex::new(arg % 3).unwrap_or_else(|| unreachable!()),
            op: ops[usize::from(op) % ops.len()],
            value: values[usize::from(value) % values.len()],
            value_two: 1,
            width: if wide {
                ArgWidth::Bits64
            } else {
                ArgWidth::Bits32
            },
        }
    }

    /// A condition's pool indices: argument, operator, value, width.
    type RawCond = (u8, u8, u8, bool);

    fn rules_of(raw: &[(Vec<RawCond>, u8)]) -> Vec<Rule> {
        let actions = [Action::Allow, Action::Errno(1), Action::Log];
        raw.iter()
            .map(|(conds, a)| {
                let conds = conds.iter().copied().map(cond_of).collect();
                rule(conds, actions[usize::from(*a) % actions.len()])
            })
            .collect()
    }

    proptest! {
        /// The whole policy's diagram, runs and all, gives the reference
        /// evaluator's action on every boundary input of the policy.
        #[test]
        fn run_policies_decide_as_the_evaluator(
            syscalls in prop::collection::vec(
                prop::collection::vec(
                    (prop::collection::vec((0u8..3, 0u8..5, 0u8..7, any::<bool>()), 1..3), 0u8..3),
                    1..10,
                ),
                1..4,
            ),
            big_endian in any::<bool>(),
        ) {
            use sysfence_profile::eval::{eval, interesting_values};
            let checked = syscalls
                .iter()
                .enumerate()
                .map(|(k, raw)| (k as u32 * 2 + 1, rules_of(raw)))
                .collect();
            let mut policy = x86_64_allow_list(0..1, checked, Action::KillProcess);
            if big_endian {
                // The same rules on a big-endian arch (s390x): the
                // argument words swap places.
                let mut ap = policy.arches()[0].clone();
                ap.audit_arch = 0x8000_0016;
                policy = sysfence_profile::ir::Policy::new(vec![ap], Action::KillProcess).unwrap();
            }
            let mut s = Store::new(1_000_000);
            let q = crate::policy::diagram(&mut s, &policy).unwrap();
            for set in interesting_values(&policy) {
                for call in set.calls(256) {
                    let want = eval(&policy, &call).0.to_raw();
                    let words = crate::witness::words_from(&call);
                    prop_assert_eq!(s.eval(q, &words), want, "{:?}", call);
                }
            }
        }

        /// Every run's diagram, where it is built, is the rule-by-rule
        /// fold's node, on both byte orders and both arch widths, after
        /// a default or after rules that test earlier words.
        #[test]
        fn runs_are_the_fold_of_their_rules(
            raw in prop::collection::vec(
                (prop::collection::vec((0u8..3, 0u8..5, 0u8..7, any::<bool>()), 1..3), 0u8..3),
                1..12,
            ),
            big_endian in any::<bool>(),
            narrow_arch in any::<bool>(),
            rest_on in prop::option::of(0u8..3),
        ) {
            let rules = rules_of(&raw);
            let mut ap = x86_64_allow_list(0..1, vec![], Action::KillProcess).arches()[0].clone();
            if big_endian {
                ap.audit_arch = 0x8000_0016;
            }
            if narrow_arch {
                ap.width = ArgWidth::Bits32;
            }
            let mut s = Store::new(1_000_000);
            let mut rest = s.leaf(0x7fff_0000).unwrap();
            if let Some(arg) = rest_on {
                let extra = rule(vec![cond_of((arg, 0, 2, true))], Action::Trap(3));
                rest = rule_ite(&mut s, &ap, &extra, rest).unwrap();
            }
            for end in 1..=rules.len() {
                let run = run_at_end(&ap, &rules[..end]);
                if run == 0 {
                    continue;
                }
                let part = &rules[end - run..end];
                let mut want = rest;
                for r in part.iter().rev() {
                    want = rule_ite(&mut s, &ap, r, want).unwrap();
                }
                if let Some(got) = run_diagram(&mut s, &ap, part, rest).unwrap() {
                    prop_assert_eq!(got, want, "rules {:?}", part);
                }
            }
        }
    }
}
