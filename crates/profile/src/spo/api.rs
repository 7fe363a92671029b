//! What the Kubernetes API server lets through to the SPO daemon: the
//! `SeccompProfile` CRD's schema, checked on a resource's `spec` before it
//! is read as OCI.
//!
//! In: the `spec` members and the resource's API version. Out: nothing, or
//! the API server's refusal, located. Both versions the CRD serves have
//! exact field names (`Syscalls` is not `syscalls`; an unknown field is
//! refused by strict field validation, kubectl's default, or pruned, so it
//! is refused here), the required fields, the enums of actions, operators,
//! arches (`SCMP_ARCH_NATIVE` in, no LOONGARCH64, M68K or SH) and flags, at
//! most 6 `args`, and integers within their Go types (`errnoRet:
//! 4294967297` or `value: 2^63` cannot be stored). `v1` adds: `names` has
//! at least one item, `names`, `architectures` and `flags` are sets (no
//! item twice), and `listenerPath` lies under
//! `/var/run/security-profiles-operator/`. Negative numbers and wrong types
//! are refused when the spec is read as OCI.

use crate::decode::Dec;
use crate::diag::ProfileError;
use crate::json::{Member, Node, Value};

/// The schema a resource is checked against: that of its `apiVersion`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Version {
    /// `security-profiles-operator.x-k8s.io/v1`, the storage version.
    V1,
    /// `v1beta1` (or an older or missing version): no sets, no minimum
    /// item count, no pattern.
    Beta,
}

impl Version {
    /// The version a resource names.
    pub(super) fn of(doc: &Node) -> Version {
        match super::member(doc, "apiVersion").map(|n| &n.value) {
            Some(Value::String(v)) if v.ends_with("/v1") => Version::V1,
            _ => Version::Beta,
        }
    }
}

/// A field: its name, whether the schema requires it, what it holds.
type ApiField = (&'static str, bool, Field);

/// What a field holds, as far as the checks below need.
#[derive(Clone, Copy)]
enum Field {
    /// Checked when the spec is read as OCI.
    Other,
    /// An integer of at most this value (`int32`, `int64`).
    Max(u64),
    /// One of these strings.
    OneOf(&'static [&'static str]),
    /// A list of strings (of these values, if given); from `v1` on a set
    /// with at least `min` items.
    Strings(Option<&'static [&'static str]>, usize),
    /// A list of at most `max` objects with these fields.
    Objects(&'static [ApiField], usize),
    /// A path under the operator's socket folder (from `v1` on).
    Listener,
}

const ACTIONS: &[&str] = &[
    "SCMP_ACT_KILL",
    "SCMP_ACT_KILL_PROCESS",
    "SCMP_ACT_KILL_THREAD",
    "SCMP_ACT_TRAP",
    "SCMP_ACT_ERRNO",
    "SCMP_ACT_TRACE",
    "SCMP_ACT_ALLOW",
    "SCMP_ACT_LOG",
    "SCMP_ACT_NOTIFY",
];

const OPERATORS: &[&str] = &[
    "SCMP_CMP_NE",
    "SCMP_CMP_LT",
    "SCMP_CMP_LE",
    "SCMP_CMP_EQ",
    "SCMP_CMP_GE",
    "SCMP_CMP_GT",
    "SCMP_CMP_MASKED_EQ",
];

const ARCHES: &[&str] = &[
    "SCMP_ARCH_NATIVE",
    "SCMP_ARCH_X86",
    "SCMP_ARCH_X86_64",
    "SCMP_ARCH_X32",
    "SCMP_ARCH_ARM",
    "SCMP_ARCH_AARCH64",
    "SCMP_ARCH_MIPS",
    "SCMP_ARCH_MIPS64",
    "SCMP_ARCH_MIPS64N32",
    "SCMP_ARCH_MIPSEL",
    "SCMP_ARCH_MIPSEL64",
    "SCMP_ARCH_MIPSEL64N32",
    "SCMP_ARCH_PPC",
    "SCMP_ARCH_PPC64",
    "SCMP_ARCH_PPC64LE",
    "SCMP_ARCH_S390",
    "SCMP_ARCH_S390X",
    "SCMP_ARCH_PARISC",
    "SCMP_ARCH_PARISC64",
    "SCMP_ARCH_RISCV64",
];

const FLAGS: &[&str] = &[
    "SECCOMP_FILTER_FLAG_TSYNC",
    "SECCOMP_FILTER_FLAG_LOG",
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
];

/// Where `v1` wants `listenerPath`: the folder, then one file name of
/// `[a-zA-Z0-9_.-]`.
const LISTENER_DIR: &str = "/var/run/security-profiles-operator/";

/// `spec` (with `state` from the profile base).
const SPEC: [ApiField; 8] = [
    ("state", false, Field::OneOf(&["Enabled", "Disabled"])),
    ("baseProfileName", false, Field::Other),
    ("defaultAction", true, Field::OneOf(ACTIONS)),
    ("architectures", false, Field::Strings(Some(ARCHES), 0)),
    ("flags", false, Field::Strings(Some(FLAGS), 0)),
    ("listenerPath", false, Field::Listener),
    ("listenerMetadata", false, Field::Other),
    ("syscalls", false, Field::Objects(&SYSCALL, usize::MAX)),
];

