//! Run-time semantics of the interpreter, each case as the live kernel
//! answered it (Linux `net/core/filter.c`, `kernel/seccomp.c`).

use sysfence_cbpf::action::{Action, RET_ALLOW, RET_ERRNO};
use sysfence_cbpf::data::SeccompData;
use sysfence_cbpf::insn::Insn;
use sysfence_cbpf::interp::{
    Config, Coverage, NoTrace, Outcome, ShiftMode, Step, Steps, run, run_with,
};
use sysfence_cbpf::opcode::Opcode;
use sysfence_testkit::insn::{i, jmp, prog};

use sysfence_cbpf::abi::arch::AUDIT_ARCH_S390X as S390X;
use sysfence_cbpf::abi::arch::AUDIT_ARCH_X86_64 as X86_64;

/// Runs `body; ret a` on an x86_64 call with no arguments; returns A.
fn eval_a(body: &[Insn]) -> u32 {
    eval_a_with(body, ShiftMode::Mask31)
}

fn eval_a_with(body: &[Insn], mode: ShiftMode) -> u32 {
    let mut insns = body.to_vec();
    insns.push(i(Opcode::RetA, 0));
    let p = prog(&insns);
    run_with(
        &p,
        &SeccompData::new(X86_64, 0),
        &Config::new().shift(mode),
        &mut NoTrace,
    )
    .raw
}

#[test]
fn initial_registers_are_zero() {
    assert_eq!(eval_a(&[]), 0);
    assert_eq!(eval_a(&[i(Opcode::Txa, 0)]), 0);
}

#[test]
fn neg_0x80000000_stays() {
    assert_eq!(
        eval_a(&[i(Opcode::LdImm, 0x8000_0000), i(Opcode::Neg, 0)]),
        0x8000_0000
    );
    assert_eq!(
        eval_a(&[i(Opcode::LdImm, 1), i(Opcode::Neg, 0)]),
        0xffff_ffff
    );
    assert_eq!(eval_a(&[i(Opcode::Neg, 0)]), 0);
}

#[test]
fn alu_is_32_bit_wrapping_unsigned() {
    assert_eq!(
        eval_a(&[i(Opcode::LdImm, 0xffff_ffff), i(Opcode::AddK, 2)]),
        1
    );
    assert_eq!(eval_a(&[i(Opcode::SubK, 1)]), 0xffff_ffff);
    assert_eq!(
        eval_a(&[i(Opcode::LdImm, 0x1_0001), i(Opcode::MulK, 0x1_0001)]),
        0x0002_0001
    );
    assert_eq!(
        eval_a(&[i(Opcode::LdImm, 0xffff_ffff), i(Opcode::DivK, 2)]),
        0x7fff_ffff
    );
    assert_eq!(
        eval_a(&[i(Opcode::LdImm, 0xf0f0), i(Opcode::AndK, 0xff00)]),
        0xf000
    );
    assert_eq!(
        eval_a(&[i(Opcode::LdImm, 0xf0f0), i(Opcode::OrK, 0x0f00)]),
        0xfff0
    );
    assert_eq!(
        eval_a(&[i(Opcode::LdImm, 0xf0f0), i(Opcode::XorK, 0xffff)]),
        0x0f0f
    );
    assert_eq!(
        eval_a(&[i(Opcode::LdImm, 0x8000_0001), i(Opcode::LshK, 1)]),
        2
    );
    assert_eq!(
        eval_a(&[i(Opcode::LdImm, 0x8000_0000), i(Opcode::RshK, 31)]),
        1
    );
}

#[test]
fn alu_x_forms_use_x() {
    let x = |op| eval_a(&[i(Opcode::LdxImm, 6), i(Opcode::LdImm, 20), i(op, 0)]);
    assert_eq!(x(Opcode::AddX), 26);
    assert_eq!(x(Opcode::SubX), 14);
    assert_eq!(x(Opcode::MulX), 120);
    assert_eq!(x(Opcode::DivX), 3);
    assert_eq!(x(Opcode::AndX), 4);
    assert_eq!(x(Opcode::OrX), 22);
    assert_eq!(x(Opcode::XorX), 18);
    assert_eq!(x(Opcode::LshX), 1280);
    assert_eq!(x(Opcode::RshX), 0);
}

