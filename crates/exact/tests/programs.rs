//! Diagrams of programs against the interpreter: random valid programs
//! (ALU, scratch memory, X jumps, every seccomp opcode), canonical and as
//! `equiv` builds them (symbolic leaves, cuts); random programs against
//! their disassembled and re-assembled form and against one-instruction
//! mutants.

mod support;

use sysfence_cbpf::data::AUDIT_ARCH_X86_64;
use sysfence_cbpf::generate::{self, Rng};
use sysfence_cbpf::interp::{self, ShiftMode};
use sysfence_cbpf::program::Program;
use sysfence_exact::compare::{self, DEFAULT_BUDGET, Verdict};
use sysfence_exact::cut::{self, Cuts};
use sysfence_exact::store::Store;
use sysfence_exact::subject::Subject;
use sysfence_exact::witness::words_from;
use sysfence_exact::{lazy, program};

const ARCHES: [u32; 4] = [AUDIT_ARCH_X86_64, 0x4000_0003, 0x8000_0016, 0x1234_5678];

#[test]
fn random_programs_agree_with_the_interpreter() {
    let mut rng = Rng::new(12);
    let (mut built, mut over, mut over_ret_a) = (0, 0, 0);
    for _ in 0..150 {
        let insns = generate::valid_program(&mut rng, 80);
        let prog = Program::new(&insns).expect("generator makes valid programs");
        let mut s = Store::new(300_000);
        let Ok(root) = program::diagram(&mut s, &prog, ShiftMode::Mask31) else {
            over += 1;
            over_ret_a += usize::from(insns.iter().any(|i| i.code == 0x16));
            continue;
        };
        built += 1;
        for i in 0..200 {
            let arch = ARCHES[i % ARCHES.len()];
            let ip = rng.next_u64();
            let d = generate::seccomp_data_for(&mut rng, &insns, arch, ip);
            let want = interp::run(&prog, &d).raw;
            assert_eq!(s.eval(root, &words_from(&d)), want, "{insns:?} on {d:?}");
        }
    }
    eprintln!("{built} built, {over} over budget ({over_ret_a} of them with `ret a`)");
    assert!(
        over * 3 <= built + over,
        "{over} of {} undecided",
        built + over
    );
}

#[test]
fn shift_modes_differ_only_on_wide_counts() {
    let insns = sysfence_cbpf::asm::assemble(
        "ld [16]\ntax\nld #1\nlsh x\nret a\n",
        &sysfence_cbpf::asm::AsmOptions::new(),
    )
    .unwrap();
    let prog = Program::new(&insns).unwrap();
    let a = Subject::Program(prog.clone(), ShiftMode::Mask31);
    let b = Subject::Program(prog, ShiftMode::ZeroAbove31);
    let Verdict::No(w) = compare::equiv(&a, &b, DEFAULT_BUDGET).unwrap() else {
        panic!("the modes differ");
    };
    assert!(w.data.word(16) >= 32);
}

/// The diagrams `equiv` builds (symbolic `ret a` leaves, costly operations
/// cut) evaluated with the cuts' real values agree with the interpreter.
#[test]
fn lazy_diagrams_with_cuts_agree_with_the_interpreter() {
    let mut rng = Rng::new(21);
    let (mut built, mut with_cuts) = (0, 0);
    for _ in 0..200 {
        let insns = generate::valid_program(&mut rng, 200);
        let prog = Program::new(&insns).expect("generator makes valid programs");
        let mut s = Store::new(DEFAULT_BUDGET);
        let mut cuts = Cuts::with_limit(lazy::CUT_LIMIT);
        let root = program::lazy_diagram(&mut s, &prog, ShiftMode::Mask31, &mut cuts)
            .expect("within the budget");
        built += 1;
        with_cuts += usize::from(!cuts.is_empty());
        for i in 0..200 {
            let arch = ARCHES[i % ARCHES.len()];
            let ip = rng.next_u64();
            let d = generate::seccomp_data_for(&mut rng, &insns, arch, ip);
            let words = words_from(&d);
            let values = cuts.values(&s, &words);
            let want = interp::run(&prog, &d).raw;
            assert_eq!(
                cut::eval(&s, root, &words, &values),
                want,
                "{insns:?} on {d:?}"
            );
        }
    }
    eprintln!("{built} built, {with_cuts} with cuts");
}

