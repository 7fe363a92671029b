//! seccompiler JSON (rust-vmm/seccompiler 0.5, Firecracker's files), with
//! seccompiler's own meaning (seccompiler 0.5's `backend` module; docs/profiles.md).
//!
//! In: the JSON map of thread categories; `--filter NAME` picks one (the
//! first by default), but every category must compile, as in seccompiler. Out: a single-arch policy for the host arch, which
//! must be x86_64, aarch64 or riscv64 (narrowing to any other arch is an
//! error):
//!
//! * unknown fields, duplicate fields and duplicate categories are errors
//!   (serde's `deny_unknown_fields`); `val` is a plain base-10 `u64`;
//! * syscall names resolve only as far as seccompiler 0.5.0's own tables
//!   reach (Linux 6.12): a newer name such as `setxattrat` is an invalid
//!   syscall name, as seccompiler says;
//! * every rule gets the filter's one match action; entries naming the same
//!   syscall are ORed, and an entry without `args` only adds the syscall —
//!   so next to conditional entries it is lost (reported);
//! * `args: []` is refused (`EmptyRule`), `args: null` is an entry without
//!   args; an entry whose conditions can never hold matches nothing;
//! * `dword` compares the low 32 bits (the value's high word is discarded);
//!   `masked_eq` tests `(arg & mask) == (val & mask)`: seccompiler masks
//!   `val` before comparing;
//! * errno and trace data are cut to 16 bits;
//! * a foreign arch gets KILL_PROCESS; there is no x32 guard, so x32
//!   numbers on x86_64 reach the mismatch action like any unknown number.

use std::collections::BTreeMap;

use crate::Loaded;
use crate::arch::Arch;
use crate::context::{Format, LoadOptions};
use crate::decode::{Dec, Sp};
use crate::diag::{Diagnostic, ProfileError};
use crate::ir::{Action, ArchPolicy, ArgIndex, ArgWidth, CmpOp, Cond, Origin, Policy, Rule};
use crate::json::{Member, Node, Value};

/// Reads a seccompiler document (already parsed: format detection or the
/// caller parsed the text once).
pub(crate) fn load_node(node: &Node, opts: &LoadOptions) -> Result<Loaded, ProfileError> {
    let mut dec = Dec::new(&opts.file_name);
    let Value::Object(cats) = &node.value else {
        return Err(dec.error(
            node,
            "$",
            format!(
                "expected a map of thread categories, found {}",
                node.value.kind()
            ),
        ));
    };
    for (i, c) in cats.iter().enumerate() {
        if cats[..i].iter().any(|d| d.key == c.key) {
            let o = dec.origin(c.key_pos, &format!("$.{}", c.key));
            return Err(ProfileError::new(
                &o,
                format!("duplicate filter key \"{}\"", c.key),
            ));
        }
    }
    let cat = match &opts.filter {
        Some(name) => cats.iter().find(|c| c.key == *name).ok_or_else(|| {
            let known: Vec<&str> = cats.iter().map(|c| c.key.as_str()).collect();
            dec.error(
                node,
                "$",
                format!("no filter \"{name}\" (found: {})", known.join(", ")),
            )
        })?,
        None => cats
            .first()
            .ok_or_else(|| dec.error(node, "$", "no filters in the file"))?,
    };
    if cats.len() > 1 && opts.filter.is_none() {
        let o = dec.origin(cat.key_pos, &format!("$.{}", cat.key));
        let known: Vec<&str> = cats.iter().map(|c| c.key.as_str()).collect();
        dec.warnings.push(Diagnostic::note(
            &o,
            format!(
                "reading filter \"{}\" of {} (choose with --filter)",
                cat.key,
                known.join(", ")
            ),
        ));
    }
    let arch = opts.context.host_arch;
    if !matches!(arch, Arch::X86_64 | Arch::Aarch64 | Arch::Riscv64) {
        let o = dec.origin(cat.key_pos, "$");
        return Err(ProfileError::new(
            &o,
            format!("seccompiler targets x86_64, aarch64 and riscv64, not {arch}"),
        ));
    }
    let refusal = opts
        .context
        .one_arch_refusal(Some(arch), arch.name(), "a seccompiler filter");
    if let Some(msg) = refusal {
        let o = dec.origin(cat.key_pos, &format!("$.{}", cat.key));
        return Err(ProfileError::new(&o, msg));
    }
    let policy = compile_all(&mut dec, cats, cat, arch)?;
    Ok(Loaded {
        policy,
        warnings: dec.warnings,
        format: Format::Seccompiler,
        native_arches: vec![arch],
        flags: vec![],
        frequency: vec![],
    })
}

