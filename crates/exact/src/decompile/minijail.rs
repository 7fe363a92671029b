//! A [`Plan`] as a minijail policy.
//!
//! In: a plan. Out: the policy text, one line per (syscall, action), and
//! notes for what minijail cannot say (appended to the plan's losses). A
//! policy holds one arch (its `constants.json`), gives every other arch
//! KILL_THREAD (minijail's arch check), has no x32 ABI (x32 numbers are
//! unlisted numbers of x86_64 and get the default), and takes its default
//! from `@default`: `kill-thread` (the default), `kill-process`, `trap` or
//! `user-notify`. The plan's rules of one syscall are disjoint, so
//! minijail's first match gives each call the plan's action whatever the
//! order; a syscall whose rules all miss gets the default, as the plan's
//! does, or its own last line where the plan has one ([`Plan::elses`]:
//! `arg0 != 5; allow` is `arg0 == 5; kill-thread` and then a line that
//! allows every call, written as `arg0 in 0xffffffffffffffff; allow`, since
//! minijail drops the lines before an unconditional `allow`).
//!
//! An argument test is minijail's own comparison where it has one (`==`,
//! `<=`, `>=`); a masked equality `arg & mask == value` is the bits that
//! must be clear as one `in` (no bit outside its mask) and each bit that
//! must be set as one `&` (any bit of a one-bit mask). A name whose lines
//! would hold more comparisons than minijail's compiler may take
//! ([`COMPILER_ATOMS`]) makes the plan unwritable.

use std::collections::BTreeMap;
use std::fmt::Write;

use sysfence_cbpf::Action;
use sysfence_profile::arch::Arch;
use sysfence_profile::minijail::COMPILER_ATOMS;

use super::{ArgTest, Plan, TestOp, action_name};

/// The policy text of `plan`.
pub fn render(plan: &mut Plan) -> String {
    check_arches(plan);
    let mut out = String::from("# Written by sysfence decompile, proven equal to the filter.\n");
    match default_word(plan.default) {
        Some("kill-thread") => {}
        Some(word) => {
            let _ = writeln!(out, "@default {word}");
        }
        None => plan.lost.push(format!(
            "the default action is {}; minijail's @default is kill-thread, kill-process, trap or user-notify",
            action_name(plan.default)
        )),
    }
    // A 32-bit arch's words are 32 bits: so are its masks.
    let word = match plan.arches.first().map(|a| a.width()) {
        Some(sysfence_profile::ir::ArgWidth::Bits32) => u64::from(u32::MAX),
        _ => u64::MAX,
    };
    // Per syscall, per action: the clauses, joined by `||` on one line.
    let mut lines: BTreeMap<(&str, u32), Vec<String>> = BTreeMap::new();
    for e in &plan.entries {
        for name in &e.names {
            let clause: Vec<String> = e.tests.iter().flat_map(|t| atoms(t, word)).collect();
            lines
                .entry((name, e.action))
                .or_default()
                .push(clause.join(" && "));
        }
    }
    compiler_limit(&lines, plan);
    let mut last_name = None;
    for ((name, action), clauses) in lines {
        if last_name.is_some_and(|n| n != name) {
            last_rule(&mut out, last_name, plan, word);
        }
        last_name = Some(name);
        let action = action_word(action, plan);
        if clauses.iter().any(String::is_empty) {
            let _ = writeln!(out, "{name}: {action}");
        } else {
            let _ = writeln!(out, "{name}: {}; {action}", clauses.join(" || "));
        }
    }
    last_rule(&mut out, last_name, plan, word);
    out
}

/// Notes for the names whose lines hold more comparisons than minijail's
/// compiler may take ([`COMPILER_ATOMS`]; the line that ends a name's lines
/// holds at most one).
fn compiler_limit(lines: &BTreeMap<(&str, u32), Vec<String>>, plan: &mut Plan) {
    let mut atoms: BTreeMap<&str, usize> = BTreeMap::new();
    for ((name, _), clauses) in lines {
        let n: usize = clauses.iter().map(|c| c.matches(" && ").count() + 1).sum();
        *atoms.entry(name).or_default() += n;
    }
    for (name, n) in atoms.into_iter().filter(|&(_, n)| n + 1 > COMPILER_ATOMS) {
        plan.unwritable.push(format!(
            "{name}: its lines would hold {n} comparisons; minijail's compiler may fail on more than {COMPILER_ATOMS} in one syscall"
        ));
    }
}

