//! Where the runtime's libseccomp enforces something other than the merged
//! tree: GHSA-4q85-33p6-j5g6 before 2.6.1 (a shared high-word node's false
//! action written on its true edge, reachable through `<`/`<=`, through
//! `!=`, and through a node an `==` rule created), found by merging the
//! rules again as those releases do and searching the two results for a
//! call they decide differently.
//!
//! In: the rules added to one syscall, and the rules read back from the
//! correct merge. Out: a call and both outcomes, or nothing when the
//! boundary values of the conditions show no difference (the search tries
//! at most [`MAX_CALLS`] calls).

use std::collections::BTreeSet;

use crate::eval::boundary_values;
use crate::ir::{ArgWidth, Rule};

/// The most calls the witness search tries.
const MAX_CALLS: usize = 50_000;

/// A call on which two rule lists disagree: its arguments and the rule
/// each list decides it by (`None`: the default action).
pub(super) struct Witness<'a> {
    pub args: [u64; 6],
    pub profile: Option<&'a Rule>,
    pub runtime: Option<&'a Rule>,
}

fn first<'a>(rules: &'a [Rule], args: &[u64; 6], width: ArgWidth) -> Option<&'a Rule> {
    rules
        .iter()
        .find(|r| r.conds.iter().all(|c| c.holds(args[c.arg.get()], width)))
}

/// Per argument, the values around every condition on it (0 when none).
fn candidates(rules: &[&[Rule]], width: ArgWidth) -> [Vec<u64>; 6] {
    let mut sets: [BTreeSet<u64>; 6] = Default::default();
    for list in rules {
        for c in list.iter().flat_map(|r| &r.conds) {
            sets[c.arg.get()].extend(boundary_values(c, width));
        }
    }
    sets.map(|s| {
        if s.is_empty() {
            vec![0]
        } else {
            s.into_iter().collect()
        }
    })
}

/// The first call (in odometer order over the candidates) that `a` and
/// `b` decide with different actions.
pub(super) fn witness<'a>(
    profile: &'a [Rule],
    runtime: &'a [Rule],
    width: ArgWidth,
) -> Option<Witness<'a>> {
    let values = candidates(&[profile, runtime], width);
    let mut pos = [0usize; 6];
    for _ in 0..MAX_CALLS {
        let args: [u64; 6] = std::array::from_fn(|i| values[i][pos[i]]);
        let (p, r) = (first(profile, &args, width), first(runtime, &args, width));
        if p.map(|r| r.action) != r.map(|r| r.action) {
            return Some(Witness {
                args,
                profile: p,
                runtime: r,
            });
        }
        let i = (0..6).find(|&i| pos[i] + 1 < values[i].len())?;
        pos[i] += 1;
        pos[..i].fill(0);
    }
    None
}

/// `args (0x5, 0x0, 0x0, 0x0, 0x0, 0x0)`.
pub(super) fn show_args(args: &[u64; 6]) -> String {
    let all: Vec<String> = args.iter().map(|a| format!("{a:#x}")).collect();
    format!("args ({})", all.join(", "))
}

/// An outcome in words.
pub(super) fn outcome(rule: Option<&Rule>) -> String {
    rule.map_or_else(|| "the default action".into(), |r| r.action.to_string())
}