/// The policy of `chosen`, after every category has been read as
/// seccompiler's `compile_from_json` reads them: it deserializes and
/// compiles the whole map, so an error in any category (identical actions,
/// an unknown syscall, ...) fails the load whichever filter is installed.
/// Warnings are kept for the chosen category only.
fn compile_all(
    dec: &mut Dec,
    cats: &[Member],
    chosen: &Member,
    arch: Arch,
) -> Result<Policy, ProfileError> {
    let mut policy = None;
    for c in cats {
        if std::ptr::eq(c, chosen) {
            policy = Some(filter(dec, c, arch)?);
        } else {
            filter(&mut Dec::new(&dec.file), c, arch)?;
        }
    }
    policy.ok_or_else(|| dec.error(&chosen.value, "$", "no filters in the file"))
}

/// serde's struct decoding: each field once, no unknown ones, aliases.
fn fields<'n>(
    dec: &Dec,
    node: &'n Node,
    path: &str,
    known: &[(&str, &'static str)],
    required: &[&str],
) -> Result<BTreeMap<&'static str, (&'n Node, String)>, ProfileError> {
    let Value::Object(members) = &node.value else {
        return Err(dec.error(
            node,
            path,
            format!("expected an object, found {}", node.value.kind()),
        ));
    };
    let mut out = BTreeMap::new();
    for Member {
        key,
        key_pos,
        value,
    } in members
    {
        let p = format!("{path}.{key}");
        let Some(&(_, field)) = known.iter().find(|(k, _)| k == key) else {
            let names: Vec<&str> = known.iter().map(|(k, _)| *k).collect();
            let o = dec.origin(*key_pos, &p);
            return Err(ProfileError::new(
                &o,
                format!(
                    "unknown field `{key}`, expected one of {}",
                    names.join(", ")
                ),
            ));
        };
        if out.insert(field, (value, p.clone())).is_some() {
            let o = dec.origin(*key_pos, &p);
            return Err(ProfileError::new(&o, format!("duplicate field `{field}`")));
        }
    }
    for r in required {
        if !out.contains_key(r) {
            return Err(dec.error(node, path, format!("missing field `{r}`")));
        }
    }
    Ok(out)
}

fn filter(dec: &mut Dec, cat: &Member, arch: Arch) -> Result<Policy, ProfileError> {
    let path = format!("$.{}", cat.key);
    let known = [
        ("mismatch_action", "mismatch_action"),
        ("default_action", "mismatch_action"),
        ("match_action", "match_action"),
        ("filter_action", "match_action"),
        ("filter", "filter"),
    ];
    let f = fields(
        dec,
        &cat.value,
        &path,
        &known,
        &["mismatch_action", "match_action", "filter"],
    )?;
    let get = |k: &str| {
        f.get(k)
            .cloned()
            .ok_or_else(|| dec.error(&cat.value, &path, format!("missing field `{k}`")))
    };
    let ((mn, mp), (an, ap), (rn, rp)) = (
        get("mismatch_action")?,
        get("match_action")?,
        get("filter")?,
    );
    let mismatch = action(dec, mn, &mp)?;
    let matched = action(dec, an, &ap)?;
    if same_action(mn, an) {
        return Err(ProfileError::new(
            &matched.o,
            "mismatch_action and match_action are identical",
        ));
    }
    let mut by_nr: BTreeMap<u32, Entries> = BTreeMap::new();
    for (item, ip) in dec.array(rn, &rp)? {
        let (nr, origin, rules) = rule(dec, item, &ip, arch, matched.v)?;
        let entry = by_nr.entry(nr).or_default();
        match rules {
            Some(r) => {
                entry.conditional.extend(r);
                entry.has_conditional = true;
            }
            None => entry.bare.push(origin),
        }
    }
    let mut rules = BTreeMap::new();
    for (nr, e) in by_nr {
        let (conditional, bare) = (e.conditional, e.bare);
        if !e.has_conditional {
            let origin = bare.first().cloned().unwrap_or_default();
            rules.insert(
                nr,
                vec![Rule {
                    conds: vec![],
                    action: matched.v,
                    origin,
                }],
            );
            continue;
        }
        for o in &bare {
            let name = arch.syscall_name(nr).unwrap_or("?");
            let w = Diagnostic::warning(
                o,
                format!(
                    "{name}: this entry without args is lost: seccompiler keeps only the conditional entries for the syscall"
                ),
            );
            dec.warnings.push(match conditional.first() {
                Some(c) => w.with_related(&c.origin),
                None => w,
            });
        }
        if !conditional.is_empty() {
            rules.insert(nr, conditional);
        }
    }
    let ap = ArchPolicy {
        audit_arch: arch.audit_arch(),
        name: arch.name().to_string(),
        width: arch.width(),
        default: mismatch.v,
        rules,
        ranges: vec![],
        table_max: arch.max_nr(),
    };
    Policy::new(vec![ap], Action::KillProcess)
        .map_err(|e| ProfileError::new(&matched.o, e.to_string()))
}

