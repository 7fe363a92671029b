//! Arch selection: which entries of a policy go into the program, in which
//! order.
//!
//! In: a [`Policy`] and the [`Arch`]es asked for (`--arch`), or none for
//! every arch of the policy (the host's first). Out: a [`Selection`] — the
//! policy and the AUDIT_ARCH values of the entries the program implements,
//! in dispatch order. Run once per compile.
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
use sysfence_profile::ir::{ArchPolicy, Policy};

use crate::CompileError;

/// The policy a program implements and its arches in dispatch order.
#[derive(Clone, Debug)]
pub struct Selection<'p> {
    policy: Cow<'p, Policy>,
    order: Vec<u32>,
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

    /// A selection of an owned policy.
    pub fn owned(policy: Policy, order: Vec<u32>) -> Selection<'static> {
        Selection {
            policy: Cow::Owned(policy),
            order,
        }
    }

    /// The policy, owned.
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
    for &a in wanted {
        if order.contains(&a.audit_arch()) {
            continue;
        }
        check_entry(policy, a, wanted)?;
        order.push(a.audit_arch());
    }
    Ok(Selection {
        policy: Cow::Borrowed(policy),
        order,
    })
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
        let all = select(&p, Some(&[Arch::X86_64, Arch::X32])).unwrap();
        assert_eq!(all.order(), [0xc000_003e]);
        let err = select(&p, Some(&[Arch::X86_64])).unwrap_err();
        assert!(
            err.to_string().contains("x86_64+x32 also holds x32"),
            "{err}"
        );
        assert!(err.is_input_error());
        assert!(select(&p, Some(&[Arch::Aarch64])).is_err());
        let narrowed = read(Some(&[Arch::X86_64]));
        let one = select(&narrowed, Some(&[Arch::X86_64])).unwrap();
        assert_eq!(one.order(), [0xc000_003e]);
        assert_eq!(one.policy().arches()[0].name, "x86_64");
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
