//! What a libseccomp tree means, as first-match IR rules.
//!
//! libseccomp's code generator evaluates a level by trying its nodes in
//! order: an outcome that leads to a subtree enters it, one that leads to
//! an action returns it, and anything else — including a subtree that
//! matched nothing — moves on to the next node, then to the parent's next
//! node, then to the default action (libseccomp's `src/gen_bpf.c`). That is
//! a first match over the tree's root-to-action paths in depth-first
//! order, each path the conjunction of the outcomes on it.
//!
//! Each path's word outcomes give every argument a set: an interval of
//! high words, one of low words, points excluded, bits masked. Those sets
//! are turned back into 64-bit (or, on 32-bit arches, low-word)
//! comparisons; neighbouring paths of the same rule are joined again, and
//! a path whose sets equal its rule's own conditions is written as that
//! rule, so an ordinary profile reads back unchanged.

use super::tree::{Leaf, NodeId, Tree, WordOp};
use crate::ir::{ArgIndex, ArgWidth, CmpOp, Cond, Rule};

/// The tree holds a shape this reading cannot write as comparisons, or
/// is too large.
#[derive(Debug)]
pub(super) struct Beyond;

/// Limits on the walk: depth of nested levels and number of paths.
const MAX_DEPTH: usize = 64;
const MAX_PATHS: usize = 1 << 16;

/// The outcomes on one 32-bit word of an argument.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Word {
    min: u32,
    max: u32,
    not: Vec<u32>,
    mask: u32,
    datum: u32,
}

impl Default for Word {
    fn default() -> Self {
        Word {
            min: 0,
            max: u32::MAX,
            not: Vec::new(),
            mask: 0,
            datum: 0,
        }
    }
}

impl Word {
    /// Adds an outcome; `false` when no value satisfies them all.
    fn add(&mut self, op: WordOp, mask: u32, datum: u32, holds: bool) -> Result<bool, Beyond> {
        match (op, holds) {
            (WordOp::Eq, true) => {
                self.min = self.min.max(datum);
                self.max = self.max.min(datum);
            }
            (WordOp::Eq, false) => self.not.push(datum),
            (WordOp::Gt, true) => match datum.checked_add(1) {
                Some(d) => self.min = self.min.max(d),
                None => return Ok(false),
            },
            (WordOp::Gt, false) => self.max = self.max.min(datum),
            (WordOp::Ge, true) => self.min = self.min.max(datum),
            (WordOp::Ge, false) => match datum.checked_sub(1) {
                Some(d) => self.max = self.max.min(d),
                None => return Ok(false),
            },
            (WordOp::Masked, true) => {
                if (self.datum ^ datum) & self.mask & mask != 0 {
                    return Ok(false);
                }
                self.mask |= mask;
                self.datum |= datum & mask;
            }
            (WordOp::Masked, false) => return Err(Beyond),
        }
        Ok(self.min <= self.max)
    }

    /// The allowed values as disjoint intervals, and the mask still to
    /// test (none once the value is a single point).
    fn intervals(&self) -> (Vec<(u32, u32)>, u32, u32) {
        let mut not: Vec<u32> = self
            .not
            .iter()
            .copied()
            .filter(|&p| (self.min..=self.max).contains(&p))
            .collect();
        not.sort_unstable();
        not.dedup();
        let mut out = Vec::new();
        let mut from = Some(self.min);
        for p in not {
            if let Some(f) = from
                && p > f
            {
                out.push((f, p - 1));
            }
            from = p.checked_add(1).filter(|&n| n <= self.max);
        }
        if let Some(f) = from {
            out.push((f, self.max));
        }
        match out[..] {
            [(a, b)] if a == b && a & self.mask == self.datum => (out, 0, 0),
            [(a, b)] if a == b => (Vec::new(), 0, 0),
            _ => (out, self.mask, self.datum),
        }
    }
}

