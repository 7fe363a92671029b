//! sysfence-profile: seccomp profiles in every dialect, read into one policy IR.
//!
//! [`load`] reads a profile — Docker/moby JSON, OCI `linux.seccomp` (alone
//! or in a `config.json`), the Podman/CRI-O dialect, containerd's plain
//! reading, seccompiler JSON, Security Profiles Operator YAML or Inspektor
//! Gadget output — and returns the [`ir::Policy`] the real runtime would
//! enforce on the given host ([`HostContext`]), with warnings that point at
//! the source. [`eval::eval`] answers any syscall from that policy.
//!
//! Pipeline: bytes → [`json`] / YAML node tree with positions → dialect
//! decoding with Go's rules (`decode`, `model`) → the front end's
//! resolution for the host (`resolve`) → the runtime and libseccomp's
//! meaning (`lower`, `merge`) → [`ir::Policy`].
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod arch;
mod context;
mod decode;
mod diag;
pub mod eval;
mod file;
mod gadget;
pub mod ir;
pub mod json;
pub mod libseccomp;
mod lower;
mod merge;
pub mod minijail;
mod model;
mod resolve;
mod seccompiler;
mod spo;
mod x86;
mod yaml;

use std::path::Path;

pub use arch::Arch;
pub use context::{
    DOCKER_DEFAULT_CAPS, Format, HostContext, LINUX_CAPS, LoadOptions, Runtime, parse_kernel,
};
pub use diag::{Diagnostic, ProfileError, Severity, excerpt};
pub use libseccomp::Libseccomp;

use decode::Dec;
use ir::Origin;
use json::{Member, Node, Value};
use model::Dialect;

/// A loaded profile.
#[derive(Clone, Debug)]
pub struct Loaded {
    /// What the runtime enforces.
    pub policy: ir::Policy,
    /// Warnings and notes, in source order of discovery.
    pub warnings: Vec<Diagnostic>,
    /// The format the file was read as.
    pub format: Format,
    /// The arches the runtime puts in the filter, in order (native first;
    /// only the asked ones when [`HostContext::arches`] narrows it).
    pub native_arches: Vec<Arch>,
    /// The `seccomp(2)` filter flags the runtime would pass
    /// (`SECCOMP_FILTER_FLAG_*`; SPEC_ALLOW when the profile lists none).
    pub flags: Vec<String>,
    /// Observed call counts the profile carries (minijail's `@frequency`),
    /// by syscall name; empty for other formats.
    pub frequency: Vec<(String, u64)>,
}

/// Reads a profile.
pub fn load(text: &[u8], opts: &LoadOptions) -> Result<Loaded, ProfileError> {
    let file = &opts.file_name;
    let top = Origin::start(file);
    if text.len() > json::MAX_INPUT {
        return Err(ProfileError::new(
            &top,
            format!(
                "profile is {} bytes; the limit is {} bytes",
                text.len(),
                json::MAX_INPUT
            ),
        ));
    }
    let minijail = opts.format == Some(Format::Minijail)
        || (opts.format.is_none() && file.ends_with(".policy"));
    if minijail {
        return minijail::load(text, opts);
    }
    if text.iter().all(u8::is_ascii_whitespace) {
        return Err(ProfileError::new(&top, "empty profile"));
    }
    let (format, parsed) = match opts.format {
        Some(f) => (f, None),
        None => sniff(text),
    };
    // The JSON text is parsed at most once: detection hands its tree on.
    let node = || match parsed {
        Some(result) => result.map_err(|e| syntax_error(e, file)),
        None => parse_json(text, file),
    };
    match format {
        Format::Seccompiler => {
            let node = node()?;
            if let Some(pos) = json::lone_surrogate(text) {
                let o = Origin {
                    file: file.clone(),
                    line: pos.line,
                    column: pos.column,
                    path: String::new(),
                };
                return Err(ProfileError::new(
                    &o,
                    "a \\u escape of an unpaired UTF-16 surrogate: serde_json, which seccompiler reads the file with, refuses the document",
                ));
            }
            seccompiler::load_node(&node, opts)
        }
        Format::Spo => spo::load(text, opts),
        Format::Gadget => gadget::load(text, opts),
        _ => load_node(&node()?, "$", format, opts, Dec::new(file)),
    }
}

