//! The seccompiler 0.5 peer.
//!
//! In: either a seccompiler JSON file and the name of one of its filters
//! (Firecracker's files), compiled with `seccompiler::compile_from_json`
//! exactly as their authors would; or a sysfence [`ArchPolicy`], translated
//! into seccompiler's `SeccompFilter` rules. Out: a validated [`Built`].
//!
//! What a policy can lose on the way, each reported in [`Built::notes`]:
//! seccompiler has one match action per filter, so the match action is
//! ALLOW and every rule with another action (Docker's `clone3 → ERRNO(38)`)
//! falls back to the default; it has no first-match order, so a rule with the
//! default action that shadows later ALLOW rules is dropped; it knows no x32
//! numbers and no ranges with actions other than ALLOW; `TRAP` loses its data.

use std::collections::BTreeMap;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};
use sysfence_cbpf::Insn;
use sysfence_cbpf::data::AUDIT_ARCH_X86_64;
use sysfence_cbpf::limits::X32_SYSCALL_BIT;
use sysfence_profile::arch::Arch;
use sysfence_profile::ir::{Action, ArchPolicy, ArgWidth, CmpOp, Cond, Rule};

use super::{Built, Compiler, PeerError, validated};

const ME: Compiler = Compiler::Seccompiler;

/// seccompiler's name for an AUDIT_ARCH value, if it has one.
pub fn target_arch(audit_arch: u32) -> Option<TargetArch> {
    match audit_arch {
        AUDIT_ARCH_X86_64 => Some(TargetArch::x86_64),
        0xc000_00b7 => Some(TargetArch::aarch64),
        0xc000_00f3 => Some(TargetArch::riscv64),
        _ => None,
    }
}

/// Compiles filter `filter` of a seccompiler JSON document.
pub fn from_json(text: &str, filter: &str, audit_arch: u32) -> Result<Built, PeerError> {
    let arch = target_arch(audit_arch)
        .ok_or_else(|| PeerError::new(ME, format!("arch {audit_arch:#x} unsupported")))?;
    let mut map =
        seccompiler::compile_from_json(text.as_bytes(), arch).map_err(|e| PeerError::new(ME, e))?;
    let program = map
        .remove(filter)
        .ok_or_else(|| PeerError::new(ME, format!("no filter named {filter:?}")))?;
    validated(ME, &to_insns(&program), Vec::new())
}

/// Translates one arch of a policy into seccompiler rules and compiles them.
pub fn from_policy(policy: &ArchPolicy) -> Result<Built, PeerError> {
    let arch = target_arch(policy.audit_arch)
        .ok_or_else(|| PeerError::new(ME, format!("arch {} unsupported", policy.name)))?;
    let (filter, notes) = translate(policy, arch)?;
    let program = BpfProgram::try_from(filter).map_err(|e| PeerError::new(ME, e))?;
    validated(ME, &to_insns(&program), notes)
}

/// Builds the `SeccompFilter` and the notes on what it cannot say.
pub fn translate(
    policy: &ArchPolicy,
    arch: TargetArch,
) -> Result<(SeccompFilter, Vec<String>), PeerError> {
    if policy.default == Action::Allow {
        return Err(PeerError::new(
            ME,
            "a default of ALLOW needs a non-ALLOW match action; not translated",
        ));
    }
    let mismatch = action(policy.default)?;
    let names = Arch::all()
        .iter()
        .copied()
        .find(|a| a.audit_arch() == policy.audit_arch);
    let name = |nr: u32| {
        names
            .and_then(|a| a.syscall_name(nr))
            .map_or_else(|| nr.to_string(), str::to_string)
    };
    let mut notes = Vec::new();
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    for range in &policy.ranges {
        if range.action == Action::Allow {
            for nr in range.lo..=range.hi {
                rules.insert(i64::from(nr), Vec::new());
            }
        } else if range.action != policy.default {
            notes.push(format!(
                "numbers {}..={}: {} falls back to the default",
                range.lo, range.hi, range.action
            ));
        }
    }
    let mut x32 = 0usize;
    for (&nr, list) in &policy.rules {
        if nr & X32_SYSCALL_BIT != 0 {
            x32 += usize::from(list.iter().any(|r| r.action != policy.default));
            continue;
        }
        if let Some(entry) = syscall_rules(policy, list, &name(nr), &mut notes)? {
            rules.insert(i64::from(nr), entry);
        }
    }
    if x32 > 0 {
        notes.push(format!(
            "{x32} x32 numbers with rules: not expressible (no x32), they fall back to the default"
        ));
    }
    let filter = SeccompFilter::new(rules, mismatch, SeccompAction::Allow, arch)
        .map_err(|e| PeerError::new(ME, e))?;
    Ok((filter, notes))
}