/// The values one argument may take on a path or in a rule.
#[derive(Clone, Debug, PartialEq, Eq)]
struct ArgSet {
    ranges: Vec<(u64, u64)>,
    mask: u64,
    datum: u64,
}

fn top(width: ArgWidth) -> u64 {
    match width {
        ArgWidth::Bits64 => u64::MAX,
        ArgWidth::Bits32 => u64::from(u32::MAX),
    }
}

impl ArgSet {
    fn full(width: ArgWidth) -> ArgSet {
        ArgSet {
            ranges: vec![(0, top(width))],
            mask: 0,
            datum: 0,
        }
    }

    /// Sorted, joined where adjacent.
    fn tidy(mut self) -> ArgSet {
        self.ranges.sort_unstable();
        let mut out: Vec<(u64, u64)> = Vec::new();
        for (a, b) in self.ranges {
            match out.last_mut() {
                Some(last) if a <= last.1.saturating_add(1) => last.1 = last.1.max(b),
                _ => out.push((a, b)),
            }
        }
        self.ranges = out;
        self
    }

    /// The set of one normalized IR condition.
    fn of_cond(c: &Cond, width: ArgWidth) -> ArgSet {
        let t = top(width);
        let v = c.value;
        let ranges = match c.op {
            CmpOp::Eq => vec![(v, v)],
            CmpOp::Ne => [(v > 0).then(|| (0, v - 1)), (v < t).then(|| (v + 1, t))]
                .into_iter()
                .flatten()
                .collect(),
            CmpOp::Lt => (v > 0).then(|| (0, v - 1)).into_iter().collect(),
            CmpOp::Le => vec![(0, v)],
            CmpOp::Gt => (v < t).then(|| (v + 1, t)).into_iter().collect(),
            CmpOp::Ge => vec![(v, t)],
            CmpOp::MaskedEq => {
                return ArgSet {
                    ranges: vec![(0, t)],
                    mask: v,
                    datum: c.value_two,
                };
            }
            // Never merged: `SysDb::add` refuses it.
            CmpOp::MaskedAny => return ArgSet::full(width),
        };
        ArgSet {
            ranges,
            mask: 0,
            datum: 0,
        }
    }

    /// The set of a path's two words.
    fn of_words(hi: &Word, lo: &Word, width: ArgWidth) -> Result<Option<ArgSet>, Beyond> {
        let (lo_iv, lo_mask, lo_datum) = lo.intervals();
        if width == ArgWidth::Bits32 {
            if *hi != Word::default() {
                return Err(Beyond);
            }
            if lo_iv.is_empty() {
                return Ok(None);
            }
            let ranges = lo_iv.iter().map(|&(a, b)| (a.into(), b.into())).collect();
            return Ok(Some(ArgSet {
                ranges,
                mask: lo_mask.into(),
                datum: lo_datum.into(),
            }));
        }
        let (hi_iv, hi_mask, hi_datum) = hi.intervals();
        let join = |h: u32, l: u32| u64::from(h) << 32 | u64::from(l);
        let ranges: Vec<(u64, u64)> = if lo_iv == [(0, u32::MAX)] {
            hi_iv
                .iter()
                .map(|&(a, b)| (join(a, 0), join(b, u32::MAX)))
                .collect()
        } else if let [(h, h2)] = hi_iv[..]
            && h == h2
        {
            lo_iv
                .iter()
                .map(|&(a, b)| (join(h, a), join(h, b)))
                .collect()
        } else if hi_iv.is_empty() || lo_iv.is_empty() {
            Vec::new()
        } else {
            return Err(Beyond);
        };
        if ranges.is_empty() {
            return Ok(None);
        }
        Ok(Some(ArgSet {
            ranges,
            mask: join(hi_mask, lo_mask),
            datum: join(hi_datum, lo_datum),
        }))
    }

