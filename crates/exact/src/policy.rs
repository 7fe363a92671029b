//! A policy IR → its diagram, straight from the rules.
//!
//! In: a [`Policy`]. Out: the diagram of the raw return value the policy
//! gives every `seccomp_data`, exactly as [`sysfence_profile::eval`] states
//! it: a foreign arch gets the bad-arch action; a number in a fixed range
//! that range's action; else the first rule whose conditions all hold; else
//! the arch's default. The arch and number dispatch is a case split on one
//! word ([`case`]); a rule list is folded from the last rule up with `ite`.
//!
//! This construction shares nothing with the compiler's tree building: it
//! reads the IR and the kernel's `seccomp_data` layout only (the argument
//! words swap places on big-endian arches).

use sysfence_cbpf::data::{Half, arch_endian, arg_word_offset};
use sysfence_profile::ir::{ArchPolicy, ArgWidth, CmpOp, Cond, Policy, Rule};

use crate::cases::{case, materialize_any, overlay};
use crate::points::{run_at_end, run_diagram};
use crate::store::{Node, Res, Store, slot_of_offset};
use crate::word::{Rel, greater_input, masked_eq_input};

/// The variable slot of word 0 (arch) and word 1 (nr).
pub const ARCH_SLOT: usize = 0;
/// The variable slot of the syscall number.
pub const NR_SLOT: usize = 1;

/// Builds the diagram of `policy`.
pub fn diagram(s: &mut Store, policy: &Policy) -> Res<Node> {
    diagram_of(s, policy.arches().iter(), policy.bad_arch().to_raw())
}

/// The diagram of a policy made of `entries` (distinct AUDIT_ARCH values)
/// with `bad_arch` (raw) for every other arch value: what a program that
/// dispatches only these entries must equal, without building that policy.
pub fn diagram_of<'a>(
    s: &mut Store,
    entries: impl Iterator<Item = &'a ArchPolicy>,
    bad_arch: u32,
) -> Res<Node> {
    let bad = s.leaf(bad_arch)?;
    let mut cases = Vec::new();
    for ap in entries {
        let n = arch_diagram(s, ap)?;
        cases.push((ap.audit_arch, ap.audit_arch, n));
    }
    cases.sort_by_key(|c| c.0);
    case(s, ARCH_SLOT, &cases, bad)
}

/// The diagram of one arch's policy (the arch word already fixed).
pub fn arch_diagram(s: &mut Store, ap: &ArchPolicy) -> Res<Node> {
    let default = s.leaf(ap.default.to_raw())?;
    let mut cases = Vec::new();
    for r in &ap.ranges {
        let n = s.leaf(r.action.to_raw())?;
        cases.push((r.lo, r.hi, n));
    }
    for (&nr, rules) in &ap.rules {
        let n = rule_chain(s, ap, rules, default)?;
        cases.push((nr, nr, n));
    }
    cases.sort_by_key(|c| c.0);
    case(s, NR_SLOT, &cases, default)
}

/// The first rule whose conditions all hold, else `default`: from the last
/// rule up, `ite(c1 ∧ … ∧ cn, action, rest)` as `ite(c1, ite(c2, …, rest),
/// rest)`, each condition folded into its `ite` ([`cond_ite`]); a run of
/// rules that each compare one argument with a value is one case split
/// ([`crate::points`]).
fn rule_chain(s: &mut Store, ap: &ArchPolicy, rules: &[Rule], default: Node) -> Res<Node> {
    let mut acc = default;
    let mut end = rules.len();
    while end > 0 {
        let run = run_at_end(ap, &rules[..end]);
        if run > 1
            && let Some(n) = run_diagram(s, ap, &rules[end - run..end], acc)?
        {
            acc = n;
            end -= run;
            continue;
        }
        acc = rule_ite(s, ap, &rules[end - 1], acc)?;
        end -= 1;
    }
    Ok(acc)
}

/// `if rule's conditions all hold then its action else rest`. The
/// conditions are folded in variable order, the earliest word outermost,
/// and an inner condition's `rest` is fixed by the equalities outside it
/// (it is only reached where they hold, so the function is the same): its
/// continuations then test only its own word or later ones, which a
/// comparison would otherwise walk bit by bit ([`Store::ite_compare`];
/// Firecracker's mmap rules compare flags, args[3], after prot, args[2]).
pub(crate) fn rule_ite(s: &mut Store, ap: &ArchPolicy, rule: &Rule, rest: Node) -> Res<Node> {
    let leaf = s.leaf(rule.action.to_raw())?;
    if let [c] = rule.conds.as_slice() {
        return cond_ite(s, ap, c, leaf, rest);
    }
    let first_word = |c: &Cond| {
        let (hi, lo) = arg_slots(ap.audit_arch, c.arg.get());
        hi.min(lo)
    };
    let mut conds: Vec<&Cond> = rule.conds.iter().collect();
    conds.sort_by_key(|c| first_word(c));
    // `rests[k]`: `rest` under the equalities among the first k conditions.
    let mut rests = Vec::with_capacity(conds.len());
    let mut under = rest;
    for c in &conds {
        rests.push(under);
        under = fixed_by(s, ap, c, under)?;
    }
    let mut r = leaf;
    for (c, &rest) in conds.iter().zip(&rests).rev() {
        r = cond_ite(s, ap, c, r, rest)?;
    }
    Ok(r)
}

