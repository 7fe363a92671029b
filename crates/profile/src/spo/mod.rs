//! Security Profiles Operator `SeccompProfile` resources (YAML).
//!
//! In: one or several YAML documents. Out: the profile the SPO daemon
//! writes for the kubelet: the chosen resource's `spec` (by `--filter NAME`
//! = `metadata.name`, else the first), with `baseProfileName` resolved —
//! recursively, at most 15 deep — from the same file or from
//! `<base_dir>/<name>.yaml|.yml|.json`, its rules placed before the
//! profile's own (docs/profiles.md). `oci://` bases are not fetched.
//! The result is read as plain OCI, as runtimes read the written JSON.
//! A resource's `spec` is first checked against the CRD schema the API
//! server applies ([`api`]).

use std::path::Path;
use std::sync::Arc;

use crate::context::{Format, LoadOptions};
use crate::decode::Dec;
use crate::diag::{Diagnostic, ProfileError};
use crate::ir::Origin;
use crate::json::{Member, Node, Value};
use crate::{Loaded, load_node};

mod api;
mod union;

const MAX_BASE_DEPTH: usize = 15;

pub(crate) fn load(text: &[u8], opts: &LoadOptions) -> Result<Loaded, ProfileError> {
    let file = &opts.file_name;
    let top = Origin::start(file);
    let s = crate::utf8(text, file)?;
    let docs = crate::yaml::parse(s, file)?;
    let docs: Vec<Node> = docs
        .into_iter()
        .filter(|d| d.value != Value::Null)
        .collect();
    let mut dec = Dec::new(file);
    let idx = match &opts.filter {
        Some(name) => docs
            .iter()
            .position(|d| name_of(d).as_deref() == Some(name))
            .ok_or_else(|| {
                let known: Vec<String> = docs.iter().filter_map(name_of).collect();
                ProfileError::new(
                    &top,
                    format!(
                        "no SeccompProfile named \"{name}\" (found: {})",
                        known.join(", ")
                    ),
                )
            })?,
        None => 0,
    };
    let doc = docs
        .get(idx)
        .ok_or_else(|| ProfileError::new(&top, "no YAML document"))?;
    if docs.len() > 1 && opts.filter.is_none() {
        let o = dec.origin(doc.pos, "$");
        let name = name_of(doc).unwrap_or_default();
        dec.warnings.push(Diagnostic::note(
            &o,
            format!(
                "{} documents; reading \"{name}\" (choose with --filter)",
                docs.len()
            ),
        ));
    }
    let mut spec = resolve_spec(doc, &docs, opts, &mut dec, 0).map_err(|e| dec.others.error(e))?;
    let root = if member(doc, "spec").is_some() {
        "$.spec"
    } else {
        "$"
    };
    if root == "$.spec" {
        omit_zero_errno(&mut spec, &mut dec);
    }
    let others = dec.others.clone();
    let mut loaded = load_node(&spec, root, Format::Spo, opts, dec).map_err(|e| others.error(e))?;
    loaded.warnings = std::mem::take(&mut loaded.warnings)
        .into_iter()
        .map(|d| others.diagnostic(d))
        .collect();
    Ok(loaded)
}

/// The operator writes a resource's rules with `errnoRet` `omitempty`, so
/// `errnoRet: 0` never reaches the runtime: the rule gets the runtime's
/// default errno (EPERM), not 0 (a call that "succeeds" without running).
/// The key is dropped here as the operator drops it, with a warning.
fn omit_zero_errno(spec: &mut Node, dec: &mut Dec) {
    let Value::Object(members) = &mut spec.value else {
        return;
    };
    let Some(Value::Array(rules)) = members
        .iter_mut()
        .find(|m| m.key == "syscalls")
        .map(|m| &mut m.value.value)
    else {
        return;
    };
    for (i, rule) in rules.iter_mut().enumerate() {
        let Value::Object(fields) = &mut rule.value else {
            continue;
        };
        let zero = |m: &Member| {
            m.key == "errnoRet"
                && matches!(&m.value.value, Value::Number(n) if n.parse::<u64>() == Ok(0))
        };
        if let Some(m) = fields.iter().find(|m| zero(m)) {
            let o = dec.origin(m.key_pos, &format!("$.spec.syscalls[{i}].errnoRet"));
            dec.warnings.push(Diagnostic::warning(
                &o,
                "errnoRet 0: the operator omits a zero errnoRet when it writes the profile, so the runtime gives this rule its default errno (EPERM)",
            ));
            fields.retain(|m| !zero(m));
        }
    }
}

fn member<'n>(node: &'n Node, key: &str) -> Option<&'n Node> {
    let Value::Object(m) = &node.value else {
        return None;
    };
    m.iter().rev().find(|x| x.key == key).map(|x| &x.value)
}

