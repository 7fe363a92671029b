//! The front ends: what Docker, Podman/CRI-O or containerd hand to the OCI
//! runtime for a profile on a given host.
//!
//! In: a [`RawProfile`] decoded in one dialect and the [`HostContext`].
//! Out: an [`OciProfile`], the `linux.seccomp` object the runtime would see,
//! each rule still pointing back at its source.
//!
//! * Docker (moby/profiles `setupSeccomp`):
//!   `architectures` + `archMap` is an error; `archMap` is expanded for the
//!   host; `name` + `names` is an error for every rule; `excludes` then
//!   `includes` drop rules by arch, capabilities and `minKernel`.
//! * Containers: the same with errno names, no `minKernel`, libseccomp's
//!   native arch names, `archMap` only on some hosts, the `name` conflict
//!   checked only for kept rules, `SCMP_ARCH_NATIVE` read as the host's arch.
//! * OCI / containerd: nothing to resolve; extensions were already
//!   left out by the decoder.
//!
//! Names, actions, operators and arches are not checked here: the front
//! ends pass them through and the runtime refuses them ([`crate::lower`]).

use crate::arch::Arch;
use crate::context::{HostContext, docker_archmap_key, docker_native, libseccomp_native};
use crate::decode::Sp;
use crate::diag::{Diagnostic, ProfileError};
use crate::ir::Origin;
use crate::model::{Dialect, Filter, RawArg, RawProfile, RawSyscall};

/// The `linux.seccomp` object a runtime receives.
#[derive(Clone, Debug, Default)]
pub(crate) struct OciProfile {
    pub origin: Origin,
    pub default_action: Option<Sp<String>>,
    pub default_errno_ret: Option<Sp<u64>>,
    pub architectures: Vec<Sp<String>>,
    pub flags: Option<Vec<Sp<String>>>,
    pub listener_path: Option<Sp<String>>,
    pub syscalls: Vec<OciSyscall>,
}

/// One rule as the runtime receives it.
#[derive(Clone, Debug)]
pub(crate) struct OciSyscall {
    pub origin: Origin,
    pub names: Vec<Sp<String>>,
    pub action: Option<Sp<String>>,
    pub errno_ret: Option<Sp<u64>>,
    pub args: Vec<RawArg>,
}

/// Resolves a decoded profile for the host, as the dialect's front end does.
pub(crate) fn resolve(
    p: RawProfile,
    dialect: Dialect,
    ctx: &HostContext,
    plain_config: bool,
    warnings: &mut Vec<Diagnostic>,
) -> Result<OciProfile, ProfileError> {
    if dialect == Dialect::Containers
        && p.default_action.as_ref().is_none_or(|a| a.v.is_empty())
        && p.syscalls.is_empty()
    {
        // container-libs' setupSeccomp returns before reading anything
        // else: no filter, whatever the other keys say.
        return Ok(OciProfile {
            origin: p.origin,
            default_action: None,
            default_errno_ret: None,
            architectures: vec![],
            flags: None,
            listener_path: None,
            syscalls: vec![],
        });
    }
    let architectures = arches(&p, dialect, ctx)?;
    let mut out = OciProfile {
        origin: p.origin.clone(),
        default_action: p.default_action.clone(),
        default_errno_ret: p.default_errno_ret.clone(),
        architectures,
        // Every front end writes config.json with `omitempty`: `[]` vanishes.
        flags: if plain_config {
            p.flags.clone()
        } else {
            p.flags.clone().filter(|f| !f.is_empty())
        },
        // `omitempty` again: only a plain config.json keeps `""`.
        listener_path: if plain_config {
            p.listener_path.clone()
        } else {
            p.listener_path.clone().filter(|l| !l.v.is_empty())
        },
        syscalls: vec![],
    };
    if let Some(m) = p.listener_metadata.as_ref().filter(|m| !m.v.is_empty())
        && p.listener_path.as_ref().is_none_or(|l| l.v.is_empty())
    {
        warnings.push(Diagnostic::warning(
            &m.o,
            "listenerMetadata without listenerPath (the OCI spec forbids it)",
        ));
    }
    if dialect == Dialect::Containers
        && let Some(e) = &p.default_errno
        && !e.v.is_empty()
    {
        out.default_errno_ret = Some(Sp {
            v: u64::from(errno_value(e, ctx.host_arch)?),
            o: e.o.clone(),
        });
    }
    if dialect == Dialect::Docker {
        for s in &p.syscalls {
            check_name_conflict(s, dialect)?;
        }
    }
    for s in p.syscalls {
        if dialect != Dialect::Oci && !keep(&s, dialect, ctx, warnings) {
            continue;
        }
        if dialect == Dialect::Containers {
            check_name_conflict(&s, dialect)?;
        }
        out.syscalls.push(to_oci(s, dialect, ctx.host_arch)?);
    }
    Ok(out)
}

