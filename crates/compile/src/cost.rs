//! The cost model: what a compiled program costs per syscall.
//!
//! In: a policy, a program compiled from it (any layout, or any other
//! compiler's program for the same policy), the arches it dispatches, and
//! syscall mixes ([`Weights`]). Out: a [`ProgramCost`] — the program length
//! and, per arch: worst case and mean instructions executed over numbers
//! `0..=table_max` that the policy always allows, that it always denies, and
//! that depend on arguments (worst over the check's argument vectors); the
//! share of numbers the kernel's action cache serves; and per mix, the
//! weighted mean next to two bounds over the same intervals: the entropy of
//! the mix (no binary-test dispatch can do better on average) and the
//! optimal alphabetic tree, each plus the fixed instructions on the path
//! (`ld [4]`, the arch tests up to this arch, `ld [0]`, `ret`).
//!
//! Instructions are counted by the interpreter, so the figures hold for any
//! program; with the 5.11+ cache, cached numbers cost no BPF at all, which
//! `cached` and each mix's cache-aware mean make visible. Arguments are
//! zero for the weighted means.

use sysfence_cbpf::SeccompData;
use sysfence_cbpf::interp::{self, cache};
use sysfence_cbpf::program::Program;
use sysfence_profile::ir::{ArchPolicy, Policy};

use crate::args::ArgLayout;
use crate::build::spans;
use crate::check::always_allows;
use crate::layout::{entropy_bits, optimal_cost};
use crate::tree::TreeBuilder;
use crate::weights::Weights;

/// Worst case and mean over a set of numbers.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct Stat {
    /// How many numbers.
    pub count: usize,
    /// Most instructions executed.
    pub worst: u32,
    /// Mean instructions executed (0 when `count` is 0).
    pub mean: f64,
}

impl Stat {
    fn of(costs: &[u32]) -> Stat {
        if costs.is_empty() {
            return Stat::default();
        }
        let sum: u64 = costs.iter().map(|&c| u64::from(c)).sum();
        Stat {
            count: costs.len(),
            worst: costs.iter().copied().max().unwrap_or(0),
            mean: sum as f64 / costs.len() as f64,
        }
    }
}

/// One mix on one arch.
#[derive(Clone, Debug, PartialEq)]
pub struct MixCost {
    /// The mix's name.
    pub name: String,
    /// Calls of the mix this arch knows.
    pub calls: u64,
    /// Mean instructions per call, weighted by the mix.
    pub mean: f64,
    /// The same on a kernel with the action cache (5.11 and later): a call
    /// the cache serves runs no instruction.
    pub cache_aware: f64,
    /// Fixed cost plus the entropy of the mix over the intervals.
    pub entropy_bound: f64,
    /// Fixed cost plus the optimal alphabetic tree's mean depth.
    pub optimal_tree: f64,
}

/// Figures for one arch of a program.
#[derive(Clone, Debug, PartialEq)]
pub struct ArchCost {
    /// The AUDIT_ARCH value.
    pub audit_arch: u32,
    /// The arch's display name.
    pub name: String,
    /// Intervals of the number space (maximal runs with one behaviour).
    pub intervals: usize,
    /// Numbers always allowed, without argument checks.
    pub allowed: Stat,
    /// Numbers always refused (any non-ALLOW action), without argument checks.
    pub denied: Stat,
    /// Numbers whose decision depends on arguments (worst over test vectors).
    pub arg_checked: Stat,
    /// Share of `0..=table_max` the kernel cache serves.
    pub cached_share: f64,
    /// One entry per mix.
    pub mixes: Vec<MixCost>,
}

/// Figures for one program.
#[derive(Clone, Debug, PartialEq)]
pub struct ProgramCost {
    /// Instructions in the program.
    pub length: usize,
    /// Per arch, in dispatch order.
    pub arches: Vec<ArchCost>,
}

/// Measures `program` (which dispatches `arches`, in that order) against
/// `policy` for each named mix.
pub fn measure(
    policy: &Policy,
    program: &Program,
    arches: &[u32],
    mixes: &[(String, Weights)],
) -> ProgramCost {
    let per_arch = arches
        .iter()
        .enumerate()
        .filter_map(|(pos, &a)| policy.arch(a).map(|ap| arch_cost(ap, program, pos, mixes)))
        .collect();
    ProgramCost {
        length: program.len(),
        arches: per_arch,
    }
}

