//! `sysfence diff A B [--json]`: every region of the input space where two
//! filters return different values.
//!
//! A region bounds some words (arch, nr, argument words, instruction
//! pointer): a range per word (regions that touch are merged, see
//! [`sysfence_exact::diff::areas`]), or `value/mask` where a `jset` or masked
//! test fixed bits that are not a prefix. Each region comes with both values
//! and one input (each word's smallest value), replayed through the
//! interpreter or evaluator. Exit status: 0
//! no difference, 1 differences (listed or past `--limit`), 2 bad input or
//! over the budget.

use std::fmt::Write;

use sysfence_exact::diff::{Area, Word, areas};
use sysfence_exact::store::{SLOT_OFFSETS, Store};
use sysfence_exact::witness::{Named, data_of, replay};

use crate::cmd::equiv::{Pair, action};
use crate::failure::{Failure, Outcome};

/// Arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pair: Pair,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// At most this many regions.
    #[arg(long, default_value_t = 1000)]
    limit: usize,
}

/// Runs the verb.
pub fn run(args: Args) -> Outcome {
    let (a, b) = args.pair.read()?;
    let mut s = Store::new(args.pair.budget);
    let (x, y) = sysfence_exact::compare::diagrams(&mut s, &a, &b).map_err(Failure::input)?;
    let (list, cut) = areas(&s, x, y, args.limit);
    let mut out = String::new();
    let mut json = Vec::new();
    for r in &list {
        let w = replay(&a, &b, data_of(&r.sample()), (r.a, r.b)).map_err(Failure::input)?;
        if args.json {
            json.push(region_json(r, &Named(&w.data).to_string()));
        } else {
            let _ = writeln!(
                out,
                "{}: A {} / B {}\n  e.g. {}",
                describe(r),
                shown(r.a, r.b),
                shown(r.b, r.a),
                Named(&w.data)
            );
        }
    }
    if args.json {
        out = format!("{{\"regions\":[{}],\"truncated\":{cut}}}\n", json.join(","));
    } else if cut {
        out.push_str("(truncated; raise --limit)\n");
    } else if list.is_empty() {
        out.push_str("no difference\n");
    }
    print!("{out}");
    // `cut` means a region past the limit: a difference, even with none listed.
    Ok(u8::from(!list.is_empty() || cut))
}

/// The word names by slot.
fn word_name(slot: usize) -> String {
    match SLOT_OFFSETS[slot] {
        0 => "nr".into(),
        4 => "arch".into(),
        8 | 12 => format!("ip@{}", SLOT_OFFSETS[slot]),
        off => format!("args[{}]@{}", (off - 16) / 8, off),
    }
}

fn word_text(w: &Word) -> String {
    match *w {
        Word::Range(lo, hi) if lo == hi => format!("{lo:#x}"),
        Word::Range(lo, hi) => format!("{lo:#x}..={hi:#x}"),
        Word::Bits(b) => format!("{:#x}/{:#x}", b.value, b.mask),
    }
}

/// The action of the raw value `raw`, with the value itself when the
/// other side's action has the same name (two KILL_THREAD values that
/// differ in their data bits).
fn shown(raw: u32, other: u32) -> String {
    let name = action(raw).to_string();
    if name == action(other).to_string() {
        format!("{name} ({raw:#010x})")
    } else {
        name
    }
}

fn describe(r: &Area) -> String {
    let parts: Vec<String> = r
        .words
        .iter()
        .enumerate()
        .filter(|(_, w)| !w.is_any())
        .map(|(slot, w)| format!("{}={}", word_name(slot), word_text(w)))
        .collect();
    if parts.is_empty() {
        "everywhere".into()
    } else {
        parts.join(" ")
    }
}

/// A range is `min`/`max`, fixed bits `value`/`mask`.
fn region_json(r: &Area, example: &str) -> String {
    let words: Vec<String> = r
        .words
        .iter()
        .enumerate()
        .filter(|(_, w)| !w.is_any())
        .map(|(slot, w)| match *w {
            Word::Range(lo, hi) => format!(
                "{{\"word\":\"{}\",\"min\":{lo},\"max\":{hi}}}",
                word_name(slot)
            ),
            Word::Bits(b) => format!(
                "{{\"word\":\"{}\",\"value\":{},\"mask\":{}}}",
                word_name(slot),
                b.value,
                b.mask
            ),
        })
        .collect();
    format!(
        "{{\"where\":[{}],\"a\":{},\"b\":{},\"a_action\":\"{}\",\"b_action\":\"{}\",\"example\":\"{}\"}}",
        words.join(","),
        r.a,
        r.b,
        action(r.a),
        action(r.b),
        example
    )
}
