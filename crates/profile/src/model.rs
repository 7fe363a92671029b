//! The union of the Docker, Podman ("containers") and OCI profile schemas,
//! as decoded values with origins.
//!
//! In: a JSON node and the [`Dialect`] whose Go types read it. Out: a
//! [`RawProfile`] holding exactly what that dialect's decoder would keep:
//! keys the dialect's types lack are reported and left out (so a Docker
//! `archMap` simply does not exist for containerd). Only decoding errors
//! are raised here (types, integers, `minKernel` syntax); what the values
//! mean is checked by [`crate::resolve`] and [`crate::lower`].

use crate::decode::{Dec, Fields, Sp};
use crate::diag::ProfileError;
use crate::ir::Origin;
use crate::json::Node;

/// Which Go types read the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// moby/profiles `seccomp.Seccomp`.
    Docker,
    /// container-libs `seccomp.Seccomp`.
    Containers,
    /// runtime-spec `LinuxSeccomp` (containerd, runc's config.json, SPO output).
    Oci,
}

/// A decoded profile.
#[derive(Clone, Debug, Default)]
pub(crate) struct RawProfile {
    pub origin: Origin,
    pub default_action: Option<Sp<String>>,
    pub default_errno_ret: Option<Sp<u64>>,
    pub default_errno: Option<Sp<String>>,
    pub architectures: Option<Vec<Sp<String>>>,
    pub arch_map: Option<Vec<ArchMapEntry>>,
    /// `None` = absent or `null`; `Some(vec![])` = an explicit empty list.
    pub flags: Option<Vec<Sp<String>>>,
    pub listener_path: Option<Sp<String>>,
    pub listener_metadata: Option<Sp<String>>,
    pub syscalls: Vec<RawSyscall>,
    /// Whether `syscalls` was present and non-null.
    pub has_syscalls: bool,
}

/// One `archMap` entry.
#[derive(Clone, Debug)]
pub(crate) struct ArchMapEntry {
    pub architecture: Sp<String>,
    pub sub_architectures: Vec<Sp<String>>,
}

/// One `syscalls[]` entry.
#[derive(Clone, Debug)]
pub(crate) struct RawSyscall {
    pub origin: Origin,
    /// Position in `syscalls` (0-based).
    pub index: usize,
    pub names: Option<Vec<Sp<String>>>,
    pub name: Option<Sp<String>>,
    pub action: Option<Sp<String>>,
    pub errno_ret: Option<Sp<u64>>,
    pub errno: Option<Sp<String>>,
    pub args: Vec<RawArg>,
    pub includes: Option<Filter>,
    pub excludes: Option<Filter>,
}

/// One argument condition.
#[derive(Clone, Debug)]
pub(crate) struct RawArg {
    pub origin: Origin,
    pub index: Sp<u64>,
    pub value: Sp<u64>,
    pub value_two: Sp<u64>,
    pub op: Sp<String>,
}

/// An `includes` / `excludes` filter.
#[derive(Clone, Debug, Default)]
pub(crate) struct Filter {
    pub caps: Vec<Sp<String>>,
    pub arches: Vec<Sp<String>>,
    /// `(kernel, major)`; `Some((0, 0))` for the empty string.
    pub min_kernel: Option<Sp<(u8, u8)>>,
}

const EXT: &str = "a Docker/Podman extension that containerd and plain OCI runtimes ignore";