fn reassembled(prog: &Program) -> Program {
    let text =
        sysfence_cbpf::asm::disassemble(prog.insns(), &sysfence_cbpf::asm::DisasmOptions::new());
    let back = sysfence_cbpf::asm::assemble(&text, &sysfence_cbpf::asm::AsmOptions::new())
        .expect("the disassembly assembles");
    Program::new(&back).expect("and validates")
}

/// Disassembly then assembly keeps the meaning: proven, never undecided.
#[test]
fn a_program_equals_its_reassembled_disassembly() {
    let mut rng = Rng::new(99);
    for _ in 0..200 {
        let insns = generate::valid_program(&mut rng, 200);
        let prog = Program::new(&insns).unwrap();
        let a = Subject::Program(prog.clone(), ShiftMode::Mask31);
        let b = Subject::Program(reassembled(&prog), ShiftMode::Mask31);
        let v = compare::equiv(&a, &b, DEFAULT_BUDGET).unwrap();
        assert_eq!(v, Verdict::Yes, "{insns:?}");
    }
}

/// Every input whose words are 0 but one, which is a constant of the program
/// or one off it.
fn boundary_inputs(prog: &Program) -> Vec<sysfence_cbpf::SeccompData> {
    let mut out = Vec::new();
    for k in prog.insns().iter().map(|i| i.k) {
        for v in [k.wrapping_sub(1), k, k.wrapping_add(1)] {
            for slot in 0..16 {
                for arch in ARCHES {
                    let mut words = [0u32; 16];
                    words[0] = arch;
                    words[slot] = v;
                    out.push(sysfence_exact::witness::data_of(&words));
                }
            }
        }
    }
    out
}

/// Proven equal: `random` random inputs and every boundary input agree.
fn no_contradiction(a: &Program, b: &Program, random: usize, rng: &mut Rng) {
    for i in 0..random {
        let arch = ARCHES[i % ARCHES.len()];
        let ip = rng.next_u64();
        let d = generate::seccomp_data_for(rng, a.insns(), arch, ip);
        assert_eq!(interp::run(a, &d).raw, interp::run(b, &d).raw, "{d:?}");
    }
    for d in boundary_inputs(a) {
        assert_eq!(interp::run(a, &d).raw, interp::run(b, &d).raw, "{d:?}");
    }
}

/// One-instruction mutants of random programs: proven equal (then 10^5
/// random inputs and every boundary input must agree),
/// refuted with a replayed witness, and undecided on fewer than 1 % of
/// them.
#[test]
fn random_mutants_are_decided() {
    let mut rng = Rng::new(404);
    let (mut equal, mut differ, mut undecided, mut n) = (0, 0, 0, 0);
    while n < 300 {
        let prog = Program::new(&generate::valid_program(&mut rng, 200)).unwrap();
        let Some(m) = sysfence_testkit::insn::mutate(&mut rng, &prog) else {
            continue;
        };
        n += 1;
        let a = Subject::Program(prog.clone(), ShiftMode::Mask31);
        let b = Subject::Program(m.clone(), ShiftMode::Mask31);
        match compare::equiv(&a, &b, DEFAULT_BUDGET).unwrap() {
            Verdict::Yes => {
                equal += 1;
                no_contradiction(&prog, &m, 100_000, &mut rng);
            }
            Verdict::No(w) => {
                differ += 1;
                assert_ne!(
                    interp::run(&prog, &w.data).raw,
                    interp::run(&m, &w.data).raw
                );
            }
            Verdict::Undecided { .. } => undecided += 1,
        }
    }
    eprintln!("{equal} proven equal, {differ} refuted, {undecided} undecided");
    assert!(undecided * 100 < n, "{undecided} of {n} undecided");
}
