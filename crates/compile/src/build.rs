//! Policy → [`DecisionTree`].
//!
//! In: a [`Policy`] (first-match rules per syscall number, fixed-action
//! ranges, a default per arch, a bad-arch action) and a [`Config`]. Out: the
//! decision DAG of the whole program:
//!
//! 1. `ld [4]` once, then one `jeq AUDIT_ARCH` per selected arch (the host's
//!    arch first unless the config orders them); any other arch value returns
//!    the bad-arch action.
//! 2. Per arch, `ld [0]` and a search over **intervals** of syscall numbers:
//!    the whole 32-bit space (x32 numbers with bit 30, −1 and everything past
//!    the table included) is cut where the policy's behaviour changes, and
//!    consecutive numbers whose decision node is the same form one interval.
//!    Nothing about bit 30 is special here: x32 numbers get exactly what the
//!    policy says for them.
//! 3. Argument checks (`args.rs`) only at the leaves of that search, so
//!    a number the policy always allows reaches `ret ALLOW` through number
//!    tests only — the path the kernel's action cache recognises.
//!
//! The layout ([`Layout`]) chooses the search; every layout decides the same.
//! What is not checked here: that the DAG agrees with the policy — the
//! emitted program is checked against the reference evaluator instead
//! ([`crate::check`]).

use std::collections::btree_map;
use std::iter::Peekable;

use sysfence_profile::ir::{ArchPolicy, NrRange, Policy, Rule};

use crate::args::{ArgLayout, rules_node};
use crate::check::always_allows;
use crate::layout::{Span, balanced, balanced_height, weighted};
use crate::select::{Selection, select};
use crate::tree::{ArchInfo, Cmp, DecisionTree, NodeId, Test, TreeBuilder};
use crate::{CompileError, Config, Layout};

use sysfence_abi::data::{OFFSET_ARCH as ARCH, OFFSET_NR as NR};

/// Weight units per call; every interval also gets one unit so that unused
/// intervals still prefer shallow places.
const WEIGHT_SCALE: u64 = 1024;

/// The one-call convenience for a caller that only wants the tree:
/// [`select`]s by `config`, then [`build_selected`]. [`crate::compile`]
/// does not call it: it selects once and hands that selection to
/// [`build_selected`] and to the check.
pub fn build_tree(policy: &Policy, config: &Config) -> Result<DecisionTree, CompileError> {
    build_selected(&select(policy, config)?, config)
}

/// Builds the decision DAG of a selection: its entries in its order, its
/// bad-arch action for every other arch value. The config's layout and
/// weights shape the search; its arches and bad-arch override are the
/// selection's business and are not read here.
pub fn build_selected(
    selection: &Selection<'_>,
    config: &Config,
) -> Result<DecisionTree, CompileError> {
    // A node per span and two per rule: most trees fit without a rehash.
    let nodes = selection
        .entries()
        .map(|ap| 2 * ap.ranges.len() + 4 * ap.rules.len() + 8)
        .sum();
    let mut b = TreeBuilder::with_capacity(nodes);
    let mut infos = Vec::with_capacity(selection.order().len());
    for ap in selection.entries() {
        let mut weights = config
            .get_weights()
            .map(|w| w.sorted_for_arch(ap.audit_arch))
            .unwrap_or_default();
        if config.get_cache_aware() {
            drop_served(ap, &mut weights);
        }
        infos.push(arch_dispatch(&mut b, ap, config.get_layout(), &weights));
    }
    let bad = b.ret(selection.bad_arch().to_raw());
    let root = infos.iter().rev().fold(bad, |next, info| {
        let load_nr = info.dispatch;
        b.branch(
            Test {
                offset: ARCH,
                mask: None,
                cmp: Cmp::Eq,
                k: info.audit_arch,
            },
            load_nr,
            next,
        )
    });
    Ok(b.finish(root, infos))
}

