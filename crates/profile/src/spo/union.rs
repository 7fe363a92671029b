//! What sysfence can say about a profile with a base profile.
//!
//! The operator does not hand the base's rules and the profile's to the
//! runtime one after the other: it merges the two lists by syscall name
//! (`UnionSyscalls`, security-profiles-merger in current releases), taking
//! per name the least restrictive action for each argument region, and
//! collapsing a name whose rules it cannot split safely into one
//! unconditional entry. sysfence does not model that merge. The list it
//! builds (the base's rules, then the profile's) means the same as the
//! operator's union when every name has one entry in the two lists, or
//! entries that are all unconditional with one action and errno; any other
//! profile is refused ([`check`]).
//!
//! A base profile is a Kubernetes object the operator gets by name from the
//! profile's namespace: a name that is not a valid object name (a path, an
//! upper-case letter) is never found, and the profile never installed
//! ([`check_name`]).

use std::collections::HashMap;

use crate::decode::Dec;
use crate::diag::ProfileError;
use crate::json::{Node, Value};

/// The base profile's name, when the API server could hold an object of
/// that name (a DNS-1123 subdomain: at most 253 characters, dot-separated
/// labels of lower-case letters, digits and `-` that start and end with a
/// letter or digit).
pub(super) fn check_name(dec: &Dec, node: &Node, name: &str) -> Result<(), ProfileError> {
    let label_ok = |l: &str| {
        let b = l.as_bytes();
        !b.is_empty()
            && b.iter()
                .all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
            && b[0] != b'-'
            && b[b.len() - 1] != b'-'
    };
    if name.len() <= 253 && name.split('.').all(label_ok) {
        return Ok(());
    }
    Err(dec.error(
        node,
        "$.spec.baseProfileName",
        format!(
            "base profile \"{name}\" is not a Kubernetes object name (lower-case letters, digits, '-' and '.'): the operator looks the base up by name in the profile's namespace, never finds it, and installs nothing"
        ),
    ))
}

/// What one entry does with its names, as far as the union is concerned.
#[derive(PartialEq, Eq)]
struct Entry {
    action: Option<String>,
    errno: Option<String>,
    conditional: bool,
}

/// Refuses the merged list `items` (the base's rules, then the profile's)
/// when a name has several entries the operator's union could decide
/// otherwise than the list does.
pub(super) fn check(dec: &Dec, items: &[Node]) -> Result<(), ProfileError> {
    let mut seen: HashMap<&str, Entry> = HashMap::new();
    for (i, item) in items.iter().enumerate() {
        let Value::Object(fields) = &item.value else {
            continue;
        };
        let get = |k: &str| fields.iter().rev().find(|m| m.key == k).map(|m| &m.value);
        let text = |n: Option<&Node>| match n.map(|n| &n.value) {
            Some(Value::String(s) | Value::Number(s)) => Some(s.clone()),
            _ => None,
        };
        let conditional =
            matches!(get("args").map(|n| &n.value), Some(Value::Array(a)) if !a.is_empty());
        let Some(Value::Array(names)) = get("names").map(|n| &n.value) else {
            continue;
        };
        for (j, name_node) in names.iter().enumerate() {
            let Value::String(name) = &name_node.value else {
                continue;
            };
            let entry = Entry {
                action: text(get("action")),
                errno: text(get("errnoRet")),
                conditional,
            };
            match seen.get(name.as_str()) {
                Some(first) if first.conditional || entry.conditional || *first != entry => {
                    return Err(dec.error(
                        name_node,
                        &format!("$.spec.syscalls[{i}].names[{j}]"),
                        format!(
                            "{name} has several rules once the base profile's are added: the operator merges the two lists by name, taking the least restrictive action per argument region, which sysfence does not model; give {name} one rule (or rules with one action, errno and no args)"
                        ),
                    ));
                }
                Some(_) => {}
                None => {
                    seen.insert(name, entry);
                }
            }
        }
    }
    Ok(())
}
