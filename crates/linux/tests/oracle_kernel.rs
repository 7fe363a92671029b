//! The cBPF validator and interpreter against the running kernel.
//!
//! Each test asks the live-kernel oracle (`sysfence_linux::oracle`) and
//! `sysfence_cbpf` the same questions and demands identical answers:
//!
//! * `interpreter_matches_kernel`: at least 200,000 evaluations of random
//!   seccomp-valid programs (every seccomp opcode, scratch memory, run-time
//!   division by zero, `ret a`, junk fields) on random x86_64 inputs;
//! * `validator_matches_kernel`: at least 20,000 random, mostly invalid
//!   programs, accepted or rejected alike (asked in one batch, see
//!   `load_accepts_all`; 200 of them are also loaded for real);
//! * named cases at the kernel's boundaries.
//!
//! When this host cannot run the oracle (not Linux x86_64, no seccomp, or the
//! test process already under seccomp) each test prints why and passes.

use sysfence_cbpf::generate::{Rng, mostly_invalid_program, seccomp_data_for, valid_program};
use sysfence_cbpf::interp::Config;
use sysfence_cbpf::program::Program;
use sysfence_cbpf::validate::validate;
use sysfence_cbpf::{Insn, Opcode, interp};
use sysfence_linux::oracle::{
    AUDIT_ARCH_I386, AUDIT_ARCH_X86_64, Oracle, load_accepts, load_accepts_all,
};
use sysfence_testkit::insn::{i as op, jmp};

/// Evaluations the interpreter test must reach.
const EVALUATIONS: usize = 200_000;
/// Inputs per program.
const INPUTS_PER_PROGRAM: usize = 160;
/// Programs the validator test asks about.
const VALIDATOR_PROGRAMS: usize = 20_000;
/// Programs of the i386 (`int 0x80`) comparison, 40 inputs each.
const I386_PROGRAMS: usize = 100;
/// Of those, how many are also loaded for real, one fork each.
const REAL_LOADS: usize = 200;

fn oracle_or_skip(test: &str) -> Option<Oracle> {
    match Oracle::new() {
        Ok(o) => Some(o),
        Err(e) if e.is_unavailable() => {
            eprintln!("{test}: skipped: {e}");
            None
        }
        Err(e) => panic!("{test}: the oracle failed to start: {e}"),
    }
}

/// What one worker of `interpreter_matches_kernel` saw.
#[derive(Default)]
struct Tally {
    evaluations: usize,
    programs: usize,
    ret_a: usize,
    zero: usize,
    divisions_by_zero: u64,
    children: u64,
    mismatches: Vec<String>,
}

/// Compares `evaluations` answers of random programs from `seed`.
fn compare_interpreter(oracle: &Oracle, seed: u64, evaluations: usize) -> Tally {
    let mut rng = Rng::new(seed);
    let mut t = Tally::default();
    let ip = oracle.instruction_pointer();
    while t.evaluations < evaluations {
        let max_len = [6, 24, 80, 300][t.programs % 4];
        let insns = valid_program(&mut rng, max_len);
        let prog = Program::new(&insns)
            .unwrap_or_else(|e| panic!("seed {seed:#x} program {} invalid: {e}", t.programs));
        let inputs: Vec<_> = (0..INPUTS_PER_PROGRAM)
            .map(|_| seccomp_data_for(&mut rng, &insns, AUDIT_ARCH_X86_64, ip))
            .collect();
        let kernel = oracle
            .run(&insns, &inputs)
            .unwrap_or_else(|e| panic!("seed {seed:#x} program {}: {e}", t.programs));
        for (data, &want) in inputs.iter().zip(&kernel) {
            let mut last = 0;
            let got = interp::run_with(
                &prog,
                data,
                &Config::new(),
                &mut |pc: usize, _: &Insn, _: u32, _: u32| last = pc,
            );
            t.ret_a += usize::from(insns[last].code == Opcode::RetA as u16);
            t.zero += usize::from(got.raw == 0);
            if got.raw != want && t.mismatches.len() < 5 {
                t.mismatches.push(format!(
                    "seed {seed:#x} program {} {insns:?}\n  input {data:?}\n  kernel {want:#010x} ours {:#010x}",
                    t.programs, got.raw
                ));
            }
        }
        t.evaluations += inputs.len();
        t.programs += 1;
    }
    let s = oracle.stats();
    (t.divisions_by_zero, t.children) = (s.divisions_by_zero, s.children);
    t
}