fn check_name_conflict(s: &RawSyscall, dialect: Dialect) -> Result<(), ProfileError> {
    let Some(name) = s.name.as_ref().filter(|n| !n.v.is_empty()) else {
        return Ok(());
    };
    if s.names.as_ref().is_some_and(|n| !n.is_empty()) {
        let msg = match dialect {
            Dialect::Containers => {
                "'name' and 'names' were specified in the seccomp profile, use either 'name' or 'names'"
            }
            _ => {
                "both 'name' and 'names' are specified in the seccomp profile, use either 'name' or 'names'"
            }
        };
        return Err(ProfileError::new(&name.o, msg));
    }
    Ok(())
}

fn to_oci(s: RawSyscall, dialect: Dialect, host: Arch) -> Result<OciSyscall, ProfileError> {
    let mut names = s.names.unwrap_or_default();
    if names.is_empty()
        && let Some(n) = s.name.filter(|n| !n.v.is_empty())
    {
        names = vec![n];
    }
    let mut errno_ret = s.errno_ret;
    if dialect == Dialect::Containers
        && let Some(e) = &s.errno
        && !e.v.is_empty()
    {
        errno_ret = Some(Sp {
            v: u64::from(errno_value(e, host)?),
            o: e.o.clone(),
        });
    }
    Ok(OciSyscall {
        origin: s.origin,
        names,
        action: s.action,
        errno_ret,
        args: s.args,
    })
}

/// The OCI `architectures` after `archMap` expansion.
fn arches(
    p: &RawProfile,
    dialect: Dialect,
    ctx: &HostContext,
) -> Result<Vec<Sp<String>>, ProfileError> {
    let listed = p.architectures.clone().unwrap_or_default();
    let map = p.arch_map.clone().unwrap_or_default();
    if dialect == Dialect::Oci || map.is_empty() {
        return Ok(listed);
    }
    if !listed.is_empty() {
        let msg = match dialect {
            Dialect::Containers => {
                "'architectures' and 'archMap' were specified in the seccomp profile, use either 'architectures' or 'archMap'"
            }
            _ => {
                "both 'architectures' and 'archMap' are specified in the seccomp profile, use either 'architectures' or 'archMap'"
            }
        };
        return Err(ProfileError::new(&listed[0].o, msg));
    }
    let key = match dialect {
        Dialect::Containers => containers_archmap_key(ctx),
        _ => docker_archmap_key(docker_native(ctx.host_arch)),
    };
    let Some(key) = key else { return Ok(vec![]) };
    let Some(entry) = map.iter().find(|e| e.architecture.v == key) else {
        return Ok(vec![]);
    };
    let mut out = vec![entry.architecture.clone()];
    out.extend(entry.sub_architectures.iter().cloned());
    Ok(out)
}