/// `spec.syscalls[]`: `errnoRet` is an `int32`.
const SYSCALL: [ApiField; 4] = [
    ("names", true, Field::Strings(None, 1)),
    ("action", true, Field::OneOf(ACTIONS)),
    ("errnoRet", false, Field::Max(i32::MAX as u64)),
    ("args", false, Field::Objects(&ARG, 6)),
];

/// `spec.syscalls[].args[]`: `index` is an `int32`, the values `int64`.
const ARG: [ApiField; 4] = [
    ("index", true, Field::Max(i32::MAX as u64)),
    ("value", false, Field::Max(i64::MAX as u64)),
    ("valueTwo", false, Field::Max(i64::MAX as u64)),
    ("op", true, Field::OneOf(OPERATORS)),
];

/// `spec` against the schema of `version`.
pub(super) fn check(dec: &Dec, spec: &[Member], version: Version) -> Result<(), ProfileError> {
    Schema { dec, version }.object(spec, "$.spec", &SPEC, None)
}

struct Schema<'d> {
    dec: &'d Dec,
    version: Version,
}

impl Schema<'_> {
    /// An object's members against its fields; `node` (the object itself)
    /// locates a missing required field.
    fn object(
        &self,
        members: &[Member],
        path: &str,
        fields: &[ApiField],
        node: Option<&Node>,
    ) -> Result<(), ProfileError> {
        for m in members {
            let at = format!("{path}.{}", m.key);
            let Some(&(_, _, field)) = fields.iter().find(|(name, _, _)| *name == m.key) else {
                let names: Vec<&str> = fields.iter().map(|(n, _, _)| *n).collect();
                let o = self.dec.origin(m.key_pos, &at);
                return Err(ProfileError::new(
                    &o,
                    format!(
                        "unknown field \"{}\" (known: {}): Kubernetes matches field names exactly and refuses or drops unknown ones",
                        m.key,
                        names.join(", ")
                    ),
                ));
            };
            self.value(&m.value, &at, field)?;
        }
        let missing = fields
            .iter()
            .find(|(name, required, _)| *required && !members.iter().any(|m| m.key == *name));
        match (missing, node) {
            (Some((name, _, _)), Some(node)) => {
                Err(self.refused(node, path, format!("required field \"{name}\" is missing")))
            }
            _ => Ok(()),
        }
    }

    /// One field's value against its API type.
    fn value(&self, node: &Node, path: &str, field: Field) -> Result<(), ProfileError> {
        match (field, &node.value) {
            (Field::Max(max), Value::Number(text)) => {
                let digits = text.bytes().all(|b| b.is_ascii_digit());
                if digits && !text.parse::<u64>().is_ok_and(|v| v <= max) {
                    return Err(self.refused(
                        node,
                        path,
                        format!("{text} is out of range: the field holds at most {max}"),
                    ));
                }
            }
            (Field::OneOf(values), Value::String(s)) => self.one_of(node, path, s, values)?,
            (Field::Strings(values, min), Value::Array(items)) => {
                self.strings(node, path, items, values, min)?
            }
            (Field::Objects(fields, max), Value::Array(items)) => {
                if items.len() > max {
                    return Err(self.refused(
                        node,
                        path,
                        format!("{} items, at most {max} allowed", items.len()),
                    ));
                }
                for (i, item) in items.iter().enumerate() {
                    if let Value::Object(members) = &item.value {
                        self.object(members, &format!("{path}[{i}]"), fields, Some(item))?;
                    }
                }
            }
            (Field::Listener, Value::String(s)) if self.version == Version::V1 => {
                let file = s.strip_prefix(LISTENER_DIR).unwrap_or("");
                let ok = |b: u8| b.is_ascii_alphanumeric() || b"_-.".contains(&b);
                if file.is_empty() || !file.bytes().all(ok) {
                    return Err(self.refused(
                        node,
                        path,
                        format!(
                            "\"{s}\" does not match v1's pattern ^{LISTENER_DIR}[a-zA-Z0-9_\\-\\.]+$"
                        ),
                    ));
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn one_of(
        &self,
        node: &Node,
        path: &str,
        s: &str,
        values: &[&str],
    ) -> Result<(), ProfileError> {
        if values.contains(&s) {
            return Ok(());
        }
        Err(self.refused(
            node,
            path,
            format!(
                "\"{s}\" is not one of the allowed values ({})",
                values.join(", ")
            ),
        ))
    }

    /// A list of strings: each one of `values` (if given); from `v1` on, at
    /// least `min` of them and none twice.
    fn strings(
        &self,
        node: &Node,
        path: &str,
        items: &[Node],
        values: Option<&[&str]>,
        min: usize,
    ) -> Result<(), ProfileError> {
        let v1 = self.version == Version::V1;
        if v1 && items.len() < min {
            return Err(self.refused(
                node,
                path,
                format!("{} items, at least {min} required in v1", items.len()),
            ));
        }
        for (i, item) in items.iter().enumerate() {
            let Value::String(s) = &item.value else {
                continue;
            };
            let at = format!("{path}[{i}]");
            if let Some(values) = values {
                self.one_of(item, &at, s, values)?;
            }
            if v1 && items[..i].iter().any(|x| x.value == item.value) {
                return Err(self.refused(
                    item,
                    &at,
                    format!("\"{s}\" is listed twice in a v1 set"),
                ));
            }
        }
        Ok(())
    }

    fn refused(&self, node: &Node, path: &str, why: String) -> ProfileError {
        self.dec.error(
            node,
            path,
            format!("{why}: the API server refuses this SeccompProfile"),
        )
    }
}
