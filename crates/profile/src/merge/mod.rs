//! libseccomp's merge of the rules for one syscall.
//!
//! runc and crun hand libseccomp one rule at a time; libseccomp turns each
//! into a chain of 32-bit word comparisons and merges it into the
//! syscall's tree (`tree`), and the tree — not the list of rules — is what
//! the filter enforces. Overlapping rules are resolved there, and in ways
//! a reader of the profile does not see:
//!
//! * an unconditional rule when one exists: ignored, the first stays;
//! * a conditional rule when an unconditional one exists: dropped;
//! * an unconditional rule when conditional ones exist: they are deleted;
//! * a chain that reaches a branch already ending in an action: the rest of
//!   it is dropped there, whatever its action;
//! * a shorter chain that covers existing longer ones with its action: they
//!   are pruned; with another action, or the same comparisons with another
//!   action: `-EEXIST`, the container does not start;
//! * two range rules sharing a high-word node with different actions: the
//!   larger (for `>`/`>=`; smaller for `<`/`<=`) 64-bit datum takes the
//!   node's action, which is what the tightest-threshold order gives;
//! * a comparison reached by two edges (the argument after `!=`, `<`,
//!   `>`) is linked into two sibling lists, which then share their tails.
//!
//! This module keeps the tree, reports each silent change as a warning
//! that names both rules, and hands the tree's meaning back as first-match
//! IR rules (`paths`). It is checked against libseccomp's own filters in
//! `tests/libseccomp_merge.rs`. libseccomp 2.5.4's code generator can
//! additionally compare a stale accumulator after a shared node; that
//! miscompilation is not reproduced: sysfence enforces what the tree says.

mod defects;
mod paths;
#[cfg(test)]
mod tests;
mod tree;

use crate::diag::{Diagnostic, ProfileError};
use std::collections::HashMap;

use crate::ir::{Action, ArgWidth, CmpOp, Cond, Origin, Rule};
use crate::libseccomp::Libseccomp;
pub(crate) use tree::PROFILE_WORK_LIMIT;
use tree::{Exists, Leaf, REDUNDANT, Tree, WORK_LIMIT};

/// The rules one syscall has received so far on one arch.
#[derive(Debug, Default)]
pub(crate) struct SysDb {
    /// Every rule added, in order; tree leaves refer to them by index.
    added: Vec<Rule>,
    /// The unconditional rule, when the syscall has no tree.
    uncond: Option<usize>,
    /// The first conditional rule added with each (conditions, action).
    firsts: HashMap<(Vec<Cond>, Action), usize>,
    tree: Tree,
    started: bool,
    what: String,
    release: Libseccomp,
}