    /// The set as conditions: each alternative a conjunction.
    fn conds(&self, arg: ArgIndex, width: ArgWidth) -> Vec<Vec<Cond>> {
        let t = top(width);
        let cond = |op, value| Cond {
            arg,
            op,
            value,
            value_two: 0,
            width: ArgWidth::Bits64,
        };
        let bounds = |a: u64, b: u64| -> Vec<Cond> {
            if a == b {
                return vec![cond(CmpOp::Eq, a)];
            }
            let mut v = Vec::new();
            if a > 0 {
                v.push(cond(CmpOp::Ge, a));
            }
            if b < t {
                v.push(cond(CmpOp::Le, b));
            }
            v
        };
        let r = &self.ranges;
        let points = r.windows(2).all(|w| w[1].0 == w[0].1 + 2);
        let mut alts: Vec<Vec<Cond>> = if r.len() > 1 && points {
            let mut v = bounds(r[0].0, r[r.len() - 1].1);
            v.extend(r.windows(2).map(|w| cond(CmpOp::Ne, w[0].1 + 1)));
            vec![v]
        } else {
            r.iter().map(|&(a, b)| bounds(a, b)).collect()
        };
        if self.mask != 0 {
            for a in &mut alts {
                a.push(Cond {
                    arg,
                    op: CmpOp::MaskedEq,
                    value: self.mask,
                    value_two: self.datum,
                    width: ArgWidth::Bits64,
                });
            }
        }
        alts
    }
}

/// One path: a set per argument (`None`: any value) and its action.
#[derive(Clone, Debug)]
struct Path {
    args: [Option<ArgSet>; 6],
    leaf: Leaf,
}

/// The outcomes gathered so far on the way down.
#[derive(Clone, Default)]
struct Trail {
    words: [[Word; 2]; 6],
}

struct Walker<'a> {
    tree: &'a Tree,
    width: ArgWidth,
    out: Vec<Path>,
    steps: usize,
}

impl Walker<'_> {
    fn level(&mut self, start: NodeId, trail: &Trail, depth: usize) -> Result<(), Beyond> {
        if depth > MAX_DEPTH {
            return Err(Beyond);
        }
        let mut cur = Some(self.tree.head(start));
        while let Some(id) = cur {
            self.steps += 1;
            if self.steps > MAX_PATHS * 16 || self.out.len() > MAX_PATHS {
                return Err(Beyond);
            }
            let n = self.tree.node(id);
            for (holds, leaf, next) in [(true, n.act_t, n.nxt_t), (false, n.act_f, n.nxt_f)] {
                if leaf.is_none() && next.is_none() {
                    continue;
                }
                let mut t = trail.clone();
                let word = &mut t.words[usize::from(n.arg)][usize::from(n.hi)];
                if !word.add(n.op, n.mask, n.datum, holds)? {
                    continue;
                }
                match (next, leaf) {
                    (Some(next), _) => self.level(next, &t, depth + 1)?,
                    (None, Some(leaf)) => self.emit(&t, leaf)?,
                    (None, None) => {}
                }
            }
            cur = n.lvl_nxt;
        }
        Ok(())
    }

    fn emit(&mut self, trail: &Trail, leaf: Leaf) -> Result<(), Beyond> {
        let mut args: [Option<ArgSet>; 6] = Default::default();
        for (i, [lo, hi]) in trail.words.iter().enumerate() {
            let Some(set) = ArgSet::of_words(hi, lo, self.width)? else {
                return Ok(());
            };
            if set != ArgSet::full(self.width) {
                args[i] = Some(set);
            }
        }
        self.out.push(Path { args, leaf });
        Ok(())
    }
}

/// Joins each path into an earlier one of the same rule when the two
/// differ in one argument and every path between them either gives the
/// same action or cannot match the same call: moving it up then changes
/// nothing.
fn join(paths: Vec<Path>, width: ArgWidth) -> Vec<Path> {
    let mut out: Vec<Path> = Vec::new();
    'paths: for p in paths {
        for i in (0..out.len()).rev() {
            if out[i].leaf == p.leaf
                && let Some(joined) = union(&out[i], &p, width)
            {
                out[i] = joined;
                continue 'paths;
            }
            if out[i].leaf.action != p.leaf.action && !disjoint(&out[i], &p) {
                break;
            }
        }
        out.push(p);
    }
    out
}