#[test]
fn tax_copies_a_to_x_and_txa_copies_x_to_a() {
    assert_eq!(
        eval_a(&[
            i(Opcode::LdImm, 7),
            i(Opcode::Tax, 0),
            i(Opcode::LdImm, 1),
            i(Opcode::Txa, 0)
        ]),
        7
    );
    assert_eq!(eval_a(&[i(Opcode::LdxImm, 9), i(Opcode::Txa, 0)]), 9);
}

#[test]
fn div_x_by_zero_returns_0_at_once() {
    let p = prog(&[
        i(Opcode::LdImm, 5),
        i(Opcode::DivX, 0),
        i(Opcode::RetK, RET_ALLOW),
    ]);
    let out = run(&p, &SeccompData::new(X86_64, 1));
    assert_eq!(
        out,
        Outcome {
            raw: 0,
            action: Action::KillThread,
            insns: 2
        }
    );
}

#[test]
fn shift_by_x_mask31() {
    let shl = |count| {
        eval_a(&[
            i(Opcode::LdxImm, count),
            i(Opcode::LdImm, 0x8765_4321),
            i(Opcode::LshX, 0),
        ])
    };
    let shr = |count| {
        eval_a(&[
            i(Opcode::LdxImm, count),
            i(Opcode::LdImm, 0x8765_4321),
            i(Opcode::RshX, 0),
        ])
    };
    assert_eq!(shl(0), 0x8765_4321);
    assert_eq!(shl(32), 0x8765_4321);
    assert_eq!(shl(33), 0x0eca_8642);
    assert_eq!(shl(0x8000_0000), 0x8765_4321);
    assert_eq!(shl(0xffff_ffff), 0x8000_0000);
    assert_eq!(shr(32), 0x8765_4321);
    assert_eq!(shr(33), 0x43b2_a190);
    assert_eq!(shr(0x8000_0000), 0x8765_4321);
    assert_eq!(shr(0xffff_ffff), 1);
}

#[test]
fn shift_by_x_zero_above_31() {
    let mode = ShiftMode::ZeroAbove31;
    let shl = |c| {
        eval_a_with(
            &[
                i(Opcode::LdxImm, c),
                i(Opcode::LdImm, 0x8765_4321),
                i(Opcode::LshX, 0),
            ],
            mode,
        )
    };
    let shr = |c| {
        eval_a_with(
            &[
                i(Opcode::LdxImm, c),
                i(Opcode::LdImm, 0x8765_4321),
                i(Opcode::RshX, 0),
            ],
            mode,
        )
    };
    for count in [32, 33, 0x8000_0000, 0xffff_ffff] {
        assert_eq!(shl(count), 0, "<< {count:#x}");
        assert_eq!(shr(count), 0, ">> {count:#x}");
    }
    assert_eq!(shl(0), 0x8765_4321);
    assert_eq!(shl(31), 0x8000_0000);
    assert_eq!(shr(31), 1);
}

#[test]
fn shift_mode_defaults_and_per_arch() {
    assert_eq!(Config::new().get_shift(), ShiftMode::Mask31);
    assert_eq!(Config::default(), Config::new());
    assert_eq!(ShiftMode::for_arch(X86_64), ShiftMode::Mask31);
    assert_eq!(ShiftMode::for_arch(0xc000_00b7), ShiftMode::Mask31);
    assert_eq!(ShiftMode::for_arch(S390X), ShiftMode::ZeroAbove31);
    assert_eq!(ShiftMode::for_arch(0xc000_0015), ShiftMode::ZeroAbove31);
    assert_eq!(ShiftMode::for_arch(0x4000_0028), ShiftMode::ZeroAbove31);
}

