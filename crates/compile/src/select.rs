//! Arch selection: which entries of a policy go into the program, in which
//! order, and what every other arch value gets.
//!
//! In: a [`Policy`] and a [`Config`]: the [`Arch`]es asked for (`--arch`),
//! or none for every arch of the policy (the host's first), and the
//! bad-arch override (`--bad-arch`), if any. Out: a [`Selection`] — the
//! policy, the AUDIT_ARCH values of the entries the program implements, in
//! dispatch order, and the bad-arch action (the override, else the
//! policy's). Run once per compile; the tree, the proof and the sampled
//! check all take the bad-arch action from the selection, so it is decided
//! here alone.
//!
//! Narrowing — "the filter the runtime would build with only these arches"
//! — happens while the profile is read (`HostContext::arches`), where a
//! refusal on an arch left out is not raised and runc's stub and
//! libseccomp's x32 guard are built for the asked ABIs alone. Here each
//! asked arch must have its entry, and an entry is taken whole: asking for
//! an ABI its entry lacks is an error, and so is asking for one ABI of an
//! entry that holds two (x86_64+x32: read the profile narrowed instead).
//! Entries not asked for are left out of the order.

use std::borrow::Cow;

use sysfence_profile::arch::Arch;
use sysfence_profile::ir::{Action, ArchPolicy, Policy};

use crate::{CompileError, Config};

/// The policy a program implements, its arches in dispatch order and the
/// action of every other arch value.
#[derive(Clone, Debug)]
pub struct Selection<'p> {
    policy: Cow<'p, Policy>,
    order: Vec<u32>,
    bad_arch: Action,
}

impl<'p> Selection<'p> {
    /// The policy; the program implements its entries in [`Selection::order`].
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// AUDIT_ARCH values in dispatch order.
    pub fn order(&self) -> &[u32] {
        &self.order
    }

    /// The entries in dispatch order.
    pub fn entries(&self) -> impl Iterator<Item = &ArchPolicy> {
        self.order.iter().filter_map(|&a| self.policy.arch(a))
    }

    /// The action of every arch value the program does not dispatch.
    pub fn bad_arch(&self) -> Action {
        self.bad_arch
    }

    /// The same selection with the policy owned.
    pub fn into_owned(self) -> Selection<'static> {
        Selection {
            policy: Cow::Owned(self.policy.into_owned()),
            order: self.order,
            bad_arch: self.bad_arch,
        }
    }
}

/// Selects from `policy` the arches `config` asks for (every arch when it
/// asks for none) and the bad-arch action (its override, else the policy's).
pub fn select<'p>(policy: &'p Policy, config: &Config) -> Result<Selection<'p>, CompileError> {
    let mut selection = whole(policy);
    if let Some(wanted) = config.get_arches() {
        selection.order = asked(policy, wanted)?;
    }
    if let Some(bad) = config.get_bad_arch() {
        selection.bad_arch = bad;
    }
    Ok(selection)
}

/// What [`select`] makes of a default [`Config`]: every arch of the policy
/// (the host's first) and the policy's own bad-arch action.
pub fn whole(policy: &Policy) -> Selection<'_> {
    let native = Arch::native().map(|a| a.audit_arch());
    let mut order: Vec<u32> = policy.arches().iter().map(|a| a.audit_arch).collect();
    order.sort_by_key(|&a| Some(a) != native);
    Selection {
        policy: Cow::Borrowed(policy),
        order,
        bad_arch: policy.bad_arch(),
    }
}

/// The dispatch order of the arches `wanted`, each checked against its entry.
fn asked(policy: &Policy, wanted: &[Arch]) -> Result<Vec<u32>, CompileError> {
    let mut order: Vec<u32> = Vec::new();
    for &a in wanted {
        if order.contains(&a.audit_arch()) {
            continue;
        }
        check_entry(policy, a, wanted)?;
        order.push(a.audit_arch());
    }
    Ok(order)
}

/// The entry for `a` must exist, hold `a` and no ABI `wanted` leaves out.
fn check_entry(policy: &Policy, a: Arch, wanted: &[Arch]) -> Result<(), CompileError> {
    let ap = policy
        .arch(a.audit_arch())
        .ok_or_else(|| CompileError::unknown_arch(a.audit_arch()))?;
    let held: Vec<Option<Arch>> = ap.name.split('+').map(Arch::from_name).collect();
    if held.iter().all(|h| h.is_some_and(|h| h != a)) {
        return Err(CompileError::unknown_abi(a.name(), &ap.name));
    }
    match held.iter().flatten().find(|h| !wanted.contains(h)) {
        Some(left_out) if held.len() > 1 => {
            Err(CompileError::shared_entry(&ap.name, left_out.name()))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sysfence_profile::{HostContext, LoadOptions, load};

    const X86_64_X32: &[u8] =
        br#"{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X32"],
        "syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW"}]}"#;

    fn asking(arches: &[Arch]) -> Config {
        Config::new().arches(arches.to_vec())
    }

    fn read(arches: Option<&[Arch]>) -> Policy {
        let opts = LoadOptions {
            context: HostContext {
                arches: arches.map(<[Arch]>::to_vec),
                ..HostContext::default()
            },
            ..LoadOptions::default()
        };
        load(X86_64_X32, &opts).unwrap().policy
    }

    #[test]
    fn a_shared_entry_is_taken_whole_or_read_narrowed() {
        let p = read(None);
        let all = select(&p, &asking(&[Arch::X86_64, Arch::X32])).unwrap();
        assert_eq!(all.order(), [0xc000_003e]);
        let err = select(&p, &asking(&[Arch::X86_64])).unwrap_err();
        assert!(
            err.to_string().contains("x86_64+x32 also holds x32"),
            "{err}"
        );
        assert!(err.is_input_error());
        assert!(select(&p, &asking(&[Arch::Aarch64])).is_err());
        let narrowed = read(Some(&[Arch::X86_64]));
        let one = select(&narrowed, &asking(&[Arch::X86_64])).unwrap();
        assert_eq!(one.order(), [0xc000_003e]);
        assert_eq!(one.policy().arches()[0].name, "x86_64");
    }

    #[test]
    fn a_single_abi_entry_is_kept_and_the_other_abi_refused() {
        let text = br#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW"}]}"#;
        let p = load(text, &LoadOptions::default()).unwrap().policy;
        let one = select(&p, &asking(&[Arch::X86_64])).unwrap();
        assert!(matches!(one.policy, Cow::Borrowed(_)));
        let err = select(&p, &asking(&[Arch::X32])).unwrap_err();
        assert!(err.to_string().contains("x32"), "{err}");
    }
}
