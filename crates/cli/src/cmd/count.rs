//! `sysfence count FILTER [--arch A]... [SYSCALL...] [--json]`: exactly how
//! much of the input space each action gets, per arch and per syscall.
//!
//! In: any operand `equiv` takes (profile with the context flags, raw or
//! assembly program, `pid:N`). Out: per arch, the share of every input
//! (number and arguments) per action; how many syscalls of its table get
//! one action whatever the arguments; and for each syscall whose action
//! depends on its arguments (or each one named), the share of its argument
//! space per action and the arguments it depends on ("write: ALLOW 62.50 %
//! of args\[0\] values"). Counts are exact (`sysfence_exact::count`); `--json`
//! also gives each count over the words the result reads, as a decimal
//! integer, where it fits in 128 bits.
//!
//! Default arches: those the filter handles other than as foreign arches;
//! a filter that handles none (it never tests the arch) needs `--arch`.
//! Exit status: 0; 2 bad input (an unknown syscall name, no arch to count)
//! or over the budget.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::Arc;

use serde_json::{Value, json};
use sysfence_exact::compare::DEFAULT_BUDGET;
use sysfence_exact::count::{ARG_BITS, Count, SyscallCount, per_arch, syscalls};
use sysfence_exact::decompile::handled_arches;
use sysfence_exact::store::{Node, SLOT_OFFSETS, Store};
use sysfence_profile::arch::Arch;

use crate::cmd::context::ContextArgs;
use crate::cmd::equiv::action;
use crate::failure::{Failure, Outcome};

/// Arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The filter: profile, program file or `pid:N`.
    filter: String,
    /// Syscalls to report whatever they depend on (default: those whose
    /// action depends on their arguments).
    syscalls: Vec<String>,
    /// Count this arch (repeatable; default: every arch the filter handles).
    #[arg(long)]
    arch: Vec<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// Node budget of the decision diagram.
    #[arg(long, default_value_t = DEFAULT_BUDGET, value_parser = crate::cmd::equiv::budget)]
    budget: usize,
    #[command(flatten)]
    context: ContextArgs,
}

/// Runs the verb.
pub fn run(args: Args) -> Outcome {
    let subject = crate::operand::read(&args.filter, &args.context)?;
    let mut s = Store::new(args.budget);
    let root = subject.diagram(&mut s).map_err(Failure::input)?;
    let arches = if args.arch.is_empty() {
        default_arches(&s, root, &args.filter)?
    } else {
        let parse = |a: &String| Arch::parse(a).map_err(|e| Failure::input(format!("--arch: {e}")));
        args.arch.iter().map(parse).collect::<Result<_, _>>()?
    };
    let mut text = String::new();
    let mut out = Vec::new();
    for arch in arches {
        let totals = per_arch(&mut s, root, arch).map_err(Failure::input)?;
        let list = syscalls(&mut s, root, arch).map_err(Failure::input)?;
        for name in &args.syscalls {
            if arch.syscall_nr(name).is_none() {
                return Err(Failure::input(format!("{arch} has no syscall \"{name}\"")));
            }
        }
        let shown: Vec<&SyscallCount> = list
            .iter()
            .filter(|c| {
                if args.syscalls.is_empty() {
                    !c.slots.is_empty()
                } else {
                    args.syscalls.iter().any(|n| n == c.name)
                }
            })
            .collect();
        if !args.json {
            text.push_str(&arch_text(arch, &totals, &list, &shown));
            continue;
        }
        let (listed, more) = shares_json(&totals, ARG_BITS + 32, |l| {
            let f = totals[&l].fraction(ARG_BITS + 32);
            json!({"action": action(l).to_string(), "raw": l, "fraction": f})
        });
        out.push(json!({
            "arch": arch.name(),
            "totals": listed,
            "totals_more": more,
            "syscalls": shown.iter().map(|c| syscall_json(c)).collect::<Vec<_>>(),
        }));
    }
    if args.json {
        println!("{:#}", json!({ "arches": out }));
    } else {
        print!("{text}");
    }
    Ok(0)
}

/// The arches the filter handles other than as foreign ones. None (a
/// filter that never tests the arch, or handles only arches without a
/// syscall table) is an error: there is no table to name syscalls by, so
/// the arches must be named with `--arch`.
fn default_arches(s: &Store, root: Node, filter: &str) -> Result<Vec<Arch>, Failure> {
    let arches = handled_arches(s, root);
    if arches.is_empty() {
        return Err(Failure::input(format!(
            "{filter}: handles no arch apart from foreign ones (it does not test the arch, \
             or tests only arches without a syscall table): name the arches to count with --arch"
        )));
    }
    Ok(arches)
}

/// A share as a percentage, with enough digits to tell it from 0 and
/// 100 %; `rest` is the share of every other action (summed from their
/// own counts, so a share a hair below 1 is not rounded to 100 %).
fn percent(f: f64, rest: f64) -> String {
    match (f, rest) {
        (_, 0.0) => "100 %".into(),
        (0.0, _) => "0 %".into(),
        (f, _) if (0.0001..=0.9999).contains(&f) => format!("{:.2} %", f * 100.0),
        (f, _) if f < 0.5 => format!("{:.3e} %", f * 100.0),
        (_, rest) => format!("100 % - {:.3e} %", rest * 100.0),
    }
}