#[test]
fn jgt_0x7fffffff_is_unsigned() {
    let p = prog(&[
        i(Opcode::LdImm, 0x8000_0000),
        jmp(Opcode::JgtK, 0, 1, 0x7fff_ffff),
        i(Opcode::RetK, RET_ALLOW),
        i(Opcode::RetK, RET_ERRNO | 1),
    ]);
    assert_eq!(run(&p, &SeccompData::new(X86_64, 0)).action, Action::Allow);
}

#[test]
fn jeq_0xffffffff_matches_nr_minus_1() {
    let p = prog(&[
        i(Opcode::LdAbsW, 0),
        jmp(Opcode::JeqK, 0, 1, 0xffff_ffff),
        i(Opcode::RetK, RET_ERRNO | 38),
        i(Opcode::RetK, RET_ALLOW),
    ]);
    assert_eq!(
        run(&p, &SeccompData::new(X86_64, u32::MAX)).raw,
        RET_ERRNO | 38
    );
    assert_eq!(
        run(&p, &SeccompData::new(X86_64, 0x7fff_ffff)).raw,
        RET_ALLOW
    );
}

#[test]
fn conditional_jumps_take_the_right_side() {
    // A = 5; each jump returns 1 when true, 2 when false.
    let cond = |op, k, x| {
        let p = prog(&[
            i(Opcode::LdxImm, x),
            i(Opcode::LdImm, 5),
            jmp(op, 0, 1, k),
            i(Opcode::RetK, 1),
            i(Opcode::RetK, 2),
        ]);
        run(&p, &SeccompData::new(X86_64, 0)).raw
    };
    assert_eq!((cond(Opcode::JeqK, 5, 0), cond(Opcode::JeqK, 6, 0)), (1, 2));
    assert_eq!((cond(Opcode::JeqX, 0, 5), cond(Opcode::JeqX, 0, 4)), (1, 2));
    assert_eq!((cond(Opcode::JgtK, 4, 0), cond(Opcode::JgtK, 5, 0)), (1, 2));
    assert_eq!((cond(Opcode::JgtX, 0, 4), cond(Opcode::JgtX, 0, 5)), (1, 2));
    assert_eq!((cond(Opcode::JgeK, 5, 0), cond(Opcode::JgeK, 6, 0)), (1, 2));
    assert_eq!((cond(Opcode::JgeX, 0, 5), cond(Opcode::JgeX, 0, 6)), (1, 2));
    assert_eq!(
        (cond(Opcode::JsetK, 4, 0), cond(Opcode::JsetK, 2, 0)),
        (1, 2)
    );
    assert_eq!(
        (cond(Opcode::JsetX, 0, 1), cond(Opcode::JsetX, 0, 0xa)),
        (1, 2)
    );
}

#[test]
fn ja_skips_k_instructions() {
    let p = prog(&[
        i(Opcode::Ja, 2),
        i(Opcode::RetK, 1),
        i(Opcode::RetK, 2),
        i(Opcode::RetK, 3),
    ]);
    assert_eq!(
        run(&p, &SeccompData::default()),
        Outcome {
            raw: 3,
            action: Action::KillThread,
            insns: 2
        }
    );
}

#[test]
fn ld_abs_reads_seccomp_data_little_endian() {
    let data = SeccompData {
        nr: 39,
        arch: X86_64,
        instruction_pointer: 0x1111_2222_3333_4444,
        args: [0x1_0000_0002, 0, 0, 0, 0, 0xaaaa_bbbb_cccc_dddd],
    };
    let word = |k| {
        let p = prog(&[i(Opcode::LdAbsW, k), i(Opcode::RetA, 0)]);
        run(&p, &data).raw
    };
    assert_eq!(word(0), 39);
    assert_eq!(word(4), X86_64);
    assert_eq!((word(8), word(12)), (0x3333_4444, 0x1111_2222));
    assert_eq!((word(16), word(20)), (2, 1));
    assert_eq!((word(56), word(60)), (0xcccc_dddd, 0xaaaa_bbbb));
}

