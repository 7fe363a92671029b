//! The check run on every compile: the program against the policy's
//! reference evaluator, and against the kernel's action cache.
//!
//! In: a [`Selection`] (the policy, the AUDIT_ARCH values the program
//! dispatches and the bad-arch action, all decided by [`crate::select`])
//! and a [`Program`] compiled from it. Out: a [`CheckReport`] (per arch: how many
//! numbers up to the table's end are allowed, fail with an errno, kill, or do
//! something else; how many the kernel cache serves), or the first
//! [`Mismatch`] found.
//!
//! Inputs, per arch in the program:
//!
//! * numbers: every number from 0 to 64 past the table's end, −1, the
//!   boundaries of every range and rule number, a few fixed values around
//!   2³⁰, 2³¹ and 2³², and with bit 30 set (every x32 number up to past the
//!   table on x86_64, a sample elsewhere);
//! * argument vectors: for numbers with rules, built from the rules'
//!   constants ([`boundary_values`]: each constant with −1/=/+1 on each
//!   32-bit word, the high word 0 and all-ones, mask bits flipped) around one base vector per rule
//!   that satisfies it where possible; for other numbers zeros, all-ones and a
//!   vector of the policy's constants;
//! * foreign arches: every arch value the cBPF crate knows that is not in the
//!   program (the policy's own arches left out included), plus 0 and
//!   0xffffffff, which must get the selection's bad-arch action.
//!
//! Cache: every number up to the table's end that the policy allows whatever
//! the arguments must be a constant ALLOW for
//! [`sysfence_cbpf::interp::cache::is_const_allow`].
//!
//! Not checked: inputs outside this set. Numbers are covered exhaustively
//! around everything the policy names; arguments only around its constants.

use std::fmt;

use sysfence_abi::arch::X32_SYSCALL_BIT;
use sysfence_cbpf::data::AUDIT_ARCHES;
use sysfence_cbpf::interp::{self, cache};
use sysfence_cbpf::program::Program;
use sysfence_cbpf::{Action as RawAction, SeccompData};
use sysfence_profile::eval::{boundary_values, decide, eval};
use sysfence_profile::ir::{Action, ArchPolicy, Cond, NrRange, Policy, Rule};

pub use crate::proof::Proved;
use crate::select::{self, Selection};

// AUDIT_ARCH_X86_64: the only arch whose numbers carry the x32 bit.
use sysfence_abi::arch::AUDIT_ARCH_X86_64 as X86_64;

/// Numbers past the end of the table that are checked.
const PAST_END: u32 = 64;

/// What the check found, per arch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckReport {
    arches: Vec<ArchSummary>,
    inputs: usize,
    proof: Option<Proved>,
}

impl CheckReport {
    /// One summary per arch, in dispatch order.
    pub fn arches(&self) -> &[ArchSummary] {
        &self.arches
    }

    /// How many inputs were run concretely (the summary's numbers, and
    /// the sampled check's inputs when it ran).
    pub fn inputs(&self) -> usize {
        self.inputs
    }

    /// The exact proof, when the program was proved equal to the policy
    /// (`None`: the sampled check decided).
    pub fn proof(&self) -> Option<Proved> {
        self.proof
    }
}

/// Counts over the numbers `0..=table_max` of one arch, all arguments zero.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArchSummary {
    /// The AUDIT_ARCH value.
    pub audit_arch: u32,
    /// The arch's display name.
    pub name: String,
    /// Numbers that return ALLOW.
    pub allowed: usize,
    /// Numbers that return ERRNO.
    pub errno: usize,
    /// Numbers that kill the thread or process.
    pub killed: usize,
    /// Numbers with any other action (TRAP, TRACE, LOG, USER_NOTIF).
    pub other: usize,
    /// Numbers whose decision depends on arguments.
    pub arg_checked: usize,
    /// Numbers the policy always allows (whatever the arguments) that the
    /// kernel's action cache serves (constant ALLOW).
    pub cached: usize,
}

