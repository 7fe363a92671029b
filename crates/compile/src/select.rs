//! Arch selection: which ABIs of a policy go into the program, in which order.
//!
//! In: a [`Policy`] and the [`Arch`]es asked for (`--arch`), or none for
//! every arch of the policy (the host's first). Out: a [`Selection`] — the
//! policy the program must implement (borrowed when nothing changes) and
//! the AUDIT_ARCH values in dispatch order. Run once per compile.
//!
//! Narrowing means "the filter the runtime would build with only these
//! arches". Every entry stands alone except where two ABIs share one
//! AUDIT_ARCH value (x86_64 and x32): asking for one of them takes the
//! entry the profile front end built for that ABI alone
//! ([`Policy::abis`]: runc's stub and libseccomp's guard for that ABI).
//! An entry that holds one ABI (a seccompiler filter, a profile without
//! x32) is taken as it is; asking for another ABI of its AUDIT_ARCH value
//! is an error, as is asking for an arch the policy lacks.

use std::borrow::Cow;

use sysfence_profile::arch::Arch;
use sysfence_profile::ir::{ArchPolicy, Policy};

use crate::CompileError;

/// The policy a program implements and its arches in dispatch order.
#[derive(Clone, Debug)]
pub struct Selection<'p> {
    policy: Cow<'p, Policy>,
    order: Vec<u32>,
}

impl<'p> Selection<'p> {
    /// The effective policy (narrowed where `--arch` asked for one ABI).
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

    /// A selection of an owned policy.
    pub fn owned(policy: Policy, order: Vec<u32>) -> Selection<'static> {
        Selection {
            policy: Cow::Owned(policy),
            order,
        }
    }

    /// The effective policy, owned.
    pub fn into_policy(self) -> Policy {
        self.policy.into_owned()
    }
}

/// Selects `wanted` (every arch when `None`) from `policy`.
pub fn select<'p>(
    policy: &'p Policy,
    wanted: Option<&[Arch]>,
) -> Result<Selection<'p>, CompileError> {
    let Some(wanted) = wanted else {
        let native = Arch::native().map(|a| a.audit_arch());
        let mut order: Vec<u32> = policy.arches().iter().map(|a| a.audit_arch).collect();
        order.sort_by_key(|&a| Some(a) != native);
        return Ok(Selection {
            policy: Cow::Borrowed(policy),
            order,
        });
    };
    let mut order: Vec<u32> = Vec::new();
    let mut entries: Vec<&'p ArchPolicy> = Vec::new();
    for &a in wanted {
        if order.contains(&a.audit_arch()) {
            continue;
        }
        order.push(a.audit_arch());
        entries.push(entry(policy, a, wanted)?);
    }
    let own = |e: &&ArchPolicy| {
        policy
            .arch(e.audit_arch)
            .is_some_and(|o| std::ptr::eq(o, *e))
    };
    if entries.iter().all(|e| own(e)) {
        return Ok(Selection {
            policy: Cow::Borrowed(policy),
            order,
        });
    }
    let arches = entries.into_iter().cloned().collect();
    let narrowed = Policy::new(arches, policy.bad_arch())
        .map_err(|e| CompileError::internal(format!("narrowing: {e}")))?;
    Ok(Selection {
        policy: Cow::Owned(narrowed),
        order,
    })
}

/// The entry for `a` in a filter holding `wanted`.
fn entry<'p>(policy: &'p Policy, a: Arch, wanted: &[Arch]) -> Result<&'p ArchPolicy, CompileError> {
    let ap = policy
        .arch(a.audit_arch())
        .ok_or_else(|| CompileError::unknown_arch(a.audit_arch()))?;
    let shared: Vec<_> = policy.abis(a.audit_arch()).collect();
    if shared.is_empty() {
        return match Arch::from_name(&ap.name) {
            Some(only) if only != a => Err(CompileError::unknown_abi(a.name(), &ap.name)),
            _ => Ok(ap),
        };
    }
    let asked: Vec<_> = shared.iter().filter(|s| wanted.contains(&s.abi)).collect();
    match asked.as_slice() {
        [] => Err(CompileError::unknown_abi(a.name(), &ap.name)),
        [one] if asked.len() < shared.len() => Ok(&one.alone),
        _ => Ok(ap),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sysfence_profile::{LoadOptions, load};

    #[test]
    fn x86_64_alone_is_the_front_ends_entry() {
        let text = br#"{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X32"],
            "syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW"}]}"#;
        let p = load(text, &LoadOptions::default()).unwrap().policy;
        let all = select(&p, Some(&[Arch::X86_64, Arch::X32])).unwrap();
        assert!(matches!(all.policy, Cow::Borrowed(_)));
        let one = select(&p, Some(&[Arch::X86_64])).unwrap();
        assert_eq!(one.order(), [0xc000_003e]);
        assert_eq!(one.policy().arches()[0].name, "x86_64");
        assert!(select(&p, Some(&[Arch::Aarch64])).is_err());
    }

    #[test]
    fn a_single_abi_entry_is_kept_and_the_other_abi_refused() {
        let text = br#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW"}]}"#;
        let p = load(text, &LoadOptions::default()).unwrap().policy;
        let one = select(&p, Some(&[Arch::X86_64])).unwrap();
        assert!(matches!(one.policy, Cow::Borrowed(_)));
        let err = select(&p, Some(&[Arch::X32])).unwrap_err();
        assert!(err.to_string().contains("x32"), "{err}");
    }
}
