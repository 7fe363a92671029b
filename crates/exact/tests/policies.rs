//! The policy diagram against compiled programs: Docker's default profile
//! compiled by sysfence is proven equal to its policy, and one-instruction
//! mutations of it are either proven equal (then 10^5 random inputs plus
//! the boundary inputs must agree) or come with a witness the interpreter
//! and, where the kernel can probe it, the live kernel confirm.

mod support;

use std::time::Instant;

use sysfence_cbpf::generate::{self, Rng};
use sysfence_cbpf::interp::{self, ShiftMode};
use sysfence_cbpf::program::Program;
use sysfence_compile::{Config, compile};
use sysfence_exact::compare::{self, DEFAULT_BUDGET, Verdict};
use sysfence_exact::store::{SLOT_OFFSETS, Store};
use sysfence_exact::subject::Subject;
use sysfence_exact::witness::data_of;
use sysfence_profile::eval::{eval, interesting_values};

#[test]
fn docker_default_program_equals_its_policy() {
    let Some(policy) = support::docker_default() else {
        return;
    };
    let prog = compile(&policy, &Config::new()).unwrap().into_program();
    let start = Instant::now();
    let mut s = Store::new(DEFAULT_BUDGET);
    let p = Subject::Program(prog.clone(), ShiftMode::Mask31)
        .diagram(&mut s)
        .unwrap();
    let q = Subject::Policy(policy.clone()).diagram(&mut s).unwrap();
    eprintln!(
        "docker default: {} insns, program {} nodes, policy {} nodes, store {}, {:?}",
        prog.len(),
        s.size(p),
        s.size(q),
        s.len(),
        start.elapsed()
    );
    assert_eq!(p, q);
    assert!(s.size(p) <= 20_000);
}

fn mutate(rng: &mut Rng, prog: &Program) -> Option<Program> {
    let mut insns = prog.insns().to_vec();
    let pc = rng.below(insns.len() as u64) as usize;
    let i = &mut insns[pc];
    match rng.below(4) {
        0 => i.k = i.k.wrapping_add(1),
        1 => i.k ^= 1 << rng.below(32),
        2 => std::mem::swap(&mut i.jt, &mut i.jf),
        _ => i.k = generate::interesting_u32(rng),
    }
    Program::new(&insns)
        .ok()
        .filter(|p| p.insns() != prog.insns())
}

#[test]
fn mutants_are_proven_or_refuted_with_confirmed_witnesses() {
    let Some(policy) = support::docker_default() else {
        return;
    };
    let prog = compile(&policy, &Config::new()).unwrap().into_program();
    let oracle = sysfence_linux::oracle::Oracle::new().ok();
    let original = Subject::Program(prog.clone(), ShiftMode::Mask31);
    let mut rng = Rng::new(7);
    let (mut equal, mut differ, mut kernel) = (0, 0, 0);
    while equal + differ < 40 {
        let Some(m) = mutate(&mut rng, &prog) else {
            continue;
        };
        let mutant = Subject::Program(m.clone(), ShiftMode::Mask31);
        match compare::equiv(&original, &mutant, DEFAULT_BUDGET).unwrap() {
            Verdict::Yes => {
                equal += 1;
                no_contradiction(&policy, &prog, &m, &mut rng);
            }
            Verdict::No(w) => {
                differ += 1;
                assert_ne!(
                    interp::run(&prog, &w.data).raw,
                    interp::run(&m, &w.data).raw
                );
                if let Some(o) = &oracle {
                    kernel += usize::from(kernel_confirms(o, &prog, &m));
                }
            }
            Verdict::Undecided { .. } => panic!("a one-instruction mutant is undecided"),
        }
    }
    eprintln!("{equal} proven equal, {differ} refuted, {kernel} confirmed by the kernel");
}

/// Proven equal: random and boundary inputs must not disagree.
fn no_contradiction(
    policy: &sysfence_profile::ir::Policy,
    a: &Program,
    b: &Program,
    rng: &mut Rng,
) {
    for i in 0..100_000u32 {
        let arch = [0xc000_003e, 0x4000_0003, 0][i as usize % 3];
        let d = generate::seccomp_data_for(rng, a.insns(), arch, 0);
        assert_eq!(interp::run(a, &d).raw, interp::run(b, &d).raw, "{d:?}");
    }
    for set in interesting_values(policy) {
        for call in set.calls(64) {
            let d = sysfence_cbpf::SeccompData {
                nr: call.nr,
                arch: call.arch,
                instruction_pointer: 0,
                args: call.args,
            };
            assert_eq!(interp::run(a, &d).raw, interp::run(b, &d).raw, "{d:?}");
            let _ = eval(policy, &call);
        }
    }
}

/// A witness on an input the kernel can produce (x86_64, the oracle's IP),
/// checked by the live kernel; `false` when no such witness exists.
fn kernel_confirms(o: &sysfence_linux::oracle::Oracle, a: &Program, b: &Program) -> bool {
    let mut s = Store::new(DEFAULT_BUDGET);
    let x = Subject::Program(a.clone(), ShiftMode::Mask31)
        .diagram(&mut s)
        .unwrap();
    let y = Subject::Program(b.clone(), ShiftMode::Mask31)
        .diagram(&mut s)
        .unwrap();
    let ip = o.instruction_pointer();
    let slot = |off: u32| SLOT_OFFSETS.iter().position(|&v| v == off).unwrap();
    let fixed = [
        (0, 0xc000_003e),
        (slot(8), ip as u32),
        (slot(12), (ip >> 32) as u32),
    ];
    let Some(words) = compare::difference_where(&mut s, x, y, &fixed).unwrap() else {
        return false;
    };
    let d = data_of(&words);
    if [335, 336].contains(&d.nr) {
        return false;
    }
    let got = o.run(a.insns(), &[d]).unwrap()[0];
    let got_b = o.run(b.insns(), &[d]).unwrap()[0];
    assert_eq!(got, interp::run(a, &d).raw);
    assert_eq!(got_b, interp::run(b, &d).raw);
    assert_ne!(got, got_b);
    true
}