/// A difference between the program and the policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mismatch {
    /// The program returns something else than the evaluator.
    Action {
        /// The input.
        data: SeccompData,
        /// What the policy says (raw).
        expected: u32,
        /// What the program returned (raw).
        got: u32,
    },
    /// An always-allowed number the kernel cache does not recognise.
    NotCached {
        /// The AUDIT_ARCH value.
        arch: u32,
        /// The number.
        nr: u32,
    },
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mismatch::Action {
                data,
                expected,
                got,
            } => write!(
                f,
                "arch {:#010x} nr {} ({:#x}) args [{}]: policy says {}, program returns {}",
                data.arch,
                data.nr as i32,
                data.nr,
                data.args
                    .iter()
                    .map(|a| format!("{a:#x}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                RawAction::from_raw(*expected),
                RawAction::from_raw(*got)
            ),
            Mismatch::NotCached { arch, nr } => write!(
                f,
                "arch {arch:#010x} nr {nr}: always allowed by the policy but not a constant ALLOW for the kernel cache"
            ),
        }
    }
}

impl std::error::Error for Mismatch {}

/// Checks a program compiled from the whole policy with the default
/// [`crate::Config`] ([`select::whole`]: every arch, the policy's bad-arch
/// action).
pub fn check(policy: &Policy, program: &Program) -> Result<CheckReport, Mismatch> {
    check_selected(&select::whole(policy), program)
}

/// Checks a program compiled from `selection`: it dispatches exactly the
/// selection's arches, and every other arch value must get the selection's
/// bad-arch action.
pub fn check_selected(
    selection: &Selection<'_>,
    program: &Program,
) -> Result<CheckReport, Mismatch> {
    let (policy, arches) = (selection.policy(), selection.order());
    let mut report = summarize(selection, program, None)?;
    for ap in selection.entries() {
        report.inputs += check_numbers(policy, ap, program)?;
    }
    let bad = selection.bad_arch().to_raw();
    for arch in foreign_arches(policy, arches) {
        report.inputs += 1;
        let data = SeccompData::new(arch, 0);
        let got = interp::run(program, &data).raw;
        if got != bad {
            return Err(Mismatch::Action {
                data,
                expected: bad,
                got,
            });
        }
    }
    Ok(report)
}

/// The per-arch counts and the kernel-cache check of a program compiled
/// from `selection`, with the proof that it equals the policy when there is
/// one.
pub fn summarize(
    selection: &Selection<'_>,
    program: &Program,
    proof: Option<Proved>,
) -> Result<CheckReport, Mismatch> {
    let mut report = CheckReport {
        arches: Vec::with_capacity(selection.order().len()),
        inputs: 0,
        proof,
    };
    for ap in selection.entries() {
        report.arches.push(summary(ap, program)?);
        let numbers = ap.table_numbers();
        report.inputs += (numbers.end() - numbers.start()) as usize + 1;
    }
    Ok(report)
}

/// The reference evaluator's action, raw.
fn expected(policy: &Policy, data: &SeccompData) -> u32 {
    eval(policy, data).0.to_raw()
}

fn compare(policy: &Policy, program: &Program, data: &SeccompData) -> Result<(), Mismatch> {
    let want = expected(policy, data);
    let got = interp::run(program, data).raw;
    if want == got {
        Ok(())
    } else {
        Err(Mismatch::Action {
            data: *data,
            expected: want,
            got,
        })
    }
}

fn check_numbers(policy: &Policy, ap: &ArchPolicy, program: &Program) -> Result<usize, Mismatch> {
    let mut count = 0;
    let plain = plain_vectors(ap);
    for nr in numbers(ap) {
        let vectors = match ap.rules.get(&nr) {
            Some(rules) if ap.range_for(nr).is_none() => rule_vectors(rules, ap),
            _ => plain.clone(),
        };
        for args in vectors {
            count += 1;
            compare(
                policy,
                program,
                &SeccompData {
                    args,
                    ..SeccompData::new(ap.audit_arch, nr)
                },
            )?;
        }
    }
    Ok(count)
}

/// Whether the policy allows `nr` whatever the arguments (every rule that
/// can be reached allows, and so does the fall-through).
pub fn always_allows(ap: &ArchPolicy, nr: u32) -> bool {
    let rules = ap.rules.get(&nr).map_or(&[][..], Vec::as_slice);
    allows_always(ap, ap.range_for(nr), rules)
}