/// The line that ends `name`'s lines, when the plan gives its remaining
/// argument regions an action other than the default (minijail reads a
/// name's lines in order, first match). It is unconditional, but for
/// ALLOW: minijail's compiler reads a last unconditional `allow` as "allow
/// every call" and drops the lines before it, so that one holds a
/// condition every value meets (no bit outside all of them).
fn last_rule(out: &mut String, name: Option<&str>, plan: &mut Plan, word: u64) {
    let Some((name, action)) = name.and_then(|n| Some((n, *plan.elses.get(n)?))) else {
        return;
    };
    if action == Action::Allow.to_raw() {
        let _ = writeln!(out, "{name}: arg0 in {word:#x}; allow");
    } else {
        let action = action_word(action, plan);
        let _ = writeln!(out, "{name}: {action}");
    }
}

/// Notes for arches a policy cannot hold: more than one, x32 as its own
/// ABI, foreign arches not killed as minijail's arch check kills them.
fn check_arches(plan: &mut Plan) {
    let mut audits: Vec<u32> = plan.arches.iter().map(|a| a.audit_arch()).collect();
    audits.sort_unstable();
    audits.dedup();
    if audits.len() > 1 {
        plan.lost
            .push("a minijail policy holds one arch (its constants.json)".into());
    }
    if plan.arches.contains(&Arch::X32) {
        plan.lost.push(
            "x32 numbers are filtered as an ABI of their own; minijail gives them the default"
                .into(),
        );
    }
    if plan.x32_guard && plan.bad_arch != plan.default {
        plan.lost.push(format!(
            "x32 numbers get {} (libseccomp's x32 guard); minijail gives them the default",
            action_name(plan.bad_arch)
        ));
    }
    if plan.bad_arch != Action::KillThread.to_raw() {
        plan.lost.push(format!(
            "foreign arches get {}; minijail's arch check gives them KILL_THREAD",
            action_name(plan.bad_arch)
        ));
    }
}

/// `@default`'s word for a raw action, if it has one.
fn default_word(raw: u32) -> Option<&'static str> {
    match Action::from_raw(raw) {
        a if a.to_raw() != raw => None,
        Action::KillThread => Some("kill-thread"),
        Action::KillProcess => Some("kill-process"),
        Action::Trap(0) => Some("trap"),
        Action::UserNotif => Some("user-notify"),
        _ => None,
    }
}

/// minijail's word for a rule's action, or a note why there is none.
fn action_word(raw: u32, plan: &mut Plan) -> String {
    let a = Action::from_raw(raw);
    let word = match a {
        _ if a.to_raw() != raw => None,
        Action::Allow => Some("allow".to_string()),
        Action::KillThread => Some("kill-thread".into()),
        Action::KillProcess => Some("kill-process".into()),
        Action::Trap(0) => Some("trap".into()),
        Action::Trace(0) => Some("trace".into()),
        Action::Log => Some("log".into()),
        Action::UserNotif => Some("user-notify".into()),
        Action::Errno(e) => Some(format!("return {e}")),
        _ => None,
    };
    word.unwrap_or_else(|| {
        plan.lost.push(format!(
            "{a}: minijail has no such action (its trap and trace carry no data)"
        ));
        "kill-thread".into()
    })
}

/// One test as minijail atoms joined by `&&`, on words of `word`'s bits.
fn atoms(t: &ArgTest, word: u64) -> Vec<String> {
    let arg = t.arg;
    match t.op {
        TestOp::Eq => vec![format!("arg{arg} == {:#x}", t.value)],
        TestOp::Le => vec![format!("arg{arg} <= {:#x}", t.value)],
        TestOp::Ge => vec![format!("arg{arg} >= {:#x}", t.value)],
        TestOp::MaskedEq => {
            let clear = t.mask & !t.value;
            let set = t.mask & t.value;
            let mut out = Vec::new();
            if clear != 0 || set == 0 {
                out.push(format!("arg{arg} in {:#x}", !clear & word));
            }
            out.extend(
                (0..64)
                    .map(|b| 1u64 << b)
                    .filter(|b| set & b != 0)
                    .map(|b| format!("arg{arg} & {b:#x}")),
            );
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_masked_equality_is_the_clear_bits_in_one_mask_and_each_set_bit() {
        let t = |mask, value| ArgTest {
            arg: 2,
            op: TestOp::MaskedEq,
            mask,
            value,
        };
        assert_eq!(
            atoms(&t(0xf0, 0x30), u64::MAX),
            ["arg2 in 0xffffffffffffff3f", "arg2 & 0x10", "arg2 & 0x20"]
        );
        assert_eq!(atoms(&t(0xf0, 0x30), 0xffff_ffff)[0], "arg2 in 0xffffff3f");
        assert_eq!(atoms(&t(0x5, 0x5), u64::MAX), ["arg2 & 0x1", "arg2 & 0x4"]);
        // No bit tested: always holds.
        assert_eq!(atoms(&t(0, 0), u64::MAX), ["arg2 in 0xffffffffffffffff"]);
    }
}
