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

use std::collections::BTreeMap;
use std::fmt::Write as _;

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
    #[arg(long, default_value_t = DEFAULT_BUDGET)]
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
        text.push_str(&arch_text(arch, &totals, &list, &shown));
        out.push(json!({
            "arch": arch.name(),
            "totals": shares_json(&totals, ARG_BITS + 32),
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

/// `ACTION share, ...`, largest share first.
fn shares_text(leaves: &BTreeMap<u32, Count>, bits: u32) -> String {
    let mut v: Vec<(u32, f64)> = leaves.iter().map(|(&l, c)| (l, c.fraction(bits))).collect();
    v.sort_by(|a, b| b.1.total_cmp(&a.1));
    let parts: Vec<String> = v
        .iter()
        .map(|&(l, f)| {
            let rest: f64 = v.iter().filter(|o| o.0 != l).map(|o| o.1).sum();
            format!("{} {}", action(l), percent(f, rest))
        })
        .collect();
    parts.join(", ")
}

fn shares_json(leaves: &BTreeMap<u32, Count>, bits: u32) -> Value {
    leaves
        .iter()
        .map(|(&l, c)| json!({"action": action(l).to_string(), "raw": l, "fraction": c.fraction(bits)}))
        .collect()
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
    for c in shown {
        let of = match depends_on(&c.slots) {
            d if d.is_empty() => "of every argument value".to_string(),
            d => format!("of {} values", d.join(", ")),
        };
        let _ = writeln!(
            out,
            "  {} ({}): {} {of}",
            c.name,
            c.nr,
            shares_text(&c.leaves, ARG_BITS)
        );
    }
    out
}

fn syscall_json(c: &SyscallCount) -> Value {
    let actions: Vec<Value> = c
        .leaves
        .iter()
        .map(|(&l, n)| {
            let (exact, bits) = c.over_support(l);
            json!({
                "action": action(l).to_string(),
                "raw": l,
                "fraction": n.fraction(ARG_BITS),
                "count": exact.map(|e| e.to_string()),
                "of_bits": bits,
            })
        })
        .collect();
    json!({"name": c.name, "nr": c.nr, "depends_on": depends_on(&c.slots), "actions": actions})
}
