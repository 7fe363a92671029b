//! The arches in the filter: the host's first (libseccomp's filter starts
//! with the native arch), then `architectures` in order, narrowed to
//! [`HostContext::arches`] when the caller asks for some.
//!
//! In: an [`OciProfile`] and the [`HostContext`]. Out: the filter's arches
//! in order, or the runtime's refusal as a located error.
//!
//! Narrowing builds the filter the runtime would build with only the asked
//! arches: arches the profile lists but nobody asked for are left out (the
//! native one too, as if removed from libseccomp's filter), and so are
//! their refusals: an arch libseccomp does not know, the other byte order,
//! an arch sysfence has no table for. Asking for an arch the filter would
//! not hold is an error; so is asking for none.

use crate::arch::{Arch, ArchError};
use crate::context::{HostContext, NO_ARCH_ASKED, Runtime};
use crate::decode::Sp;
use crate::diag::ProfileError;
use crate::resolve::OciProfile;

/// The arches in the filter: native first, then `architectures` in order,
/// only the asked ones when narrowing.
pub(super) fn filter_arches(p: &OciProfile, ctx: &HostContext) -> Result<Vec<Arch>, ProfileError> {
    let mut named = Vec::new();
    for a in &p.architectures {
        if let Some(arch) = parse(a, ctx)? {
            named.push((arch, a));
        }
    }
    let mut all = vec![ctx.host_arch];
    for &(arch, _) in &named {
        if !all.contains(&arch) {
            all.push(arch);
        }
    }
    let kept = narrow(all, p, ctx)?;
    let Some(&first) = kept.first() else {
        return Ok(kept);
    };
    for &(arch, at) in named.iter().filter(|(a, _)| kept.contains(a)) {
        check(arch, at, first, ctx)?;
    }
    Ok(kept)
}

/// One `architectures` entry as the runtime reads it; `None` for an arch
/// sysfence has no table for when narrowing leaves it out anyway.
fn parse(a: &Sp<String>, ctx: &HostContext) -> Result<Option<Arch>, ProfileError> {
    let parsed = match ctx.runtime {
        Runtime::Crun => {
            let bare = a.v.strip_prefix("SCMP_ARCH_").unwrap_or(&a.v);
            Arch::parse(&bare.to_ascii_lowercase())
        }
        _ => Arch::from_scmp(&a.v).ok_or_else(|| runc_arch_error(&a.v)),
    };
    match parsed {
        Ok(arch) => Ok(Some(arch)),
        Err(ArchError::NoTable { .. }) if ctx.arches.is_some() => Ok(None),
        Err(e) => Err(ProfileError::new(&a.o, e.to_string())),
    }
}

/// The asked arches of `all`, in `all`'s order; every one must be there.
fn narrow(all: Vec<Arch>, p: &OciProfile, ctx: &HostContext) -> Result<Vec<Arch>, ProfileError> {
    let Some(asked) = &ctx.arches else {
        return Ok(all);
    };
    let at = p.architectures.first().map_or(&p.origin, |a| &a.o);
    if asked.is_empty() {
        return Err(ProfileError::new(at, NO_ARCH_ASKED));
    }
    if let Some(missing) = asked.iter().find(|a| !all.contains(a)) {
        let held: Vec<&str> = all.iter().map(|a| a.name()).collect();
        return Err(ProfileError::new(
            at,
            format!(
                "arch {missing} is not in this profile's filter (it holds {})",
                held.join(", ")
            ),
        ));
    }
    Ok(all.into_iter().filter(|a| asked.contains(a)).collect())
}

/// What libseccomp refuses when the arch is added to a filter that starts
/// with `first`.
fn check(arch: Arch, at: &Sp<String>, first: Arch, ctx: &HostContext) -> Result<(), ProfileError> {
    if !ctx.libseccomp.supports(arch) {
        return Err(ProfileError::new(
            &at.o,
            format!("libseccomp {} does not know arch {}", ctx.libseccomp, at.v),
        ));
    }
    if arch.little_endian() != first.little_endian() {
        return Err(ProfileError::new(
            &at.o,
            format!(
                "arch {} has the other byte order than {first}: libseccomp cannot mix them in one filter",
                at.v
            ),
        ));
    }
    Ok(())
}

/// Why runc refuses an arch name: not `SCMP_ARCH_*` of an arch with a table.
fn runc_arch_error(name: &str) -> ArchError {
    match Arch::parse(name) {
        Err(e @ ArchError::NoTable { .. }) => e,
        _ => ArchError::Unknown {
            name: name.to_string(),
        },
    }
}
