//! Instructions executed, counted by sysfence's interpreter.
//!
//! In: a validated [`Program`] and the arch of the policy it was compiled
//! from. Out: [`Figures`]: for every number `0..=table_max` the instructions
//! one evaluation runs (with [`crate::witness`] arguments for allowed
//! numbers, zeros for denied ones), the means over allowed and denied
//! numbers, the worst cases, the share of always-allowed numbers the kernel's
//! action cache serves (`is_const_allow`, the bit-exact model), and the
//! numbers where the program's verdict differs from the policy's. [`weighted`]
//! turns the per-number counts into a mix's mean, with the filter run on every
//! call and with the cache applied (a served call costs 0).
//!
//! Numbers outside the table (x32, negative) are not counted.

use std::collections::BTreeMap;

use sysfence_cbpf::data::SeccompData;
use sysfence_cbpf::interp::cache::is_const_allow;
use sysfence_cbpf::interp::run;
use sysfence_cbpf::program::Program;
use sysfence_compile::cost::MixMeans;
use sysfence_profile::ir::ArchPolicy;

use crate::witness::{action_for, allowed_args, always_allowed};

/// Deterministic figures of one program.
#[derive(Clone, Debug, PartialEq)]
pub struct Figures {
    /// Program length in instructions.
    pub length: usize,
    /// Instructions per evaluation for numbers `0..=table_max`.
    pub per_nr: Vec<u32>,
    /// Which of those numbers the policy allows (for some arguments).
    pub allowed: Vec<bool>,
    /// Mean over allowed numbers.
    pub allowed_mean: f64,
    /// Mean over denied numbers.
    pub denied_mean: f64,
    /// Worst case over allowed numbers.
    pub worst_allowed: u32,
    /// Worst case over all numbers.
    pub worst: u32,
    /// Numbers the policy always allows.
    pub always_allowed: usize,
    /// Of those, how many the kernel's action cache serves for this program.
    pub cached: usize,
    /// Per number: whether the cache serves it.
    pub cached_nr: Vec<bool>,
    /// Numbers whose verdict differs from the policy's, with the same arguments.
    pub disagreements: Vec<u32>,
}

impl Figures {
    /// `cached / always_allowed` (1 when nothing is always allowed).
    pub fn cache_share(&self) -> f64 {
        if self.always_allowed == 0 {
            1.0
        } else {
            self.cached as f64 / self.always_allowed as f64
        }
    }
}

/// Runs `program` on every number of the arch's table.
pub fn measure(program: &Program, policy: &ArchPolicy) -> Figures {
    let n = policy.table_max as usize + 1;
    let mut f = Figures {
        length: program.len(),
        per_nr: Vec::with_capacity(n),
        allowed: Vec::with_capacity(n),
        allowed_mean: 0.0,
        denied_mean: 0.0,
        worst_allowed: 0,
        worst: 0,
        always_allowed: 0,
        cached: 0,
        cached_nr: Vec::with_capacity(n),
        disagreements: Vec::new(),
    };
    for nr in 0..=policy.table_max {
        let witness = allowed_args(policy, nr);
        let mut data = SeccompData::new(policy.audit_arch, nr);
        data.args = witness.unwrap_or([0; 6]);
        let out = run(program, &data);
        if out.raw != action_for(policy, nr, &data.args).to_raw() {
            f.disagreements.push(nr);
        }
        let cached = is_const_allow(program, policy.audit_arch, nr);
        if always_allowed(policy, nr) {
            f.always_allowed += 1;
            f.cached += usize::from(cached);
        }
        f.per_nr.push(out.insns);
        f.allowed.push(witness.is_some());
        f.cached_nr.push(cached);
    }
    let pick = |want: bool| {
        f.per_nr
            .iter()
            .zip(&f.allowed)
            .filter(move |(_, a)| **a == want)
            .map(|(c, _)| *c)
    };
    f.allowed_mean = mean(pick(true));
    f.denied_mean = mean(pick(false));
    f.worst_allowed = pick(true).max().unwrap_or(0);
    f.worst = f.per_nr.iter().copied().max().unwrap_or(0);
    f
}

/// The mean cost of a mix over the counted numbers (numbers past the
/// table are left out).
pub fn weighted(figures: &Figures, counts: &BTreeMap<u32, u64>) -> MixMeans {
    MixMeans::of(counts.iter().filter_map(|(&nr, &count)| {
        let insns = *figures.per_nr.get(nr as usize)?;
        Some((count, insns, figures.cached_nr[nr as usize]))
    }))
}

fn mean(values: impl Iterator<Item = u32>) -> f64 {
    let (n, sum) = values.fold((0u64, 0u64), |(n, s), v| (n + 1, s + u64::from(v)));
    if n == 0 { 0.0 } else { sum as f64 / n as f64 }
}

#[cfg(test)]
mod tests {
    use sysfence_cbpf::data::AUDIT_ARCH_X86_64;

    use super::*;
    use std::collections::BTreeMap;
    use sysfence_cbpf::Insn;
    use sysfence_cbpf::opcode::Opcode;
    use sysfence_profile::ir::{Action, ArgWidth, Origin, Rule};

    #[test]
    fn counts_a_linear_program() {
        // ld [4]; jeq x86_64 else kill; ld [0]; jeq 0 allow; jeq 1 allow; ret errno(1); ret allow; ret kill
        let prog = Program::new(&[
            Insn::op(Opcode::LdAbsW, 0, 0, 4),
            Insn::op(Opcode::JeqK, 0, 5, AUDIT_ARCH_X86_64),
            Insn::op(Opcode::LdAbsW, 0, 0, 0),
            Insn::op(Opcode::JeqK, 2, 0, 0),
            Insn::op(Opcode::JeqK, 1, 0, 1),
            Insn::op(Opcode::RetK, 0, 0, 0x0005_0001),
            Insn::op(Opcode::RetK, 0, 0, 0x7fff_0000),
            Insn::op(Opcode::RetK, 0, 0, 0x8000_0000),
        ])
        .unwrap();
        let allow = || {
            vec![Rule {
                conds: vec![],
                action: Action::Allow,
                origin: Origin::default(),
            }]
        };
        let policy = ArchPolicy {
            audit_arch: AUDIT_ARCH_X86_64,
            name: "x86_64".into(),
            width: ArgWidth::Bits64,
            default: Action::Errno(1),
            rules: BTreeMap::from([(0, allow()), (1, allow()), (3, allow())]),
            ranges: vec![],
            table_max: 3,
        };
        let f = measure(&prog, &policy);
        assert_eq!(f.per_nr, [5, 6, 6, 6]);
        assert_eq!(
            (f.allowed_mean, f.denied_mean, f.worst_allowed, f.worst),
            (17.0 / 3.0, 6.0, 6, 6)
        );
        assert_eq!((f.always_allowed, f.cached), (3, 2));
        assert_eq!(f.disagreements, [3]);
        let w = weighted(&f, &BTreeMap::from([(0, 3), (2, 1), (900, 5)]));
        assert_eq!(
            w,
            MixMeans {
                every_call: 21.0 / 4.0,
                cache_aware: 6.0 / 4.0,
                calls: 4
            }
        );
    }
}