#[test]
fn interpreter_matches_kernel() {
    if oracle_or_skip("interpreter_matches_kernel").is_none() {
        return;
    }
    // Two workers, one oracle each: the probe children of one run while the
    // other forks.
    let tallies: Vec<Tally> = std::thread::scope(|scope| {
        let workers: Vec<_> = [0x5eed_0001, 0x5eed_0011]
            .map(|seed| {
                scope.spawn(move || {
                    let oracle = Oracle::new().unwrap_or_else(|e| panic!("{e}"));
                    compare_interpreter(&oracle, seed, EVALUATIONS / 2)
                })
            })
            .into_iter()
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("worker panicked"))
            .collect()
    });
    let mut all = Tally::default();
    for t in tallies {
        all.evaluations += t.evaluations;
        all.programs += t.programs;
        all.ret_a += t.ret_a;
        all.zero += t.zero;
        all.divisions_by_zero += t.divisions_by_zero;
        all.children += t.children;
        all.mismatches.extend(t.mismatches);
    }
    eprintln!(
        "interpreter vs kernel: {} evaluations of {} programs, {} mismatches; \
         {} ended in ret a, {} returned 0, {} run-time divisions by zero; {} probe children",
        all.evaluations,
        all.programs,
        all.mismatches.len(),
        all.ret_a,
        all.zero,
        all.divisions_by_zero,
        all.children
    );
    assert!(all.mismatches.is_empty(), "{}", all.mismatches.join("\n"));
    assert!(all.evaluations >= EVALUATIONS);
    assert!(
        all.divisions_by_zero > 100,
        "too few divisions by zero: {}",
        all.divisions_by_zero
    );
    assert!(all.ret_a > 1000, "too few ret a results: {}", all.ret_a);
}

#[test]
fn validator_matches_kernel() {
    if oracle_or_skip("validator_matches_kernel").is_none() {
        return;
    }
    let mut rng = Rng::new(0x5eed_0002);
    let programs: Vec<Vec<Insn>> = (0..VALIDATOR_PROGRAMS)
        .map(|_| mostly_invalid_program(&mut rng))
        .collect();
    let kernel = load_accepts_all(&programs).unwrap_or_else(|e| panic!("{e}"));
    let mut disagreements = Vec::new();
    for (i, (insns, &kernel)) in programs.iter().zip(&kernel).enumerate() {
        let ours = validate(insns);
        if kernel != ours.is_ok() && disagreements.len() < 5 {
            let shown = if insns.len() > 16 {
                format!("{} instructions", insns.len())
            } else {
                format!("{insns:?}")
            };
            disagreements.push(format!(
                "program {i} {shown}: kernel accepts={kernel}, ours={ours:?}"
            ));
        }
    }
    // The batch answers (EBUSY after full preparation) agree with real loads.
    for (i, insns) in programs
        .iter()
        .enumerate()
        .step_by(VALIDATOR_PROGRAMS / REAL_LOADS)
    {
        assert_eq!(
            load_accepts(insns),
            Ok(kernel[i]),
            "program {i}: batch and real load differ"
        );
    }
    let accepted = kernel.iter().filter(|&&k| k).count();
    eprintln!(
        "validator vs kernel: {VALIDATOR_PROGRAMS} programs, {accepted} accepted, {} rejected, {} disagreements; \
         {REAL_LOADS} of them also loaded for real",
        VALIDATOR_PROGRAMS - accepted,
        disagreements.len()
    );
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
    assert!(
        accepted > 1000 && accepted < VALIDATOR_PROGRAMS / 2,
        "accepted {accepted}"
    );
}