/// `n` where `c` holds, when `c` fixes its argument (an equality): the
/// argument's words set to the value; else `n`.
fn fixed_by(s: &mut Store, ap: &ArchPolicy, c: &Cond, n: Node) -> Res<Node> {
    if c.op != CmpOp::Eq {
        return Ok(n);
    }
    let (hi, lo) = arg_slots(ap.audit_arch, c.arg.get());
    let n = s.restrict_word(n, lo, c.value as u32)?;
    match c.width_on(ap.width) {
        ArgWidth::Bits64 => s.restrict_word(n, hi, (c.value >> 32) as u32),
        ArgWidth::Bits32 => Ok(n),
    }
}

/// `if c then f else g`. Comparisons go word by word (`compare_word`: a
/// case split or [`Store::ite_compare`], no condition diagram is built); a
/// masked comparison builds its condition with [`cond`].
pub fn cond_ite(s: &mut Store, ap: &ArchPolicy, c: &Cond, f: Node, g: Node) -> Res<Node> {
    let (hi, lo) = arg_slots(ap.audit_arch, c.arg.get());
    let (vh, vl) = ((c.value >> 32) as u32, c.value as u32);
    let wide = c.width_on(ap.width) == ArgWidth::Bits64;
    // `arg REL value` on 64 bits: the high word decides unless it ties.
    let compare = |s: &mut Store, low: Rel, f: Node, g: Node| -> Res<Node> {
        if !wide {
            return compare_word(s, lo, low, vl, f, g);
        }
        // The low word decides only where the high word is `vh`: there `f`
        // and `g` are their restrictions to it, and when the high word
        // comes first in the variable order the low-word comparison then
        // walks none of their high-word tests (a chain of values on one
        // argument tests the high word of each).
        let (f_tie, g_tie) = if hi < lo {
            (s.restrict_word(f, hi, vh)?, s.restrict_word(g, hi, vh)?)
        } else {
            (f, g)
        };
        let on_tie = compare_word(s, lo, low, vl, f_tie, g_tie)?;
        let tie = compare_word(s, hi, Rel::Eq, vh, on_tie, g)?;
        match low {
            Rel::Eq => Ok(tie),
            _ => compare_word(s, hi, Rel::Gt, vh, f, tie),
        }
    };
    match c.op {
        CmpOp::Eq => compare(s, Rel::Eq, f, g),
        CmpOp::Ne => compare(s, Rel::Eq, g, f),
        CmpOp::Gt => compare(s, Rel::Gt, f, g),
        CmpOp::Ge => compare(s, Rel::Ge, f, g),
        CmpOp::Lt => compare(s, Rel::Ge, g, f),
        CmpOp::Le => compare(s, Rel::Gt, g, f),
        CmpOp::MaskedEq | CmpOp::MaskedAny => {
            let holds = cond(s, ap, c)?;
            s.ite(holds, f, g)
        }
    }
}

/// `if word REL k then f else g` for the word in `slot`: a case split
/// when neither continuation tests the word or an earlier one (built once
/// per store, so the program's identical test is a lookup; see
/// [`crate::cases::materialize`]) or when one tests only later words and
/// the other an earlier one ([`materialize_any`] walks that one's diagram
/// once); else [`Store::ite_compare`].
fn compare_word(s: &mut Store, slot: usize, rel: Rel, k: u32, f: Node, g: Node) -> Res<Node> {
    let word = |s: &Store, n: Node| usize::from(s.top(n)) / 32;
    let (wf, wg) = (word(s, f), word(s, g));
    let split = (wf > slot && wg > slot) || (wf.min(wg) < slot && wf.max(wg) > slot);
    let (lo, hi) = match rel {
        Rel::Eq => (k, k),
        Rel::Gt if k == u32::MAX => return Ok(g),
        Rel::Gt => (k + 1, u32::MAX),
        Rel::Ge => (k, u32::MAX),
        Rel::Set => return s.ite_compare(slot, rel, k, f, g),
    };
    if !split {
        return s.ite_compare(slot, rel, k, f, g);
    }
    let parts = overlay(&[(0, u32::MAX, g)], lo, hi, &[(0, u32::MAX, f)]);
    materialize_any(s, slot, &parts)
}

/// The (high, low) word slots of argument `i` under `arch`'s byte order.
pub fn arg_slots(arch: u32, i: usize) -> (usize, usize) {
    let endian = arch_endian(arch);
    let word = |half| slot_of_offset(arg_word_offset(i, half, endian));
    (word(Half::Hi), word(Half::Lo))
}

