//! The reference evaluator: `Policy × seccomp_data → action`, straight from
//! the IR, with no BPF.
//!
//! It is the oracle the compiler and the interpreter are checked against,
//! so it is written to be obviously right rather than fast: foreign arch →
//! the bad-arch action; a number in a fixed range → that range's action;
//! else the first rule whose conditions all hold; else the default.
//!
//! [`boundary_values`] and [`interesting_values`] list the argument values
//! and syscall numbers where a policy's answer can change, for tests that
//! compare a compiled program with this evaluator.

use std::collections::BTreeSet;

use crate::ir::{Action, ArchPolicy, ArgWidth, CmpOp, Cond, NrRange, Policy, Rule};

/// One syscall as the filter sees it: the kernel's `struct seccomp_data`,
/// the same type the cBPF interpreter runs on (no policy reads the
/// instruction pointer).
pub type Call = sysfence_abi::SeccompData;

/// What decided an evaluation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecidedBy<'p> {
    /// A rule: its syscall number, its position in that number's list, the rule.
    Rule {
        /// The syscall number.
        nr: u32,
        /// Index in the number's rule list.
        index: usize,
        /// The rule.
        rule: &'p Rule,
    },
    /// A fixed number range.
    Range(&'p NrRange),
    /// The arch's default action.
    Default,
    /// The arch is not in the policy.
    BadArch,
}

/// Evaluates one call.
pub fn eval<'p>(policy: &'p Policy, call: &Call) -> (Action, DecidedBy<'p>) {
    let Some(ap) = policy.arch(call.arch) else {
        return (policy.bad_arch(), DecidedBy::BadArch);
    };
    eval_arch(ap, call)
}

/// Evaluates one call within one arch's policy.
pub fn eval_arch<'p>(ap: &'p ArchPolicy, call: &Call) -> (Action, DecidedBy<'p>) {
    let rules = ap.rules.get(&call.nr).map_or(&[][..], Vec::as_slice);
    decide(ap, call.nr, (ap.range_for(call.nr), rules), &call.args)
}

/// What [`eval_arch`] decides once it has found the number's range (if
/// any) and rules, for a caller that walks the numbers in order and has
/// them already.
pub fn decide<'p>(
    ap: &'p ArchPolicy,
    nr: u32,
    (range, rules): (Option<&'p NrRange>, &'p [Rule]),
    args: &[u64; 6],
) -> (Action, DecidedBy<'p>) {
    if let Some(r) = range {
        return (r.action, DecidedBy::Range(r));
    }
    for (index, rule) in rules.iter().enumerate() {
        if rule_matches(rule, args, ap.width) {
            return (rule.action, DecidedBy::Rule { nr, index, rule });
        }
    }
    (ap.default, DecidedBy::Default)
}

/// Whether every condition of a rule holds.
pub fn rule_matches(rule: &Rule, args: &[u64; 6], width: ArgWidth) -> bool {
    rule.conds.iter().all(|c| c.holds(args[c.arg.get()], width))
}

/// Argument values around a condition's boundaries: value − 1, value and
/// value + 1 in each 32-bit word, the mask's bits flipped for MASKED_EQ,
/// and the high word 0 and all ones under each low word.
pub fn boundary_values(cond: &Cond, width: ArgWidth) -> BTreeSet<u64> {
    let mut lows = BTreeSet::new();
    let mut out = BTreeSet::new();
    let v = cond.value;
    let datum = match cond.op {
        CmpOp::MaskedEq => cond.value_two & v,
        CmpOp::MaskedAny => 0,
        _ => v,
    };
    for x in [datum, datum.wrapping_sub(1), datum.wrapping_add(1)] {
        out.insert(x);
        lows.insert(x & 0xffff_ffff);
        lows.insert((x & 0xffff_ffff).wrapping_sub(1) & 0xffff_ffff);
        lows.insert((x & 0xffff_ffff).wrapping_add(1) & 0xffff_ffff);
    }
    if matches!(cond.op, CmpOp::MaskedEq | CmpOp::MaskedAny) {
        for bit in 0..64 {
            if v >> bit & 1 == 1 {
                out.insert(datum ^ (1 << bit));
            }
        }
        out.insert(datum | !v);
    }
    let high = datum >> 32;
    for lo in lows {
        for hi in [
            0,
            0xffff_ffff,
            high,
            high.wrapping_sub(1) & 0xffff_ffff,
            (high + 1) & 0xffff_ffff,
        ] {
            out.insert(hi << 32 | lo);
        }
    }
    if cond.width_on(width) == ArgWidth::Bits32 {
        out.insert(datum & 0xffff_ffff);
    }
    out
}

/// For one (arch, number): the values worth trying for each argument.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interesting {
    /// `AUDIT_ARCH_*` value.
    pub arch: u32,
    /// Syscall number.
    pub nr: u32,
    /// Candidate values per argument (always at least `0`).
    pub values: [Vec<u64>; 6],
}