/// Return values listed on one line of text; the others are summed into
/// one "N more values" part, so a `ret a` of many values stays one line.
const SHOWN_TEXT: usize = 16;

/// Return values listed in one JSON list; the others are summed into one
/// `more` object.
const SHOWN_JSON: usize = 256;

/// The leaves largest share first (ties by value), each with its share and
/// the summed share of every other leaf (prefix plus suffix sums, so no
/// share is found by subtracting from 1).
fn ranked(leaves: &BTreeMap<u32, Count>, bits: u32) -> Vec<(u32, f64, f64)> {
    let mut v: Vec<(u32, f64)> = leaves.iter().map(|(&l, c)| (l, c.fraction(bits))).collect();
    v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut suffix = vec![0.0; v.len() + 1];
    for i in (0..v.len()).rev() {
        suffix[i] = suffix[i + 1] + v[i].1;
    }
    let mut prefix = 0.0;
    v.iter()
        .enumerate()
        .map(|(i, &(l, f))| {
            let rest = prefix + suffix[i + 1];
            prefix += f;
            (l, f, rest)
        })
        .collect()
}

/// `ACTION share, ...`, largest share first, at most [`SHOWN_TEXT`] of
/// them.
fn shares_text(leaves: &BTreeMap<u32, Count>, bits: u32) -> String {
    let v = ranked(leaves, bits);
    let mut parts: Vec<String> = v
        .iter()
        .take(SHOWN_TEXT)
        .map(|&(l, f, rest)| format!("{} {}", action(l), percent(f, rest)))
        .collect();
    if v.len() > SHOWN_TEXT {
        let more: f64 = v[SHOWN_TEXT..].iter().map(|x| x.1).sum();
        let listed: f64 = v[..SHOWN_TEXT].iter().map(|x| x.1).sum();
        parts.push(format!(
            "{} more values {}",
            v.len() - SHOWN_TEXT,
            percent(more, listed)
        ));
    }
    parts.join(", ")
}

/// The leaves as JSON objects (largest share first), at most
/// [`SHOWN_JSON`], and what the others sum to (`null` when none is left
/// out).
fn shares_json(
    leaves: &BTreeMap<u32, Count>,
    bits: u32,
    item: impl Fn(u32) -> Value,
) -> (Vec<Value>, Value) {
    let v = ranked(leaves, bits);
    let shown = v
        .iter()
        .take(SHOWN_JSON)
        .map(|&(l, _, _)| item(l))
        .collect();
    let more = match v.get(SHOWN_JSON..) {
        Some(rest) if !rest.is_empty() => {
            let fraction: f64 = rest.iter().map(|x| x.1).sum();
            json!({"values": rest.len(), "fraction": fraction})
        }
        _ => Value::Null,
    };
    (shown, more)
}

/// The argument names of the words a result reads.
fn depends_on(slots: &[usize]) -> Vec<String> {
    let mut names: Vec<String> = slots
        .iter()
        .map(|&slot| match SLOT_OFFSETS[slot] {
            8 | 12 => "instruction_pointer".to_string(),
            off => format!("args[{}]", (off - 16) / 8),
        })
        .collect();
    names.dedup();
    names
}

fn arch_text(
    arch: Arch,
    totals: &BTreeMap<u32, Count>,
    all: &[SyscallCount],
    shown: &[&SyscallCount],
) -> String {
    let mut constant: BTreeMap<u32, usize> = BTreeMap::new();
    let mut varying = 0;
    for c in all {
        match (c.slots.is_empty(), c.leaves.keys().next()) {
            (true, Some(&l)) => *constant.entry(l).or_default() += 1,
            _ => varying += 1,
        }
    }
    let mut parts: Vec<String> = constant
        .iter()
        .map(|(&l, n)| format!("{n} always {}", action(l)))
        .collect();
    if varying > 0 {
        parts.push(format!("{varying} depend on arguments"));
    }
    let mut out = format!(
        "{arch}: {} syscalls: {}\n  every number and argument: {}\n",
        all.len(),
        parts.join(", "),
        shares_text(totals, ARG_BITS + 32)
    );
    // Numbers the filter treats alike share their counts: rank them once.
    let mut texts: HashMap<*const BTreeMap<u32, Count>, String> = HashMap::new();
    for c in shown {
        let of = match depends_on(&c.slots) {
            d if d.is_empty() => "of every argument value".to_string(),
            d => format!("of {} values", d.join(", ")),
        };
        let shares = texts
            .entry(Arc::as_ptr(&c.leaves))
            .or_insert_with(|| shares_text(&c.leaves, ARG_BITS));
        let _ = writeln!(out, "  {} ({}): {shares} {of}", c.name, c.nr);
    }
    out
}

fn syscall_json(c: &SyscallCount) -> Value {
    let (actions, more) = shares_json(&c.leaves, ARG_BITS, |l| {
        let (exact, bits) = c.over_support(l);
        json!({
            "action": action(l).to_string(),
            "raw": l,
            "fraction": c.leaves[&l].fraction(ARG_BITS),
            "count": exact.map(|e| e.to_string()),
            "of_bits": bits,
        })
    });
    json!({
        "name": c.name,
        "nr": c.nr,
        "depends_on": depends_on(&c.slots),
        "actions": actions,
        "actions_more": more,
    })
}
