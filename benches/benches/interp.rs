//! Interpreter speed: nanoseconds per evaluation and per executed instruction.
//!
//! Two programs:
//!
//! * `alu_chain_4096`: 4,095 ALU instructions (a repeating mix of K forms,
//!   X forms, `neg`, `tax`) and `ret a`; every evaluation runs all 4,096,
//!   so this is the steady-state cost per instruction. It leaves out `div`,
//!   whose hardware latency (20 to 40 cycles) would swamp the interpreter's
//!   own cost.
//! * `allow_list_50`: an x86_64 allow-list as compilers emit it (arch check,
//!   x32 check, 50 `jeq` on the syscall number, ERRNO otherwise), evaluated
//!   for a rotating set of allowed and denied syscalls, so the path length
//!   varies from 6 to 56 instructions.
//!
//! Criterion reports time per batch and throughput in instructions
//! (`elem/s`); after the criterion run a summary line per program prints
//! ns/evaluation and ns/instruction from a plain timed loop (best of 20
//! runs), plus the same for a one-instruction program, which is the fixed
//! cost of an evaluation.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use sysfence_cbpf::action::{RET_ALLOW, RET_ERRNO, RET_KILL_PROCESS};
use sysfence_cbpf::data::SeccompData;
use sysfence_cbpf::insn::Insn;
use sysfence_cbpf::interp::run;
use sysfence_cbpf::opcode::Opcode;
use sysfence_cbpf::program::Program;

use sysfence_abi::arch::AUDIT_ARCH_X86_64 as X86_64;

/// 4,095 ALU instructions and `ret a`.
fn alu_chain() -> Program {
    let cycle = [
        Insn::op(Opcode::AddK, 0, 0, 0x9e37_79b9),
        Insn::op(Opcode::XorK, 0, 0, 0x5bd1_e995),
        Insn::op(Opcode::MulK, 0, 0, 0x0100_0193),
        Insn::op(Opcode::Tax, 0, 0, 0),
        Insn::op(Opcode::RshK, 0, 0, 7),
        Insn::op(Opcode::AddX, 0, 0, 0),
        Insn::op(Opcode::OrK, 0, 0, 0x10),
        Insn::op(Opcode::LshX, 0, 0, 0),
        Insn::op(Opcode::SubK, 0, 0, 3),
        Insn::op(Opcode::Neg, 0, 0, 0),
        Insn::op(Opcode::AndK, 0, 0, 0xfff0_ffff),
        Insn::op(Opcode::XorX, 0, 0, 0),
    ];
    let mut insns: Vec<Insn> = cycle.iter().copied().cycle().take(4095).collect();
    insns.push(Insn::op(Opcode::RetA, 0, 0, 0));
    Program::new(&insns).expect("the ALU chain is valid")
}

/// The syscall numbers the allow-list accepts (50 common x86_64 calls).
const ALLOWED: [u32; 50] = [
    0, 1, 2, 3, 4, 5, 8, 9, 10, 11, 12, 13, 14, 16, 17, 20, 21, 24, 28, 39, 41, 42, 44, 45, 47, 56,
    57, 59, 60, 61, 62, 72, 79, 89, 96, 102, 110, 186, 202, 218, 228, 230, 231, 232, 233, 257, 262,
    270, 273, 302,
];

/// Arch check, x32 check, one `jeq` per allowed number, ERRNO(EPERM).
fn allow_list() -> Program {
    let n = ALLOWED.len();
    let mut insns = vec![
        Insn::op(Opcode::LdAbsW, 0, 0, 4),
        Insn::op(Opcode::JeqK, 1, 0, X86_64),
        Insn::op(Opcode::RetK, 0, 0, RET_KILL_PROCESS),
        Insn::op(Opcode::LdAbsW, 0, 0, 0),
        Insn::op(Opcode::JgeK, (n + 2) as u8, 0, 0x4000_0000),
    ];
    for (idx, nr) in ALLOWED.iter().enumerate() {
        // Land on the `ret ALLOW` after the last jeq and the ERRNO.
        insns.push(Insn::op(Opcode::JeqK, (n - idx) as u8, 0, *nr));
    }
    insns.push(Insn::op(Opcode::RetK, 0, 0, RET_ERRNO | 1));
    insns.push(Insn::op(Opcode::RetK, 0, 0, RET_ALLOW));
    insns.push(Insn::op(Opcode::RetK, 0, 0, RET_KILL_PROCESS));
    Program::new(&insns).expect("the allow-list is valid")
}

/// Inputs for the allow-list: every allowed number plus denied ones.
fn allow_list_inputs() -> Vec<SeccompData> {
    let mut nrs: Vec<u32> = ALLOWED.to_vec();
    nrs.extend([6, 7, 15, 100, 200, 300, 0x4000_0001, 435]);
    nrs.into_iter()
        .map(|nr| SeccompData::new(X86_64, nr))
        .collect()
}

/// Instructions one pass over `inputs` executes.
fn insns_per_pass(prog: &Program, inputs: &[SeccompData]) -> u64 {
    inputs.iter().map(|d| u64::from(run(prog, d).insns)).sum()
}

/// One pass: evaluates every input once.
#[inline(never)]
fn pass(prog: &Program, inputs: &[SeccompData]) -> u32 {
    inputs
        .iter()
        .fold(0, |acc, d| acc ^ run(black_box(prog), black_box(d)).raw)
}

fn bench(c: &mut Criterion, name: &str, prog: &Program, inputs: &[SeccompData]) {
    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Elements(insns_per_pass(prog, inputs)));
    group.bench_function("insns", |b| b.iter(|| pass(prog, inputs)));
    group.finish();
}

/// A plain timed loop: (ns per evaluation, ns per executed instruction),
/// the best of 20 runs of about 25 ms each, so that other load on the
/// machine shows up as little as possible.
fn summary(prog: &Program, inputs: &[SeccompData]) -> (f64, f64) {
    let per_pass = insns_per_pass(prog, inputs) as f64;
    let best = (0..20)
        .map(|_| {
            let mut passes = 0u64;
            let start = Instant::now();
            while start.elapsed() < Duration::from_millis(25) {
                for _ in 0..16 {
                    black_box(pass(prog, inputs));
                }
                passes += 16;
            }
            start.elapsed().as_nanos() as f64 / passes as f64
        })
        .fold(f64::INFINITY, f64::min);
    (best / inputs.len() as f64, best / per_pass)
}

fn main() {
    let alu = alu_chain();
    let alu_inputs = [SeccompData::new(X86_64, 0)];
    let list = allow_list();
    let list_inputs = allow_list_inputs();

    let mut c = Criterion::default().configure_from_args();
    bench(&mut c, "alu_chain_4096", &alu, &alu_inputs);
    bench(&mut c, "allow_list_50", &list, &list_inputs);
    c.final_summary();

    let one = Program::new(&[Insn::op(Opcode::RetK, 0, 0, RET_ALLOW)]).expect("valid");
    for (name, prog, inputs) in [
        ("alu_chain_4096", &alu, &alu_inputs[..]),
        ("allow_list_50", &list, &list_inputs),
        ("ret_only", &one, &list_inputs),
    ] {
        let (eval, insn) = summary(prog, inputs);
        let mean = insns_per_pass(prog, inputs) as f64 / inputs.len() as f64;
        println!(
            "{name}: {eval:.1} ns/evaluation, {insn:.3} ns/instruction ({mean:.1} instructions per evaluation)"
        );
    }
}