/// Whether no call can match both paths: some argument's ranges do not
/// meet.
fn disjoint(a: &Path, b: &Path) -> bool {
    a.args.iter().zip(&b.args).any(|(x, y)| match (x, y) {
        (Some(x), Some(y)) => !x
            .ranges
            .iter()
            .any(|&(a0, a1)| y.ranges.iter().any(|&(b0, b1)| a0 <= b1 && b0 <= a1)),
        _ => false,
    })
}

/// Moves each path before earlier ones of later rules where that changes
/// nothing (same action, or no call matches both), so that the rules read
/// in the profile's order wherever the tree allows.
fn in_profile_order(mut paths: Vec<Path>) -> Vec<Path> {
    for i in 1..paths.len() {
        let mut j = i;
        while j > 0 {
            let (a, b) = (&paths[j - 1], &paths[j]);
            let free = a.leaf.action == b.leaf.action || disjoint(a, b);
            if a.leaf.rule <= b.leaf.rule || !free {
                break;
            }
            paths.swap(j - 1, j);
            j -= 1;
        }
    }
    paths
}

fn union(a: &Path, b: &Path, width: ArgWidth) -> Option<Path> {
    let differ: Vec<usize> = (0..6).filter(|&i| a.args[i] != b.args[i]).collect();
    let [i] = differ[..] else {
        return if differ.is_empty() {
            Some(a.clone())
        } else {
            None
        };
    };
    let full = ArgSet::full(width);
    let (x, y) = (
        a.args[i].clone().unwrap_or_else(|| full.clone()),
        b.args[i].clone().unwrap_or_else(|| full.clone()),
    );
    if (x.mask, x.datum) != (y.mask, y.datum) {
        return None;
    }
    let mut ranges = x.ranges.clone();
    ranges.extend(y.ranges);
    let set = ArgSet { ranges, ..x }.tidy();
    let mut out = a.clone();
    out.args[i] = (set != full).then_some(set);
    Some(out)
}

/// The rules whose first match gives what the tree decides.
pub(super) fn rules(tree: &Tree, added: &[Rule], width: ArgWidth) -> Result<Vec<Rule>, Beyond> {
    let Some(root) = tree.root else {
        return Ok(Vec::new());
    };
    let mut w = Walker {
        tree,
        width,
        out: Vec::new(),
        steps: 0,
    };
    w.level(root, &Trail::default(), 0)?;
    let mut out = Vec::new();
    for p in in_profile_order(join(w.out, width)) {
        let rule = &added[p.leaf.rule];
        let mut own: [Option<ArgSet>; 6] = Default::default();
        for c in &rule.conds {
            let set = ArgSet::of_cond(c, width).tidy();
            own[c.arg.get()] = (set != ArgSet::full(width)).then_some(set);
        }
        if own == p.args {
            out.push(Rule {
                action: p.leaf.action,
                ..rule.clone()
            });
            continue;
        }
        let mut alts: Vec<Vec<Cond>> = vec![Vec::new()];
        for (i, set) in p.args.iter().enumerate() {
            let (Some(set), Some(arg)) = (set, ArgIndex::new(i as u8)) else {
                continue;
            };
            let options = set.conds(arg, width);
            alts = alts
                .iter()
                .flat_map(|a| {
                    options.iter().map(move |o| {
                        let mut v = a.clone();
                        v.extend(o.iter().copied());
                        v
                    })
                })
                .collect();
            if alts.len() > MAX_PATHS {
                return Err(Beyond);
            }
        }
        out.extend(alts.into_iter().map(|conds| Rule {
            conds,
            action: p.leaf.action,
            origin: rule.origin.clone(),
        }));
    }
    Ok(out)
}