#[test]
fn kernel_boundaries_of_load_time_checks() {
    if oracle_or_skip("kernel_boundaries_of_load_time_checks").is_none() {
        return;
    }
    let ret = op(Opcode::RetK, 0x7fff_0000);
    let cases: Vec<(&str, Vec<Insn>, bool)> = vec![
        ("empty", vec![], false),
        ("4096 instructions", vec![ret; 4096], true),
        ("4097 instructions", vec![ret; 4097], false),
        ("ld [60]", vec![op(Opcode::LdAbsW, 60), ret], true),
        ("ld [62]", vec![op(Opcode::LdAbsW, 62), ret], false),
        ("ld [64]", vec![op(Opcode::LdAbsW, 64), ret], false),
        (
            "ld len with junk",
            vec![Insn::new(0x80, 5, 6, 0x1234), ret],
            true,
        ),
        (
            "ld M[15] after st",
            vec![op(Opcode::St, 15), op(Opcode::LdMem, 15), ret],
            true,
        ),
        ("st M[16]", vec![op(Opcode::St, 16), ret], false),
        ("mod #1", vec![op(Opcode::ModK, 1), ret], false),
        ("lsh #31", vec![op(Opcode::LshK, 31), ret], true),
        ("lsh #32", vec![op(Opcode::LshK, 32), ret], false),
        ("div #0", vec![op(Opcode::DivK, 0), ret], false),
        ("ja to last", vec![op(Opcode::Ja, 0), ret], true),
        ("ja past end", vec![op(Opcode::Ja, 1), ret], false),
        (
            "jeq jt to last",
            vec![jmp(Opcode::JeqK, 1, 0, 0), ret, ret],
            true,
        ),
        (
            "jeq jf past end",
            vec![jmp(Opcode::JeqK, 0, 2, 0), ret, ret],
            false,
        ),
        (
            "ld M[0] unwritten after ret",
            vec![ret, op(Opcode::LdMem, 0), op(Opcode::RetA, 0)],
            false,
        ),
        (
            "ld M[0] unwritten after ja",
            vec![op(Opcode::Ja, 1), op(Opcode::LdMem, 0), op(Opcode::RetA, 0)],
            true,
        ),
        ("last is not ret", vec![op(Opcode::LdImm, 0)], false),
        (
            "code with high byte",
            vec![Insn::new(0x0106, 0, 0, 0)],
            false,
        ),
    ];
    for (name, insns, want) in cases {
        assert_eq!(load_accepts(&insns), Ok(want), "{name}");
        assert_eq!(validate(&insns).is_ok(), want, "validator on {name}");
    }
}