fn arch_cost(
    ap: &ArchPolicy,
    program: &Program,
    position: usize,
    mixes: &[(String, Weights)],
) -> ArchCost {
    let run = |nr: u32, args: [u64; 6]| {
        interp::run(
            program,
            &SeccompData {
                args,
                ..SeccompData::new(ap.audit_arch, nr)
            },
        )
        .insns
    };
    let (mut allowed, mut denied, mut checked) = (Vec::new(), Vec::new(), Vec::new());
    // Per number of the table, from its first: whether the cache serves it.
    let mut served = Vec::with_capacity(ap.table_numbers().count());
    for nr in ap.table_numbers() {
        served.push(cache::is_const_allow(program, ap.audit_arch, nr));
        let conditional = ap.range_for(nr).is_none()
            && ap
                .rules
                .get(&nr)
                .is_some_and(|r| r.iter().any(|r| !r.conds.is_empty()));
        if conditional {
            let vectors = crate::check::argument_vectors(ap, nr);
            checked.push(vectors.into_iter().map(|v| run(nr, v)).max().unwrap_or(0));
        } else if always_allows(ap, nr) {
            allowed.push(run(nr, [0; 6]));
        } else {
            denied.push(run(nr, [0; 6]));
        }
    }
    let fixed = position as f64 + 4.0;
    let mut b = TreeBuilder::new();
    let lay = ArgLayout::new(ap.audit_arch, ap.width, false);
    let intervals = spans(&mut b, ap, &lay, &[]);
    let mix_costs = mixes
        .iter()
        .map(|(name, w)| {
            let counts = w.for_arch(ap.audit_arch);
            // A number outside the table is never served (the kernel's
            // bitmap holds the table's numbers only).
            let first = *ap.table_numbers().start();
            let is_served = |nr: u32| {
                nr.checked_sub(first)
                    .and_then(|k| served.get(k as usize))
                    .copied()
                    .unwrap_or(false)
            };
            let means = MixMeans::of(
                counts
                    .iter()
                    .map(|(&nr, &c)| (c, run(nr, [0; 6]), is_served(nr))),
            );
            let per_interval: Vec<u64> = intervals
                .iter()
                .map(|s| counts.range(s.lo..=s.hi).map(|(_, c)| c).sum())
                .collect();
            let (entropy, optimal) = bounds(&per_interval);
            MixCost {
                name: name.clone(),
                calls: means.calls,
                mean: means.every_call,
                cache_aware: means.cache_aware,
                entropy_bound: fixed + entropy,
                optimal_tree: fixed + optimal,
            }
        })
        .collect();
    ArchCost {
        audit_arch: ap.audit_arch,
        name: ap.name.clone(),
        intervals: intervals.len(),
        allowed: Stat::of(&allowed),
        denied: Stat::of(&denied),
        arg_checked: Stat::of(&checked),
        cached_share: served.iter().filter(|&&s| s).count() as f64 / served.len() as f64,
        mixes: mix_costs,
    }
}

/// A mix's mean instructions per call, over the calls counted.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct MixMeans {
    /// Calls counted.
    pub calls: u64,
    /// The filter runs on every call (kernels before 5.11, or the cache
    /// defeated).
    pub every_call: f64,
    /// A call the kernel's action cache serves runs no instruction.
    pub cache_aware: f64,
}

impl MixMeans {
    /// The means of `(calls, instructions per call, served by the cache)`
    /// per syscall (0 when nothing is counted).
    pub fn of(per_syscall: impl IntoIterator<Item = (u64, u32, bool)>) -> MixMeans {
        let (mut calls, mut every, mut unserved) = (0u64, 0u64, 0u64);
        for (count, insns, served) in per_syscall {
            let cost = count * u64::from(insns);
            calls += count;
            every += cost;
            if !served {
                unserved += cost;
            }
        }
        let per = |sum: u64| {
            if calls == 0 {
                0.0
            } else {
                sum as f64 / calls as f64
            }
        };
        MixMeans {
            calls,
            every_call: per(every),
            cache_aware: per(unserved),
        }
    }
}

/// Entropy (bits) of the distribution and the optimal alphabetic tree's mean
/// depth over the same intervals.
fn bounds(counts: &[u64]) -> (f64, f64) {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return (0.0, 0.0);
    }
    (
        entropy_bits(counts),
        optimal_cost(counts) as f64 / total as f64,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_of_simple_mixes() {
        let (h, opt) = bounds(&[1, 1, 1, 1]);
        assert!((h - 2.0).abs() < 1e-9);
        assert!((opt - 2.0).abs() < 1e-9);
        let (h, opt) = bounds(&[0, 100, 0]);
        // The middle interval needs both bounds tested.
        assert_eq!((h, opt), (0.0, 2.0));
        assert_eq!(
            Stat::of(&[3, 5]),
            Stat {
                count: 2,
                worst: 5,
                mean: 4.0
            }
        );
    }
}