/// `bytes` as text, or an "invalid UTF-8" error at the line and column of
/// the first byte that is not (the YAML, minijail and gadget readers; the
/// JSON parser finds the place itself).
pub(crate) fn utf8<'a>(bytes: &'a [u8], file: &str) -> Result<&'a str, ProfileError> {
    std::str::from_utf8(bytes).map_err(|e| {
        let good = &bytes[..e.valid_up_to()];
        let line_start = good.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let column = String::from_utf8_lossy(&good[line_start..]).chars().count();
        let o = Origin {
            file: file.to_string(),
            line: u32::try_from(good.iter().filter(|&&b| b == b'\n').count() + 1)
                .unwrap_or(u32::MAX),
            column: u32::try_from(column + 1).unwrap_or(u32::MAX),
            path: String::new(),
        };
        ProfileError::new(&o, "invalid UTF-8")
    })
}

/// Reads a profile file; the file name in messages is the path as given,
/// and SPO base profiles are looked up beside it unless `opts.base_dir` says
/// otherwise.
pub fn load_file(path: &Path, opts: &LoadOptions) -> Result<Loaded, ProfileError> {
    let mut opts = opts.clone();
    if opts.file_name.is_empty() {
        opts.file_name = path.display().to_string();
    }
    if opts.base_dir.is_none() {
        opts.base_dir = path.parent().map(Path::to_path_buf);
    }
    let origin = Origin {
        file: opts.file_name.clone(),
        ..Origin::default()
    };
    let text = file::read_bounded(path).map_err(|e| ProfileError::new(&origin, e))?;
    load(&text, &opts)
}

pub(crate) fn parse_json(text: &[u8], file: &str) -> Result<Node, ProfileError> {
    json::parse(text).map_err(|e| syntax_error(e, file))
}

fn syntax_error(e: json::SyntaxError, file: &str) -> ProfileError {
    let o = Origin {
        file: file.to_string(),
        line: e.pos.line,
        column: e.pos.column,
        path: e.path,
    };
    ProfileError::new(&o, e.message)
}

/// Guesses the format from the text (`--format` overrides).
pub fn detect(text: &[u8]) -> Format {
    sniff(text).0
}

/// A JSON parse that detection already made, or `None` when it made none.
type Parsed = Option<Result<Node, json::SyntaxError>>;

/// The format, and the JSON tree when telling the format needed one.
fn sniff(text: &[u8]) -> (Format, Parsed) {
    let start = text
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(0);
    let rest = text[start..]
        .strip_prefix(b"\xef\xbb\xbf")
        .unwrap_or(&text[start..]);
    if rest.starts_with(b"//") {
        return (Format::Gadget, None);
    }
    if !rest.starts_with(b"{") && !rest.starts_with(b"[") {
        return (Format::Spo, None);
    }
    match json::parse(text) {
        Ok(node) => (detect_json(&node), Some(Ok(node))),
        Err(e) => (Format::Docker, Some(Err(e))),
    }
}

fn detect_json(node: &Node) -> Format {
    let Value::Object(members) = &node.value else {
        return Format::Docker;
    };
    let has = |k: &str| members.iter().any(|m| m.key.eq_ignore_ascii_case(k));
    if has("linux") || has("ociVersion") {
        return Format::Oci;
    }
    let profile_keys = [
        "defaultAction",
        "syscalls",
        "architectures",
        "archMap",
        "defaultErrnoRet",
        "defaultErrno",
    ];
    let looks_seccompiler = !members.is_empty()
        && !profile_keys.iter().any(|k| has(k))
        && members.iter().all(
            |m| matches!(&m.value.value, Value::Object(f) if f.iter().any(|x| x.key == "filter")),
        );
    if looks_seccompiler {
        return Format::Seccompiler;
    }
    if has("defaultErrno") || text_has_key(node, "errno") {
        return Format::Containers;
    }
    Format::Docker
}