#[test]
fn ld_abs_big_endian_arch_puts_high_word_first() {
    let data = SeccompData {
        nr: 1,
        arch: S390X,
        instruction_pointer: 0x1111_2222_3333_4444,
        args: [0x1_0000_0002, 0, 0, 0, 0, 0xaaaa_bbbb_cccc_dddd],
    };
    let word = |k| run(&prog(&[i(Opcode::LdAbsW, k), i(Opcode::RetA, 0)]), &data).raw;
    assert_eq!((word(8), word(12)), (0x1111_2222, 0x3333_4444));
    assert_eq!((word(16), word(20)), (1, 2));
    assert_eq!((word(56), word(60)), (0xaaaa_bbbb, 0xcccc_dddd));
    assert_eq!(word(4), S390X);
}

#[test]
fn ld_len_and_ldx_len_are_64() {
    assert_eq!(eval_a(&[i(Opcode::LdLen, 0x1234)]), 64);
    assert_eq!(eval_a(&[i(Opcode::LdxLen, 0), i(Opcode::Txa, 0)]), 64);
}

#[test]
fn scratch_memory_round_trips() {
    let body = [
        i(Opcode::LdImm, 11),
        i(Opcode::St, 15),
        i(Opcode::LdxImm, 22),
        i(Opcode::Stx, 0),
        i(Opcode::LdImm, 0),
        i(Opcode::LdxMem, 15),
        i(Opcode::LdMem, 0),
        i(Opcode::AddX, 0),
    ];
    assert_eq!(eval_a(&body), 33);
}

#[test]
fn realistic_allow_list_counts_instructions() {
    let p = prog(&[
        i(Opcode::LdAbsW, 4),
        jmp(Opcode::JeqK, 1, 0, X86_64),
        i(Opcode::RetK, 0x8000_0000),
        i(Opcode::LdAbsW, 0),
        jmp(Opcode::JgeK, 4, 0, 0x4000_0000),
        jmp(Opcode::JeqK, 2, 0, 39),
        jmp(Opcode::JeqK, 1, 0, 231),
        i(Opcode::RetK, RET_ERRNO | 1),
        i(Opcode::RetK, RET_ALLOW),
        i(Opcode::RetK, 0x8000_0000),
    ]);
    let out = |arch, nr| run(&p, &SeccompData::new(arch, nr));
    assert_eq!(
        out(X86_64, 39),
        Outcome {
            raw: RET_ALLOW,
            action: Action::Allow,
            insns: 6
        }
    );
    assert_eq!(
        out(X86_64, 231),
        Outcome {
            raw: RET_ALLOW,
            action: Action::Allow,
            insns: 7
        }
    );
    assert_eq!(
        out(X86_64, 0),
        Outcome {
            raw: RET_ERRNO | 1,
            action: Action::Errno(1),
            insns: 7
        }
    );
    assert_eq!(
        out(X86_64, 0x4000_0027),
        Outcome {
            raw: 0x8000_0000,
            action: Action::KillProcess,
            insns: 5
        }
    );
    assert_eq!(
        out(0x4000_0003, 39),
        Outcome {
            raw: 0x8000_0000,
            action: Action::KillProcess,
            insns: 3
        }
    );
}

#[test]
fn steps_tracer_sees_registers_before_each_insn() {
    let insns = [
        i(Opcode::LdImm, 7),
        i(Opcode::Tax, 0xdead),
        i(Opcode::AddK, 1),
        i(Opcode::RetA, 0),
    ];
    let p = prog(&insns);
    let mut steps = Steps::new();
    let out = run_with(&p, &SeccompData::default(), &Config::new(), &mut steps);
    assert_eq!(out.raw, 8);
    assert_eq!(
        steps.steps(),
        &[
            Step {
                pc: 0,
                insn: insns[0],
                a: 0,
                x: 0
            },
            Step {
                pc: 1,
                insn: insns[1],
                a: 7,
                x: 0
            },
            Step {
                pc: 2,
                insn: insns[2],
                a: 7,
                x: 7
            },
            Step {
                pc: 3,
                insn: insns[3],
                a: 8,
                x: 7
            },
        ]
    );
    steps.clear();
    assert!(steps.steps().is_empty());
}