/// What the messages call the syscall: `clone on x86_64`.
pub(crate) struct Label<'a> {
    pub syscall: &'a str,
    pub arch: &'a str,
    /// The libseccomp release whose merge is modelled.
    pub release: Libseccomp,
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
    /// Adds one rule (conditions normalized), as `seccomp_rule_add` would,
    /// and says how many steps that took (for [`PROFILE_WORK_LIMIT`]).
    /// Refuses the rule when libseccomp's merge would never end on it, and
    /// when the merge takes more than [`WORK_LIMIT`] steps.
    pub fn add(
        &mut self,
        new: Rule,
        width: ArgWidth,
        label: &Label<'_>,
        warnings: &mut Vec<Diagnostic>,
    ) -> Result<u64, ProfileError> {
        let origin = new.origin.clone();
        if new.conds.iter().any(|c| c.op == CmpOp::MaskedAny) {
            return Err(ProfileError::new(
                &origin,
                format!("{}: libseccomp has no any-bit comparison", self.what),
            ));
        }
        self.tree.refuel();
        let result = self.merge(new, width, label, warnings);
        if self.tree.cyclic() {
            return Err(ProfileError::new(
                &origin,
                format!(
                    "{}: libseccomp {} never finishes adding this rule: it links a comparison into a level twice and the level closes on itself, so seccomp_rule_add (or the next step) loops forever and the container never starts (every release from 2.5.4 to 2.6.1 does this)",
                    self.what, label.release
                ),
            ));
        }
        if self.tree.exhausted() {
            return Err(work_error(&origin, &self.what));
        }
        result.map(|()| u64::from(self.tree.spent()))
    }

    /// The earlier conditional rule that `new` (to be rule `idx`) repeats
    /// word for word, if any; else `new` is remembered as the first.
    fn repeats(&mut self, new: &Rule, idx: usize) -> Option<usize> {
        if new.conds.is_empty() {
            return None;
        }
        let first = *self
            .firsts
            .entry((new.conds.clone(), new.action))
            .or_insert(idx);
        (first != idx).then_some(first)
    }

    fn merge(
        &mut self,
        new: Rule,
        width: ArgWidth,
        label: &Label<'_>,
        warnings: &mut Vec<Diagnostic>,
    ) -> Result<(), ProfileError> {
        if !self.started {
            self.what = format!("{} on {}", label.syscall, label.arch);
            self.release = label.release;
        }
        let idx = self.added.len();
        let leaf = Leaf {
            action: new.action,
            rule: idx,
        };
        if let Some(e) = self.repeats(&new, idx).map(|i| &self.added[i]) {
            let msg = format!(
                "{}: this rule repeats the rule at {}",
                self.what,
                loc(&e.origin)
            );
            warnings.push(diag(true, &new.origin, &e.origin, msg));
        }
        self.added.push(new);
        let conds = self.added[idx].conds.clone();
        let chain = self.tree.chain(&conds, leaf, width);
        if !self.started {
            self.started = true;
            self.tree.root = chain;
            self.uncond = chain.is_none().then_some(idx);
            return Ok(());
        }
        let mut pruned = false;
        loop {
            let Some(_) = self.tree.root else {
                if pruned {
                    self.tree.root = chain;
                    self.uncond = chain.is_none().then_some(idx);
                } else {
                    self.dropped_by_uncond(idx, warnings);
                }
                return Ok(());
            };
            let Some(chain) = chain else {
                self.delete_chains(idx, warnings);
                return Ok(());
            };
            let before = self.live();
            let (removed, flags) = self.tree.prune(chain, leaf.action);
            if self.tree.exhausted() || self.tree.cyclic() {
                return Ok(());
            }
            if removed > 0 {
                pruned = true;
                self.report_pruned(&before, idx, warnings);
                if self.tree.root.is_none() {
                    continue;
                }
            } else if flags & REDUNDANT == REDUNDANT {
                self.report_redundant(idx, warnings);
                return Ok(());
            }
            break;
        }
        let Some(chain) = chain else { return Ok(()) };
        self.tree.absorbed.clear();
        if let Err(Exists(other)) = self.tree.add(chain) {
            return Err(self.conflict(idx, other));
        }
        self.tree.release(chain);
        self.report_absorbed(idx, warnings);
        Ok(())
    }

    /// The rules with an action still in the tree.
    fn live(&self) -> Vec<usize> {
        let mut v: Vec<usize> = self.tree.leaves().iter().map(|l| l.rule).collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    fn dropped_by_uncond(&self, idx: usize, warnings: &mut Vec<Diagnostic>) {
        let new = &self.added[idx];
        let Some(u) = self.uncond.map(|u| &self.added[u]) else {
            return;
        };
        let msg = if new.conds.is_empty() {
            format!(
                "{}: this unconditional {} rule is ignored: libseccomp keeps the first unconditional rule ({} at {})",
                self.what,
                new.action,
                u.action,
                loc(&u.origin)
            )
        } else {
            format!(
                "{}: this conditional {} rule is dropped: an unconditional {} rule at {} already decides every call",
                self.what,
                new.action,
                u.action,
                loc(&u.origin)
            )
        };
        warnings.push(diag(u.action == new.action, &new.origin, &u.origin, msg));
    }

    fn delete_chains(&mut self, idx: usize, warnings: &mut Vec<Diagnostic>) {
        let new = &self.added[idx];
        for i in self.live() {
            let c = &self.added[i];
            let msg = format!(
                "{}: this conditional {} rule is deleted by the unconditional {} rule at {}",
                self.what,
                c.action,
                new.action,
                loc(&new.origin)
            );
            warnings.push(diag(c.action == new.action, &c.origin, &new.origin, msg));
        }
        self.tree.root = None;
        self.uncond = Some(idx);
    }

    fn report_pruned(&self, before: &[usize], idx: usize, warnings: &mut Vec<Diagnostic>) {
        let after = self.live();
        let new = &self.added[idx];
        for &i in before.iter().filter(|i| !after.contains(i)) {
            let e = &self.added[i];
            let msg = format!(
                "{}: this rule is subsumed by the shorter rule at {}",
                self.what,
                loc(&new.origin)
            );
            warnings.push(diag(true, &e.origin, &new.origin, msg));
        }
    }

    /// The earlier rule that best explains why a new one had no effect:
    /// one whose conditions prefix the new one's, else one sharing its
    /// first condition, else any rule still in the tree.
    fn culprit(&self, idx: usize) -> Option<&Rule> {
        let new = &self.added[idx];
        let live = self.live();
        let candidates = || {
            live.iter()
                .map(|&i| &self.added[i])
                .filter(|r| r.origin != new.origin)
        };
        candidates()
            .find(|r| new.conds.starts_with(&r.conds))
            .or_else(|| candidates().find(|r| r.conds.first() == new.conds.first()))
            .or_else(|| candidates().next())
    }

    fn report_redundant(&self, idx: usize, warnings: &mut Vec<Diagnostic>) {
        let new = &self.added[idx];
        let Some(e) = self.culprit(idx) else { return };
        let msg = format!(
            "{}: this {} rule is dropped: the {} rule at {} tests a prefix of its conditions and libseccomp keeps the shorter one",
            self.what,
            new.action,
            e.action,
            loc(&e.origin)
        );
        warnings.push(diag(e.action == new.action, &new.origin, &e.origin, msg));
    }

    fn report_absorbed(&self, idx: usize, warnings: &mut Vec<Diagnostic>) {
        let new = &self.added[idx];
        for existing in &self.tree.absorbed {
            let e = &self.added[existing.rule];
            if e.origin == new.origin {
                continue;
            }
            let msg = format!(
                "{}: libseccomp drops the rest of this {} rule where it meets the {} branch of the rule at {}: calls that reach that branch get {}",
                self.what,
                new.action,
                existing.action,
                loc(&e.origin),
                existing.action
            );
            warnings.push(diag(
                existing.action == new.action,
                &new.origin,
                &e.origin,
                msg,
            ));
        }
    }

    fn conflict(&self, idx: usize, other: Option<Leaf>) -> ProfileError {
        let new = &self.added[idx];
        let old = other
            .map(|l| &self.added[l.rule])
            .or_else(|| self.culprit(idx));
        match old {
            Some(old) => {
                let how = if old.conds == new.conds {
                    "tests the same conditions"
                } else if old.conds.starts_with(&new.conds) {
                    "extends these conditions"
                } else {
                    "ends on a comparison they share"
                };
                conflict(&self.what, new, old, how)
            }
            None => ProfileError::new(
                &new.origin,
                format!(
                    "{}: libseccomp refuses this {} rule (EEXIST)",
                    self.what, new.action
                ),
            ),
        }
    }

    /// The surviving rules in first-match order.
    pub fn into_rules(
        self,
        width: ArgWidth,
        warnings: &mut Vec<Diagnostic>,
    ) -> Result<Vec<Rule>, ProfileError> {
        if let Some(u) = self.uncond {
            return Ok(vec![self.added[u].clone()]);
        }
        self.tree.refuel();
        let stale = self.tree.stale_reads();
        let stale_warned = self.release.stale_accumulator() && !stale.is_empty();
        for (before, after) in stale {
            let (b, a) = (&self.added[before.rule], &self.added[after.rule]);
            let msg = format!(
                "{}: libseccomp's generated filter can test a stale argument word here: when the conditions of the rule at {} do not all hold, this rule's next comparison may read the word loaded for them (a code-generation defect, depending on its block layout); sysfence enforces the rules as merged",
                self.what,
                loc(&b.origin)
            );
            let d = if self.release.stale_accumulator() {
                Diagnostic::warning(&a.origin, msg).with_code(STALE_CODE)
            } else {
                Diagnostic::note(&a.origin, msg)
            };
            warnings.push(d.with_related(&b.origin));
        }
        let rules = self.read_back(width)?;
        if self.release.ghsa_4q85() && self.tree.ghsa_site {
            self.check_ghsa(&rules, width, stale_warned, warnings)?;
        }
        Ok(rules)
    }

    /// The tree's meaning as rules, within the work bound.
    fn read_back(&self, width: ArgWidth) -> Result<Vec<Rule>, ProfileError> {
        let at = self
            .added
            .first()
            .map(|r| r.origin.clone())
            .unwrap_or_default();
        self.tree.refuel();
        let rules = paths::rules(&self.tree, &self.added, width);
        if self.tree.exhausted() {
            return Err(work_error(&at, &self.what));
        }
        rules.map_err(|paths::Beyond| {
            ProfileError::new(
                &at,
                format!(
                    "{}: libseccomp's tree for these rules has a shape sysfence cannot express as rules",
                    self.what
                ),
            )
        })
    }

    /// Merges the rules again as releases before 2.6.1 do and warns, with
    /// a call, where that filter decides otherwise (GHSA-4q85-33p6-j5g6).
    /// With `stale` (a stale-accumulator warning on the same syscall) the
    /// call's outcome is the merged tree's, which the generated code may
    /// change again: the warning says so.
    fn check_ghsa(
        &self,
        rules: &[Rule],
        width: ArgWidth,
        stale: bool,
        warnings: &mut Vec<Diagnostic>,
    ) -> Result<(), ProfileError> {
        let mut old = SysDb::default();
        old.tree.ghsa = true;
        let label = Label {
            syscall: "",
            arch: "",
            release: Libseccomp::V2_6_1,
        };
        let mut scratch = Vec::new();
        for r in &self.added {
            old.add(r.clone(), width, &label, &mut scratch)?;
        }
        old.what.clone_from(&self.what);
        let old_rules = old.read_back(width)?;
        let w = match defects::witness(rules, &old_rules, width) {
            Ok(Some(w)) => w,
            Ok(None) => return Ok(()),
            Err(steps) => {
                let at = rules.first().map(|r| r.origin.clone()).unwrap_or_default();
                let msg = format!(
                    "{}: libseccomp {} may merge these rules wrongly (GHSA-4q85-33p6-j5g6, fixed in 2.6.1): the search for a call its filter decides otherwise stopped after {steps} steps",
                    self.what, self.release,
                );
                warnings.push(Diagnostic::warning(&at, msg).with_code(GHSA_CODE));
                return Ok(());
            }
        };
        let at = w
            .runtime
            .or(w.profile)
            .map(|r| r.origin.clone())
            .unwrap_or_default();
        let msg = format!(
            "{}: libseccomp {} merges these rules wrongly (GHSA-4q85-33p6-j5g6, fixed in 2.6.1): for {} its filter gives {} where the profile gives {}",
            self.what,
            self.release,
            defects::show_args(&w.args),
            defects::outcome(w.runtime),
            defects::outcome(w.profile),
        );
        let msg = if stale {
            format!(
                "{msg}; its code can also test a stale argument word there (see the stale-accumulator warning), so the filter may give yet another action"
            )
        } else {
            msg
        };
        let mut d = Diagnostic::warning(&at, msg).with_code(GHSA_CODE);
        if let Some(p) = w.profile.filter(|p| p.origin != at) {
            d = d.with_related(&p.origin);
        }
        warnings.push(d);
        Ok(())
    }
}

/// The code of the GHSA-4q85-33p6-j5g6 warning.
pub(crate) const GHSA_CODE: &str = "libseccomp-ghsa-4q85";
/// The code of the stale-accumulator warning.
pub(crate) const STALE_CODE: &str = "libseccomp-stale-accumulator";

/// The merge took more steps than sysfence allows for one rule.
fn work_error(at: &Origin, what: &str) -> ProfileError {
    ProfileError::new(
        at,
        format!(
            "{what}: merging this rule as libseccomp does takes more than {WORK_LIMIT} steps; sysfence stops there and refuses the profile"
        ),
    )
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