/// container-libs applies `archMap` only on a few native arches.
fn containers_archmap_key(ctx: &HostContext) -> Option<&'static str> {
    let native = libseccomp_native(ctx.host_arch);
    let allowed = [
        "amd64",
        "arm64",
        "mips64",
        "mips64n32",
        "mipsel64",
        "mipsel64n32",
        "s390x",
    ];
    allowed.contains(&native).then(|| ctx.host_arch.scmp_name())
}

/// The native arch string `includes.arches` / `excludes.arches` compare with.
fn native_string(dialect: Dialect, ctx: &HostContext) -> &'static str {
    match dialect {
        Dialect::Containers => libseccomp_native(ctx.host_arch),
        _ => docker_native(ctx.host_arch),
    }
}

/// Whether a rule survives `excludes` and `includes` (moby's and
/// container-libs' order and any/all meaning). Dropped rules get a note.
fn keep(
    s: &RawSyscall,
    dialect: Dialect,
    ctx: &HostContext,
    warnings: &mut Vec<Diagnostic>,
) -> bool {
    let native = native_string(dialect, ctx);
    let has_cap = |c: &Sp<String>| ctx.caps.contains(&c.v);
    let kernel_ok =
        |k: &Sp<(u8, u8)>| (ctx.kernel.0, ctx.kernel.1) >= (u32::from(k.v.0), u32::from(k.v.1));
    let drop = |why: String, warnings: &mut Vec<Diagnostic>| {
        warnings.push(Diagnostic::note(
            &s.origin,
            format!("rule {} left out on this host: {why}", s.index),
        ));
        false
    };
    if let Some(Filter {
        caps,
        arches,
        min_kernel,
    }) = &s.excludes
    {
        if arches.iter().any(|a| a.v == native) {
            return drop(format!("excludes arch {native}"), warnings);
        }
        if let Some(c) = caps.iter().find(|c| has_cap(c)) {
            return drop(
                format!("excludes {}, which the container has", c.v),
                warnings,
            );
        }
        if let Some(k) = min_kernel.as_ref().filter(|_| dialect == Dialect::Docker)
            && kernel_ok(k)
        {
            return drop(
                format!("excludes kernels from {}.{}", k.v.0, k.v.1),
                warnings,
            );
        }
    }
    if let Some(Filter {
        caps,
        arches,
        min_kernel,
    }) = &s.includes
    {
        if !arches.is_empty() && !arches.iter().any(|a| a.v == native) {
            return drop(
                format!("includes only arches other than {native}"),
                warnings,
            );
        }
        if let Some(c) = caps.iter().find(|c| !has_cap(c)) {
            return drop(
                format!("needs {}, which the container lacks", c.v),
                warnings,
            );
        }
        if let Some(k) = min_kernel.as_ref().filter(|_| dialect == Dialect::Docker)
            && !kernel_ok(k)
        {
            return drop(
                format!(
                    "needs kernel {}.{}; the host has {}.{}",
                    k.v.0, k.v.1, ctx.kernel.0, ctx.kernel.1
                ),
                warnings,
            );
        }
    }
    true
}

/// container-libs' errno string (`getErrno`): what `strconv.ParseUint(s,
/// 10, 32)` takes, else an errno name of its table. ParseUint takes ASCII
/// digits only, up to `u32::MAX` (no sign, no `_`, no spaces); anything
/// else is looked up as a name, so `"+5"` or `"4294967296"` is an unknown
/// errno.
///
/// The table's values are Go's `unix` constants of the host: the generic
/// Linux numbers, except on MIPS hosts, where every errno past the common
/// base (34, ERANGE) has another number, which sysfence does not hold:
/// such a name is refused there.
fn errno_value(e: &Sp<String>, host: Arch) -> Result<u32, ProfileError> {
    if let Some(v) = parse_uint_base10(&e.v) {
        return Ok(v);
    }
    let v = ERRNO_NAMES
        .iter()
        .find(|(n, _)| *n == e.v)
        .map(|(_, v)| *v)
        .ok_or_else(|| ProfileError::new(&e.o, format!("unknown errno {}", e.v)))?;
    if v > ERRNO_BASE_MAX && host.is_mips() {
        return Err(ProfileError::new(
            &e.o,
            format!(
                "errno {} on a {host} host: the runtime takes the host's number, which MIPS numbers differently from the generic {v}; give the number",
                e.v
            ),
        ));
    }
    Ok(v)
}

