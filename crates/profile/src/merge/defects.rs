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
//! [`MAX_CALLS`] search steps or [`MAX_WORK`] rule visits (the caller warns
//! then too: never silent).

use std::collections::{BTreeSet, HashSet};

use crate::eval::boundary_values;
use crate::ir::{ArgWidth, Rule};

/// The most steps (partial calls) the witness search takes.
const MAX_CALLS: usize = 200_000;

/// The most rule visits the search makes (a step visits every rule of
/// both lists once and keeps one flag per rule): time and memory bound.
const MAX_WORK: usize = 20_000_000;

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

/// Which rules of both lists (the profile's, then the runtime's) can still
/// match: every condition on an argument set so far holds.
type Alive = Vec<bool>;

/// [`witness`]'s depth-first search over the arguments in index order.
struct Search<'a> {
    lists: [&'a [Rule]; 2],
    values: [Vec<u64>; 6],
    width: ArgWidth,
    args: [u64; 6],
    steps: usize,
    limit: usize,
    /// `(fixed, alive)` states already searched without a witness.
    seen: HashSet<(usize, Alive)>,
}

impl<'a> Search<'a> {
    /// What list `l` can still decide with the arguments below `fixed`
    /// set: every live rule up to the first whose conditions are all on
    /// set arguments, or the default (`None`) after them.
    fn possible(&self, l: usize, alive: &[bool], fixed: usize) -> Vec<Option<&'a Rule>> {
        let offset = if l == 0 { 0 } else { self.lists[0].len() };
        let mut out = Vec::new();
        for (i, r) in self.lists[l].iter().enumerate() {
            if !alive[offset + i] {
                continue;
            }
            out.push(Some(r));
            if r.conds.iter().all(|c| c.arg.get() < fixed) {
                return out;
            }
        }
        out.push(None);
        out
    }

    /// `alive` with the rules a condition on argument `fixed` rules out at
    /// value `v`.
    fn after(&self, alive: &[bool], fixed: usize, v: u64) -> Alive {
        let rules = self.lists[0].iter().chain(self.lists[1]);
        rules
            .zip(alive)
            .map(|(r, &live)| {
                live && r
                    .conds
                    .iter()
                    .filter(|c| c.arg.get() == fixed)
                    .all(|c| c.holds(v, self.width))
            })
            .collect()
    }

    /// One level; `None` when out of steps.
    fn run(&mut self, alive: Alive, fixed: usize) -> Option<Option<Witness<'a>>> {
        self.steps += 1;
        if self.steps > self.limit {
            return None;
        }
        let (p, r) = (
            self.possible(0, &alive, fixed),
            self.possible(1, &alive, fixed),
        );
        if let (Some(a), Some(b)) = (single(&p), single(&r))
            && (a == b || p.len() == 1 && r.len() == 1)
        {
            return Some((a != b).then_some(Witness {
                args: self.args,
                profile: p[0],
                runtime: r[0],
            }));
        }
        if !self.seen.insert((fixed, alive.clone())) {
            return Some(None);
        }
        let mut tried = HashSet::new();
        for v in self.values[fixed].clone() {
            let next = self.after(&alive, fixed, v);
            if !tried.insert(next.clone()) {
                continue;
            }
            self.args[fixed] = v;
            if let found @ Some(_) = self.run(next, fixed + 1)? {
                return Some(found);
            }
        }
        self.args[fixed] = 0;
        Some(None)
    }
}

/// The outcome every entry of a `possible` list shares, if they share one.
fn single(possible: &[Option<&Rule>]) -> Option<Option<crate::ir::Action>> {
    let first = possible.first()?.map(|r| r.action);
    possible
        .iter()
        .all(|p| p.map(|r| r.action) == first)
        .then_some(first)
}

/// A call that `profile` and `runtime` decide with different actions,
/// searched one argument at a time over the candidates. Values of an
/// argument that leave the same rules alive are tried once, a state met
/// before is not searched again, and a state where both lists can only
/// reach one and the same outcome is not entered. `Err` when the search
/// gave up after the steps it returns ([`MAX_CALLS`], fewer for long
/// rule lists: [`MAX_WORK`]).
pub(super) fn witness<'a>(
    profile: &'a [Rule],
    runtime: &'a [Rule],
    width: ArgWidth,
) -> Result<Option<Witness<'a>>, usize> {
    let mut search = Search {
        lists: [profile, runtime],
        values: candidates(&[profile, runtime], width),
        width,
        args: [0; 6],
        steps: 0,
        limit: MAX_CALLS.min(MAX_WORK / (profile.len() + runtime.len()).max(1)),
        seen: HashSet::new(),
    };
    let alive = vec![true; profile.len() + runtime.len()];
    search.run(alive, 0).ok_or(search.limit)
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