/// The names seccompiler 0.5.0 resolves on one arch: its tables
/// (`src/syscall_table/*.rs`, generated from Linux 6.12 headers) hold every
/// name of sysfence's table for the arch up to `last`, except `missing`.
/// Names past `last` were added to Linux later (`setxattrat`, 463, ...).
struct SeccompilerNames {
    arch: Arch,
    last: u32,
    missing: &'static [&'static str],
}

/// seccompiler 0.5.0's syscall names, per arch it targets (checked against
/// the crate itself by `crates/compile/tests/seccompiler_names.rs`).
const SECCOMPILER_NAMES: [SeccompilerNames; 3] = [
    SeccompilerNames {
        arch: Arch::X86_64,
        last: 462,
        // x86_64's uprobe (336, Linux 6.11) is not in its table.
        missing: &["uprobe"],
    },
    SeccompilerNames {
        arch: Arch::Aarch64,
        last: 462,
        missing: &[],
    },
    SeccompilerNames {
        arch: Arch::Riscv64,
        last: 462,
        missing: &[],
    },
];

/// Whether seccompiler 0.5.0 resolves `name` (number `nr` in sysfence's
/// table) on `arch`; it refuses the others as invalid syscall names.
fn seccompiler_knows(arch: Arch, name: &str, nr: u32) -> bool {
    SECCOMPILER_NAMES
        .iter()
        .find(|k| k.arch == arch)
        .is_some_and(|k| nr <= k.last && !k.missing.contains(&name))
}

/// The entries of one syscall: conditional rules (possibly none that can
/// match), and the origins of entries without `args`.
#[derive(Default)]
struct Entries {
    conditional: Vec<Rule>,
    has_conditional: bool,
    bare: Vec<Origin>,
}

