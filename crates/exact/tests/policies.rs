//! The policy diagram against compiled programs: Docker's default profile
//! compiled by sysfence is proven equal to its policy, and one-instruction
//! mutations of compiled programs (Docker's, five more corpus profiles, 30
//! random policies) are either proven equal (then 10^5 random inputs plus
//! the boundary inputs must agree) or come with a witness the interpreter
//! and, where the kernel can probe it (x86_64, the oracle's instruction
//! pointer), the live kernel confirm. The kernel part is skipped with the
//! reason printed where the oracle cannot run, and must run under `CI=true`.
//! Random policies compiled in each of the three layouts are proven equal
//! to the policy.

mod support;

use std::time::Instant;

use sysfence_cbpf::data::AUDIT_ARCH_X86_64;
use sysfence_cbpf::generate::{self, Rng};
use sysfence_cbpf::interp::{self, ShiftMode};
use sysfence_cbpf::program::Program;
use sysfence_compile::{Config, compile};
use sysfence_exact::compare::{self, DEFAULT_BUDGET, Verdict};
use sysfence_exact::store::{SLOT_OFFSETS, Store};
use sysfence_exact::subject::Subject;
use sysfence_exact::witness::data_of;
use sysfence_linux::oracle::Oracle;
use sysfence_profile::eval::{eval, interesting_values};
use sysfence_profile::ir::Policy;
use sysfence_profile::{LoadOptions, load};
use sysfence_testkit::fixtures::{allow_if_eq, x86_64_allow_list};
use sysfence_testkit::insn::mutate;

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

/// The live-kernel oracle; `None` (with the reason printed) where it cannot
/// run, a panic when it cannot run under `CI=true`.
fn oracle() -> Option<Oracle> {
    match Oracle::new() {
        Ok(o) => Some(o),
        Err(e) if e.is_unavailable() && !sysfence_testkit::shared::in_ci() => {
            eprintln!("live kernel part skipped: {e}");
            None
        }
        Err(e) => panic!("the live-kernel oracle must run under CI: {e}"),
    }
}

/// What the mutants of one program came to.
#[derive(Debug, Default)]
struct Tally {
    equal: usize,
    differ: usize,
    kernel: usize,
}

/// `count` one-instruction mutants of `policy` compiled: each proven equal
/// (then checked on 10^5 random and every boundary input) or refuted with a
/// witness the interpreter and, for x86_64 inputs, the live kernel confirm.
fn check_mutants(policy: &Policy, count: usize, rng: &mut Rng, o: Option<&Oracle>) -> Tally {
    let prog = compile(policy, &Config::new()).unwrap().into_program();
    let original = Subject::Program(prog.clone(), ShiftMode::Mask31);
    let mut t = Tally::default();
    while t.equal + t.differ < count {
        let Some(m) = mutate(rng, &prog) else {
            continue;
        };
        let mutant = Subject::Program(m.clone(), ShiftMode::Mask31);
        match compare::equiv(&original, &mutant, DEFAULT_BUDGET).unwrap() {
            Verdict::Yes => {
                t.equal += 1;
                no_contradiction(policy, &prog, &m, rng);
            }
            Verdict::No(w) => {
                t.differ += 1;
                assert_ne!(
                    interp::run(&prog, &w.data).raw,
                    interp::run(&m, &w.data).raw
                );
                if let Some(o) = o {
                    t.kernel += usize::from(kernel_confirms(o, &prog, &m));
                }
            }
            Verdict::Undecided { .. } => panic!("a one-instruction mutant is undecided"),
        }
    }
    t
}

#[test]
fn mutants_are_proven_or_refuted_with_confirmed_witnesses() {
    let Some(policy) = support::docker_default() else {
        return;
    };
    let o = oracle();
    let t = check_mutants(&policy, 40, &mut Rng::new(7), o.as_ref());
    eprintln!("docker default: {t:?}");
    if o.is_some() {
        assert!(t.kernel > 0, "no witness reached the kernel");
    }
}