fn name_of(doc: &Node) -> Option<String> {
    match &member(member(doc, "metadata")?, "name")?.value {
        Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

/// The document's `spec` (or the document itself when it is a bare spec),
/// with the base profile's rules merged in and the SPO-only keys removed.
fn resolve_spec(
    doc: &Node,
    docs: &[Node],
    opts: &LoadOptions,
    dec: &mut Dec,
    depth: usize,
) -> Result<Node, ProfileError> {
    let is_resource = member(doc, "kind").is_some() || member(doc, "spec").is_some();
    if let Some(kind) = member(doc, "kind")
        && kind.value != Value::String("SeccompProfile".into())
    {
        return Err(dec.error(kind, "$.kind", "expected kind SeccompProfile"));
    }
    let spec = if is_resource {
        member(doc, "spec").ok_or_else(|| dec.error(doc, "$", "a SeccompProfile without spec"))?
    } else {
        doc
    };
    let Value::Object(members) = &spec.value else {
        return Err(dec.error(
            spec,
            "$.spec",
            format!("expected an object, found {}", spec.value.kind()),
        ));
    };
    if is_resource {
        api::check(dec, members, api::Version::of(doc))?;
    }
    let mut own: Vec<Member> = members
        .iter()
        .filter(|m| m.key != "state" && m.key != "baseProfileName")
        .cloned()
        .collect();
    let Some(base) = member(spec, "baseProfileName") else {
        return Ok(Node {
            value: Value::Object(own),
            pos: spec.pos,
        });
    };
    let Value::String(base_name) = &base.value else {
        return Err(dec.error(base, "$.spec.baseProfileName", "expected a string"));
    };
    if depth >= MAX_BASE_DEPTH {
        return Err(dec.error(
            base,
            "$.spec.baseProfileName",
            "base profiles nest deeper than 15 levels",
        ));
    }
    if base_name.starts_with("oci://") {
        return Err(dec.error(
            base,
            "$.spec.baseProfileName",
            format!("base profile {base_name}: OCI artifacts are not fetched"),
        ));
    }
    union::check_name(dec, base, base_name)?;
    let found = find_base(base_name, docs, opts.base_dir.as_deref()).map_err(|e| match e {
        BaseError::Read(why) => dec.error(
            base,
            "$.spec.baseProfileName",
            format!("base profile \"{base_name}\": {why}"),
        ),
        BaseError::Parse(e) => e,
    })?;
    let (mut base_doc, from) = found.ok_or_else(|| {
        dec.error(
            base,
            "$.spec.baseProfileName",
            format!("base profile \"{base_name}\" not found in this file or beside it"),
        )
    })?;
    if let Some((file, text)) = from {
        dec.adopt(&mut base_doc, file, text);
    }
    let base_spec = resolve_spec(&base_doc, docs, opts, dec, depth + 1)?;
    let o = dec.origin(base.pos, "$.spec.baseProfileName");
    dec.warnings.push(Diagnostic::note(
        &o,
        format!("rules of base profile \"{base_name}\" come first (the operator's union by name means the same here)"),
    ));
    let base_rules = match member(&base_spec, "syscalls").map(|n| &n.value) {
        Some(Value::Array(items)) => items.clone(),
        _ => vec![],
    };
    union::check(dec, &base_rules)?;
    match own.iter_mut().rev().find(|m| m.key == "syscalls") {
        Some(m) => match &mut m.value.value {
            Value::Array(items) => {
                let mut all = base_rules;
                all.append(items);
                union::check(dec, &all)?;
                *items = all;
            }
            // `syscalls: null` is an absent list: the base rules still apply.
            Value::Null => m.value.value = Value::Array(base_rules),
            // Anything else is refused when the spec is decoded.
            _ => {}
        },
        None => own.push(Member {
            key: "syscalls".into(),
            key_pos: spec.pos,
            value: Node {
                value: Value::Array(base_rules),
                pos: spec.pos,
            },
        }),
    }
    Ok(Node {
        value: Value::Object(own),
        pos: spec.pos,
    })
}

/// A base profile from the same file or from a file beside it; `Ok(None)`
/// when there is none. A file beside it that cannot be read is `Err` with
/// what is wrong; one that does not parse, the parser's error, excerpted
/// from that file.
fn find_base(name: &str, docs: &[Node], dir: Option<&Path>) -> Result<Option<Base>, BaseError> {
    if let Some(d) = docs.iter().find(|d| name_of(d).as_deref() == Some(name)) {
        return Ok(Some((d.clone(), None)));
    }
    let Some(dir) = dir else {
        return Ok(None);
    };
    for ext in ["yaml", "yml", "json"] {
        let path = dir.join(format!("{name}.{ext}"));
        if !path.exists() {
            continue;
        }
        let shown = path.display().to_string();
        let bytes = crate::file::read_bounded(&path)
            .map_err(|e| BaseError::Read(format!("{shown}: {e}")))?;
        let text = String::from_utf8(bytes)
            .map_err(|e| BaseError::Read(format!("{shown}: not UTF-8 ({e})")))?;
        let text: Arc<str> = Arc::from(text);
        let nodes = crate::yaml::parse(&text, &shown)
            .map_err(|e| BaseError::Parse(e.with_source(Some(text.clone()))))?;
        return Ok(nodes
            .into_iter()
            .find(|n| name_of(n).as_deref().is_none_or(|x| x == name))
            .map(|n| (n, Some((shown, text)))));
    }
    Ok(None)
}

/// A base profile's document, with the name and text of the file beside
/// the profile it was read from (`None`: the profile's own file).
type Base = (Node, Option<(String, Arc<str>)>);

/// Why a base profile beside the profile could not be used.
enum BaseError {
    /// The file cannot be read: said at `baseProfileName`.
    Read(String),
    /// The file does not parse: said where, in that file.
    Parse(ProfileError),
}