/// Whether any rule object has a key (case-insensitively).
fn text_has_key(node: &Node, key: &str) -> bool {
    let Value::Object(members) = &node.value else {
        return false;
    };
    let Some(s) = members
        .iter()
        .find(|m| m.key.eq_ignore_ascii_case("syscalls"))
    else {
        return false;
    };
    let Value::Array(items) = &s.value.value else {
        return false;
    };
    items.iter().any(|i| matches!(&i.value, Value::Object(f) if f.iter().any(|m| m.key.eq_ignore_ascii_case(key))))
}

/// Loads a JSON profile object of an OCI-family format.
pub(crate) fn load_node(
    node: &Node,
    root: &str,
    format: Format,
    opts: &LoadOptions,
    mut dec: Dec,
) -> Result<Loaded, ProfileError> {
    let ctx = &opts.context;
    let (dialect, plain) = match (format, ctx.runtime) {
        (Format::Oci, _) => (Dialect::Oci, true),
        (Format::Containerd, _) | (_, Runtime::Containerd) => (Dialect::Oci, false),
        (Format::Containers, _) => (Dialect::Containers, false),
        (Format::Spo | Format::Gadget, _) => (Dialect::Oci, false),
        _ => (Dialect::Docker, false),
    };
    let (seccomp, path) = if format == Format::Oci {
        // crun reads config.json itself, with a C parser that matches keys
        // exactly; runc's Go reading folds their case.
        dec.exact = ctx.runtime == Runtime::Crun;
        config_seccomp(node, &mut dec)?
    } else {
        (Some(node), root.to_string())
    };
    let Some(seccomp) = seccomp else {
        let o = dec.origin(node.pos, "$.linux");
        dec.warnings.push(Diagnostic::warning(
            &o,
            "no linux.seccomp: the runtime installs no seccomp filter (unconfined)",
        ));
        let policy = ir::Policy::new(vec![], ir::Action::Allow)
            .map_err(|e| ProfileError::new(&o, e.to_string()))?;
        return Ok(Loaded {
            policy,
            warnings: dec.warnings,
            format,
            native_arches: vec![],
            flags: vec![],
            frequency: vec![],
        });
    };
    let mut runtime_ctx = ctx.clone();
    if format == Format::Oci && ctx.runtime == Runtime::Crun {
        runtime_ctx.strict |= crun_annotations(node, &mut dec)?;
    }
    let raw = model::decode(&mut dec, seccomp, &path, dialect)?;
    let mut warnings = dec.warnings;
    let oci = resolve::resolve(raw, dialect, ctx, plain, &mut warnings)?;
    let lowered = lower::lower(&oci, &runtime_ctx, &mut warnings)?;
    Ok(Loaded {
        policy: lowered.policy,
        warnings,
        format,
        native_arches: lowered.arches,
        flags: lowered.flags,
        frequency: vec![],
    })
}