/// [`always_allows`] for a number whose range (if any) and rules are
/// already looked up.
fn allows_always(ap: &ArchPolicy, range: Option<&NrRange>, rules: &[Rule]) -> bool {
    if let Some(r) = range {
        return r.action == Action::Allow;
    }
    for rule in rules {
        if rule.action != Action::Allow {
            return false;
        }
        if rule.conds.is_empty() {
            return true;
        }
    }
    ap.default == Action::Allow
}

/// The counts of one arch; fails when an always-allowed number is not a
/// constant ALLOW for the kernel cache.
fn summary(ap: &ArchPolicy, program: &Program) -> Result<ArchSummary, Mismatch> {
    let mut s = ArchSummary {
        audit_arch: ap.audit_arch,
        name: ap.name.clone(),
        allowed: 0,
        errno: 0,
        killed: 0,
        other: 0,
        arg_checked: 0,
        cached: 0,
    };
    // The numbers the policy always allows, as ranges.
    let mut always: Vec<(u32, u32)> = Vec::with_capacity(ap.rules.len() + 1);
    for (lo, hi, range, rules) in pieces(ap) {
        let count = (hi - lo) as usize + 1;
        let counter = match RawAction::from_raw(decide(ap, lo, (range, rules), &[0; 6]).0.to_raw())
        {
            RawAction::Allow => &mut s.allowed,
            RawAction::Errno(_) => &mut s.errno,
            a if a.kills() => &mut s.killed,
            _ => &mut s.other,
        };
        *counter += count;
        let conditional = rules.iter().any(|r| !r.conds.is_empty());
        s.arg_checked += usize::from(conditional && range.is_none());
        if allows_always(ap, range, rules) {
            match always.last_mut() {
                Some(last) if last.1 + 1 == lo => last.1 = hi,
                _ => always.push((lo, hi)),
            }
        }
    }
    // The cache model is sound: a number the policy does not always allow
    // is never a constant ALLOW of a correct program (and a wrong program
    // is the proof's or the sampled check's to refuse), so only the
    // always-allowed numbers are walked, and each must be cached.
    let cached = cache::const_allow_among(program, ap.audit_arch, &always);
    if let Some(nr) = first_missing(&always, &cached) {
        return Err(Mismatch::NotCached {
            arch: ap.audit_arch,
            nr,
        });
    }
    s.cached = always.iter().map(|r| (r.1 - r.0) as usize + 1).sum();
    Ok(s)
}

/// The numbers of the arch's table in order, as pieces that one answer
/// holds for: a fixed-action range (cut to the table), a number with
/// rules, or a run of numbers that get the default action; each with its
/// range and its rules.
fn pieces(ap: &ArchPolicy) -> impl Iterator<Item = (u32, u32, Option<&NrRange>, &[Rule])> {
    let (start, end) = (*ap.table_numbers().start(), *ap.table_numbers().end());
    let mut rules = ap.rules.range(start..=end).peekable();
    let mut ranges = ap.ranges.iter().filter(move |r| r.hi >= start).peekable();
    let mut at = u64::from(start);
    std::iter::from_fn(move || {
        let nr = u32::try_from(at).ok().filter(|&nr| nr <= end)?;
        if let Some(r) = ranges.next_if(|r| r.lo <= nr) {
            let hi = r.hi.min(end);
            at = u64::from(hi) + 1;
            return Some((nr, hi, Some(r), &[][..]));
        }
        while rules.next_if(|&(&k, _)| k < nr).is_some() {}
        if let Some((_, here)) = rules.next_if(|&(&k, _)| k == nr) {
            at += 1;
            return Some((nr, nr, None, here.as_slice()));
        }
        let next_rule = rules.peek().map_or(u64::MAX, |&(&k, _)| u64::from(k));
        let next_range = ranges.peek().map_or(u64::MAX, |r| u64::from(r.lo));
        at = next_rule.min(next_range).min(u64::from(end) + 1);
        Some((nr, (at - 1) as u32, None, &[][..]))
    })
}

