//! Arguments that make a policy allow a syscall.
//!
//! In: one arch of a policy and a syscall number. Out: six argument values
//! under which the policy's first matching rule allows the call, or `None`
//! when no such values were found (the number is denied). The benchmark runs
//! each program with these arguments, so an argument-checked syscall is
//! measured on the path a working program takes (`futex` with an allowed
//! operation, `ioctl(KVM_RUN)`), not on the path of a rejected call.
//!
//! Candidates per argument come from the conditions on it (the value
//! itself, one above, one below, the masked datum, 0); the first candidate
//! that satisfies every condition of the rule on that argument is kept.
//! Rules are tried in order; a candidate set counts only if the policy's
//! first-match reading of all rules for that number gives ALLOW.

use sysfence_profile::ir::{Action, ArchPolicy, ArgWidth, CmpOp, Cond, Rule};

/// Whether a number is allowed, and with which arguments.
pub fn allowed_args(policy: &ArchPolicy, nr: u32) -> Option<[u64; 6]> {
    if let Some(range) = policy.range_for(nr) {
        return (range.action == Action::Allow).then_some([0; 6]);
    }
    let Some(rules) = policy.rules.get(&nr) else {
        return (policy.default == Action::Allow).then_some([0; 6]);
    };
    let zero = [0u64; 6];
    if verdict(policy, rules, &zero) == Action::Allow {
        return Some(zero);
    }
    rules
        .iter()
        .filter(|r| r.action == Action::Allow)
        .filter_map(|r| satisfying(r, policy.width))
        .find(|args| verdict(policy, rules, args) == Action::Allow)
}

/// Every distinct argument vector, one per ALLOW rule that can decide, under
/// which the policy allows `nr` (all zeros when no rule looks at arguments).
pub fn allowed_alternatives(policy: &ArchPolicy, nr: u32) -> Vec<[u64; 6]> {
    let Some(rules) = policy
        .rules
        .get(&nr)
        .filter(|r| r.iter().any(|r| !r.conds.is_empty()))
    else {
        return allowed_args(policy, nr).into_iter().collect();
    };
    let mut out: Vec<[u64; 6]> = Vec::new();
    for args in rules
        .iter()
        .filter(|r| r.action == Action::Allow)
        .filter_map(|r| satisfying(r, policy.width))
    {
        if verdict(policy, rules, &args) == Action::Allow && !out.contains(&args) {
            out.push(args);
        }
    }
    out
}

/// The policy's action for `nr` with these arguments: the first rule whose
/// conditions all hold, else the default (ranges are the caller's).
pub fn verdict(policy: &ArchPolicy, rules: &[Rule], args: &[u64; 6]) -> Action {
    rules
        .iter()
        .find(|r| {
            r.conds
                .iter()
                .all(|c| c.holds(args[c.arg.get()], policy.width))
        })
        .map_or(policy.default, |r| r.action)
}

/// The policy's action for a call (ranges, rules, default).
pub fn action_for(policy: &ArchPolicy, nr: u32, args: &[u64; 6]) -> Action {
    if let Some(range) = policy.range_for(nr) {
        return range.action;
    }
    policy
        .rules
        .get(&nr)
        .map_or(policy.default, |rules| verdict(policy, rules, args))
}

/// Whether the policy allows `nr` whatever the arguments (what a cache-friendly
/// program should let the kernel's action cache serve).
pub fn always_allowed(policy: &ArchPolicy, nr: u32) -> bool {
    if let Some(range) = policy.range_for(nr) {
        return range.action == Action::Allow;
    }
    match policy.rules.get(&nr) {
        None => policy.default == Action::Allow,
        Some(rules) => match rules.iter().find(|r| r.conds.is_empty()) {
            Some(first_unconditional) => {
                first_unconditional.action == Action::Allow
                    && rules
                        .iter()
                        .take_while(|r| !r.conds.is_empty())
                        .all(|r| r.action == Action::Allow)
            }
            None => false,
        },
    }
}

/// Arguments satisfying every condition of one rule, if the candidates find some.
fn satisfying(rule: &Rule, width: ArgWidth) -> Option<[u64; 6]> {
    let mut args = [0u64; 6];
    for (i, slot) in args.iter_mut().enumerate() {
        let conds: Vec<&Cond> = rule.conds.iter().filter(|c| c.arg.get() == i).collect();
        if conds.is_empty() {
            continue;
        }
        *slot = conds
            .iter()
            .flat_map(|c| candidates(c))
            .find(|&v| conds.iter().all(|c| c.holds(v, width)))?;
    }
    Some(args)
}

fn candidates(c: &Cond) -> [u64; 5] {
    let masked = c.value_two & c.value;
    match c.op {
        CmpOp::MaskedEq => [masked, 0, masked, masked, masked],
        _ => [
            c.value,
            c.value.wrapping_add(1),
            c.value.wrapping_sub(1),
            0,
            u64::MAX,
        ],
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use std::collections::BTreeMap;
    use sysfence_profile::ir::NrRange;

    use sysfence_testkit::fixtures::{cond, rule};

    fn policy() -> ArchPolicy {
        let mut rules = BTreeMap::new();
        rules.insert(0, vec![rule(vec![], Action::Allow)]);
        // clone: flags & 0x7e020000 == 0
        rules.insert(
            56,
            vec![rule(
                vec![cond(0, CmpOp::MaskedEq, 0x7e02_0000, 0)],
                Action::Allow,
            )],
        );
        // ioctl: only request 0xae80, and arg 2 in 5..=9
        rules.insert(
            16,
            vec![rule(
                vec![
                    cond(1, CmpOp::Eq, 0xae80, 0),
                    cond(2, CmpOp::Ge, 5, 0),
                    cond(2, CmpOp::Le, 9, 0),
                ],
                Action::Allow,
            )],
        );
        // socket: a shadowing errno rule first
        rules.insert(
            41,
            vec![
                rule(vec![cond(0, CmpOp::Eq, 40, 0)], Action::Errno(1)),
                rule(vec![cond(0, CmpOp::Ne, 40, 0)], Action::Allow),
            ],
        );
        rules.insert(435, vec![rule(vec![], Action::Errno(38))]);
        let allowed = NrRange {
            lo: 500,
            hi: 510,
            action: Action::Allow,
        };
        sysfence_testkit::fixtures::x86_64_arch(rules, vec![allowed])
    }

    #[test]
    fn finds_arguments_that_allow() {
        let p = policy();
        assert_eq!(allowed_args(&p, 0), Some([0; 6]));
        assert_eq!(allowed_args(&p, 56), Some([0; 6]));
        assert_eq!(allowed_args(&p, 16), Some([0, 0xae80, 5, 0, 0, 0]));
        assert_eq!(allowed_args(&p, 41), Some([0; 6]));
        assert_eq!(allowed_args(&p, 435), None);
        assert_eq!(allowed_args(&p, 2), None);
        assert_eq!(allowed_args(&p, 505), Some([0; 6]));
    }

    #[test]
    fn always_allowed_means_no_argument_can_deny() {
        let p = policy();
        assert!(always_allowed(&p, 0));
        assert!(always_allowed(&p, 505));
        assert!(!always_allowed(&p, 56));
        assert!(!always_allowed(&p, 435));
        assert!(!always_allowed(&p, 2));
        assert_eq!(action_for(&p, 41, &[40, 0, 0, 0, 0, 0]), Action::Errno(1));
    }
}
