//! The runtime's enums: what runc (or crun) and libseccomp accept as
//! actions, operators, flags and arches, and what they do with a profile
//! without a default action.
//!
//! In: the strings of an [`OciProfile`] and the [`HostContext`]. Out:
//! [`Kind`]s, [`Action`]s with their errno, [`CmpOp`]s and the filter's
//! `seccomp(2)` flags, or the runtime's refusal as a located error.
//! Not here: the filter's arches ([`super::arches`]), what a rule means once
//! accepted (the parent module).

use crate::context::{HostContext, Runtime};
use crate::decode::Sp;
use crate::diag::{Diagnostic, ProfileError};
use crate::ir::{Action, CmpOp, Policy};
use crate::libseccomp::Libseccomp;
use crate::resolve::OciProfile;

use super::Lowered;

/// ERRNO data must stay below this (libseccomp `MAX_ERRNO`).
const MAX_ERRNO: u64 = sysfence_abi::action::MAX_ERRNO as u64;

/// An action before its errno is known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    KillThread,
    KillProcess,
    Trap,
    Errno,
    Trace,
    Allow,
    Log,
    Notify,
}

pub(super) fn kind(s: &Sp<String>) -> Result<Kind, ProfileError> {
    Ok(match s.v.as_str() {
        "SCMP_ACT_KILL" | "SCMP_ACT_KILL_THREAD" => Kind::KillThread,
        "SCMP_ACT_KILL_PROCESS" => Kind::KillProcess,
        "SCMP_ACT_TRAP" => Kind::Trap,
        "SCMP_ACT_ERRNO" => Kind::Errno,
        "SCMP_ACT_TRACE" => Kind::Trace,
        "SCMP_ACT_ALLOW" => Kind::Allow,
        "SCMP_ACT_LOG" => Kind::Log,
        "SCMP_ACT_NOTIFY" => Kind::Notify,
        other => {
            return Err(ProfileError::new(
                &s.o,
                format!("unknown action \"{other}\""),
            ));
        }
    })
}

pub(super) fn op(s: &Sp<String>) -> Result<CmpOp, ProfileError> {
    Ok(match s.v.as_str() {
        "SCMP_CMP_NE" => CmpOp::Ne,
        "SCMP_CMP_LT" => CmpOp::Lt,
        "SCMP_CMP_LE" => CmpOp::Le,
        "SCMP_CMP_EQ" => CmpOp::Eq,
        "SCMP_CMP_GE" => CmpOp::Ge,
        "SCMP_CMP_GT" => CmpOp::Gt,
        "SCMP_CMP_MASKED_EQ" => CmpOp::MaskedEq,
        other => {
            return Err(ProfileError::new(
                &s.o,
                format!("unknown operator \"{other}\""),
            ));
        }
    })
}

const TSYNC: &str = "SECCOMP_FILTER_FLAG_TSYNC";
const WAIT_KILLABLE: &str = "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV";

const FLAGS: [&str; 4] = [
    TSYNC,
    "SECCOMP_FILTER_FLAG_LOG",
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    WAIT_KILLABLE,
];

/// A default action that is absent or empty while rules are present: runc
/// converts `""` like any action string and refuses it, crun refuses a
/// missing default action outright. Either way the container does not start.
pub(super) fn missing_default(p: &OciProfile, runtime: Runtime) -> ProfileError {
    let rules = p.syscalls.len();
    let (at, why) = match &p.default_action {
        Some(d) => (&d.o, "is empty"),
        None => (&p.origin, "is missing"),
    };
    let refusal = match runtime {
        Runtime::Crun => "crun refuses it: seccomp misses the default action".to_string(),
        _ => "runc refuses it: string  is not a valid action for seccomp".to_string(),
    };
    let s = if rules == 1 { "" } else { "s" };
    ProfileError::new(
        at,
        format!("defaultAction {why} but the profile has {rules} rule{s}: {refusal}"),
    )
}

/// runc: no default action and no rules means no filter. crun refuses.
pub(super) fn unconfined(
    p: &OciProfile,
    ctx: &HostContext,
    warnings: &mut Vec<Diagnostic>,
) -> Result<Lowered, ProfileError> {
    if ctx.runtime == Runtime::Crun {
        return Err(ProfileError::new(
            &p.origin,
            "seccomp misses the default action",
        ));
    }
    warnings.push(Diagnostic::warning(
        &p.origin,
        "no default action and no rules: the runtime installs no seccomp filter (unconfined)",
    ));
    let policy = Policy::new(vec![], Action::Allow)
        .map_err(|e| ProfileError::new(&p.origin, e.to_string()))?;
    Ok(Lowered {
        policy,
        arches: vec![],
        flags: vec![],
    })
}

