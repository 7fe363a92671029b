//! libseccomp's merge of the rules for one syscall, as a first-match list.
//!
//! In: rules ("chains": at most one comparison per argument, in ascending
//! argument order, and an action) added one by one, as runc and crun add
//! them. Out: the ordered [`Rule`]s whose first match gives what
//! libseccomp's decision tree would return, plus a diagnostic for every
//! rule libseccomp silently ignores, and an error where libseccomp refuses
//! the rule (`-EEXIST`). The cases (libseccomp-layout.md §5.1):
//!
//! * an unconditional rule when one exists: ignored, the first stays;
//! * a conditional rule when an unconditional one exists: dropped;
//! * an unconditional rule when conditional ones exist: they are deleted;
//! * a chain that extends an existing shorter chain: dropped, whatever its
//!   action;
//! * a shorter chain that prefixes existing longer ones: those are pruned if
//!   they have its action, else `-EEXIST`;
//! * the same comparisons with another action: `-EEXIST`.
//!
//! The tree's sibling order then decides which surviving chain is tried
//! first (§1.2, §5.2): the higher argument index first, then EQ/MASKED_EQ/NE
//! before LT/LE before GT/GE, then by datum — the larger first for
//! EQ/GT/GE, the smaller first for LT/LE, so the tightest threshold wins —
//! comparing the high words first; conditions whose high-word nodes differ
//! only in operator or mask keep the order the rules were added in, whole
//! chains included (the later conditions of two chains are compared only
//! after identical earlier ones, whose nodes libseccomp merges).
//!
//! One effect of node sharing is modelled: on 64-bit arches, chains whose
//! first conditions are `!=` on the same argument and high word share that
//! high-word node, and libseccomp merges their next conditions into one
//! sibling list that every one of the chains reaches, so each such first
//! condition leads to every such chain's rest (`pool_ne_continuations`).
//!
//! This is a rule-level model of libseccomp's word-level tree, checked
//! against libseccomp's own output (`tests/libseccomp_merge.rs`): it agrees
//! on every random rule set of single-condition rules, and on all but a few
//! two-condition sets. Not modelled: a shared high-word node whose branch
//! already holds a single-condition rule's action (libseccomp then drops
//! the longer chain's rest there, or refuses it with another action), and
//! libseccomp 2.5.4's code generation comparing a stale accumulator after
//! such a shared node. Range merges follow 2.6.1 (GHSA-4q85-33p6-j5g6
//! fixed).

use std::cmp::Ordering;

use crate::diag::{Diagnostic, ProfileError};
use crate::ir::{ArgWidth, CmpOp, Cond, Origin, Rule};

/// The rules one syscall has received so far on one arch.
#[derive(Debug, Default)]
pub(crate) struct SysDb {
    uncond: Option<Rule>,
    chains: Vec<Rule>,
}

/// What the messages call the syscall: `clone on x86_64`.
pub(crate) struct Label<'a> {
    pub syscall: &'a str,
    pub arch: &'a str,
}

fn loc(o: &Origin) -> String {
    format!("{}:{}:{}", o.file, o.line, o.column)
}

fn diag(same: bool, at: &Origin, related: &Origin, message: String) -> Diagnostic {
    let d = if same {
        Diagnostic::note(at, message)
    } else {
        Diagnostic::warning(at, message)
    };
    d.with_related(related)
}

/// Puts conditions into libseccomp's canonical form for an arch width:
/// ascending argument, datum masked, 32-bit arches cut to the low word,
/// always-true masked comparisons removed.
pub(crate) fn normalize(conds: &mut Vec<Cond>, width: ArgWidth) {
    let cut = |v: u64| {
        if width == ArgWidth::Bits32 {
            v & 0xffff_ffff
        } else {
            v
        }
    };
    for c in conds.iter_mut() {
        c.value = cut(c.value);
        c.value_two = if c.op == CmpOp::MaskedEq {
            cut(c.value_two) & c.value
        } else {
            0
        };
    }
    conds.retain(|c| !(c.op == CmpOp::MaskedEq && c.value == 0));
    conds.sort_by_key(|c| c.arg);
}

