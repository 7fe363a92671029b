//! minijail's meaning of the statements read, as a policy IR.
//!
//! In: filter statements in reading order, the `@default` action, the arch
//! table. Out: one [`ArchPolicy`] for `constants.json`'s `arch_nr`, with
//! minijail's own choices: every other arch gets the kill action
//! (KILL_THREAD, minijail's arch check), numbers past the table (x32 on
//! x86_64 included) get the default, which is KILL_THREAD unless
//! `@default` says otherwise.
//!
//! Per syscall, the filters of all its lines are joined in reading order;
//! the first whose expression holds decides; a line after an unconditional
//! action is refused (minijail: "already had an unconditional action");
//! when the last filter is conditional the default is appended. When the
//! last action is `allow`, minijail's compiler allows the syscall outright
//! and drops the conditional filters before it; sysfence does the same and
//! warns. `&` (any bit of a mask) becomes one any-bit comparison
//! ([`CmpOp::MaskedAny`], a `jset` per word), `in` a masked comparison with
//! the complement.

use std::collections::{BTreeMap, HashMap};

use super::constants::ArchTable;
use super::parser::{Atom, Filter, FilterStatement, Op};
use crate::diag::Diagnostic;
use crate::ir::{Action, ArchPolicy, ArgIndex, ArgWidth, CmpOp, Cond, Origin, Rule};

/// Rules one syscall may expand to (a clause is one rule; the limit bounds
/// the policy's size, not an expansion).
pub const MAX_RULES: usize = 4096;

/// Comparisons in one syscall's conditional filters past which minijail's
/// compiler may fail: it builds the filters as a chain of blocks and walks
/// it recursively, and Python's default recursion limit stops it at 493
/// `==` comparisons, 329 64-bit `>=` (measured with its
/// `compile_seccomp_policy.py`). Past this many, sysfence warns (it reads
/// the policy all the same), and `decompile` writes no such line.
pub const COMPILER_ATOMS: usize = 300;

/// One syscall's filters, each with the colon of its line.
#[derive(Debug, Default)]
struct Entry {
    name: String,
    filters: Vec<(Filter, Origin)>,
}

/// A located error: message and where.
pub type LowerError = (String, Origin);

/// Lowers the statements of one arch.
pub fn lower(
    statements: &[FilterStatement],
    default: Action,
    table: &ArchTable,
    display_name: &str,
    warnings: &mut Vec<Diagnostic>,
) -> Result<ArchPolicy, LowerError> {
    let entries = collect(statements)?;
    let width = if table.bits == 64 {
        ArgWidth::Bits64
    } else {
        ArgWidth::Bits32
    };
    let mut rules = BTreeMap::new();
    for (nr, e) in &entries {
        let list = entry_rules(e, default, width, warnings)?;
        if !list.is_empty() {
            rules.insert(*nr, list);
        }
    }
    Ok(ArchPolicy {
        audit_arch: table.arch_nr,
        name: display_name.to_string(),
        width,
        default,
        rules,
        ranges: vec![],
        table_max: table.max_nr(),
    })
}

/// Joins the filters of every line per syscall number.
fn collect(statements: &[FilterStatement]) -> Result<BTreeMap<u32, Entry>, LowerError> {
    let mut out: BTreeMap<u32, Entry> = BTreeMap::new();
    for st in statements {
        for (name, nr) in &st.syscalls {
            let e = out.entry(*nr).or_insert_with(|| Entry {
                name: name.clone(),
                filters: vec![],
            });
            if &e.name != name {
                let msg = format!(
                    "\"{name}\" and \"{}\" are one number ({nr}) in constants.json",
                    e.name
                );
                return Err((msg, st.colon.clone()));
            }
            e.filters
                .extend(st.filters.iter().map(|f| (f.clone(), st.colon.clone())));
        }
    }
    Ok(out)
}

/// The rules of one syscall, first match wins.
fn entry_rules(
    e: &Entry,
    default: Action,
    width: ArgWidth,
    warnings: &mut Vec<Diagnostic>,
) -> Result<Vec<Rule>, LowerError> {
    let first_plain = e.filters.iter().position(|(f, _)| f.expr.is_none());
    if let Some(i) = first_plain.filter(|i| i + 1 < e.filters.len()) {
        let before = &e.filters[i].1;
        let msg = format!(
            "syscall {} already had an unconditional action applied (previous definition at {}:{}:{})",
            e.name, before.file, before.line, before.column
        );
        return Err((msg, e.filters[i + 1].1.clone()));
    }
    let last = first_plain.map_or(default, |i| e.filters[i].0.action);
    let conditional = &e.filters[..first_plain.unwrap_or(e.filters.len())];
    if last == Action::Allow {
        if let Some((_, at)) = conditional.first() {
            let msg = format!(
                "{}'s last action is allow, so minijail's compiler allows every call and drops the conditional filters before it",
                e.name
            );
            warnings.push(Diagnostic::warning(at, msg));
        }
        return Ok(vec![rule(vec![], Action::Allow, &e.filters[0].1)]);
    }
    let mut rules = Vec::new();
    let mut seen = Seen::default();
    for (f, at) in conditional {
        for clause in f.expr.iter().flatten() {
            match clause_conds(&clause.atoms, width) {
                Some(conds) => {
                    let r = rule(conds, f.action, &clause.at);
                    match seen.earlier(&r, rules.len()) {
                        Some(i) => warnings.push(never_decides(&e.name, &r, &rules[i])),
                        None => rules.push(r),
                    }
                }
                None => {
                    let msg = format!(
                        "this clause of {} never holds (an `&` with no bit in its mask), so minijail never matches it",
                        e.name
                    );
                    warnings.push(Diagnostic::warning(&clause.at, msg));
                }
            }
            if rules.len() > MAX_RULES {
                let msg = format!(
                    "{}'s argument expressions expand to more than {MAX_RULES} comparisons chains",
                    e.name
                );
                return Err((msg, at.clone()));
            }
        }
    }
    if let Some(w) = past_the_compiler(&e.name, conditional) {
        warnings.push(w);
    }
    if last != default {
        let at = &e.filters.last().expect("an entry has a filter").1;
        rules.push(rule(vec![], last, at));
    }
    Ok(rules)
}