/// An action with its errno, as runc/crun and libseccomp build it.
pub(super) fn action(
    k: Kind,
    at: &Sp<String>,
    errno: Option<&Sp<u64>>,
    runtime: Runtime,
    warnings: &mut Vec<Diagnostic>,
) -> Result<Action, ProfileError> {
    let data = |errno: Option<&Sp<u64>>, warnings: &mut Vec<Diagnostic>| -> u16 {
        let Some(e) = errno else { return 1 };
        let cut = (e.v & 0xffff) as u16;
        if e.v > 0xffff {
            warnings.push(Diagnostic::warning(
                &e.o,
                format!("errno {} is cut to 16 bits: {cut}", e.v),
            ));
        }
        cut
    };
    Ok(match k {
        Kind::Errno => Action::Errno(data(errno, warnings)),
        Kind::Trace => Action::Trace(data(errno, warnings)),
        other => {
            if let Some(e) = errno {
                if runtime == Runtime::Crun {
                    return Err(ProfileError::new(
                        &e.o,
                        format!("errno value specified for action `{}`", at.v),
                    ));
                }
                warnings.push(Diagnostic::warning(
                    &e.o,
                    format!("errno {} is ignored for {} (runc)", e.v, at.v),
                ));
            }
            match other {
                Kind::KillThread => Action::KillThread,
                Kind::KillProcess => Action::KillProcess,
                Kind::Trap => Action::Trap(0),
                Kind::Allow => Action::Allow,
                Kind::Log => Action::Log,
                _ => Action::UserNotif,
            }
        }
    })
}

/// libseccomp refuses ERRNO data of 4095 and above, when the filter is
/// created (default action) or when the rule is added (after runc has
/// skipped rules equal to the default and unknown names).
pub(super) fn check_errno(
    a: Action,
    at: &Sp<String>,
    errno: Option<&Sp<u64>>,
) -> Result<(), ProfileError> {
    match a {
        Action::Errno(d) if u64::from(d) >= MAX_ERRNO => {
            let given = errno.map_or(u64::from(d), |e| e.v);
            let cut = if given == u64::from(d) {
                String::new()
            } else {
                format!(" ({d} once cut to 16 bits)")
            };
            Err(ProfileError::new(
                errno.map_or(&at.o, |e| &e.o),
                format!(
                    "errno {given}{cut} is out of range: libseccomp accepts ERRNO data below 4095"
                ),
            ))
        }
        _ => Ok(()),
    }
}

/// The flags and listener as the runtime reads them: an unknown flag is
/// refused; so is a combination the runtime cannot load (the kernel's
/// EINVAL, with no retry that would save it), a flag its libseccomp cannot
/// set, or a relative `listenerPath` under crun (which only connects to an
/// absolute one).
pub(super) fn check_flags(
    p: &OciProfile,
    ctx: &HostContext,
    warnings: &mut Vec<Diagnostic>,
) -> Result<(), ProfileError> {
    // crun's C reader keeps an empty path, and finds no leading `/` in it.
    if let Some(l) = &p.listener_path
        && ctx.runtime == Runtime::Crun
        && !l.v.starts_with('/')
    {
        return Err(ProfileError::new(
            &l.o,
            format!("the seccomp receiver `{}` is not an absolute path", l.v),
        ));
    }
    let listener = p.listener_path.as_ref().is_some_and(|l| !l.v.is_empty());
    for f in p.flags.iter().flatten() {
        if !FLAGS.contains(&f.v.as_str()) {
            let msg = match ctx.runtime {
                Runtime::Crun => format!("unknown seccomp option `{}`", f.v),
                _ => format!("seccomp flag \"{}\" is not known to runc", f.v),
            };
            return Err(ProfileError::new(&f.o, msg));
        }
        match (ctx.runtime, f.v.as_str()) {
            (Runtime::Crun, TSYNC) if listener => {
                return Err(ProfileError::new(
                    &f.o,
                    "crun loads a filter with a listenerPath with SECCOMP_FILTER_FLAG_NEW_LISTENER, which the kernel refuses beside TSYNC (EINVAL), and it retries without flags only when there is no listener",
                ));
            }
            (Runtime::Crun, _) => {}
            (_, WAIT_KILLABLE) if ctx.libseccomp < Libseccomp::V2_6_0 => {
                return Err(ProfileError::new(
                    &f.o,
                    format!(
                        "runc sets this flag through libseccomp's SCMP_FLTATR_CTL_WAITKILL, which libseccomp {} does not have (2.6.0 added it): runc refuses the profile",
                        ctx.libseccomp.name()
                    ),
                ));
            }
            (_, WAIT_KILLABLE) => warnings.push(Diagnostic::warning(
                &f.o,
                "runc takes this flag since 1.5 (with libseccomp 2.6); earlier releases refuse the profile (\"seccomp flag ... is not known to runc\")",
            )),
            _ => {}
        }
    }
    Ok(())
}

/// The `seccomp(2)` flags the runtime passes: SPEC_ALLOW when the list is
/// absent; runc drops TSYNC, crun passes it.
pub(super) fn load_flags(p: &OciProfile, runtime: Runtime) -> Vec<String> {
    match &p.flags {
        None => vec!["SECCOMP_FILTER_FLAG_SPEC_ALLOW".to_string()],
        Some(list) => list
            .iter()
            .filter(|f| runtime == Runtime::Crun || f.v != TSYNC)
            .map(|f| f.v.clone())
            .collect(),
    }
}