/// crun's seccomp annotations in a `config.json`'s `annotations` (read with
/// exact keys, as crun's libocispec does): returns whether
/// `run.oci.seccomp_fail_unknown_syscall` is present and not `"0"`, which
/// makes unknown syscall names errors. `run.oci.seccomp_bpf_data` (raw BPF
/// that replaces `linux.seccomp`) is reported, not decoded. Annotations that
/// are not strings are left alone. What libocispec makes of a repeated
/// `annotations` key or a repeated seccomp annotation is not established,
/// so both are refused.
fn crun_annotations(node: &Node, dec: &mut Dec) -> Result<bool, ProfileError> {
    let Value::Object(members) = &node.value else {
        return Ok(false);
    };
    let Some(Value::Object(notes)) =
        once_exactly(dec, members, "$.annotations", "annotations")?.map(|m| &m.value.value)
    else {
        return Ok(false);
    };
    let mut fail = false;
    for m in notes {
        let Value::String(v) = &m.value.value else {
            continue;
        };
        let path = format!("$.annotations[\"{}\"]", m.key);
        if m.key.starts_with("run.oci.seccomp") {
            once_exactly(dec, notes, &path, &m.key)?;
        }
        match m.key.as_str() {
            "run.oci.seccomp_fail_unknown_syscall" => fail = v != "0",
            "run.oci.seccomp_bpf_data" => {
                let o = dec.origin(m.value.pos, &path);
                dec.warnings.push(Diagnostic::warning(
                    &o,
                    "crun loads this raw BPF instead of linux.seccomp; sysfence does not decode it and shows linux.seccomp",
                ));
            }
            _ => {}
        }
    }
    Ok(fail)
}

/// The member with exactly the key `key` (crun's case-sensitive reading),
/// refusing a second one; `key_path` is the key's JSON path.
fn once_exactly<'n>(
    dec: &Dec,
    members: &'n [Member],
    key_path: &str,
    key: &str,
) -> Result<Option<&'n Member>, ProfileError> {
    let mut same = members.iter().filter(|m| m.key == key);
    let first = same.next();
    match (first, same.next()) {
        (Some(f), Some(again)) => {
            let o = dec.origin(again.key_pos, key_path);
            Err(ProfileError::new(
                &o,
                format!(
                    "key \"{key}\" repeated (first at {}:{}): crun's reading of a repeated key is not established, so sysfence refuses it",
                    f.key_pos.line, f.key_pos.column
                ),
            ))
        }
        (first, _) => Ok(first),
    }
}

/// Where keys match exactly (crun) and `field` is not set, a key that Go's
/// case folding would have read as it is refused ([`decode::case_only`]).
fn unmatched_case(
    dec: &Dec,
    members: &[Member],
    path: &str,
    field: &str,
    set: Option<&Member>,
) -> Result<(), ProfileError> {
    if !dec.exact || set.is_some() {
        return Ok(());
    }
    match members.iter().find(|m| m.key.eq_ignore_ascii_case(field)) {
        Some(m) => Err(decode::case_only(dec, m, path, field)),
        None => Ok(()),
    }
}

/// The `linux.seccomp` object of a `config.json`, or the object itself when
/// the file holds only `linux.seccomp`'s content.
fn config_seccomp<'n>(
    node: &'n Node,
    dec: &mut Dec,
) -> Result<(Option<&'n Node>, String), ProfileError> {
    let Value::Object(members) = &node.value else {
        return Err(dec.error(
            node,
            "$",
            format!("expected an object, found {}", node.value.kind()),
        ));
    };
    if !members
        .iter()
        .any(|m| m.key.eq_ignore_ascii_case("linux") || m.key.eq_ignore_ascii_case("ociVersion"))
    {
        return Ok((Some(node), "$".into()));
    }
    let linux = dec.member(members, "$", "linux")?;
    unmatched_case(dec, members, "$", "linux", linux)?;
    let Some(linux) = linux.filter(|m| m.value.value != Value::Null) else {
        return Ok((None, String::new()));
    };
    let Value::Object(lm) = &linux.value.value else {
        return Err(dec.error(
            &linux.value,
            "$.linux",
            format!("expected an object, found {}", linux.value.value.kind()),
        ));
    };
    let sec = dec.member(lm, "$.linux", "seccomp")?;
    unmatched_case(dec, lm, "$.linux", "seccomp", sec)?;
    Ok((
        sec.map(|m| &m.value).filter(|n| n.value != Value::Null),
        "$.linux.seccomp".into(),
    ))
}
