//! Per syscall name: the rules of a [`Plan`], and what the number split
//! says that no rule can (numbers outside the tables, one name filtered
//! differently on two arches).

use std::collections::{BTreeMap, BTreeSet};

use sysfence_cbpf::data::X32_SYSCALL_BIT;
use sysfence_profile::arch::Arch;

use super::{ArgTest, Dialect, Entry, Piece, Plan, action_name, cube_tests, cubes, piece_at};
use crate::store::{FastMap, Node, Store};

/// Fills `plan.arches`, `plan.entries`, `plan.elses` and the notes of
/// `plan.lost`, for a format of `dialect`.
pub(super) fn build(s: &Store, splits: &[(Arch, Vec<Piece>)], dialect: Dialect, plan: &mut Plan) {
    let mut by_name: BTreeMap<&'static str, (Arch, Node)> = BTreeMap::new();
    for (arch, pieces) in splits {
        let abis = abis(s, *arch, pieces, plan.bad_arch);
        plan.x32_guard |= *arch == Arch::X86_64 && abis.len() == 1;
        for &abi in &abis {
            plan.arches.push(abi);
            let stub = stub_start(s, abi, pieces, plan.default);
            for &(name, nr) in abi.table() {
                if stub.is_some_and(|lo| nr >= lo) {
                    continue;
                }
                let node = piece_at(pieces, nr);
                match by_name.get(name) {
                    None => {
                        by_name.insert(name, (abi, node));
                    }
                    Some(&(first, n)) if n != node => {
                        plan.lost.push(format!(
                            "{name}: filtered differently on {first} and {abi}; a profile gives a name one rule list on every arch{}",
                            if comparable(first, abi) { "" } else { " (cut to the low words on a 32-bit ABI)" }
                        ));
                    }
                    Some(_) => {}
                }
            }
        }
        outside_tables(s, *arch, &abis, pieces, plan);
        for &abi in &abis {
            let below =
                stub_start(s, abi, pieces, plan.default).and_then(|lo| abi.syscall_name(lo - 1));
            if let Some(name) = below.filter(|m| !plan.stub_marks.contains(m)) {
                plan.stub_marks.push(name);
            }
        }
    }
    let mut groups: BTreeMap<(u32, Vec<ArgTest>), Vec<&'static str>> = BTreeMap::new();
    for (name, (abi, node)) in by_name {
        for (action, tests) in name_rules(s, (name, abi, node), dialect, plan) {
            groups.entry((action, tests)).or_default().push(name);
        }
    }
    plan.entries = groups
        .into_iter()
        .map(|((action, tests), names)| Entry {
            names,
            action,
            tests,
        })
        .collect();
    // A mark a rule already names needs no entry of its own (one with the
    // default action beside it would be a rule runc skips, and said so).
    let named = |m: &&str| plan.entries.iter().any(|e| e.names.contains(m));
    let marks = std::mem::take(&mut plan.stub_marks);
    plan.stub_marks = marks.into_iter().filter(|m| !named(m)).collect();
}

/// Two ABIs whose argument words mean the same (width and byte order).
fn comparable(a: Arch, b: Arch) -> bool {
    a.width() == b.width() && a.little_endian() == b.little_endian()
}

/// The ABIs of an arch part: x86_64 also holds x32 when some x32 number is
/// handled other than as a foreign arch.
fn abis(s: &Store, arch: Arch, pieces: &[Piece], bad: u32) -> Vec<Arch> {
    if arch != Arch::X86_64 {
        return vec![arch];
    }
    let x32_used = Arch::X32
        .table()
        .iter()
        .any(|&(_, nr)| s.value(piece_at(pieces, nr)) != Some(bad));
    if x32_used {
        vec![Arch::X86_64, Arch::X32]
    } else {
        vec![Arch::X86_64]
    }
}

/// runc's ENOSYS stub gives ERRNO(38) to every number above the largest
/// one the profile names (table numbers included): where the numbers right
/// above `abi`'s table get it, the number where that run starts. The plan
/// then names the number below it (with the default action) and leaves
/// the names from it on to the stub.
fn stub_start(s: &Store, abi: Arch, pieces: &[Piece], default: u32) -> Option<u32> {
    let enosys = sysfence_cbpf::Action::Errno(38).to_raw();
    let i = pieces.partition_point(|p| p.1 <= abi.max_nr());
    let &(lo, _, n) = pieces.get(i)?;
    let first = abi.table().first().map_or(0, |r| r.1);
    (s.value(n) == Some(enosys) && default != enosys && lo > first).then_some(lo)
}