impl Interesting {
    /// Calls built from the candidate values: the full product when it has
    /// at most `limit` members, else each argument varied alone with the
    /// others taking each of their values in turn (bounded by `limit`).
    pub fn calls(&self, limit: usize) -> Vec<Call> {
        let product: usize = self
            .values
            .iter()
            .map(|v| v.len().max(1))
            .fold(1usize, |a, b| a.saturating_mul(b));
        let mut out = Vec::new();
        if product <= limit {
            let mut idx = [0usize; 6];
            loop {
                out.push(self.call_at(&idx));
                if !advance(&mut idx, &self.values) {
                    break;
                }
            }
            return out;
        }
        let longest = self.values.iter().map(Vec::len).max().unwrap_or(1);
        'outer: for k in 0..longest {
            for arg in 0..6 {
                for j in 0..self.values[arg].len() {
                    if out.len() >= limit {
                        break 'outer;
                    }
                    let mut idx = [k; 6];
                    for (i, slot) in idx.iter_mut().enumerate() {
                        *slot = (*slot).min(self.values[i].len().saturating_sub(1));
                    }
                    idx[arg] = j;
                    out.push(self.call_at(&idx));
                }
            }
        }
        out
    }

    fn call_at(&self, idx: &[usize; 6]) -> Call {
        let mut args = [0u64; 6];
        for i in 0..6 {
            args[i] = self.values[i].get(idx[i]).copied().unwrap_or(0);
        }
        Call {
            arch: self.arch,
            nr: self.nr,
            args,
            instruction_pointer: 0,
        }
    }
}

fn advance(idx: &mut [usize; 6], values: &[Vec<u64>; 6]) -> bool {
    for i in 0..6 {
        idx[i] += 1;
        if idx[i] < values[i].len() {
            return true;
        }
        idx[i] = 0;
    }
    false
}

/// Every (arch, number) where the answer can change, with argument
/// candidates: numbers with rules, range edges, 0, `table_max` and one past,
/// bit-30 and `u32::MAX` edges, and one number with neither rule nor range.
pub fn interesting_values(policy: &Policy) -> Vec<Interesting> {
    let mut out = Vec::new();
    for ap in policy.arches() {
        for nr in interesting_numbers(ap) {
            let mut values: [BTreeSet<u64>; 6] = Default::default();
            for v in &mut values {
                v.insert(0);
            }
            for rule in ap.rules.get(&nr).into_iter().flatten() {
                for c in &rule.conds {
                    values[c.arg.get()].extend(boundary_values(c, ap.width));
                }
            }
            out.push(Interesting {
                arch: ap.audit_arch,
                nr,
                values: values.map(|s| s.into_iter().collect()),
            });
        }
    }
    out
}

fn interesting_numbers(ap: &ArchPolicy) -> BTreeSet<u32> {
    let mut nrs: BTreeSet<u32> = ap.rules.keys().copied().collect();
    for r in &ap.ranges {
        nrs.extend([r.lo.wrapping_sub(1), r.lo, r.hi, r.hi.wrapping_add(1)]);
    }
    nrs.extend([
        0,
        ap.table_max,
        ap.table_max.wrapping_add(1),
        0x3fff_ffff,
        sysfence_abi::arch::X32_SYSCALL_BIT,
        u32::MAX - 1,
        u32::MAX,
    ]);
    if let Some(free) = (0..=ap.table_max.saturating_add(1))
        .find(|n| !ap.rules.contains_key(n) && ap.range_for(*n).is_none())
    {
        nrs.insert(free);
    }
    nrs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{ArgIndex, Origin};
    use std::collections::BTreeMap;

    fn policy(width: ArgWidth, rules: Vec<Rule>) -> Policy {
        let ap = ArchPolicy {
            audit_arch: 0xc000_003e,
            name: "x86_64".into(),
            width,
            default: Action::Errno(1),
            rules: BTreeMap::from([(7, rules)]),
            ranges: vec![NrRange {
                lo: 500,
                hi: 600,
                action: Action::Errno(38),
            }],
            table_max: 466,
        };
        Policy::new(vec![ap], Action::KillThread).unwrap()
    }

    fn rule(op: CmpOp, value: u64, value_two: u64, action: Action) -> Rule {
        let c = Cond {
            arg: ArgIndex::new(2).unwrap(),
            op,
            value,
            value_two,
            width: ArgWidth::Bits64,
        };
        Rule {
            conds: vec![c],
            action,
            origin: Origin::default(),
        }
    }

    fn run(p: &Policy, nr: u32, a2: u64) -> Action {
        eval(
            p,
            &Call {
                arch: 0xc000_003e,
                nr,
                args: [0, 0, a2, 0, 0, 0],
                instruction_pointer: 0,
            },
        )
        .0
    }

    #[test]
    fn order_ranges_default_and_bad_arch() {
        let p = policy(
            ArgWidth::Bits64,
            vec![
                rule(CmpOp::Gt, 10, 0, Action::Allow),
                rule(CmpOp::Gt, 5, 0, Action::Log),
            ],
        );
        assert_eq!(run(&p, 7, 11), Action::Allow);
        assert_eq!(run(&p, 7, 10), Action::Log);
        assert_eq!(run(&p, 7, 5), Action::Errno(1));
        assert_eq!(run(&p, 550, 0), Action::Errno(38));
        let (a, by) = eval(
            &p,
            &Call {
                arch: 3,
                ..Call::default()
            },
        );
        assert_eq!((a, by), (Action::KillThread, DecidedBy::BadArch));
    }

    #[test]
    fn boundaries_cover_both_words() {
        let c = Cond {
            arg: ArgIndex::new(0).unwrap(),
            op: CmpOp::Lt,
            value: 0x1_0000_0200,
            value_two: 0,
            width: ArgWidth::Bits64,
        };
        let b = boundary_values(&c, ArgWidth::Bits64);
        for v in [
            0x1_0000_01ff,
            0x1_0000_0200,
            0x1_0000_0201,
            0x0000_0000_0000_0200,
            0xffff_ffff_0000_0200,
        ] {
            assert!(b.contains(&v), "{v:#x}");
        }
    }
}
