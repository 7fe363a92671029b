//! Arch selection: which ABIs of a policy go into the program.
//!
//! In: a [`Policy`] and the [`Arch`]es asked for (`--arch`). Out: the policy
//! the program must implement, and the AUDIT_ARCH values in dispatch order.
//!
//! x86_64 and x32 share one AUDIT_ARCH value, so the front end merges them
//! into one `x86_64+x32` entry whose x32 numbers carry bit 30. Asking for one
//! of the two alone narrows that entry the way libseccomp builds a filter
//! with only that ABI: the other ABI's numbers (bit 30 set for x32, clear for
//! x86_64; −1 excepted) get the bad-arch action, whatever the profile said for
//! them. Other arches are taken as they are. Nothing else is changed.

use sysfence_cbpf::limits::X32_SYSCALL_BIT;
use sysfence_profile::arch::Arch;
use sysfence_profile::ir::{ArchPolicy, NrRange, Policy};

use crate::CompileError;

/// The policy narrowed to `wanted`, and their AUDIT_ARCH values in order.
pub fn select(policy: &Policy, wanted: &[Arch]) -> Result<(Policy, Vec<u32>), CompileError> {
    let mut order: Vec<u32> = Vec::new();
    for a in wanted {
        if policy.arch(a.audit_arch()).is_none() {
            return Err(CompileError::unknown_arch(a.audit_arch()));
        }
        if !order.contains(&a.audit_arch()) {
            order.push(a.audit_arch());
        }
    }
    let has = |a: Arch| wanted.contains(&a);
    let bad = policy.bad_arch();
    let arches = policy
        .arches()
        .iter()
        .filter(|ap| order.contains(&ap.audit_arch))
        .map(|ap| {
            match (
                ap.audit_arch == Arch::X86_64.audit_arch(),
                has(Arch::X86_64),
                has(Arch::X32),
            ) {
                (true, true, false) => keep(ap, Arch::X86_64, 0, X32_SYSCALL_BIT - 1, bad),
                (true, false, true) => keep(ap, Arch::X32, X32_SYSCALL_BIT, u32::MAX - 1, bad),
                _ => ap.clone(),
            }
        })
        .collect();
    let narrowed =
        Policy::new(arches, bad).map_err(|e| CompileError::internal(format!("narrowing: {e}")))?;
    Ok((narrowed, order))
}

/// Keeps numbers `lo..=hi` (and −1); the rest of `0..=0xfffffffe` gets `bad`.
fn keep(
    ap: &ArchPolicy,
    abi: Arch,
    lo: u32,
    hi: u32,
    bad: sysfence_profile::ir::Action,
) -> ArchPolicy {
    let inside = |nr: u32| (lo..=hi).contains(&nr) || nr == u32::MAX;
    let mut out = ap.clone();
    out.name = abi.name().to_string();
    out.rules.retain(|&nr, _| inside(nr));
    let mut ranges: Vec<NrRange> = ap
        .ranges
        .iter()
        .filter_map(|r| {
            let (l, h) = (r.lo.max(lo), r.hi.min(hi));
            (l <= h).then_some(NrRange { lo: l, hi: h, ..*r })
        })
        .collect();
    if let Some(r) = ap.range_for(u32::MAX) {
        ranges.push(NrRange {
            lo: u32::MAX,
            hi: u32::MAX,
            action: r.action,
        });
    }
    if lo > 0 {
        ranges.push(NrRange {
            lo: 0,
            hi: lo - 1,
            action: bad,
        });
    }
    if hi < u32::MAX - 1 {
        ranges.push(NrRange {
            lo: hi + 1,
            hi: u32::MAX - 1,
            action: bad,
        });
    }
    ranges.sort_by_key(|r| r.lo);
    out.ranges = ranges;
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use sysfence_profile::ir::{Action, ArgWidth, Origin, Rule};

    #[test]
    fn x86_64_alone_drops_the_x32_half() {
        let allow = vec![Rule {
            conds: vec![],
            action: Action::Allow,
            origin: Origin::default(),
        }];
        let rules: BTreeMap<u32, Vec<Rule>> = [(0, allow.clone()), (X32_SYSCALL_BIT, allow)].into();
        let ap = ArchPolicy {
            audit_arch: 0xc000_003e,
            name: "x86_64+x32".into(),
            width: ArgWidth::Bits64,
            default: Action::Errno(1),
            rules,
            ranges: vec![NrRange {
                lo: 0x4000_0300,
                hi: u32::MAX,
                action: Action::Errno(38),
            }],
            table_max: 466,
        };
        let p = Policy::new(vec![ap], Action::KillThread).unwrap();
        let (n, order) = select(&p, &[Arch::X86_64]).unwrap();
        assert_eq!(order, [0xc000_003e]);
        let x = &n.arches()[0];
        assert_eq!(x.rules.keys().copied().collect::<Vec<_>>(), [0]);
        assert_eq!(
            x.range_for(X32_SYSCALL_BIT).map(|r| r.action),
            Some(Action::KillThread)
        );
        assert_eq!(
            x.range_for(u32::MAX).map(|r| r.action),
            Some(Action::Errno(38))
        );
        let (both, _) = select(&p, &[Arch::X86_64, Arch::X32]).unwrap();
        assert_eq!(both, p);
        assert!(select(&p, &[Arch::Aarch64]).is_err());
    }
}