/// Takes out of the mix the calls the kernel's action cache serves: the
/// numbers of the arch's table that the policy always allows, which the
/// check holds to be constant ALLOWs for the cache (x32's numbers, beyond
/// the table, are never served). When the cache serves every call of the
/// mix, every layout runs none of them on such a kernel, and the mix is
/// left whole: the layout for it is the better one on a kernel without the
/// cache.
fn drop_served(ap: &ArchPolicy, weights: &mut Vec<(u32, u64)>) {
    let table = ap.table_numbers();
    let served = |nr: u32| table.contains(&nr) && always_allows(ap, nr);
    if weights.iter().any(|&(nr, _)| !served(nr)) {
        weights.retain(|&(nr, _)| !served(nr));
    }
}

/// The number dispatch of one arch.
fn arch_dispatch(
    b: &mut TreeBuilder,
    ap: &ArchPolicy,
    layout: Layout,
    weights: &[(u32, u64)],
) -> ArchInfo {
    let lay = ArgLayout::new(ap.audit_arch, ap.width, layout == Layout::Weighted);
    let (spans, dispatch) = match layout {
        Layout::Linear => (spans(b, ap, &lay, weights), linear(b, ap, &lay)),
        Layout::Tree => {
            let spans = spans(b, ap, &lay, weights);
            let dispatch = balanced(b, &spans);
            (spans, dispatch)
        }
        Layout::Weighted => {
            let plain = ArgLayout::new(ap.audit_arch, ap.width, false);
            let [spans, reference] = spans_under(b, ap, [&lay, &plain], weights);
            let dispatch = weighted(b, &spans, balanced_height(spans.len()) + 2, &reference);
            (spans, dispatch)
        }
    };
    ArchInfo {
        audit_arch: ap.audit_arch,
        name: ap.name.clone(),
        intervals: spans.len(),
        dispatch,
    }
}

/// The node that decides number `nr` once it is known.
fn decide(b: &mut TreeBuilder, ap: &ArchPolicy, nr: u32, lay: &ArgLayout) -> NodeId {
    let rules = ap.rules.get(&nr).map(Vec::as_slice);
    node_for(b, ap, (ap.range_for(nr), rules), lay)
}

/// The node that decides a number in `range` (if any) or with `rules` (if
/// any, and no range).
fn node_for(
    b: &mut TreeBuilder,
    ap: &ArchPolicy,
    (range, rules): (Option<&NrRange>, Option<&[Rule]>),
    lay: &ArgLayout,
) -> NodeId {
    if let Some(r) = range {
        return b.ret(r.action.to_raw());
    }
    let default = b.ret(ap.default.to_raw());
    match rules {
        Some(rules) => rules_node(b, rules, default, lay),
        None => default,
    }
}

/// The range and the rules of each number of a walk in increasing order,
/// found by walking both in step: a map lookup per number cost more than
/// the rest of [`spans_under`]'s walk.
struct InOrder<'a> {
    ranges: Peekable<std::slice::Iter<'a, NrRange>>,
    rules: Peekable<btree_map::Iter<'a, u32, Vec<Rule>>>,
}

