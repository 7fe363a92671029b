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

/// How `equiv` decided a program against its mutant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Decided {
    Equal,
    Differ,
    Undecided,
}

/// Decides `prog` against its mutant `m`: proven equal (then `random`
/// random inputs and every boundary input must agree), or refuted with a
/// witness the interpreter confirms.
fn decide_mutant(prog: &Program, m: &Program, random: usize, rng: &mut Rng) -> Decided {
    let a = Subject::Program(prog.clone(), ShiftMode::Mask31);
    let b = Subject::Program(m.clone(), ShiftMode::Mask31);
    match compare::equiv(&a, &b, DEFAULT_BUDGET).unwrap() {
        Verdict::Yes => {
            no_contradiction(prog, m, random, rng);
            Decided::Equal
        }
        Verdict::No(w) => {
            assert_ne!(interp::run(prog, &w.data).raw, interp::run(m, &w.data).raw);
            Decided::Differ
        }
        Verdict::Undecided { .. } => Decided::Undecided,
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
        match decide_mutant(&prog, &m, 100_000, &mut rng) {
            Decided::Equal => equal += 1,
            Decided::Differ => differ += 1,
            Decided::Undecided => undecided += 1,
        }
    }
    eprintln!("{equal} proven equal, {differ} refuted, {undecided} undecided");
    assert!(undecided * 100 < n, "{undecided} of {n} undecided");
}

/// A program shaped like a compiled filter, as `bpf_asm` text: the arch
/// test, a random search over the number (`jeq`/`jgt`/`jge`/`jset` on
/// constants near each other), leaves that return, or run argument blocks
/// shared by several leaves (some of which load the number again), all
/// jumps forward.
fn dispatch_program(rng: &mut Rng) -> Program {
    let pool: Vec<u32> = (0..12)
        .map(|_| match rng.below(4) {
            0 => rng.below(16) as u32,
            1 => 0x4000_0000 + rng.below(4) as u32,
            2 => u32::MAX - rng.below(3) as u32,
            _ => rng.next_u32(),
        })
        .collect();
    let jumps = ["jeq", "jgt", "jge", "jset"];
    let shared = 4;
    let mut text = String::from("ld [4]\njeq #0xc000003e, N, BAD\nBAD: ret #0\nN: ld [0]\n");
    let mut label = 0;
    fn tree(rng: &mut Rng, pool: &[u32], depth: u32, label: &mut u32, out: &mut String) {
        let jumps = ["jeq", "jgt", "jge", "jset"];
        if depth == 0 || rng.chance(1, 4) {
            match rng.below(3) {
                0 => out.push_str(&format!("ret #{}\n", rng.below(3) * 0x7fff_0000)),
                _ => out.push_str(&format!("ja S{}\n", rng.below(4))),
            }
            return;
        }
        *label += 1;
        let (t, f) = (format!("T{label}"), format!("F{label}"));
        let op = rng.pick(&jumps).unwrap();
        let k = rng.pick(pool).unwrap();
        out.push_str(&format!("{op} #{k}, {t}, {f}\n{t}: "));
        tree(rng, pool, depth - 1, label, out);
        out.push_str(&format!("{f}: "));
        tree(rng, pool, depth - 1, label, out);
    }
    tree(rng, &pool, 6, &mut label, &mut text);
    for s in 0..shared {
        // A word of an argument (or the number again), two tests, then the
        // next shared block or a return.
        let word = [16, 20, 24, 0][rng.below(4) as usize];
        let next = if s + 1 < shared {
            format!("S{}", s + 1)
        } else {
            "END".to_string()
        };
        let (a, b) = (rng.pick(&jumps).unwrap(), rng.pick(&jumps).unwrap());
        let (k1, k2) = (rng.pick(&pool).unwrap(), rng.pick(&pool).unwrap());
        text.push_str(&format!(
            "S{s}: ld [{word}]\n{a} #{k1}, R{s}, M{s}\nM{s}: {b} #{k2}, {next}, R{s}\nR{s}: ret #{}\n",
            0x7fff_0000 + s
        ));
    }
    text.push_str("END: ret #0x50001\n");
    let insns = sysfence_cbpf::asm::assemble(&text, &sysfence_cbpf::asm::AsmOptions::new())
        .unwrap_or_else(|e| panic!("{e}\n{text}"));
    Program::new(&insns).unwrap()
}

/// Compiled-filter shapes, where comparisons of one word are kept as
/// intervals: the diagram against the interpreter on boundary and random
/// inputs, and one-instruction mutants decided consistently.
#[test]
fn dispatch_shaped_programs_agree_with_the_interpreter() {
    let mut rng = Rng::new(77);
    let (mut equal, mut differ) = (0, 0);
    for _ in 0..200 {
        let prog = dispatch_program(&mut rng);
        let mut s = Store::new(DEFAULT_BUDGET);
        let root = program::diagram(&mut s, &prog, ShiftMode::Mask31).unwrap();
        assert!(s.is_ordered(root));
        let mut inputs = boundary_inputs(&prog);
        for i in 0..2_000 {
            let arch = ARCHES[i % 2];
            inputs.push(generate::seccomp_data_for(&mut rng, prog.insns(), arch, 0));
        }
        for d in inputs {
            let want = interp::run(&prog, &d).raw;
            assert_eq!(s.eval(root, &words_from(&d)), want, "{d:?}");
        }
        let Some(m) = sysfence_testkit::insn::mutate(&mut rng, &prog) else {
            continue;
        };
        match decide_mutant(&prog, &m, 5_000, &mut rng) {
            Decided::Equal => equal += 1,
            Decided::Differ => differ += 1,
            Decided::Undecided => panic!("a small program undecided"),
        }
    }
    eprintln!("mutants: {equal} proven equal, {differ} refuted");
    assert!(differ > 20 && equal > 5, "{equal} equal, {differ} refuted");
}