impl Dialect {
    fn profile_fields(self) -> &'static [&'static str] {
        const BASE: [&str; 7] = [
            "defaultAction",
            "defaultErrnoRet",
            "architectures",
            "flags",
            "listenerPath",
            "listenerMetadata",
            "syscalls",
        ];
        match self {
            Dialect::Oci => &BASE,
            Dialect::Docker => &[
                "defaultAction",
                "defaultErrnoRet",
                "architectures",
                "archMap",
                "flags",
                "listenerPath",
                "listenerMetadata",
                "syscalls",
            ],
            Dialect::Containers => &[
                "defaultAction",
                "defaultErrnoRet",
                "defaultErrno",
                "architectures",
                "archMap",
                "flags",
                "listenerPath",
                "listenerMetadata",
                "syscalls",
            ],
        }
    }

    fn syscall_fields(self) -> &'static [&'static str] {
        match self {
            Dialect::Oci => &["names", "action", "errnoRet", "args"],
            Dialect::Docker => &[
                "names", "name", "action", "errnoRet", "args", "comment", "includes", "excludes",
            ],
            Dialect::Containers => &[
                "names", "name", "action", "errnoRet", "errno", "args", "comment", "includes",
                "excludes",
            ],
        }
    }

    fn ignored(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Dialect::Oci => &[
                ("archMap", EXT),
                (
                    "name",
                    "a Docker extension; containerd and plain OCI runtimes see a rule without names",
                ),
                ("comment", EXT),
                ("includes", EXT),
                ("excludes", EXT),
                ("defaultErrno", EXT),
                ("errno", EXT),
                (
                    "state",
                    "a Security Profiles Operator key that runtimes ignore",
                ),
                (
                    "baseProfileName",
                    "a Security Profiles Operator key that runtimes ignore",
                ),
            ],
            Dialect::Docker => &[
                ("defaultErrno", "a Podman key that Docker ignores"),
                ("errno", "a Podman key that Docker ignores"),
            ],
            Dialect::Containers => &[(
                "minKernel",
                "Podman and CRI-O have no minKernel; the rule is kept",
            )],
        }
    }
}

/// Decodes a profile object.
pub(crate) fn decode(
    dec: &mut Dec,
    node: &Node,
    path: &str,
    dialect: Dialect,
) -> Result<RawProfile, ProfileError> {
    let Some(f) = dec.object(node, path, dialect.profile_fields(), dialect.ignored())? else {
        return Ok(RawProfile {
            origin: dec.origin(node.pos, path),
            ..RawProfile::default()
        });
    };
    let mut p = RawProfile {
        origin: f.origin().clone(),
        default_action: dec.opt_string(&f, "defaultAction")?,
        default_errno_ret: dec.opt_uint(&f, "defaultErrnoRet")?,
        default_errno: dec.opt_string(&f, "defaultErrno")?,
        architectures: dec.opt_strings(&f, "architectures")?,
        flags: dec.opt_strings(&f, "flags")?,
        listener_path: dec.opt_string(&f, "listenerPath")?,
        listener_metadata: dec.opt_string(&f, "listenerMetadata")?,
        ..RawProfile::default()
    };
    if let Some((n, p2)) = f.get("archMap") {
        let mut entries = Vec::new();
        for (item, ip) in dec.array(n, &p2)? {
            if let Some(e) = arch_map_entry(dec, item, &ip)? {
                entries.push(e);
            }
        }
        p.arch_map = Some(entries);
    }
    if let Some((n, sp)) = f.get("syscalls") {
        p.has_syscalls = true;
        for (i, (item, ip)) in dec.array(n, &sp)?.into_iter().enumerate() {
            p.syscalls.push(syscall(dec, item, &ip, i, dialect)?);
        }
    }
    Ok(p)
}

fn arch_map_entry(
    dec: &mut Dec,
    node: &Node,
    path: &str,
) -> Result<Option<ArchMapEntry>, ProfileError> {
    let Some(f) = dec.object(node, path, &["architecture", "subArchitectures"], &[])? else {
        return Ok(None);
    };
    let architecture = dec.opt_string(&f, "architecture")?.unwrap_or_else(|| Sp {
        v: String::new(),
        o: f.origin().clone(),
    });
    let sub_architectures = dec.opt_strings(&f, "subArchitectures")?.unwrap_or_default();
    Ok(Some(ArchMapEntry {
        architecture,
        sub_architectures,
    }))
}

