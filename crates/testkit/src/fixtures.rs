//! Hand-built policies for the compiler's tests, and what a policy decides
//! for one call.
//!
//! In: syscall numbers and argument rules. Out: an x86_64 [`Policy`] as the
//! front end would produce for an allow-list with Docker's x32 handling:
//! default ERRNO(1), the x32 numbers (`0x40000000..=0xfffffffe`) a range
//! with `x32_action`, table maximum 466. Not checked: that the rules are
//! ones any dialect could express. [`action_of`] and [`x86_64_action`] ask
//! the reference evaluator about one call, as the front end's tests do;
//! [`options_for`] reads a profile as one libseccomp release would.

use std::collections::BTreeMap;

use sysfence_profile::eval::{Call, eval};
use sysfence_profile::ir::{
    Action, ArchPolicy, ArgIndex, ArgWidth, CmpOp, Cond, NrRange, Origin, Policy, Rule,
};
use sysfence_profile::{Arch, HostContext, Libseccomp, LoadOptions};

/// `AUDIT_ARCH_X86_64`.
pub use sysfence_cbpf::abi::arch::AUDIT_ARCH_X86_64 as X86_64;

/// A rule with these conditions and action, from nowhere.
pub fn rule(conds: Vec<Cond>, action: Action) -> Rule {
    Rule {
        conds,
        action,
        origin: Origin::default(),
    }
}

/// A 64-bit condition on `args[arg]` (`value_two` is the masked
/// comparisons' second operand).
pub fn cond(arg: u8, op: CmpOp, value: u64, value_two: u64) -> Cond {
    Cond {
        arg: ArgIndex::new(arg).expect("argument index below 6"),
        op,
        value,
        value_two,
        width: ArgWidth::Bits64,
    }
}

/// `args[arg] == value`.
pub fn eq(arg: u8, value: u64) -> Cond {
    cond(arg, CmpOp::Eq, value, 0)
}

/// ALLOW when `args[arg] == value`.
pub fn allow_if_eq(arg: u8, value: u64) -> Rule {
    rule(vec![eq(arg, value)], Action::Allow)
}

/// x86_64: `allowed` numbers always allowed, `checked` numbers decided by
/// their rules, everything else ERRNO(1); foreign arches `bad_arch`.
pub fn x86_64_allow_list(
    allowed: impl IntoIterator<Item = u32>,
    checked: Vec<(u32, Vec<Rule>)>,
    bad_arch: Action,
) -> Policy {
    let mut rules: BTreeMap<u32, Vec<Rule>> = allowed
        .into_iter()
        .map(|nr| (nr, vec![rule(vec![], Action::Allow)]))
        .collect();
    rules.extend(checked);
    let x32 = NrRange {
        lo: 0x4000_0000,
        hi: 0xffff_fffe,
        action: Action::KillThread,
    };
    let ap = x86_64_arch(rules, vec![x32]);
    Policy::new(vec![ap], bad_arch).expect("a valid hand-built policy")
}

/// x86_64 with these rules and ranges, everything else ERRNO(1), table
/// maximum 466.
pub fn x86_64_arch(rules: BTreeMap<u32, Vec<Rule>>, ranges: Vec<NrRange>) -> ArchPolicy {
    ArchPolicy {
        audit_arch: X86_64,
        name: "x86_64".into(),
        width: ArgWidth::Bits64,
        default: Action::Errno(1),
        rules,
        ranges,
        table_max: 466,
    }
}

/// What `policy` decides for a call of `nr` on `arch` with `args` (and
/// instruction pointer 0), by the reference evaluator.
pub fn action_of(policy: &Policy, arch: u32, nr: u32, args: [u64; 6]) -> Action {
    let mut call = Call::new(arch, nr);
    call.args = args;
    eval(policy, &call).0
}

/// [`action_of`] for the x86_64 syscall `name`.
pub fn x86_64_action(policy: &Policy, name: &str, args: [u64; 6]) -> Action {
    let nr = Arch::X86_64
        .syscall_nr(name)
        .unwrap_or_else(|| panic!("{name}: not an x86_64 syscall"));
    action_of(policy, X86_64, nr, args)
}

/// Load options for a profile named `p.json` read as a runtime linking
/// libseccomp `release` would read it (every other context field default).
pub fn options_for(release: Libseccomp) -> LoadOptions {
    LoadOptions {
        file_name: "p.json".into(),
        context: HostContext {
            libseccomp: release,
            ..HostContext::default()
        },
        ..LoadOptions::default()
    }
}