/// The boolean diagram of one condition.
pub fn cond(s: &mut Store, ap: &ArchPolicy, c: &Cond) -> Res<Node> {
    let Cond {
        arg,
        op,
        value,
        value_two,
        width: _,
    } = *c;
    let (hi, lo) = arg_slots(ap.audit_arch, arg.get());
    let (vh, vl) = ((value >> 32) as u32, value as u32);
    // A low-word condition (or a 32-bit arch) compares the low word only.
    let wide = c.width_on(ap.width) == ArgWidth::Bits64;
    match op {
        CmpOp::Eq => eq64(s, wide, hi, lo, value),
        CmpOp::Ne => {
            let e = eq64(s, wide, hi, lo, value)?;
            s.not(e)
        }
        CmpOp::Gt => gt64(s, wide, (hi, lo), (vh, vl), true),
        CmpOp::Ge => gt64(s, wide, (hi, lo), (vh, vl), false),
        CmpOp::Lt => {
            let g = gt64(s, wide, (hi, lo), (vh, vl), false)?;
            s.not(g)
        }
        CmpOp::Le => {
            let g = gt64(s, wide, (hi, lo), (vh, vl), true)?;
            s.not(g)
        }
        CmpOp::MaskedEq => {
            let datum = value_two & value;
            let low = masked_eq_input(s, lo, value as u32, datum as u32)?;
            if !wide {
                return Ok(low);
            }
            let high = masked_eq_input(s, hi, (value >> 32) as u32, (datum >> 32) as u32)?;
            s.and(high, low)
        }
        CmpOp::MaskedAny => {
            let none = Cond {
                op: CmpOp::MaskedEq,
                value_two: 0,
                ..*c
            };
            let none = cond(s, ap, &none)?;
            s.not(none)
        }
    }
}

fn eq64(s: &mut Store, wide: bool, hi: usize, lo: usize, value: u64) -> Res<Node> {
    let low = masked_eq_input(s, lo, u32::MAX, value as u32)?;
    if !wide {
        return Ok(low);
    }
    let high = masked_eq_input(s, hi, u32::MAX, (value >> 32) as u32)?;
    s.and(high, low)
}

/// `arg > v` (strict) or `arg >= v` on 64 bits (or the low word only).
fn gt64(
    s: &mut Store,
    wide: bool,
    (hi, lo): (usize, usize),
    (vh, vl): (u32, u32),
    strict: bool,
) -> Res<Node> {
    let low = greater_input(s, lo, vl, strict)?;
    if !wide {
        return Ok(low);
    }
    let above = greater_input(s, hi, vh, true)?;
    let same = masked_eq_input(s, hi, u32::MAX, vh)?;
    let tie = s.and(same, low)?;
    s.or(above, tie)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sysfence_profile::ir::{Action, ArchPolicy, ArgIndex};
    use sysfence_testkit::fixtures::x86_64_allow_list;

    #[test]
    fn cond_ite_is_ite_of_the_condition_on_both_byte_orders_and_widths() {
        let p = x86_64_allow_list(0..2, vec![], Action::KillProcess);
        let le = p.arches()[0].clone();
        let mut be = le.clone();
        be.audit_arch = 0x8000_0016; // s390x: big-endian
        let mut s = Store::new(1_000_000);
        let (five, nine) = (s.leaf(5).unwrap(), s.leaf(9).unwrap());
        let ops = [
            CmpOp::Eq,
            CmpOp::Ne,
            CmpOp::Gt,
            CmpOp::Ge,
            CmpOp::Lt,
            CmpOp::Le,
            CmpOp::MaskedAny,
        ];
        for ap in [&le, &be] {
            // Continuations that test the same argument's words (as the rest
            // of a chain of values does) and another argument.
            let on = |s: &mut Store, arg: u8, op: CmpOp, value: u64, f: Node, g: Node| {
                let c = Cond {
                    arg: ArgIndex::new(arg).unwrap(),
                    op,
                    value,
                    value_two: 0,
                    width: ArgWidth::Bits64,
                };
                let holds = cond(s, ap, &c).unwrap();
                s.ite(holds, f, g).unwrap()
            };
            let rest = on(&mut s, 2, CmpOp::Ge, 0x2_0000_0000, nine, five);
            let rest = on(&mut s, 2, CmpOp::Eq, 0x1_0000_0007, nine, rest);
            let other = on(&mut s, 1, CmpOp::Eq, 3, five, rest);
            for (f, g) in [(five, nine), (five, rest), (other, rest), (rest, other)] {
                check_cond_ite(&mut s, ap, &ops, f, g);
            }
        }
    }

    fn check_cond_ite(s: &mut Store, ap: &ArchPolicy, ops: &[CmpOp], f: Node, g: Node) {
        let widths = [ArgWidth::Bits64, ArgWidth::Bits32];
        for (&op, width) in ops.iter().flat_map(|o| widths.map(|w| (o, w))) {
            for value in [0, 7, 0x1_0000_0000, 0xffff_ffff_0000_0001, u64::MAX] {
                let c = Cond {
                    arg: ArgIndex::new(2).unwrap(),
                    op,
                    value,
                    value_two: 0,
                    width,
                };
                let holds = cond(s, ap, &c).unwrap();
                let want = s.ite(holds, f, g).unwrap();
                assert_eq!(cond_ite(s, ap, &c, f, g).unwrap(), want, "{c:?}");
            }
        }
    }
}
