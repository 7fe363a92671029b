//! minijail's per-arch table (`constants.json`): the arch, its word size,
//! syscall numbers, named constants and syscall groups.
//!
//! In: the JSON text `generate_constants_json.py` writes (`arch_nr`,
//! `arch_name`, `bits`, `syscalls`, `constants`, optional `syscall_groups`).
//! Out: [`ArchTable`]. Not checked: that the numbers agree with sysfence's
//! own syscall tables (the policy means what its `constants.json` says).

use std::collections::HashMap;

use crate::arch::Arch;
use crate::ir::{ArgWidth, Origin};
use crate::json::{Member, Node, Value};
use crate::{ProfileError, parse_json};

/// One arch's names and numbers, as minijail's compiler reads them.
#[derive(Clone, Debug, Default)]
pub struct ArchTable {
    /// The `AUDIT_ARCH_*` value.
    pub arch_nr: u32,
    /// minijail's arch name (`x86_64`, `arm64`, `riscv64`), matched by
    /// `[arch=...]` metadata.
    pub arch_name: String,
    /// Word size: 32 or 64.
    pub bits: u32,
    /// Syscall numbers by name.
    pub syscalls: HashMap<String, u32>,
    /// Named constants (signed, as the generator wrote them).
    pub constants: HashMap<String, i128>,
    /// `group@namespace` names: namespace → group → syscall names.
    pub groups: HashMap<String, HashMap<String, Vec<String>>>,
}

impl ArchTable {
    /// The largest unsigned word.
    pub fn max_unsigned(&self) -> i128 {
        (1i128 << self.bits) - 1
    }

    /// The smallest signed word.
    pub fn min_signed(&self) -> i128 {
        -(1i128 << (self.bits - 1))
    }

    /// The table of `arch` from sysfence's own syscall table: the kernel's
    /// names and numbers (which minijail's generated `constants.json` also
    /// holds), no named constants, no groups.
    pub fn for_arch(arch: Arch) -> ArchTable {
        ArchTable {
            arch_nr: arch.audit_arch(),
            arch_name: arch.name().to_string(),
            bits: match arch.width() {
                ArgWidth::Bits64 => 64,
                ArgWidth::Bits32 => 32,
            },
            syscalls: arch
                .table()
                .iter()
                .map(|&(name, nr)| (name.to_string(), nr))
                .collect(),
            constants: HashMap::new(),
            groups: HashMap::new(),
        }
    }

    /// The largest syscall number in the table.
    pub fn max_nr(&self) -> u32 {
        self.syscalls.values().copied().max().unwrap_or(0)
    }
}

/// Reads a `constants.json`; `file` names it in messages.
pub fn parse(text: &[u8], file: &str) -> Result<ArchTable, ProfileError> {
    let root = parse_json(text, file)?;
    let err = |n: &Node, path: &str, msg: &str| {
        let o = Origin {
            file: file.to_string(),
            line: n.pos.line,
            column: n.pos.column,
            path: path.to_string(),
        };
        ProfileError::new(&o, msg)
    };
    let members = object(&root).ok_or_else(|| err(&root, "$", "expected an object"))?;
    let field = |key: &str| {
        members
            .iter()
            .rev()
            .find(|m| m.key == key)
            .map(|m| &m.value)
            .ok_or_else(|| err(&root, "$", &format!("missing \"{key}\"")))
    };
    let int = |key: &str, lo: i128, hi: i128| -> Result<i128, ProfileError> {
        let n = field(key)?;
        number(n)
            .filter(|v| (lo..=hi).contains(v))
            .ok_or_else(|| err(n, &format!("$.{key}"), "expected an integer in range"))
    };
    let mut table = ArchTable {
        arch_nr: int("arch_nr", 0, u32::MAX.into())? as u32,
        bits: int("bits", 32, 64)? as u32,
        ..ArchTable::default()
    };
    if table.bits != 32 && table.bits != 64 {
        return Err(err(field("bits")?, "$.bits", "bits must be 32 or 64"));
    }
    let name = field("arch_name")?;
    table.arch_name = match &name.value {
        Value::String(s) => s.clone(),
        _ => return Err(err(name, "$.arch_name", "expected a string")),
    };
    let syscalls = field("syscalls")?;
    for (k, v) in numbers(syscalls, "$.syscalls", &err)? {
        let nr = u32::try_from(v).map_err(|_| {
            let at = object(syscalls)
                .and_then(|m| m.iter().find(|m| m.key == k))
                .map_or(syscalls, |m| &m.value);
            err(
                at,
                &format!("$.syscalls.{k}"),
                "syscall number out of range (0 to 2^32-1)",
            )
        })?;
        table.syscalls.insert(k, nr);
    }
    table.constants = numbers(field("constants")?, "$.constants", &err)?
        .into_iter()
        .collect();
    if let Some(g) = members.iter().rev().find(|m| m.key == "syscall_groups") {
        table.groups = groups(&g.value, &err)?;
    }
    Ok(table)
}