impl SysDb {
    /// Adds one chain (already normalized), as `seccomp_rule_add` would.
    pub fn add(
        &mut self,
        new: Rule,
        label: &Label<'_>,
        warnings: &mut Vec<Diagnostic>,
    ) -> Result<(), ProfileError> {
        let what = format!("{} on {}", label.syscall, label.arch);
        if let Some(u) = &self.uncond {
            let same = u.action == new.action;
            let msg = if new.conds.is_empty() {
                format!(
                    "{what}: this unconditional {} rule is ignored: libseccomp keeps the first unconditional rule ({} at {})",
                    new.action,
                    u.action,
                    loc(&u.origin)
                )
            } else {
                format!(
                    "{what}: this conditional {} rule is dropped: an unconditional {} rule at {} already decides every call",
                    new.action,
                    u.action,
                    loc(&u.origin)
                )
            };
            warnings.push(diag(same, &new.origin, &u.origin, msg));
            return Ok(());
        }
        if new.conds.is_empty() {
            for c in self.chains.drain(..) {
                let msg = format!(
                    "{what}: this conditional {} rule is deleted by the unconditional {} rule at {}",
                    c.action,
                    new.action,
                    loc(&new.origin)
                );
                warnings.push(diag(c.action == new.action, &c.origin, &new.origin, msg));
            }
            self.uncond = Some(new);
            return Ok(());
        }
        self.add_chain(new, &what, warnings)
    }

    fn add_chain(
        &mut self,
        new: Rule,
        what: &str,
        warnings: &mut Vec<Diagnostic>,
    ) -> Result<(), ProfileError> {
        let mut prune = Vec::new();
        for (i, e) in self.chains.iter().enumerate() {
            if e.conds == new.conds {
                if e.action == new.action {
                    let msg = format!("{what}: this rule repeats the rule at {}", loc(&e.origin));
                    warnings.push(diag(true, &new.origin, &e.origin, msg));
                    return Ok(());
                }
                return Err(conflict(what, &new, e, "tests the same conditions"));
            }
            if new.conds.starts_with(&e.conds) {
                let msg = format!(
                    "{what}: this {} rule is dropped: the {} rule at {} tests a prefix of its conditions and libseccomp keeps the shorter one",
                    new.action,
                    e.action,
                    loc(&e.origin)
                );
                warnings.push(diag(e.action == new.action, &new.origin, &e.origin, msg));
                return Ok(());
            }
            if e.conds.starts_with(&new.conds) {
                if e.action != new.action {
                    return Err(conflict(what, &new, e, "extends these conditions"));
                }
                prune.push(i);
            }
        }
        for i in prune.into_iter().rev() {
            let e = self.chains.remove(i);
            let msg = format!(
                "{what}: this rule is subsumed by the shorter rule at {}",
                loc(&new.origin)
            );
            warnings.push(diag(true, &e.origin, &new.origin, msg));
        }
        self.chains.push(new);
        Ok(())
    }

    /// The surviving rules in first-match order, for an arch's width.
    pub fn into_rules(self, width: ArgWidth) -> Vec<Rule> {
        if let Some(u) = self.uncond {
            return vec![u];
        }
        let mut chains = self.chains;
        if width == ArgWidth::Bits64 {
            chains = pool_ne_continuations(chains);
        }
        chains.sort_by(|a, b| chain_order(&a.conds, &b.conds));
        chains
    }
}

/// libseccomp's 64-bit `a != v` is a node `hi == v.hi` whose false branch
/// and whose low-word node `lo == v.lo`'s false branch both point at the
/// next condition's node. Chains whose first conditions are NE on the same
/// argument and high word share that high-word node, so their next
/// conditions are merged into one sibling list that every one of those
/// pointers reaches: each such first condition leads to every such chain's
/// rest. Done only when all those chains have a rest and no rest is a
/// prefix of another (libseccomp would then prune or refuse); otherwise the
/// chains are returned as they are.
fn pool_ne_continuations(chains: Vec<Rule>) -> Vec<Rule> {
    let key = |r: &Rule| match r.conds.first() {
        Some(c) if c.op == CmpOp::Ne => Some((c.arg, c.value >> 32)),
        _ => None,
    };
    let mut keys: Vec<_> = chains.iter().filter_map(key).collect();
    keys.sort();
    keys.dedup();
    let mut out = chains;
    for k in keys {
        let at: Vec<usize> = (0..out.len())
            .filter(|&i| key(&out[i]) == Some(k))
            .collect();
        let group: Vec<&Rule> = at.iter().map(|&i| &out[i]).collect();
        if let Some(pooled) = cross(&group) {
            for &i in at.iter().rev() {
                out.remove(i);
            }
            out.splice(at[0]..at[0], pooled);
        }
    }
    out
}