#[test]
fn kernel_run_time_cases() {
    let Some(oracle) = oracle_or_skip("kernel_run_time_cases") else {
        return;
    };
    let arg = |a: u64| oracle.data(39, [a, 0, 0, 0, 0, 0]);
    let ret_a = op(Opcode::RetA, 0);
    // Division by X = 0 returns 0; the inputs after it are still answered.
    let div = [
        op(Opcode::LdAbsW, 16),
        op(Opcode::Tax, 0),
        op(Opcode::LdImm, 7),
        op(Opcode::DivX, 0),
        ret_a,
    ];
    let inputs = [arg(0), arg(2), arg(0), arg(7)];
    assert_eq!(oracle.run(&div, &inputs), Ok(vec![0, 3, 0, 1]));
    // Shifts by X use X & 31 on x86_64.
    let lsh = [
        op(Opcode::LdAbsW, 16),
        op(Opcode::Tax, 0),
        op(Opcode::LdImm, 0x8765_4321),
        op(Opcode::LshX, 0),
        ret_a,
    ];
    let counts = [arg(32), arg(33), arg(0x8000_0000), arg(1)];
    assert_eq!(
        oracle.run(&lsh, &counts),
        Ok(vec![0x8765_4321, 0x0eca_8642, 0x8765_4321, 0x0eca_8642])
    );
    // Every bit of A comes back, and nr -1 and x32 numbers are filtered.
    let nr = [op(Opcode::LdAbsW, 0), op(Opcode::XorK, 0xdead_beef), ret_a];
    let nrs = [
        oracle.data(u32::MAX, [0; 6]),
        oracle.data(0x4000_0027, [0; 6]),
    ];
    assert_eq!(
        oracle.run(&nr, &nrs),
        Ok(vec![!0xdead_beef, 0x4000_0027 ^ 0xdead_beef])
    );
    // The instruction pointer the oracle reports is what the filter sees.
    let ip = oracle.instruction_pointer();
    let ip_hi = [op(Opcode::LdAbsW, 12), ret_a];
    assert_eq!(oracle.run(&ip_hi, &[arg(0)]), Ok(vec![(ip >> 32) as u32]));
    assert_ne!(ip, 0);
    // uretprobe and uprobe bypass filters: refused, not guessed.
    let err = oracle
        .run(&ip_hi, &[arg(0), oracle.data(335, [0; 6])])
        .unwrap_err();
    assert!(err.to_string().contains("input 1"), "{err}");
    // Every ret #k value comes back exactly, including ERRNO data above 4095.
    let many = [
        op(Opcode::LdAbsW, 0),
        jmp(Opcode::JeqK, 0, 1, 1),
        op(Opcode::RetK, 0x0005_ffff),
        jmp(Opcode::JeqK, 0, 1, 2),
        op(Opcode::RetK, 0x8000_0000),
        op(Opcode::RetK, 0),
    ];
    let picks = [
        oracle.data(1, [0; 6]),
        oracle.data(2, [0; 6]),
        oracle.data(3, [0; 6]),
    ];
    assert_eq!(
        oracle.run(&many, &picks),
        Ok(vec![0x0005_ffff, 0x8000_0000, 0])
    );
}

#[test]
fn interpreter_matches_kernel_on_i386() {
    let Some(oracle) = oracle_or_skip("interpreter_matches_kernel_on_i386") else {
        return;
    };
    let Some(ip) = oracle.instruction_pointer_i386() else {
        eprintln!(
            "interpreter_matches_kernel_on_i386: skipped: this kernel has no i386 system calls"
        );
        return;
    };
    let mut rng = Rng::new(0x5eed_0003);
    let (mut evaluations, mut mismatches) = (0usize, Vec::new());
    for programs in 0..I386_PROGRAMS {
        let insns = valid_program(&mut rng, 40);
        let prog = Program::new(&insns)
            .unwrap_or_else(|e| panic!("generated program {programs} invalid: {e}"));
        let inputs: Vec<_> = (0..40)
            .map(|_| seccomp_data_for(&mut rng, &insns, AUDIT_ARCH_I386, ip))
            .collect();
        let kernel = oracle
            .run(&insns, &inputs)
            .unwrap_or_else(|e| panic!("program {programs}: {e}"));
        for (data, &want) in inputs.iter().zip(&kernel) {
            let got = interp::run(&prog, data).raw;
            if got != want && mismatches.len() < 5 {
                mismatches.push(format!("program {programs} {insns:?}\n  input {data:?}\n  kernel {want:#010x} ours {got:#010x}"));
            }
        }
        evaluations += inputs.len();
    }
    eprintln!(
        "interpreter vs kernel, i386: {evaluations} evaluations of {I386_PROGRAMS} programs, {} mismatches",
        mismatches.len()
    );
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    // The upper halves of the argument registers reach args[].
    let hi = [op(Opcode::LdAbsW, 20), op(Opcode::RetA, 0)];
    let data = oracle.data_i386(20, [0x1234_5678_0000_0001, 0, 0, 0, 0, 0]);
    assert_eq!(
        oracle.run(&hi, &data.into_iter().collect::<Vec<_>>()),
        Ok(vec![0x1234_5678])
    );
}