/// The first number of `want` that `got` (a subset, both sorted, disjoint
/// and non-adjacent ranges) lacks.
fn first_missing(want: &[(u32, u32)], got: &[(u32, u32)]) -> Option<u32> {
    // A subset's ranges lie inside `want`'s: equal lists mean equal sets,
    // else the first difference starts at the first missing number.
    want.iter()
        .zip(got.iter().map(Some).chain(std::iter::repeat(None)))
        .find(|(w, g)| g.is_none_or(|g| g != *w))
        .map(|(w, g)| match g {
            Some(g) if g.0 == w.0 => g.1 + 1,
            _ => w.0,
        })
}

/// Every number the check runs for one arch.
fn numbers(ap: &ArchPolicy) -> Vec<u32> {
    let end = ap.table_max.saturating_add(PAST_END);
    let mut out: Vec<u32> = (*ap.table_numbers().start()..=end).collect();
    // An x32-only entry: the low numbers, which belong to the other ABI.
    out.extend(0..=PAST_END);
    let x32_span = if ap.audit_arch == X86_64 {
        end & !X32_SYSCALL_BIT
    } else {
        2
    };
    out.extend((0..=x32_span).map(|n| n | X32_SYSCALL_BIT));
    out.extend([
        0x3fff_ffff,
        0x7fff_ffff,
        0x8000_0000,
        0xbfff_ffff,
        0xc000_0000,
        0xffff_fffe,
        u32::MAX,
    ]);
    out.extend([ap.table_max | X32_SYSCALL_BIT, end | 0x8000_0000]);
    let near = |v: u32| [v.wrapping_sub(1), v, v.wrapping_add(1)];
    for r in &ap.ranges {
        out.extend(near(r.lo).into_iter().chain(near(r.hi)));
    }
    for &nr in ap.rules.keys() {
        out.extend(near(nr));
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// The argument vectors the check runs for one number.
pub(crate) fn argument_vectors(ap: &ArchPolicy, nr: u32) -> Vec<[u64; 6]> {
    match ap.rules.get(&nr) {
        Some(rules) if ap.range_for(nr).is_none() => rule_vectors(rules, ap),
        _ => plain_vectors(ap),
    }
}

/// Arch values the program does not dispatch: every known one, the
/// policy's arches left out of the program, 0 and 0xffffffff.
fn foreign_arches(policy: &Policy, arches: &[u32]) -> Vec<u32> {
    let known = AUDIT_ARCHES.iter().map(|&(_, v)| v);
    let own = policy.arches().iter().map(|a| a.audit_arch);
    let mut out: Vec<u32> = known.chain(own).chain([0, u32::MAX]).collect();
    out.retain(|a| !arches.contains(a));
    out.sort_unstable();
    out.dedup();
    out
}

/// Argument vectors for numbers without rules.
fn plain_vectors(ap: &ArchPolicy) -> Vec<[u64; 6]> {
    let mut constants = [0u64; 6];
    for c in ap.rules.values().flatten().flat_map(|r| &r.conds) {
        constants[c.arg.get()] = c.value_two.max(c.value);
    }
    vec![[0; 6], [u64::MAX; 6], constants]
}

/// Argument vectors for a number with rules.
fn rule_vectors(rules: &[Rule], ap: &ArchPolicy) -> Vec<[u64; 6]> {
    let mut values: [Vec<u64>; 6] = Default::default();
    for c in rules.iter().flat_map(|r| &r.conds) {
        values[c.arg.get()].extend(boundary_values(c, ap.width));
    }
    for v in &mut values {
        v.push(0);
        v.sort_unstable();
        v.dedup();
    }
    let mut bases = vec![[0u64; 6]];
    bases.extend(rules.iter().map(|r| satisfying(r, &values, ap)));
    let mut out = Vec::new();
    for (i, vals) in values.iter().enumerate() {
        // Varying argument i makes the same vectors from every base that
        // agrees elsewhere: vary each such class once.
        let mut keys: Vec<[u64; 6]> = bases
            .iter()
            .map(|b| {
                let mut k = *b;
                k[i] = 0;
                k
            })
            .collect();
        keys.sort_unstable();
        keys.dedup();
        for key in keys {
            out.extend(vals.iter().map(|&v| {
                let mut args = key;
                args[i] = v;
                args
            }));
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// A vector that satisfies the rule's conditions where a candidate value does.
fn satisfying(rule: &Rule, values: &[Vec<u64>; 6], ap: &ArchPolicy) -> [u64; 6] {
    let mut args = [0u64; 6];
    for (i, vals) in values.iter().enumerate() {
        let conds: Vec<&Cond> = rule.conds.iter().filter(|c| c.arg.get() == i).collect();
        if let Some(&v) = vals
            .iter()
            .find(|&&v| conds.iter().all(|c| c.holds(v, ap.width)))
        {
            args[i] = v;
        }
    }
    args
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Check, Config, compile};
    use sysfence_testkit::fixtures::x86_64_allow_list;

    /// A `--bad-arch` override is decided by the selection, and both
    /// checks hold the program to it: a check that used the policy's own
    /// action would refuse this program.
    #[test]
    fn the_bad_arch_override_is_what_the_check_verifies() {
        let p = x86_64_allow_list([0, 1, 60], vec![], Action::KillProcess);
        let config = Config::new().bad_arch(Action::Errno(38));
        assert_eq!(
            select::select(&p, &config).unwrap().bad_arch(),
            Action::Errno(38)
        );
        assert_eq!(select::whole(&p).bad_arch(), Action::KillProcess);
        for mode in [Check::Proof, Check::Sampled] {
            let c = compile(&p, &config.clone().check_with(mode)).unwrap();
            assert!(c.check_report().is_some(), "{mode:?}");
            assert!(check_selected(c.selection(), c.program()).is_ok());
            let Err(Mismatch::Action { expected, got, .. }) = check(&p, c.program()) else {
                panic!("{mode:?}: the policy's own bad-arch action was not refused");
            };
            assert_eq!(expected, Action::KillProcess.to_raw());
            assert_eq!(got, Action::Errno(38).to_raw());
        }
    }

    /// A program that takes an always-allowed number through an argument
    /// load: right, but the kernel cache does not serve that number. With
    /// few numbers and with many (the cache walk's two ways).
    #[test]
    fn an_always_allowed_number_the_cache_misses_is_refused() {
        for limit in [5u32, 100] {
            let p = x86_64_allow_list(0..limit, vec![], Action::KillProcess);
            let program = |slow: u32| {
                let text = format!(
                    "ld [4]\njeq #0xc000003e, ok\nret #0x80000000\nok: ld [0]\n\
                     jeq #{slow}, slow\njge #0x40000000, high\njge #{limit}, errno\n\
                     ret #0x7fff0000\nslow: ld [16]\nret #0x7fff0000\n\
                     high: jeq #0xffffffff, errno\nret #0\nerrno: ret #0x50001\n"
                );
                let insns = sysfence_cbpf::asm::assemble(&text, &Default::default()).unwrap();
                Program::new(&insns).unwrap()
            };
            let whole = select::whole(&p);
            let report = summarize(&whole, &program(u32::MAX - 1), None).unwrap();
            assert_eq!(report.arches[0].cached, limit as usize);
            let Err(Mismatch::NotCached { nr, .. }) = summarize(&whole, &program(3), None) else {
                panic!("{limit}: nr 3 is not cached but the summary passed");
            };
            assert_eq!(nr, 3);
        }
    }

    #[test]
    fn the_first_missing_number_is_found() {
        let want = [(1, 4), (8, 8), (10, 20)];
        assert_eq!(first_missing(&want, &want), None);
        assert_eq!(first_missing(&want, &[(1, 4), (8, 8), (10, 19)]), Some(20));
        assert_eq!(first_missing(&want, &[(1, 4), (10, 20)]), Some(8));
        assert_eq!(first_missing(&want, &[(2, 4), (8, 8), (10, 20)]), Some(1));
        assert_eq!(first_missing(&want, &[(1, 2), (4, 4), (8, 8)]), Some(3));
        assert_eq!(first_missing(&want, &[]), Some(1));
    }
}