#[test]
fn coverage_and_closure_tracers() {
    let p = prog(&[
        i(Opcode::LdAbsW, 0),
        jmp(Opcode::JeqK, 0, 1, 1),
        i(Opcode::RetK, 1),
        i(Opcode::RetK, 2),
    ]);
    let mut cov = Coverage::new(&p);
    for nr in [1, 1, 5] {
        run_with(&p, &SeccompData::new(X86_64, nr), &Config::new(), &mut cov);
    }
    assert_eq!(cov.hits(), &[3, 3, 2, 1]);
    assert_eq!(cov.covered(), 4);
    let mut pcs = Vec::new();
    let out = run_with(
        &p,
        &SeccompData::new(X86_64, 5),
        &Config::new(),
        &mut |pc: usize, _: &Insn, _: u32, _: u32| pcs.push(pc),
    );
    assert_eq!(pcs, [0, 1, 3]);
    assert_eq!(out.insns, 3);
    let fresh = Coverage::new(&p);
    assert_eq!(fresh.uncovered().collect::<Vec<_>>(), [0, 1, 2, 3]);
}

/// Lengths at the edges of the pre-decoded table's size classes (64, 256,
/// 1024, 4096 entries).
const CLASS_EDGES: [usize; 12] = [1, 2, 63, 64, 65, 255, 256, 257, 1023, 1024, 1025, 4096];

#[test]
fn straight_line_programs_at_every_table_size() {
    for len in CLASS_EDGES {
        let mut insns = vec![i(Opcode::AddK, 1); len - 1];
        insns.push(i(Opcode::RetA, 0));
        let out = run(&prog(&insns), &SeccompData::default());
        assert_eq!(
            (out.raw, out.insns),
            ((len - 1) as u32, len as u32),
            "len {len}"
        );
    }
}

#[test]
fn jumps_to_the_last_insn_at_every_table_size() {
    for len in CLASS_EDGES.into_iter().filter(|&l| l >= 2) {
        // ja over everything to the final ret.
        let mut insns = vec![i(Opcode::RetK, 1); len];
        insns[0] = i(Opcode::Ja, (len - 2) as u32);
        insns[len - 1] = i(Opcode::RetK, 7);
        let out = run(&prog(&insns), &SeccompData::default());
        assert_eq!((out.raw, out.insns), (7, 2), "ja, len {len}");
    }
}

#[test]
fn jeq_chains_across_table_sizes() {
    // ld [0]; then jeq #n, +0 x (len - 3) with the taken side to the last
    // insn where reachable; ret #1 (not found); ret #2 (found).
    for len in CLASS_EDGES.into_iter().filter(|&l| l >= 4) {
        let chain = len - 3;
        let mut insns = vec![i(Opcode::LdAbsW, 0)];
        for n in 0..chain {
            let to_found = (chain - n).min(255) as u8;
            let jt = if chain - n <= 255 { to_found } else { 0 };
            insns.push(jmp(Opcode::JeqK, jt, 0, n as u32));
        }
        insns.push(i(Opcode::RetK, 1));
        insns.push(i(Opcode::RetK, 2));
        let p = prog(&insns);
        let miss = run(&p, &SeccompData::new(X86_64, u32::MAX));
        assert_eq!(
            (miss.raw, miss.insns),
            (1, len as u32 - 1),
            "miss, len {len}"
        );
        let last = (chain - 1) as u32;
        let hit = run(&p, &SeccompData::new(X86_64, last));
        assert_eq!((hit.raw, hit.insns), (2, len as u32 - 1), "hit, len {len}");
        let mut cov = Coverage::new(&p);
        run_with(
            &p,
            &SeccompData::new(X86_64, u32::MAX),
            &Config::new(),
            &mut cov,
        );
        assert_eq!(cov.covered(), len - 1, "coverage, len {len}");
    }
}