/// A warning when a syscall's conditional filters hold more comparisons
/// than minijail's compiler may take ([`COMPILER_ATOMS`]).
fn past_the_compiler(name: &str, conditional: &[(Filter, Origin)]) -> Option<Diagnostic> {
    let atoms: usize = conditional
        .iter()
        .flat_map(|(f, _)| f.expr.iter().flatten())
        .map(|c| c.atoms.len())
        .sum();
    let (_, at) = conditional.first().filter(|_| atoms > COMPILER_ATOMS)?;
    let msg = format!(
        "{name}'s filters hold {atoms} comparisons; minijail's compiler may fail on more than {COMPILER_ATOMS} in one syscall (a Python RecursionError, from 329 64-bit `>=` or 493 `==`)"
    );
    Some(Diagnostic::warning(at, msg))
}

/// The clauses of one syscall kept so far, by their conditions (in a
/// canonical order: `&&` commutes).
#[derive(Default)]
struct Seen(HashMap<Vec<Cond>, usize>);

impl Seen {
    /// The earlier rule with `r`'s conditions, if any; else `r` is kept as
    /// rule `index`.
    fn earlier(&mut self, r: &Rule, index: usize) -> Option<usize> {
        let mut key = r.conds.clone();
        key.sort_by_key(|c| (c.arg.get(), c.op, c.value, c.value_two));
        match self.0.get(&key) {
            Some(&i) => Some(i),
            None => {
                self.0.insert(key, index);
                None
            }
        }
    }
}

/// A clause left out because an earlier one has its conditions: a note
/// when the actions agree, a warning when the text asks for an action the
/// filter never takes.
fn never_decides(name: &str, r: &Rule, first: &Rule) -> Diagnostic {
    let o = &first.origin;
    let place = format!("{}:{}:{}", o.file, o.line, o.column);
    let d = if r.action == first.action {
        let msg = format!(
            "this clause of {name} never decides: the clause at {place} has its conditions and comes first"
        );
        Diagnostic::note(&r.origin, msg)
    } else {
        let msg = format!(
            "this {} clause of {name} never decides: the {} clause at {place} has its conditions and comes first",
            r.action, first.action
        );
        Diagnostic::warning(&r.origin, msg)
    };
    // An excerpt of the first clause only from the same file (one diagnostic
    // has one source text).
    if o.file == r.origin.file {
        d.with_related(o)
    } else {
        d
    }
}

fn rule(conds: Vec<Cond>, action: Action, at: &Origin) -> Rule {
    Rule {
        conds,
        action,
        origin: at.clone(),
    }
}

/// A clause (atoms joined by `&&`) as one conjunction of IR conditions;
/// `None` when one of its atoms never holds (`& 0`).
fn clause_conds(clause: &[Atom], width: ArgWidth) -> Option<Vec<Cond>> {
    clause.iter().map(|a| atom_cond(a, width)).collect()
}

/// The condition of one atom; `None` when it never holds.
fn atom_cond(a: &Atom, width: ArgWidth) -> Option<Cond> {
    let arg = ArgIndex::new(a.arg).expect("the parser refuses arg6 and above");
    let word = if width == ArgWidth::Bits64 {
        u64::MAX
    } else {
        0xffff_ffff
    };
    let (op, value) = match a.op {
        Op::Eq => (CmpOp::Eq, a.value),
        Op::Ne => (CmpOp::Ne, a.value),
        Op::Lt => (CmpOp::Lt, a.value),
        Op::Le => (CmpOp::Le, a.value),
        Op::Gt => (CmpOp::Gt, a.value),
        Op::Ge => (CmpOp::Ge, a.value),
        Op::In => (CmpOp::MaskedEq, !a.value),
        Op::AnyBit if a.value & word == 0 => return None,
        Op::AnyBit => (CmpOp::MaskedAny, a.value),
    };
    // Full width: the arch's own width decides, as minijail's compiler does.
    Some(Cond {
        arg,
        op,
        value: value & word,
        value_two: 0,
        width: ArgWidth::Bits64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn atom(op: Op, value: u64) -> Atom {
        Atom { arg: 1, op, value }
    }

    #[test]
    fn any_bit_is_one_comparison_and_in_is_the_complement() {
        let w = ArgWidth::Bits64;
        let e = clause_conds(&[atom(Op::AnyBit, 0x6400), atom(Op::Eq, 3)], w).unwrap();
        assert_eq!(e.len(), 2);
        let any = e[0];
        assert!(any.holds(0x400, w) && any.holds(0x6400, w) && !any.holds(0x8003, w));
        // Two many-bit masks in one clause: one rule of two comparisons.
        let two = clause_conds(&[atom(Op::AnyBit, !0), atom(Op::AnyBit, !1)], w).unwrap();
        assert_eq!(two.len(), 2);
        assert!(clause_conds(&[atom(Op::AnyBit, 0), atom(Op::Eq, 3)], w).is_none());
        let c = atom_cond(&atom(Op::In, 0b101), w).unwrap();
        assert!(c.holds(0b100, w) && !c.holds(0b10, w));
    }
}