/// One entry: its number, origin, and its rules (`None` without `args`;
/// `Some(vec![])` when its conditions can never hold).
fn rule(
    dec: &mut Dec,
    node: &Node,
    path: &str,
    arch: Arch,
    act: Action,
) -> Result<(u32, Origin, Option<Vec<Rule>>), ProfileError> {
    let known = [
        ("syscall", "syscall"),
        ("comment", "comment"),
        ("args", "args"),
    ];
    let f = fields(dec, node, path, &known, &["syscall"])?;
    let name = match f.get("syscall") {
        Some((n, p)) => dec.string(n, p)?,
        None => return Err(dec.error(node, path, "missing field `syscall`")),
    };
    comment(dec, &f)?;
    let nr = arch
        .syscall_nr(&name.v)
        .filter(|&nr| seccompiler_knows(arch, &name.v, nr))
        .ok_or_else(|| {
            ProfileError::new(
                &name.o,
                format!("invalid syscall name: {} for given arch: {arch}", name.v),
            )
        })?;
    let Some((an, ap)) = f.get("args").filter(|(n, _)| n.value != Value::Null) else {
        return Ok((nr, name.o, None));
    };
    let conds = dec.array(an, ap)?;
    if conds.is_empty() {
        return Err(dec.error(
            an,
            ap,
            "The condition vector of a rule cannot be empty: seccompiler refuses `args: []` (omit `args` to match the syscall alone)",
        ));
    }
    let mut parsed = Vec::with_capacity(conds.len());
    for (cn, cp) in conds {
        parsed.push(condition(dec, cn, &cp)?);
    }
    let Some(parsed) = parsed.into_iter().collect::<Option<Vec<_>>>() else {
        return Ok((nr, name.o, Some(vec![])));
    };
    let mut alts: Vec<Vec<Cond>> = vec![vec![]];
    for options in parsed {
        alts = alts
            .iter()
            .flat_map(|a| options.iter().map(move |o| [a.clone(), o.clone()].concat()))
            .collect();
        if alts.len() > 4096 {
            return Err(ProfileError::new(
                &name.o,
                "this entry needs more than 4096 exact rules",
            ));
        }
    }
    let rules = alts
        .into_iter()
        .map(|conds| Rule {
            conds,
            action: act,
            origin: name.o.clone(),
        })
        .collect();
    Ok((nr, name.o, Some(rules)))
}

/// A condition as alternatives of IR conditions; `None` when it can never hold.
fn condition(
    dec: &mut Dec,
    node: &Node,
    path: &str,
) -> Result<Option<Vec<Vec<Cond>>>, ProfileError> {
    let known = [
        ("index", "index"),
        ("type", "type"),
        ("op", "op"),
        ("val", "val"),
        ("comment", "comment"),
    ];
    let f = fields(dec, node, path, &known, &["index", "type", "op", "val"])?;
    let field = |k: &str| {
        f.get(k)
            .ok_or_else(|| dec.error(node, path, format!("missing field `{k}`")))
    };
    let (n, p) = field("index")?;
    let index = dec.uint(n, p)?;
    let arg = u8::try_from(index.v)
        .ok()
        .and_then(ArgIndex::new)
        .ok_or_else(|| {
            ProfileError::new(
                &index.o,
                format!("argument index {} is out of range (0-5)", index.v),
            )
        })?;
    let (n, p) = field("type")?;
    let Some(ty) = unit_variant(n) else {
        return Err(dec.error(n, p, "expected `dword` or `qword`"));
    };
    let dword = match ty {
        "dword" => true,
        "qword" => false,
        other => {
            return Err(dec.error(
                n,
                p,
                format!("unknown variant `{other}`, expected `dword` or `qword`"),
            ));
        }
    };
    let (n, p) = field("val")?;
    let val = dec.uint(n, p)?;
    let (on, op_path) = field("op")?;
    let (op, mask) = operator(dec, on, op_path)?;
    comment(dec, &f)?;
    let mut value = val.v;
    let mut mask = mask;
    if dword && (value >> 32 != 0 || mask.is_some_and(|m| m >> 32 != 0)) {
        dec.warnings.push(Diagnostic::warning(
            &val.o,
            format!(
                "dword compares the low 32 bits only; {value:#x} becomes {:#x}",
                value & 0xffff_ffff
            ),
        ));
        value &= 0xffff_ffff;
        mask = mask.map(|m| m & 0xffff_ffff);
    }
    let cond = match mask {
        Some(m) => {
            if value & !m != 0 {
                dec.warnings.push(Diagnostic::note(
                    &val.o,
                    format!(
                        "val {value:#x} has bits outside mask {m:#x}: seccompiler masks it, so the test is (arg & {m:#x}) == {:#x}",
                        value & m
                    ),
                ));
            }
            Cond {
                arg,
                op: CmpOp::MaskedEq,
                value: m,
                value_two: value & m,
                width: ArgWidth::Bits64,
            }
        }
        None => Cond {
            arg,
            op,
            value,
            value_two: 0,
            width: ArgWidth::Bits64,
        },
    };
    let cond = if dword { cond.low_word() } else { cond };
    Ok(Some(vec![vec![cond]]))
}