/// The ALLOW rules of one syscall, or `None` when nothing is allowed.
fn syscall_rules(
    policy: &ArchPolicy,
    list: &[Rule],
    name: &str,
    notes: &mut Vec<String>,
) -> Result<Option<Vec<SeccompRule>>, PeerError> {
    let mut out = Vec::new();
    for (i, rule) in list.iter().enumerate() {
        match rule.action {
            Action::Allow if rule.conds.is_empty() => return Ok(Some(Vec::new())),
            Action::Allow => {
                let conds = rule
                    .conds
                    .iter()
                    .map(|c| condition(c, policy.width))
                    .collect::<Result<Vec<_>, _>>()?;
                out.push(SeccompRule::new(conds).map_err(|e| PeerError::new(ME, e))?);
            }
            a if a == policy.default => {
                if list[i + 1..].iter().any(|r| r.action == Action::Allow) {
                    notes.push(format!(
                        "{name}: a {a} rule before ALLOW rules is dropped (no rule order)"
                    ));
                }
            }
            a => notes.push(format!(
                "{name}: {a} falls back to the default {} (one match action)",
                policy.default
            )),
        }
    }
    Ok((!out.is_empty()).then_some(out))
}

fn condition(c: &Cond, width: ArgWidth) -> Result<SeccompCondition, PeerError> {
    let len = match c.width_on(width) {
        ArgWidth::Bits64 => SeccompCmpArgLen::Qword,
        ArgWidth::Bits32 => SeccompCmpArgLen::Dword,
    };
    let (op, value) = match c.op {
        CmpOp::Ne => (SeccompCmpOp::Ne, c.value),
        CmpOp::Lt => (SeccompCmpOp::Lt, c.value),
        CmpOp::Le => (SeccompCmpOp::Le, c.value),
        CmpOp::Eq => (SeccompCmpOp::Eq, c.value),
        CmpOp::Ge => (SeccompCmpOp::Ge, c.value),
        CmpOp::Gt => (SeccompCmpOp::Gt, c.value),
        CmpOp::MaskedEq => (SeccompCmpOp::MaskedEq(c.value), c.value_two & c.value),
        CmpOp::MaskedAny => {
            return Err(PeerError::new(ME, "seccompiler has no any-bit comparison"));
        }
    };
    SeccompCondition::new(c.arg.get() as u8, len, op, value).map_err(|e| PeerError::new(ME, e))
}

fn action(a: Action) -> Result<SeccompAction, PeerError> {
    Ok(match a {
        Action::KillProcess => SeccompAction::KillProcess,
        Action::KillThread => SeccompAction::KillThread,
        Action::Trap(_) => SeccompAction::Trap,
        Action::Errno(n) => SeccompAction::Errno(u32::from(n)),
        Action::Trace(n) => SeccompAction::Trace(u32::from(n)),
        Action::Log => SeccompAction::Log,
        Action::Allow => SeccompAction::Allow,
        Action::UserNotif => {
            return Err(PeerError::new(
                ME,
                "USER_NOTIF does not exist in seccompiler 0.5",
            ));
        }
        Action::Unknown(raw) => {
            return Err(PeerError::new(
                ME,
                format!("seccompiler 0.5 has no action value {raw:#010x}"),
            ));
        }
    })
}

fn to_insns(program: &BpfProgram) -> Vec<Insn> {
    program
        .iter()
        .map(|f| Insn::new(f.code, f.jt, f.jf, f.k))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use sysfence_cbpf::action::Action as Ret;
    use sysfence_cbpf::data::SeccompData;
    use sysfence_cbpf::interp::run;

    use sysfence_testkit::fixtures::rule;

    fn policy() -> ArchPolicy {
        let eq = |v| sysfence_testkit::fixtures::eq(0, v);
        let mut rules = BTreeMap::new();
        rules.insert(0, vec![rule(vec![], Action::Allow)]);
        rules.insert(
            135,
            vec![
                rule(vec![eq(0)], Action::Allow),
                rule(vec![eq(8)], Action::Allow),
            ],
        );
        rules.insert(435, vec![rule(vec![], Action::Errno(38))]);
        sysfence_testkit::fixtures::x86_64_arch(rules, vec![])
    }

    #[test]
    fn translates_allows_and_reports_other_actions() {
        let built = from_policy(&policy()).unwrap();
        assert_eq!(
            built.notes,
            ["clone3: ERRNO(38) falls back to the default ERRNO(1) (one match action)"]
        );
        let at = |nr, a0| {
            let mut d = SeccompData::new(AUDIT_ARCH_X86_64, nr);
            d.args[0] = a0;
            run(&built.program, &d).action
        };
        assert_eq!(at(0, 5), Ret::Allow);
        assert_eq!(at(135, 8), Ret::Allow);
        assert_eq!(at(135, 9), Ret::Errno(1));
        assert_eq!(at(435, 0), Ret::Errno(1));
        // 3 (arch check) + ld nr + 5 per unconditional syscall + 2*2+2+2*5 for personality + 1 final.
        assert_eq!(built.program.len(), 3 + 1 + 5 + 16 + 1);
    }

    #[test]
    fn compiles_json_filters_by_name() {
        let text = r#"{"main":{"default_action":"trap","filter_action":"allow","filter":[{"syscall":"read"}]}}"#;
        let built = from_json(text, "main", 0xc000_003e).unwrap();
        assert_eq!(built.program.len(), 10);
        assert!(from_json(text, "other", 0xc000_003e).is_err());
    }
}
