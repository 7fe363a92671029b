//! Where the runtime's libseccomp enforces something other than the merged
//! tree: GHSA-4q85-33p6-j5g6 before 2.6.1 (a shared high-word node's false
//! action written on its true edge, reachable through `<`/`<=`, through
//! `!=`, and through a node an `==` rule created), found by merging the
//! rules again as those releases do and searching the two results for a
//! call they decide differently.
//!
//! In: the rules added to one syscall, and the rules read back from the
//! correct merge. Out: a call and both outcomes, nothing when the boundary
//! values of the conditions show no difference, or "gave up" past
//! [`MAX_CALLS`] search steps (the caller warns then too: never silent).

use std::collections::BTreeSet;

use crate::eval::boundary_values;
use crate::ir::{ArgWidth, Rule};

/// The most steps (partial calls) the witness search takes.
const MAX_CALLS: usize = 50_000;

/// A call on which two rule lists disagree: its arguments and the rule
/// each list decides it by (`None`: the default action).
pub(super) struct Witness<'a> {
    pub args: [u64; 6],
    pub profile: Option<&'a Rule>,
    pub runtime: Option<&'a Rule>,
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

/// What the first rule of `rules` that can still match decides, with the
/// arguments below `fixed` set: `Some` when that is already known (a rule
/// whose every condition is on a set argument and holds, or no rule left:
/// the default), `None` while a condition on an unset argument decides.
fn decided<'a>(
    rules: &'a [Rule],
    args: &[u64; 6],
    fixed: usize,
    width: ArgWidth,
) -> Option<Option<&'a Rule>> {
    for r in rules {
        let set = |c: &&crate::ir::Cond| c.arg.get() < fixed;
        if r.conds
            .iter()
            .filter(set)
            .any(|c| !c.holds(args[c.arg.get()], width))
        {
            continue;
        }
        return r.conds.iter().all(|c| set(&c)).then_some(Some(r));
    }
    Some(None)
}

/// A call that `a` and `b` decide with different actions, searched one
/// argument at a time over the candidates; a subtree where both lists are
/// already decided is not entered. `Err` when the search gave up after
/// [`MAX_CALLS`] steps.
pub(super) fn witness<'a>(
    profile: &'a [Rule],
    runtime: &'a [Rule],
    width: ArgWidth,
) -> Result<Option<Witness<'a>>, usize> {
    let values = candidates(&[profile, runtime], width);
    let lists = (profile, runtime);
    let mut steps = 0;
    let mut args = [0u64; 6];
    match search(lists, &values, width, (&mut args, 0), &mut steps) {
        Some(found) => Ok(found),
        None => Err(MAX_CALLS),
    }
}

/// One level of [`witness`]'s search; `None` when out of steps.
fn search<'a>(
    (profile, runtime): (&'a [Rule], &'a [Rule]),
    values: &[Vec<u64>; 6],
    width: ArgWidth,
    (args, fixed): (&mut [u64; 6], usize),
    steps: &mut usize,
) -> Option<Option<Witness<'a>>> {
    *steps += 1;
    if *steps > MAX_CALLS {
        return None;
    }
    let both = (
        decided(profile, args, fixed, width),
        decided(runtime, args, fixed, width),
    );
    if let (Some(p), Some(r)) = both {
        let differ = p.map(|r| r.action) != r.map(|r| r.action);
        return Some(differ.then_some(Witness {
            args: *args,
            profile: p,
            runtime: r,
        }));
    }
    for &v in &values[fixed] {
        args[fixed] = v;
        let found = search((profile, runtime), values, width, (args, fixed + 1), steps)?;
        if found.is_some() {
            return Some(found);
        }
    }
    args[fixed] = 0;
    Some(None)
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