/// serde's `Option<JsonComment>`: absent or `null`, else a string.
fn comment(dec: &Dec, f: &BTreeMap<&'static str, (&Node, String)>) -> Result<(), ProfileError> {
    match f.get("comment") {
        Some((n, p)) if n.value != Value::Null => dec.string(n, p).map(drop),
        _ => Ok(()),
    }
}

/// The name of a unit enum variant as serde_json takes it: a string, or a
/// map of that one key to `null`.
fn unit_variant(node: &Node) -> Option<&str> {
    match &node.value {
        Value::String(s) => Some(s),
        Value::Object(m) if m.len() == 1 && m[0].value.value == Value::Null => Some(&m[0].key),
        _ => None,
    }
}

/// Whether two decoded actions are equal as seccompiler compares them:
/// the variant and its full 32-bit data, before the data is cut to 16 bits.
fn same_action(a: &Node, b: &Node) -> bool {
    let data = |n: &Node| match &n.value {
        Value::Object(m) if m.len() == 1 && m[0].value.value != Value::Null => {
            let Value::Number(v) = &m[0].value.value else {
                return None;
            };
            Some((m[0].key.clone(), v.parse::<u64>().ok()))
        }
        _ => unit_variant(n).map(|s| (s.to_string(), None)),
    };
    data(a).is_some() && data(a) == data(b)
}

fn operator(dec: &Dec, node: &Node, path: &str) -> Result<(CmpOp, Option<u64>), ProfileError> {
    if let (Some(s), Value::Object(_)) = (unit_variant(node), &node.value) {
        let unit = Node {
            value: Value::String(s.to_string()),
            pos: node.pos,
        };
        return operator(dec, &unit, path);
    }
    match &node.value {
        Value::String(s) => Ok((
            match s.as_str() {
                "eq" => CmpOp::Eq,
                "ne" => CmpOp::Ne,
                "lt" => CmpOp::Lt,
                "le" => CmpOp::Le,
                "gt" => CmpOp::Gt,
                "ge" => CmpOp::Ge,
                other => return Err(dec.error(node, path, format!("unknown operator \"{other}\""))),
            },
            None,
        )),
        Value::Object(m) if m.len() == 1 && m[0].key == "masked_eq" => {
            let mask = dec.uint(&m[0].value, &format!("{path}.masked_eq"))?;
            Ok((CmpOp::MaskedEq, Some(mask.v)))
        }
        _ => Err(dec.error(node, path, "unknown operator: expected \"eq\", \"ne\", \"lt\", \"le\", \"gt\", \"ge\" or {\"masked_eq\": MASK}")),
    }
}

fn action(dec: &mut Dec, node: &Node, path: &str) -> Result<Sp<Action>, ProfileError> {
    let o = dec.origin(node.pos, path);
    if let (Some(s), Value::Object(_)) = (unit_variant(node), &node.value) {
        let unit = Node {
            value: Value::String(s.to_string()),
            pos: node.pos,
        };
        return action(dec, &unit, path);
    }
    let a = match &node.value {
        Value::String(s) => match s.as_str() {
            "allow" => Action::Allow,
            "trap" => Action::Trap(0),
            "kill_thread" => Action::KillThread,
            "kill_process" => Action::KillProcess,
            "log" => Action::Log,
            other => return Err(ProfileError::new(&o, format!("unknown action \"{other}\""))),
        },
        Value::Object(m) if m.len() == 1 && (m[0].key == "errno" || m[0].key == "trace") => {
            let data = dec.uint(&m[0].value, &format!("{path}.{}", m[0].key))?;
            if data.v > u64::from(u32::MAX) {
                return Err(ProfileError::new(
                    &data.o,
                    format!("{} does not fit in 32 bits", data.v),
                ));
            }
            let cut = (data.v & 0xffff) as u16;
            if data.v > 0xffff {
                dec.warnings.push(Diagnostic::warning(
                    &data.o,
                    format!("{} is cut to 16 bits: {cut}", data.v),
                ));
            }
            if m[0].key == "errno" {
                Action::Errno(cut)
            } else {
                Action::Trace(cut)
            }
        }
        _ => {
            return Err(ProfileError::new(
                &o,
                "unknown action: expected a name or {\"errno\": N} / {\"trace\": N}",
            ));
        }
    };
    Ok(Sp { v: a, o })
}
