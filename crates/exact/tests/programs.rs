//! Diagrams of programs against the interpreter: random valid programs
//! (ALU, scratch memory, X jumps, every seccomp opcode) and the compiled
//! Docker profile against its own policy.

mod support;

use sysfence_cbpf::generate::{self, Rng};
use sysfence_cbpf::interp::{self, ShiftMode};
use sysfence_cbpf::program::Program;
use sysfence_exact::compare::{self, DEFAULT_BUDGET, Verdict};
use sysfence_exact::program;
use sysfence_exact::store::Store;
use sysfence_exact::subject::Subject;
use sysfence_exact::witness::words_from;

const ARCHES: [u32; 4] = [0xc000_003e, 0x4000_0003, 0x8000_0016, 0x1234_5678];

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

#[test]
fn a_program_equals_its_reassembled_disassembly() {
    let mut rng = Rng::new(99);
    for _ in 0..50 {
        let insns = generate::valid_program(&mut rng, 60);
        let prog = Program::new(&insns).unwrap();
        let a = Subject::Program(prog.clone(), ShiftMode::Mask31);
        let text = sysfence_cbpf::asm::disassemble(
            prog.insns(),
            &sysfence_cbpf::asm::DisasmOptions::new(),
        );
        let back =
            sysfence_cbpf::asm::assemble(&text, &sysfence_cbpf::asm::AsmOptions::new()).unwrap();
        let b = Subject::Program(Program::new(&back).unwrap(), ShiftMode::Mask31);
        let v = compare::equiv(&a, &b, DEFAULT_BUDGET).unwrap();
        assert!(
            matches!(v, Verdict::Yes | Verdict::Undecided { .. }),
            "{v:?}"
        );
    }
}
