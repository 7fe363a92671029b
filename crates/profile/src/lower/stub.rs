//! runc's ENOSYS stub: number ranges past the last syscall a profile
//! names answer `ERRNO(ENOSYS)`, so newer syscalls fail as "not
//! implemented" instead of with the default action.
//!
//! In: the profile, its default action's [`Kind`] and the [`HostContext`].
//! Out: whether the stub applies, per arch the last number the linked
//! libseccomp resolves, and the ranges; rules the ranges shadow are dropped
//! with a warning. x86_64 and x32 get theirs from [`crate::x86`].

use std::collections::BTreeMap;

use crate::arch::Arch;
use crate::context::{HostContext, Runtime};
use crate::diag::Diagnostic;
use crate::ir::{Action, NrRange, Rule};
use crate::libseccomp::Libseccomp;
use crate::resolve::OciProfile;

use super::checks::Kind;

/// runc's guard value for skipping the stub (0x00050026 compared with an errno).
const RUNC_STUB_GUARD: u64 = 0x0005_0026;

/// The stub's ranges on an arch that shares its AUDIT_ARCH with no other.
pub(super) fn other_ranges(arch: Arch, stub: bool, maxima: &BTreeMap<Arch, u32>) -> Vec<NrRange> {
    let mut ranges = Vec::new();
    if !stub || !maxima.contains_key(&arch) {
        return ranges;
    }
    if matches!(arch, Arch::S390 | Arch::S390x) {
        ranges.push(NrRange {
            lo: 0,
            hi: 0,
            action: Action::Errno(38),
        });
    }
    push_stub(&mut ranges, maxima.get(&arch), u32::MAX);
    ranges
}

/// `nr > max → ERRNO(ENOSYS)` up to `hi`.
fn push_stub(ranges: &mut Vec<NrRange>, max: Option<&u32>, hi: u32) {
    if let Some(&m) = max
        && m < hi
    {
        ranges.push(NrRange {
            lo: m + 1,
            hi,
            action: Action::Errno(38),
        });
    }
}

/// Rules on numbers inside a fixed range never run: drop them, and say so.
pub(super) fn drop_shadowed(
    rules: &mut BTreeMap<u32, Vec<Rule>>,
    ranges: &[NrRange],
    arch: &str,
    warnings: &mut Vec<Diagnostic>,
) {
    for r in ranges {
        let inside: Vec<u32> = rules.range(r.lo..=r.hi).map(|(&nr, _)| nr).collect();
        for nr in inside {
            for rule in rules.remove(&nr).unwrap_or_default() {
                warnings.push(Diagnostic::warning(
                    &rule.origin,
                    format!("syscall {nr} on {arch} lies in a range that always gets {}; this rule never runs", r.action),
                ));
            }
        }
    }
}

/// runc's stub: unless the default is allow-like, or the errno equals its
/// guard value, and only for runc.
pub(super) fn stub_applies(p: &OciProfile, default_kind: Kind, ctx: &HostContext) -> bool {
    if !ctx.enosys_stub || ctx.runtime == Runtime::Crun {
        return false;
    }
    if p.default_errno_ret
        .as_ref()
        .is_some_and(|e| e.v == RUNC_STUB_GUARD)
    {
        return false;
    }
    !matches!(default_kind, Kind::Allow | Kind::Log | Kind::Trace)
}

/// runc's `findLastSyscalls`: per arch, the largest number the linked
/// libseccomp resolves among every rule's names; multiplexed names resolve
/// to pseudo numbers and are ignored. An arch whose largest number is 0
/// (only `read` on x86_64) gets no stub check at all, as in runc.
pub(super) fn last_syscalls(
    p: &OciProfile,
    arches: &[Arch],
    release: Libseccomp,
) -> BTreeMap<Arch, u32> {
    let mut out = BTreeMap::new();
    for &arch in arches {
        let max = p
            .syscalls
            .iter()
            .flat_map(|s| &s.names)
            .filter(|n| arch.multiplexed(&n.v).is_none())
            .filter_map(|n| release.syscall_nr(arch, &n.v))
            .max();
        if let Some(m) = max.filter(|&m| m != 0) {
            out.insert(arch, m);
        }
    }
    out
}