/// Corpus profiles that load with the default context, by path.
const CORPUS: [&str; 5] = [
    "corpus/third-party/docker-labs/default-no-chmod.json",
    "corpus/third-party/kubernetes-website/fine-grained.json",
    "corpus/third-party/runc/seccomp_syscall_test1.json",
    "corpus/third-party/kubernetes-website/audit.json",
    "corpus/third-party/inspektor-gadget/advise_seccomp-readme-test-container.json",
];

#[test]
fn corpus_mutants_are_proven_or_refuted_with_confirmed_witnesses() {
    let o = oracle();
    let mut rng = Rng::new(8);
    let mut all = Tally::default();
    for rel in CORPUS {
        let Some(text) = sysfence_testkit::shared::read_string(rel) else {
            return;
        };
        let policy = load(text.as_bytes(), &LoadOptions::default())
            .unwrap_or_else(|e| panic!("{rel}: {e}"))
            .policy;
        let t = check_mutants(&policy, 12, &mut rng, o.as_ref());
        eprintln!("{rel}: {t:?}");
        all.equal += t.equal;
        all.differ += t.differ;
        all.kernel += t.kernel;
    }
    if o.is_some() {
        assert!(all.kernel > 0, "no witness reached the kernel");
    }
}

/// A random x86_64 policy: allowed numbers, and numbers decided by `eq`
/// rules on random arguments.
fn random_policy(rng: &mut Rng) -> Policy {
    let allowed: Vec<u32> = (0..rng.range(1, 30))
        .map(|_| rng.below(460) as u32)
        .collect();
    let checked = (0..rng.range(1, 8))
        .map(|_| {
            let rules = (0..rng.range(1, 4))
                .map(|_| allow_if_eq(rng.below(6) as u8, generate::interesting_u64(rng)))
                .collect();
            (rng.below(460) as u32, rules)
        })
        .collect();
    x86_64_allow_list(allowed, checked, sysfence_profile::ir::Action::KillProcess)
}

#[test]
fn random_policy_mutants_are_proven_or_refuted_with_confirmed_witnesses() {
    let o = oracle();
    let mut rng = Rng::new(9);
    let mut all = Tally::default();
    for _ in 0..30 {
        let policy = random_policy(&mut rng);
        let t = check_mutants(&policy, 3, &mut rng, o.as_ref());
        all.equal += t.equal;
        all.differ += t.differ;
        all.kernel += t.kernel;
    }
    eprintln!("random policies: {all:?}");
    if o.is_some() {
        assert!(all.kernel > 0, "no witness reached the kernel");
    }
}

/// Proven equal: random and boundary inputs must not disagree.
fn no_contradiction(policy: &Policy, a: &Program, b: &Program, rng: &mut Rng) {
    for i in 0..100_000u32 {
        let arch = [AUDIT_ARCH_X86_64, 0x4000_0003, 0][i as usize % 3];
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
fn kernel_confirms(o: &Oracle, a: &Program, b: &Program) -> bool {
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
        (0, AUDIT_ARCH_X86_64),
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

/// The compiler's three layouts (each optimised by its passes) of one
/// random policy are proven equal to each other and to the policy.
#[test]
fn every_layout_of_a_random_policy_is_proven_equal() {
    let mut rng = Rng::new(10);
    for _ in 0..30 {
        let policy = random_policy(&mut rng);
        let reference = Subject::Policy(policy.clone());
        for layout in sysfence_compile::Layout::ALL {
            let prog = compile(&policy, &Config::new().layout(layout))
                .unwrap()
                .into_program();
            let p = Subject::Program(prog, ShiftMode::Mask31);
            let v = compare::equiv(&p, &reference, DEFAULT_BUDGET).unwrap();
            assert_eq!(v, Verdict::Yes, "{layout:?}");
        }
    }
}