fn syscall(
    dec: &mut Dec,
    node: &Node,
    path: &str,
    index: usize,
    d: Dialect,
) -> Result<RawSyscall, ProfileError> {
    let origin = dec.origin(node.pos, path);
    let empty = RawSyscall {
        origin: origin.clone(),
        index,
        names: None,
        name: None,
        action: None,
        errno_ret: None,
        errno: None,
        args: vec![],
        includes: None,
        excludes: None,
    };
    let Some(f) = dec.object(node, path, d.syscall_fields(), d.ignored())? else {
        return Ok(empty);
    };
    let mut s = RawSyscall {
        names: dec.opt_strings(&f, "names")?,
        name: dec.opt_string(&f, "name")?,
        action: dec.opt_string(&f, "action")?,
        errno_ret: dec.opt_uint(&f, "errnoRet")?,
        errno: dec.opt_string(&f, "errno")?,
        ..empty
    };
    if let Some(c) = f.get("comment") {
        dec.string(c.0, &c.1)?;
    }
    if let Some((n, ap)) = f.get("args") {
        for (item, ip) in dec.array(n, &ap)? {
            s.args.push(arg(dec, item, &ip)?);
        }
    }
    s.includes = filter(dec, &f, "includes", d)?;
    s.excludes = filter(dec, &f, "excludes", d)?;
    Ok(s)
}

fn arg(dec: &mut Dec, node: &Node, path: &str) -> Result<RawArg, ProfileError> {
    let origin = dec.origin(node.pos, path);
    let zero = |name: &str| Sp {
        v: 0u64,
        o: Origin {
            path: format!("{path}.{name}"),
            ..origin.clone()
        },
    };
    let Some(f) = dec.object(node, path, &["index", "value", "valueTwo", "op"], &[])? else {
        return Ok(RawArg {
            origin: origin.clone(),
            index: zero("index"),
            value: zero("value"),
            value_two: zero("valueTwo"),
            op: Sp {
                v: String::new(),
                o: origin.clone(),
            },
        });
    };
    Ok(RawArg {
        index: dec.opt_uint(&f, "index")?.unwrap_or_else(|| zero("index")),
        value: dec.opt_uint(&f, "value")?.unwrap_or_else(|| zero("value")),
        value_two: dec
            .opt_uint(&f, "valueTwo")?
            .unwrap_or_else(|| zero("valueTwo")),
        op: dec.opt_string(&f, "op")?.unwrap_or_else(|| Sp {
            v: String::new(),
            o: origin.clone(),
        }),
        origin,
    })
}

fn filter(
    dec: &mut Dec,
    f: &Fields<'_>,
    key: &str,
    d: Dialect,
) -> Result<Option<Filter>, ProfileError> {
    let Some((node, path)) = f.get(key) else {
        return Ok(None);
    };
    let fields: &[&str] = if d == Dialect::Containers {
        &["caps", "arches"]
    } else {
        &["caps", "arches", "minKernel"]
    };
    let Some(g) = dec.object(node, &path, fields, d.ignored())? else {
        return Ok(None);
    };
    let min_kernel = match g.get("minKernel") {
        Some((n, p)) => Some(min_kernel(dec, n, &p)?),
        None => None,
    };
    Ok(Some(Filter {
        caps: dec.opt_strings(&g, "caps")?.unwrap_or_default(),
        arches: dec.opt_strings(&g, "arches")?.unwrap_or_default(),
        min_kernel,
    }))
}

/// moby's `KernelVersion` unmarshaller: `""` or `"<kernel>.<major>"`, each
/// part 0–255, not both zero.
fn min_kernel(dec: &Dec, node: &Node, path: &str) -> Result<Sp<(u8, u8)>, ProfileError> {
    let bad = |shown: String| {
        dec.error(
            node,
            path,
            format!("invalid kernel version: {shown}, expected \"<kernel>.<major>\""),
        )
    };
    let s = match &node.value {
        crate::json::Value::String(s) => s.clone(),
        crate::json::Value::Number(t) => return Err(bad(t.clone())),
        other => return Err(bad(other.kind().to_string())),
    };
    let o = dec.origin(node.pos, path);
    if s.is_empty() {
        return Ok(Sp { v: (0, 0), o });
    }
    let part = |t: &str| -> Option<u8> {
        if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        t.parse::<u8>().ok()
    };
    let mut it = s.split('.');
    let (Some(a), Some(b), None) = (it.next(), it.next(), it.next()) else {
        return Err(bad(format!("\"{s}\"")));
    };
    match (part(a), part(b)) {
        (Some(0), Some(0)) | (None, _) | (_, None) => Err(bad(format!("\"{s}\""))),
        (Some(x), Some(y)) => Ok(Sp { v: (x, y), o }),
    }
}