/// Notes for numbers outside every table of the part that do not get the
/// default action (libseccomp's x32 guard excepted).
fn outside_tables(s: &Store, arch: Arch, abis: &[Arch], pieces: &[Piece], plan: &mut Plan) {
    let guard = arch == Arch::X86_64 && abis.len() == 1;
    for &(lo, hi, n) in pieces {
        let v = s.value(n);
        if v == Some(plan.default) || (guard && lo >= X32_SYSCALL_BIT && v == Some(plan.bad_arch)) {
            continue;
        }
        let listed: u64 = abis
            .iter()
            .map(|a| {
                a.table()
                    .iter()
                    .filter(|&&(_, nr)| (lo..=hi).contains(&nr))
                    .count() as u64
            })
            .sum();
        if listed < u64::from(hi - lo) + 1 {
            let what = v.map_or("a result that depends on the arguments".into(), action_name);
            plan.lost.push(format!(
                "{arch}: numbers {lo:#x}..={hi:#x} (not all in the syscall table) get {what}, not the default {}; a profile names syscalls only",
                action_name(plan.default)
            ));
        }
    }
    if guard {
        minus_one(s, pieces, plan);
    }
}

/// The note for number −1 under libseccomp's x32 guard, which sends every
/// number from bit 30 up to the bad-arch action but −1 (`x86.rs` of the
/// profile crate): a filter that gives −1 the bad-arch action, not the
/// default, says what no profile says (seccompiler and minijail, which
/// have no guard, give −1 the default too).
fn minus_one(s: &Store, pieces: &[Piece], plan: &mut Plan) {
    let v = s.value(piece_at(pieces, u32::MAX));
    if v == Some(plan.bad_arch) && v != Some(plan.default) {
        plan.lost.push(format!(
            "x86_64: number 0xffffffff (-1) gets {} like the x32 numbers; a profile gives it the default {} (libseccomp's x32 guard leaves -1 out)",
            action_name(plan.bad_arch),
            action_name(plan.default)
        ));
    }
}

/// The (action, conditions) rules of one name. Read in order (first
/// match), a name may end with an unconditional rule of its own: every
/// leaf of its diagram is tried as that last rule, and the one that leaves
/// the fewest rules before it is kept (the default on a tie, which needs no
/// last rule), recorded in [`Plan::elses`].
fn name_rules(
    s: &Store,
    (name, abi, node): (&'static str, Arch, Node),
    dialect: Dialect,
    plan: &mut Plan,
) -> Vec<(u32, Vec<ArgTest>)> {
    let default = plan.default;
    match s.value(node) {
        Some(v) if v == default => return vec![],
        Some(v) => return vec![(v, vec![])],
        None => {}
    }
    let mut best = rules_skipping(s, node, (abi, dialect), default);
    let mut last = default;
    if dialect == Dialect::Ordered {
        for leaf in leaves(s, node).into_iter().filter(|&v| v != default) {
            let shorter = |r: &Rules| best.as_ref().map_or(true, |b| r.len() < b.len());
            match rules_skipping(s, node, (abi, dialect), leaf) {
                Ok(r) if shorter(&r) => (best, last) = (Ok(r), leaf),
                _ => {}
            }
        }
    }
    match best {
        Ok(rules) => {
            if last != default {
                plan.elses.insert(name, last);
            }
            rules
        }
        Err(why) => {
            plan.lost.push(format!("{name} on {abi}: {why}"));
            vec![]
        }
    }
}

/// Rules: a leaf value and the tests that lead to it.
type Rules = Vec<(u32, Vec<ArgTest>)>;

/// The rules of `node` for every leaf but `skip`, or why there are none.
fn rules_skipping(
    s: &Store,
    node: Node,
    (abi, dialect): (Arch, Dialect),
    skip: u32,
) -> Result<Rules, &'static str> {
    if let Some(r) = super::chain::rules(s, node, (abi, dialect), skip) {
        return Ok(r);
    }
    let list = cubes(s, node, skip).ok_or("too many argument regions")?;
    list.into_iter()
        .map(|(cube, v)| {
            cube_tests(&cube, abi)
                .map(|tests| (v, tests))
                .ok_or("the result depends on the instruction pointer, which no profile can test")
        })
        .collect()
}

/// The leaf values `n` reaches, each once, smallest first.
fn leaves(s: &Store, n: Node) -> BTreeSet<u32> {
    let mut seen: FastMap<Node, ()> = FastMap::default();
    let mut stack = vec![n];
    let mut out = BTreeSet::new();
    while let Some(n) = stack.pop() {
        if seen.insert(n, ()).is_some() {
            continue;
        }
        match s.value(n) {
            Some(v) => {
                out.insert(v);
            }
            None => {
                let (lo, hi) = s.children(n);
                stack.extend([lo, hi]);
            }
        }
    }
    out
}