/// Every distinct first condition of a group with every rest, in the
/// order the rules were added; `None` when the group is not pooled.
fn cross(group: &[&Rule]) -> Option<Vec<Rule>> {
    let tails: Vec<&[Cond]> = group.iter().map(|r| &r.conds[1..]).collect();
    let poolable = group.len() > 1
        && tails.iter().enumerate().all(|(i, a)| {
            !a.is_empty()
                && tails
                    .iter()
                    .enumerate()
                    .all(|(j, b)| i == j || !a.starts_with(b))
        });
    if !poolable {
        return None;
    }
    let mut heads: Vec<Cond> = Vec::new();
    for r in group {
        if !heads.contains(&r.conds[0]) {
            heads.push(r.conds[0]);
        }
    }
    let mut out = Vec::new();
    for h in &heads {
        for r in group {
            let mut conds = vec![*h];
            conds.extend_from_slice(&r.conds[1..]);
            if !out.iter().any(|o: &Rule| o.conds == conds) {
                out.push(Rule {
                    conds,
                    action: r.action,
                    origin: r.origin.clone(),
                });
            }
        }
    }
    Some(out)
}

fn conflict(what: &str, new: &Rule, old: &Rule, how: &str) -> ProfileError {
    ProfileError::new(
        &new.origin,
        format!(
            "{what}: libseccomp refuses this {} rule (EEXIST): the {} rule at {} {how}",
            new.action,
            old.action,
            loc(&old.origin)
        ),
    )
}

/// libseccomp's operator classes: EQ, MASKED_EQ and NE first, then LT/LE,
/// then GT/GE.
fn class(op: CmpOp) -> u8 {
    match op {
        CmpOp::Eq | CmpOp::MaskedEq | CmpOp::Ne => 3,
        CmpOp::Lt | CmpOp::Le => 2,
        CmpOp::Gt | CmpOp::Ge => 1,
    }
}

/// Sibling order of two conditions: which one libseccomp tests first.
///
/// libseccomp sorts tree nodes, and a 64-bit comparison starts with a node
/// on the high word: the high words' data decide first. Only when both
/// conditions share that node (same operator and mask) do the low words'
/// data decide; otherwise equal high data keep the order the rules were
/// added in (the sort is stable).
fn cond_order(a: &Cond, b: &Cond) -> Ordering {
    let split = |c: &Cond| {
        let (datum, mask) = if c.op == CmpOp::MaskedEq {
            (c.value_two, c.value)
        } else {
            (c.value, u64::MAX)
        };
        (datum >> 32, datum & 0xffff_ffff, mask >> 32)
    };
    let ((ah, al, am), (bh, bl, bm)) = (split(a), split(b));
    let shared = hi_node_op(a.op) == hi_node_op(b.op) && am == bm;
    let ascending = matches!(a.op, CmpOp::Lt | CmpOp::Le);
    let by_data = |x: u64, y: u64| if ascending { x.cmp(&y) } else { y.cmp(&x) };
    b.arg
        .cmp(&a.arg)
        .then_with(|| class(b.op).cmp(&class(a.op)))
        .then_with(|| by_data(ah, bh))
        .then_with(|| {
            if shared {
                by_data(al, bl)
            } else {
                Ordering::Equal
            }
        })
}

/// The operator of the high-word node libseccomp emits first: `hi == Rh`
/// for EQ and NE, a masked compare for MASKED_EQ, `hi > Rh` for the ranges.
fn hi_node_op(op: CmpOp) -> u8 {
    match op {
        CmpOp::Eq | CmpOp::Ne => 0,
        CmpOp::MaskedEq => 1,
        CmpOp::Lt | CmpOp::Le | CmpOp::Gt | CmpOp::Ge => 2,
    }
}

/// Order of two chains: their first differing condition decides.
fn chain_order(a: &[Cond], b: &[Cond]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        if x == y {
            continue;
        }
        return cond_order(x, y);
    }
    a.len().cmp(&b.len())
}