/// The last errno every Linux arch numbers alike (`errno-base.h`).
const ERRNO_BASE_MAX: u32 = 34;

/// Go's `strconv.ParseUint(s, 10, 32)`: one or more ASCII digits, at most
/// `u32::MAX`. (Rust's `str::parse` also takes a leading `+`.)
fn parse_uint_base10(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// container-libs' errno names (`errnoArch`), with the generic Linux
/// values (asm-generic `errno-base.h`, `errno.h`).
pub(crate) const ERRNO_NAMES: [(&str, u32); 82] = [
    ("EPERM", 1),
    ("ENOENT", 2),
    ("ESRCH", 3),
    ("EIO", 5),
    ("ENXIO", 6),
    ("E2BIG", 7),
    ("ENOEXEC", 8),
    ("EBADF", 9),
    ("ECHILD", 10),
    ("EAGAIN", 11),
    ("ENOMEM", 12),
    ("EACCES", 13),
    ("EFAULT", 14),
    ("ENOTBLK", 15),
    ("EBUSY", 16),
    ("EEXIST", 17),
    ("EXDEV", 18),
    ("ENODEV", 19),
    ("ENOTDIR", 20),
    ("EISDIR", 21),
    ("EINVAL", 22),
    ("ENFILE", 23),
    ("EMFILE", 24),
    ("ENOTTY", 25),
    ("ETXTBSY", 26),
    ("EFBIG", 27),
    ("ENOSPC", 28),
    ("ESPIPE", 29),
    ("EROFS", 30),
    ("EMLINK", 31),
    ("EPIPE", 32),
    ("EDOM", 33),
    ("ERANGE", 34),
    ("EDEADLK", 35),
    ("ENAMETOOLONG", 36),
    ("ENOLCK", 37),
    ("ENOSYS", 38),
    ("ENOTEMPTY", 39),
    ("ELOOP", 40),
    ("ENOMSG", 42),
    ("EIDRM", 43),
    ("EBADMSG", 74),
    ("EOVERFLOW", 75),
    ("EILSEQ", 84),
    ("EUSERS", 87),
    ("ENOTSOCK", 88),
    ("EDESTADDRREQ", 89),
    ("EMSGSIZE", 90),
    ("EPROTOTYPE", 91),
    ("ENOPROTOOPT", 92),
    ("EPROTONOSUPPORT", 93),
    ("ESOCKTNOSUPPORT", 94),
    ("EOPNOTSUPP", 95),
    ("ENOTSUP", 95),
    ("EPFNOSUPPORT", 96),
    ("EAFNOSUPPORT", 97),
    ("EADDRINUSE", 98),
    ("EADDRNOTAVAIL", 99),
    ("ENETDOWN", 100),
    ("ENETUNREACH", 101),
    ("ENETRESET", 102),
    ("ECONNABORTED", 103),
    ("ECONNRESET", 104),
    ("ENOBUFS", 105),
    ("EISCONN", 106),
    ("ENOTCONN", 107),
    ("ESHUTDOWN", 108),
    ("ETOOMANYREFS", 109),
    ("ETIMEDOUT", 110),
    ("ECONNREFUSED", 111),
    ("EHOSTDOWN", 112),
    ("EHOSTUNREACH", 113),
    ("EALREADY", 114),
    ("EINPROGRESS", 115),
    ("EREMOTE", 66),
    ("ESTALE", 116),
    ("EDQUOT", 122),
    ("ENOMEDIUM", 123),
    ("EMEDIUMTYPE", 124),
    ("ECANCELED", 125),
    ("EOWNERDEAD", 130),
    ("ENOTRECOVERABLE", 131),
];
