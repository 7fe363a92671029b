//! Per syscall name: the rules of a [`Plan`], and what the number split
//! says that no rule can (numbers outside the tables, one name filtered
//! differently on two arches).

use std::collections::BTreeMap;

use sysfence_profile::arch::Arch;
use sysfence_profile::ir::ArgWidth;

use super::{
    ArgTest, Entry, Piece, Plan, TestOp, action_name, cube_tests, cubes, piece_at, split_word,
};
use crate::count::support;
use crate::policy::arg_slots;
use crate::store::{Node, Store};

/// Fills `plan.arches`, `plan.entries` and the notes of `plan.lost`.
pub(super) fn build(s: &Store, splits: &[(Arch, Vec<Piece>)], plan: &mut Plan) {
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
        for (action, tests) in name_rules(s, name, abi, node, plan) {
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
        if v == Some(plan.default) || (guard && lo >= 0x4000_0000 && v == Some(plan.bad_arch)) {
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
}

/// The (action, conditions) rules of one name.
fn name_rules(
    s: &Store,
    name: &str,
    abi: Arch,
    node: Node,
    plan: &mut Plan,
) -> Vec<(u32, Vec<ArgTest>)> {
    let default = plan.default;
    match s.value(node) {
        Some(v) if v == default => return vec![],
        Some(v) => return vec![(v, vec![])],
        None => {}
    }
    if let Some(r) = ranges::one_argument(s, node, abi, default) {
        return r;
    }
    let Some(list) = cubes(s, node, default) else {
        plan.lost
            .push(format!("{name} on {abi}: too many argument regions"));
        return vec![];
    };
    let mut out = Vec::new();
    for (cube, v) in list {
        match cube_tests(&cube, abi) {
            Some(tests) => out.push((v, tests)),
            None => {
                plan.lost.push(format!(
                    "{name} on {abi}: the result depends on the instruction pointer, which no profile can test"
                ));
                return vec![];
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn ranges_become_aligned_blocks() {
        assert_eq!(
            super::ranges::blocks(5, 8, u64::MAX),
            vec![(!0, 5), (!1, 6), (!0, 8)]
        );
        assert_eq!(
            super::ranges::blocks(4, 7, 0xffff_ffff),
            vec![(0xffff_fffc, 4)]
        );
    }
}

mod ranges {
    //! A function of one argument as single-sided ranges.
    use super::*;

    /// The rules of a function of one argument: per non-default range, one
    /// condition when it starts at 0 (`LE`), ends at the maximum (`GE`) or
    /// is one value (`EQ`), else one `MASKED_EQ` per aligned block.
    pub(super) fn one_argument(
        s: &Store,
        n: Node,
        abi: Arch,
        default: u32,
    ) -> Option<Vec<(u32, Vec<ArgTest>)>> {
        let slots = support(s, n);
        let arg = (0..6u8).find(|&i| {
            let (h, l) = arg_slots(abi.audit_arch(), usize::from(i));
            slots.iter().all(|&x| x == h || x == l)
        })?;
        let (h, l) = arg_slots(abi.audit_arch(), usize::from(arg));
        let narrow = abi.width() == ArgWidth::Bits32;
        if narrow && slots.contains(&h) {
            return None;
        }
        let max = if narrow {
            u64::from(u32::MAX)
        } else {
            u64::MAX
        };
        let mut out = Vec::new();
        for (lo, hi, v) in intervals(s, n, h, l)? {
            let hi = hi.min(max);
            if v == default || lo > hi {
                continue;
            }
            let test = |op, mask, value| {
                (
                    v,
                    vec![ArgTest {
                        arg,
                        op,
                        mask,
                        value,
                    }],
                )
            };
            match (lo, hi) {
                (a, b) if a == b => out.push(test(TestOp::Eq, u64::MAX, a)),
                (0, b) => out.push(test(TestOp::Le, u64::MAX, b)),
                (a, b) if b == max => out.push(test(TestOp::Ge, u64::MAX, a)),
                (a, b) => out.extend(
                    blocks(a, b, max)
                        .into_iter()
                        .map(|(mask, value)| test(TestOp::MaskedEq, mask, value)),
                ),
            }
        }
        Some(out)
    }

    /// `lo..=hi` as maximal aligned blocks, each a (mask, value) pair with
    /// the mask cut to `max` (the argument's width).
    pub(super) fn blocks(mut lo: u64, hi: u64, max: u64) -> Vec<(u64, u64)> {
        let mut out = Vec::new();
        loop {
            let mut size: u64 = 1;
            while size < (1 << 63)
                && lo.is_multiple_of(size << 1)
                && lo.checked_add((size << 1) - 1).is_some_and(|end| end <= hi)
            {
                size <<= 1;
            }
            out.push((!(size - 1) & max, lo));
            match (lo + (size - 1)).checked_add(1) {
                Some(next) if next <= hi => lo = next,
                _ => return out,
            }
        }
    }

    /// The 64-bit value intervals of a function of the words `h` (high) and
    /// `l` (low), each with its leaf; `None` when a high-word range holds a
    /// low-word test (a periodic pattern) or a split is too large.
    fn intervals(s: &Store, n: Node, h: usize, l: usize) -> Option<Vec<(u64, u64, u32)>> {
        let mut out: Vec<(u64, u64, u32)> = Vec::new();
        let mut push = |lo: u64, hi: u64, v: u32| match out.last_mut() {
            Some(last) if last.2 == v && last.1 + 1 == lo => last.1 = hi,
            _ => out.push((lo, hi, v)),
        };
        for (hlo, hhi, m) in split_word(s, n, h)? {
            let (hlo, hhi) = (u64::from(hlo) << 32, u64::from(hhi) << 32 | 0xffff_ffff);
            if let Some(v) = s.value(m) {
                push(hlo, hhi, v);
                continue;
            }
            if hhi - hlo > 0xffff_ffff {
                return None;
            }
            for (llo, lhi, k) in split_word(s, m, l)? {
                push(hlo | u64::from(llo), hlo | u64::from(lhi), s.value(k)?);
            }
        }
        Some(out)
    }
}