fn object(n: &Node) -> Option<&[Member]> {
    match &n.value {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

fn number(n: &Node) -> Option<i128> {
    match &n.value {
        Value::Number(s) => s.parse().ok(),
        _ => None,
    }
}

type ErrFn<'a> = dyn Fn(&Node, &str, &str) -> ProfileError + 'a;

fn numbers(n: &Node, path: &str, err: &ErrFn) -> Result<Vec<(String, i128)>, ProfileError> {
    let members = object(n).ok_or_else(|| err(n, path, "expected an object"))?;
    members
        .iter()
        .map(|m| {
            let p = format!("{path}.{}", m.key);
            number(&m.value)
                .map(|v| (m.key.clone(), v))
                .ok_or_else(|| err(&m.value, &p, "expected an integer"))
        })
        .collect()
}

type Groups = HashMap<String, HashMap<String, Vec<String>>>;

fn groups(n: &Node, err: &ErrFn) -> Result<Groups, ProfileError> {
    let path = "$.syscall_groups";
    let mut out = Groups::new();
    for ns in object(n).ok_or_else(|| err(n, path, "expected an object"))? {
        let inner = object(&ns.value).ok_or_else(|| err(&ns.value, path, "expected an object"))?;
        // A repeated key's last value replaces the earlier one whole, as
        // Python's `json` (minijail's reader) keeps it.
        let entry = out.entry(ns.key.clone()).or_default();
        entry.clear();
        for g in inner {
            entry.insert(g.key.clone(), names(&g.value, err)?);
        }
    }
    Ok(out)
}

fn names(n: &Node, err: &ErrFn) -> Result<Vec<String>, ProfileError> {
    let Value::Array(items) = &n.value else {
        return Err(err(n, "$.syscall_groups", "expected an array of names"));
    };
    items
        .iter()
        .map(|i| match &i.value {
            Value::String(s) => Ok(s.clone()),
            _ => Err(err(i, "$.syscall_groups", "expected a name")),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_small_table() {
        let t = parse(
            br#"{"arch_nr": 3221225534, "arch_name": "x86_64", "bits": 64,
                "syscalls": {"read": 0, "write": 1}, "constants": {"EPERM": 1, "X": -1},
                "syscall_groups": {"ns": {"io": ["read", "write"]}}}"#,
            "c.json",
        )
        .unwrap();
        assert_eq!(t.arch_nr, 0xc000_003e);
        assert_eq!(t.syscalls["write"], 1);
        assert_eq!(t.constants["X"], -1);
        assert_eq!(t.groups["ns"]["io"].len(), 2);
        assert_eq!(t.max_unsigned(), u64::MAX.into());
    }

    /// A repeated namespace replaces the earlier one, as Python's `json`
    /// keeps the last value of a key.
    #[test]
    fn a_repeated_group_namespace_keeps_its_last_value() {
        let t = parse(
            br#"{"arch_nr": 3221225534, "arch_name": "x86_64", "bits": 64,
                "syscalls": {"read": 0, "write": 1}, "constants": {},
                "syscall_groups": {"ns": {"a": ["read"]}, "ns": {"b": ["write"]}}}"#,
            "c.json",
        )
        .unwrap();
        assert!(!t.groups["ns"].contains_key("a"));
        assert_eq!(t.groups["ns"]["b"], ["write"]);
    }

    #[test]
    fn refuses_missing_fields_and_bad_bits() {
        let e = parse(
            br#"{"arch_nr": 1, "arch_name": "a", "bits": 48, "syscalls": {}, "constants": {}}"#,
            "c.json",
        );
        assert!(e.unwrap_err().to_string().contains("bits"));
        let e = parse(br#"{"arch_nr": 1}"#, "c.json").unwrap_err();
        assert!(e.to_string().contains("missing"));
    }
}