impl<'a> InOrder<'a> {
    fn new(ap: &'a ArchPolicy) -> InOrder<'a> {
        InOrder {
            ranges: ap.ranges.iter().peekable(),
            rules: ap.rules.iter().peekable(),
        }
    }

    /// The range holding `nr` and `nr`'s rules; `nr` at least the last
    /// number asked.
    fn at(&mut self, nr: u32) -> (Option<&'a NrRange>, Option<&'a [Rule]>) {
        while self.ranges.next_if(|r| r.hi < nr).is_some() {}
        while self.rules.next_if(|&(&k, _)| k < nr).is_some() {}
        let range = self.ranges.peek().copied().filter(|r| r.lo <= nr);
        let rules = self.rules.peek().filter(|&&(&k, _)| k == nr);
        (range, rules.map(|(_, r)| r.as_slice()))
    }
}

/// The maximal intervals of the whole number space, with their weights.
pub(crate) fn spans(
    b: &mut TreeBuilder,
    ap: &ArchPolicy,
    lay: &ArgLayout,
    weights: &[(u32, u64)],
) -> Vec<Span> {
    let [spans] = spans_under(b, ap, [lay], weights);
    spans
}

/// [`spans`] under each of `lays`, in one walk: the cuts and the weights
/// are the layouts' own, and a number with fewer than two rules (no run of
/// values to lay out differently) is decided once for all of them.
fn spans_under<const K: usize>(
    b: &mut TreeBuilder,
    ap: &ArchPolicy,
    lays: [&ArgLayout; K],
    weights: &[(u32, u64)],
) -> [Vec<Span>; K] {
    let cuts = cuts(ap);
    let mut out: [Vec<Span>; K] = std::array::from_fn(|_| Vec::with_capacity(cuts.len()));
    let mut counts = weights.iter().peekable();
    let mut in_order = InOrder::new(ap);
    for (i, &lo) in cuts.iter().enumerate() {
        let hi = cuts.get(i + 1).map_or(u32::MAX, |next| next - 1);
        let decides = in_order.at(lo);
        let one_way = K == 1 || decides.1.is_none_or(|r| r.len() < 2);
        let first = node_for(b, ap, decides, lays[0]);
        // The cuts start at 0 and the counts are sorted: one walk sums them.
        let mut calls = 0u64;
        while let Some((_, c)) = counts.next_if(|&&(nr, _)| nr <= hi) {
            calls += c;
        }
        for (k, spans) in out.iter_mut().enumerate() {
            let target = match k {
                0 => first,
                _ if one_way => first,
                _ => node_for(b, ap, decides, lays[k]),
            };
            push_span(spans, (lo, hi), target, calls);
        }
    }
    out
}

/// Where the number intervals of `ap` start: 0, every range's ends and
/// every number with rules. Both lists ascend already (the ranges are
/// sorted and disjoint, the rules keyed by number): one merge.
fn cuts(ap: &ArchPolicy) -> Vec<u32> {
    let mut ranges = ap
        .ranges
        .iter()
        .flat_map(|r| [u64::from(r.lo), u64::from(r.hi) + 1])
        .peekable();
    let mut rules = ap
        .rules
        .keys()
        .flat_map(|&nr| [u64::from(nr), u64::from(nr) + 1])
        .peekable();
    let mut cuts: Vec<u32> = Vec::with_capacity(2 * (ap.ranges.len() + ap.rules.len()) + 1);
    cuts.push(0);
    loop {
        let next = match (ranges.peek(), rules.peek()) {
            (Some(&a), Some(&b)) if a <= b => ranges.next(),
            (_, Some(_)) => rules.next(),
            (Some(_), None) => ranges.next(),
            (None, None) => break,
        };
        if let Some(c) = next.and_then(|c| u32::try_from(c).ok())
            && cuts.last() != Some(&c)
        {
            cuts.push(c);
        }
    }
    cuts
}

/// Appends `lo..=hi` decided by `target`, merged into the last span when
/// that one has the same target.
fn push_span(out: &mut Vec<Span>, (lo, hi): (u32, u32), target: NodeId, calls: u64) {
    match out.last_mut() {
        Some(last) if last.target == target => {
            last.hi = hi;
            last.weight += calls * WEIGHT_SCALE;
        }
        _ => out.push(Span {
            lo,
            hi,
            target,
            weight: 1 + calls * WEIGHT_SCALE,
        }),
    }
}

/// The linear layout: ranges first, then one `jeq` per syscall with rules in
/// the profile's order (by the first rule's position), then the default.
fn linear(b: &mut TreeBuilder, ap: &ArchPolicy, lay: &ArgLayout) -> NodeId {
    let mut nrs: Vec<(u32, u32, u32)> = ap
        .rules
        .iter()
        .map(|(&nr, rules)| {
            let first = rules
                .iter()
                .map(|r| (r.origin.line, r.origin.column))
                .min()
                .unwrap_or((0, 0));
            (first.0, first.1, nr)
        })
        .collect();
    nrs.sort_unstable();
    let mut next = b.ret(ap.default.to_raw());
    for &(_, _, nr) in nrs.iter().rev() {
        let target = decide(b, ap, nr, lay);
        next = b.branch(nr_test(Cmp::Eq, nr), target, next);
    }
    for r in ap.ranges.iter().rev() {
        let target = b.ret(r.action.to_raw());
        let below_hi = b.branch(nr_test(Cmp::Gt, r.hi), next, target);
        next = b.branch(nr_test(Cmp::Ge, r.lo), below_hi, next);
    }
    next
}

fn nr_test(cmp: Cmp, k: u32) -> Test {
    Test {
        offset: NR,
        mask: None,
        cmp,
        k,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sysfence_cbpf::SeccompData;
    use sysfence_profile::arch::Arch;
    use sysfence_profile::ir::Action;
    use sysfence_testkit::fixtures::{allow_if_eq, x86_64_allow_list};

    pub(crate) use sysfence_abi::arch::AUDIT_ARCH_X86_64 as X86_64;

    fn policy() -> Policy {
        x86_64_allow_list(
            [0, 1, 2, 3, 60, 231],
            vec![(41, vec![allow_if_eq(0, 40)])],
            Action::KillProcess,
        )
    }

    #[test]
    fn intervals_follow_behaviour_runs() {
        let p = policy();
        for layout in [Layout::Linear, Layout::Tree, Layout::Weighted] {
            let tree = build_tree(&p, &Config::new().layout(layout)).unwrap();
            assert_eq!(tree.arches()[0].intervals, 10, "{layout:?}");
            let run = |nr, a0| {
                tree.eval(&SeccompData {
                    args: [a0, 0, 0, 0, 0, 0],
                    ..SeccompData::new(X86_64, nr)
                })
                .0
            };
            assert_eq!(run(2, 0), Action::Allow.to_raw());
            assert_eq!(run(4, 0), Action::Errno(1).to_raw());
            assert_eq!(run(41, 40), Action::Allow.to_raw());
            assert_eq!(run(41, 41), Action::Errno(1).to_raw());
            assert_eq!(run(0x4000_0000, 0), 0);
            assert_eq!(run(u32::MAX, 0), Action::Errno(1).to_raw());
            let foreign = tree.eval(&SeccompData::new(0x4000_0003, 0)).0;
            assert_eq!(foreign, Action::KillProcess.to_raw());
        }
    }

    /// Calls the kernel's action cache serves weigh nothing in a
    /// cache-aware mix: `read` and `write` (always allowed) are hot, but
    /// the cache-aware layout spends its first tests on the
    /// argument-checked `socket`, which runs the filter on every call.
    #[test]
    fn a_cache_aware_mix_leaves_out_the_calls_the_cache_serves() {
        let p = policy();
        let mix = crate::Weights::from_pairs([("read", 1000u64), ("write", 500), ("socket", 10)]);
        let insns = |aware: bool| {
            let config = Config::new()
                .layout(Layout::Weighted)
                .weights(mix.clone())
                .cache_aware(aware);
            let c = crate::compile(&p, &config).unwrap();
            let run = |nr, a0| {
                let data = SeccompData {
                    args: [a0, 0, 0, 0, 0, 0],
                    ..SeccompData::new(X86_64, nr)
                };
                sysfence_cbpf::interp::run(c.program(), &data).insns
            };
            (run(0, 0), run(41, 40))
        };
        let (read, socket) = insns(false);
        let (aware_read, aware_socket) = insns(true);
        assert!(
            aware_socket < socket && aware_read > read,
            "socket {socket} -> {aware_socket}, read {read} -> {aware_read}"
        );
    }

    /// A mix the cache serves whole costs nothing whatever the layout on a
    /// kernel with the cache; it is kept, so the layout still suits a
    /// kernel without one.
    #[test]
    fn a_mix_the_cache_serves_whole_is_kept() {
        let p = policy();
        let mix = crate::Weights::from_pairs([("read", 1000u64), ("exit_group", 500)]);
        let program = |aware: bool| {
            let config = Config::new()
                .layout(Layout::Weighted)
                .weights(mix.clone())
                .cache_aware(aware);
            crate::compile(&p, &config).unwrap().into_program()
        };
        assert_eq!(program(true).insns(), program(false).insns());
    }

    #[test]
    fn unknown_arch_is_refused() {
        let err = build_tree(&policy(), &Config::new().arches(vec![Arch::Aarch64])).unwrap_err();
        assert_eq!(err.to_string(), "arch 0xc00000b7 is not in the policy");
    }
}
