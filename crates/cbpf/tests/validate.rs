//! Every load-time rule of the kernel at its exact boundary.
//!
//! Each case states what `seccomp(SECCOMP_SET_MODE_FILTER)` does with the
//! program (Linux `bpf_check_classic`, `seccomp_check_filter`): accepted, or `EINVAL` with the
//! rule and pc the validator must name.

use sysfence_cbpf::insn::{Endian, Insn};
use sysfence_cbpf::limits::BPF_MAXINSNS;
use sysfence_cbpf::opcode::Opcode;
use sysfence_cbpf::program::{Program, ProgramError};
use sysfence_cbpf::validate::{
    self, Rule, can_attach, check_classic, ebpf_len, max_copies, path_len, validate,
};
use sysfence_testkit::insn::{i, jmp, ret};

use sysfence_cbpf::action::RET_ALLOW as ALLOW;

/// `body` followed by `ret #ALLOW`.
fn with_ret(body: &[Insn]) -> Vec<Insn> {
    let mut v = body.to_vec();
    v.push(ret(ALLOW));
    v
}

#[track_caller]
fn accepted(insns: &[Insn]) {
    if let Err(e) = validate(insns) {
        panic!("expected acceptance, got {e}");
    }
}

#[track_caller]
fn rejected(insns: &[Insn], pc: Option<usize>, rule: Rule) {
    match validate(insns) {
        Ok(_) => panic!("expected {rule} at {pc:?}, got acceptance"),
        Err(e) => assert_eq!((e.pc(), e.rule()), (pc, rule), "{e}"),
    }
}

/// Accepted by `bpf_check_classic` but refused by `seccomp_check_filter`.
#[track_caller]
fn classic_only(insns: &[Insn], pc: usize, rule: Rule) {
    assert_eq!(check_classic(insns), Ok(()));
    rejected(insns, Some(pc), rule);
}

// ---- length ----

#[test]
fn length_4096_accepted() {
    let p = validate(&vec![ret(ALLOW); BPF_MAXINSNS]).unwrap();
    assert_eq!(p.len(), 4096);
}

#[test]
fn length_4097_rejected() {
    rejected(&vec![ret(ALLOW); 4097], None, Rule::Length);
    assert_eq!(
        check_classic(&vec![ret(ALLOW); 4097]).unwrap_err().rule(),
        Rule::Length
    );
}

#[test]
fn length_0_rejected() {
    rejected(&[], None, Rule::Length);
    let e = validate(&[]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "program has 0 instructions, seccomp accepts 1 to 4096 (length)"
    );
}

#[test]
fn length_1_accepted() {
    accepted(&[ret(ALLOW)]);
    accepted(&[i(Opcode::RetA, 0)]);
}

// ---- chk_code_allowed ----

#[test]
fn ret_x_0x0e_rejected() {
    rejected(&[Insn::new(0x0e, 0, 0, 0)], Some(0), Rule::Opcode);
}

#[test]
fn code_0x0106_with_high_byte_rejected() {
    rejected(
        &[i(Opcode::LdImm, 0), Insn::new(0x0106, 0, 0, ALLOW)],
        Some(1),
        Rule::Opcode,
    );
}

#[test]
fn look_alike_codes_rejected() {
    for code in [0x10, 0x8c, 0x21, 0xffff] {
        rejected(
            &with_ret(&[Insn::new(code, 0, 0, 0)]),
            Some(0),
            Rule::Opcode,
        );
    }
}

#[test]
fn opcode_error_message_quotes_code() {
    let e = validate(&[ret(ALLOW), Insn::new(0x0e, 0, 0, 0)]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "pc 1: code 0x000e is not a classic bpf opcode (opcode)"
    );
}

// ---- per-instruction checks ----

#[test]
fn div_k_0_rejected_div_k_1_accepted() {
    rejected(
        &with_ret(&[i(Opcode::DivK, 0)]),
        Some(0),
        Rule::DivisionByZero,
    );
    accepted(&with_ret(&[i(Opcode::DivK, 1)]));
}

#[test]
fn mod_k_0_rejected_by_classic() {
    let insns = with_ret(&[i(Opcode::ModK, 0)]);
    assert_eq!(
        check_classic(&insns).unwrap_err().rule(),
        Rule::DivisionByZero
    );
    rejected(&insns, Some(0), Rule::DivisionByZero);
}

#[test]
fn div_x_is_not_checked_at_load() {
    accepted(&with_ret(&[i(Opcode::DivX, 0)]));
}

#[test]
fn lsh_31_accepted_lsh_32_rejected() {
    accepted(&with_ret(&[i(Opcode::LshK, 31)]));
    rejected(
        &with_ret(&[i(Opcode::LshK, 32)]),
        Some(0),
        Rule::ShiftTooWide,
    );
    let e = validate(&with_ret(&[i(Opcode::LdImm, 1), i(Opcode::LshK, 32)])).unwrap_err();
    assert_eq!(
        e.to_string(),
        "pc 1: lsh #32 shifts by 32 or more, limit 31 (shift-too-wide)"
    );
}

#[test]
fn rsh_31_accepted_rsh_32_rejected() {
    accepted(&with_ret(&[i(Opcode::RshK, 31)]));
    rejected(
        &with_ret(&[i(Opcode::RshK, 32)]),
        Some(0),
        Rule::ShiftTooWide,
    );
    rejected(
        &with_ret(&[i(Opcode::RshK, u32::MAX)]),
        Some(0),
        Rule::ShiftTooWide,
    );
}

#[test]
fn shift_by_x_is_not_checked_at_load() {
    accepted(&with_ret(&[
        i(Opcode::LdxImm, 99),
        i(Opcode::LshX, 0),
        i(Opcode::RshX, 0),
    ]));
}

#[test]
fn mem_15_accepted_mem_16_rejected() {
    accepted(&with_ret(&[
        i(Opcode::St, 15),
        i(Opcode::Stx, 15),
        i(Opcode::LdMem, 15),
        i(Opcode::LdxMem, 15),
    ]));
    for op in [Opcode::St, Opcode::Stx] {
        rejected(&with_ret(&[i(op, 16)]), Some(0), Rule::MemoryIndex);
    }
    for op in [Opcode::LdMem, Opcode::LdxMem] {
        rejected(
            &with_ret(&[i(Opcode::St, 0), i(op, 16)]),
            Some(1),
            Rule::MemoryIndex,
        );
    }
}

#[test]
fn ja_to_last_insn_accepted_one_past_rejected() {
    // len 5, ja at pc 1: target pc 1 + 1 + k must be <= 4, so k <= 2 = len - pc - 2.
    let prog = |k| {
        vec![
            i(Opcode::LdImm, 0),
            i(Opcode::Ja, k),
            ret(ALLOW),
            ret(ALLOW),
            ret(ALLOW),
        ]
    };
    accepted(&prog(2));
    rejected(&prog(3), Some(1), Rule::JumpOutOfRange);
    rejected(&prog(u32::MAX), Some(1), Rule::JumpOutOfRange);
    let e = validate(&prog(3)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "pc 1: ja +3 lands at pc 5, past the last instruction 4 (jump-out-of-range)"
    );
}

#[test]
fn ja_0xffffffff_rejected_even_when_it_would_wrap() {
    rejected(
        &[i(Opcode::Ja, u32::MAX), ret(ALLOW)],
        Some(0),
        Rule::JumpOutOfRange,
    );
    rejected(
        &[i(Opcode::Ja, 0xffff_fffe), ret(ALLOW), ret(ALLOW)],
        Some(0),
        Rule::JumpOutOfRange,
    );
}

#[test]
fn ja_as_last_insn_rejected_as_jump() {
    // The loop reaches the jump before the last-RET check.
    rejected(
        &[i(Opcode::LdImm, 0), i(Opcode::Ja, 0)],
        Some(1),
        Rule::JumpOutOfRange,
    );
}

#[test]
fn conditional_targets_at_boundary() {
    // len 5, jump at pc 1: pc + j + 1 must be < 5, so j <= 2.
    for op in [Opcode::JeqK, Opcode::JgtX, Opcode::JgeK, Opcode::JsetX] {
        let prog = |jt, jf| {
            vec![
                i(Opcode::LdImm, 0),
                jmp(op, jt, jf, 7),
                ret(ALLOW),
                ret(ALLOW),
                ret(ALLOW),
            ]
        };
        accepted(&prog(2, 2));
        accepted(&prog(0, 0));
        rejected(&prog(3, 0), Some(1), Rule::BranchOutOfRange);
        rejected(&prog(0, 3), Some(1), Rule::BranchOutOfRange);
        rejected(&prog(255, 255), Some(1), Rule::BranchOutOfRange);
    }
}

#[test]
fn conditional_as_last_insn_rejected_as_branch() {
    rejected(
        &[ret(ALLOW), jmp(Opcode::JeqK, 0, 0, 0)],
        Some(1),
        Rule::BranchOutOfRange,
    );
}

#[test]
fn jt_jf_on_non_jumps_are_ignored() {
    accepted(&[
        Insn::new(Opcode::LdImm as u16, 255, 255, 0),
        Insn::new(Opcode::RetK as u16, 200, 7, ALLOW),
    ]);
}

#[test]
fn junk_fields_accepted_and_kept() {
    let insns = [
        Insn::op(Opcode::LdLen, 5, 6, 0x1234),
        Insn::op(Opcode::Tax, 1, 2, 0xdead_beef),
        Insn::op(Opcode::Neg, 3, 4, 0xffff_ffff),
        Insn::op(Opcode::RetA, 9, 9, 0x5555),
    ];
    let p = validate(&insns).unwrap();
    assert_eq!(p.insns(), &insns);
    let bytes = p.to_bytes(Endian::Little);
    assert_eq!(&bytes[..8], &[0x80, 0, 5, 6, 0x34, 0x12, 0, 0]);
    assert_eq!(Program::from_raw(&bytes, Endian::Little).unwrap(), p);
    assert_eq!(
        Program::from_raw(&p.to_bytes(Endian::Big), Endian::Big)
            .unwrap()
            .insns(),
        &insns
    );
}

// ---- absolute loads: ancillary offsets and seccomp_data ----

#[test]
fn ld_abs_60_accepted() {
    accepted(&with_ret(&[i(Opcode::LdAbsW, 60)]));
    for k in (0..64).step_by(4) {
        accepted(&with_ret(&[i(Opcode::LdAbsW, k)]));
    }
}

#[test]
fn ld_abs_62_rejected_unaligned() {
    classic_only(
        &with_ret(&[i(Opcode::LdAbsW, 62)]),
        0,
        Rule::SeccompDataOffset,
    );
    classic_only(
        &with_ret(&[i(Opcode::LdAbsW, 2)]),
        0,
        Rule::SeccompDataOffset,
    );
}

#[test]
fn ld_abs_64_rejected_out_of_bounds() {
    classic_only(
        &with_ret(&[i(Opcode::LdAbsW, 64)]),
        0,
        Rule::SeccompDataOffset,
    );
    let e = validate(&with_ret(&[i(Opcode::LdAbsW, 64)])).unwrap_err();
    assert_eq!(
        e.to_string(),
        "pc 0: ld [64] is not an aligned word inside the 64-byte seccomp_data (0, 4, .., 60) (seccomp-data-offset)"
    );
}

#[test]
fn ld_abs_0xfffff000_classic_ok_seccomp_rejected() {
    classic_only(
        &with_ret(&[i(Opcode::LdAbsW, 0xffff_f000)]),
        0,
        Rule::SeccompDataOffset,
    );
    // The last known ancillary offset, SKF_AD_VLAN_TPID = 60.
    classic_only(
        &with_ret(&[i(Opcode::LdAbsW, 0xffff_f03c)]),
        0,
        Rule::SeccompDataOffset,
    );
    // Below SKF_AD_OFF any offset is classic-valid (packet or net/ll offsets).
    classic_only(
        &with_ret(&[i(Opcode::LdAbsW, 0xffff_efff)]),
        0,
        Rule::SeccompDataOffset,
    );
}

#[test]
fn ld_abs_0xfffff040_classic_rejected() {
    let insns = with_ret(&[i(Opcode::LdAbsW, 0xffff_f040)]);
    let e = check_classic(&insns).unwrap_err();
    assert_eq!((e.pc(), e.rule()), (Some(0), Rule::UnknownAncillary));
    rejected(&insns, Some(0), Rule::UnknownAncillary);
    // Between known offsets, and the top of the range.
    rejected(
        &with_ret(&[i(Opcode::LdAbsW, 0xffff_f002)]),
        Some(0),
        Rule::UnknownAncillary,
    );
    rejected(
        &with_ret(&[i(Opcode::LdAbsB, u32::MAX)]),
        Some(0),
        Rule::UnknownAncillary,
    );
}

#[test]
fn ancillary_rule_applies_to_half_and_byte_loads() {
    classic_only(
        &with_ret(&[i(Opcode::LdAbsH, 0xffff_f004)]),
        0,
        Rule::SeccompOpcode,
    );
    rejected(
        &with_ret(&[i(Opcode::LdAbsH, 0xffff_f041)]),
        Some(0),
        Rule::UnknownAncillary,
    );
}

#[test]
fn indirect_loads_have_no_offset_check() {
    classic_only(
        &with_ret(&[i(Opcode::LdIndW, u32::MAX)]),
        0,
        Rule::SeccompOpcode,
    );
}

// ---- last instruction ----

#[test]
fn last_insn_not_ret_rejected() {
    rejected(&[i(Opcode::LdImm, 0)], Some(0), Rule::LastNotReturn);
    rejected(
        &[ret(ALLOW), i(Opcode::Tax, 0)],
        Some(1),
        Rule::LastNotReturn,
    );
    let e = validate(&[ret(ALLOW), i(Opcode::Tax, 0)]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "pc 1: the last instruction must be ret, found code 0x0007 (tax) (last-not-return)"
    );
}

#[test]
fn last_insn_ret_a_accepted() {
    accepted(&[i(Opcode::LdImm, ALLOW), i(Opcode::RetA, 0)]);
}

// ---- check_load_and_stores ----

#[test]
fn memory_read_before_any_write_rejected() {
    rejected(
        &with_ret(&[i(Opcode::LdMem, 3)]),
        Some(0),
        Rule::UninitializedMemory,
    );
    rejected(
        &with_ret(&[i(Opcode::St, 2), i(Opcode::LdxMem, 3)]),
        Some(1),
        Rule::UninitializedMemory,
    );
}

#[test]
fn memory_read_after_one_sided_write_rejected() {
    // 0: jeq #1, 1, 0 -> true goes to 2 (skips the store), false to 1.
    let insns = [
        jmp(Opcode::JeqK, 1, 0, 1),
        i(Opcode::St, 0),
        i(Opcode::LdMem, 0),
        ret(ALLOW),
    ];
    rejected(&insns, Some(2), Rule::UninitializedMemory);
}

#[test]
fn memory_read_after_both_sided_write_accepted() {
    let insns = [
        jmp(Opcode::JeqK, 0, 2, 1),
        i(Opcode::St, 0),
        i(Opcode::Ja, 1),
        i(Opcode::Stx, 0),
        i(Opcode::LdMem, 0),
        ret(ALLOW),
    ];
    accepted(&insns);
}

#[test]
fn memory_dead_code_after_ja_may_read() {
    let insns = [i(Opcode::Ja, 1), i(Opcode::LdMem, 5), ret(ALLOW)];
    accepted(&insns);
}

#[test]
fn memory_dead_code_after_ret_may_not_read() {
    let insns = [ret(ALLOW), i(Opcode::LdMem, 0), i(Opcode::RetA, 0)];
    rejected(&insns, Some(1), Rule::UninitializedMemory);
}

#[test]
fn memory_write_before_a_jump_survives_on_both_targets() {
    let insns = [
        i(Opcode::St, 4),
        jmp(Opcode::JgtK, 1, 0, 9),
        i(Opcode::LdMem, 4),
        i(Opcode::LdxMem, 4),
        ret(ALLOW),
    ];
    accepted(&insns);
}

#[test]
fn memory_pass_runs_after_the_last_ret_check() {
    rejected(
        &[i(Opcode::LdMem, 0), i(Opcode::LdImm, 0)],
        Some(1),
        Rule::LastNotReturn,
    );
}

#[test]
fn memory_pass_runs_before_seccomp_check() {
    rejected(
        &[i(Opcode::LdAbsH, 0), i(Opcode::LdMem, 0), ret(ALLOW)],
        Some(1),
        Rule::UninitializedMemory,
    );
}

// ---- seccomp_check_filter ----

#[test]
fn mod_rejected_by_seccomp() {
    classic_only(&with_ret(&[i(Opcode::ModK, 3)]), 0, Rule::SeccompOpcode);
    classic_only(&with_ret(&[i(Opcode::ModX, 0)]), 0, Rule::SeccompOpcode);
}

#[test]
fn ldh_ldb_ind_msh_rejected_by_seccomp() {
    for op in [
        Opcode::LdAbsH,
        Opcode::LdAbsB,
        Opcode::LdIndW,
        Opcode::LdIndH,
        Opcode::LdIndB,
        Opcode::LdxMsh,
    ] {
        classic_only(
            &with_ret(&[i(Opcode::LdImm, 0), i(op, 4)]),
            1,
            Rule::SeccompOpcode,
        );
    }
}

#[test]
fn seccomp_keeps_exactly_the_table_column() {
    for op in Opcode::all() {
        let mut insns = vec![i(Opcode::St, 0), i(Opcode::Stx, 1)];
        let body = match op.operand() {
            sysfence_cbpf::opcode::Operand::CondK | sysfence_cbpf::opcode::Operand::CondX => {
                jmp(op, 0, 0, 1)
            }
            sysfence_cbpf::opcode::Operand::Jump | sysfence_cbpf::opcode::Operand::Mem => i(op, 0),
            _ => i(op, 4),
        };
        insns.push(body);
        insns.push(ret(ALLOW));
        assert_eq!(check_classic(&insns), Ok(()), "{op:?}");
        assert_eq!(validate(&insns).is_ok(), op.seccomp_allowed(), "{op:?}");
    }
}

#[test]
fn ld_len_and_ldx_len_accepted() {
    accepted(&[i(Opcode::LdLen, 0), i(Opcode::LdxLen, 0), ret(ALLOW)]);
}

// ---- ordering ----

#[test]
fn lowest_pc_decides_between_kinds() {
    // Shift at pc 1 beats an unknown opcode at pc 3.
    let a = [
        i(Opcode::LdImm, 0),
        i(Opcode::LshK, 40),
        ret(ALLOW),
        Insn::new(0x0e, 0, 0, 0),
        ret(ALLOW),
    ];
    rejected(&a, Some(1), Rule::ShiftTooWide);
    // Unknown opcode at pc 1 beats div #0 at pc 3.
    let b = [
        i(Opcode::LdImm, 0),
        Insn::new(0x0e, 0, 0, 0),
        ret(ALLOW),
        i(Opcode::DivK, 0),
        ret(ALLOW),
    ];
    rejected(&b, Some(1), Rule::Opcode);
    // A jump out of range at pc 0 beats M[16] at pc 1.
    let c = [i(Opcode::Ja, 9), i(Opcode::St, 16), ret(ALLOW)];
    rejected(&c, Some(0), Rule::JumpOutOfRange);
}

#[test]
fn classic_failure_beats_earlier_seccomp_failure() {
    // seccomp would refuse pc 0, but bpf_check_classic runs first and refuses pc 2.
    rejected(
        &[
            i(Opcode::LdAbsH, 0),
            i(Opcode::ModK, 1),
            i(Opcode::DivK, 0),
            ret(ALLOW),
        ],
        Some(2),
        Rule::DivisionByZero,
    );
}

#[test]
fn seccomp_lowest_pc_decides_between_its_kinds() {
    rejected(
        &[i(Opcode::LdAbsW, 3), i(Opcode::ModK, 1), ret(ALLOW)],
        Some(0),
        Rule::SeccompDataOffset,
    );
    rejected(
        &[i(Opcode::ModK, 1), i(Opcode::LdAbsW, 3), ret(ALLOW)],
        Some(0),
        Rule::SeccompOpcode,
    );
}

// ---- Program and raw input ----

#[test]
fn from_raw_reports_raw_and_rule_errors() {
    assert!(matches!(
        Program::from_raw(&[0; 12], Endian::Little),
        Err(ProgramError::Raw(_))
    ));
    assert!(matches!(
        Program::from_raw(&[], Endian::Little),
        Err(ProgramError::Raw(_))
    ));
    let bad = sysfence_cbpf::insn::encode(&[i(Opcode::LdImm, 0)], Endian::Little);
    match Program::from_raw(&bad, Endian::Little) {
        Err(ProgramError::Validate(e)) => assert_eq!(e.rule(), Rule::LastNotReturn),
        other => panic!("{other:?}"),
    }
    let good = sysfence_cbpf::insn::encode(&[ret(ALLOW)], Endian::Big);
    assert_eq!(Program::from_raw(&good, Endian::Big).unwrap().len(), 1);
}

#[test]
fn program_new_is_validate() {
    let insns = with_ret(&[i(Opcode::LdAbsW, 4)]);
    assert_eq!(Program::new(&insns).unwrap(), validate(&insns).unwrap());
    assert_eq!(Program::new(&[]).unwrap_err(), validate(&[]).unwrap_err());
}

#[test]
fn error_exposes_insn_and_kernel_function() {
    let e = validate(&with_ret(&[i(Opcode::DivK, 0)])).unwrap_err();
    assert_eq!(e.insn(), Some(i(Opcode::DivK, 0)));
    assert_eq!(e.rule().kernel_function(), "bpf_check_classic");
    assert_eq!(
        Rule::UninitializedMemory.kernel_function(),
        "check_load_and_stores"
    );
    assert_eq!(
        Rule::SeccompOpcode.kernel_function(),
        "seccomp_check_filter"
    );
}

// ---- eBPF length and the stacked budget ----

#[test]
fn ebpf_len_of_ret_k_programs_and_how_many_stack() {
    let p4096 = validate(&vec![ret(ALLOW); 4096]).unwrap();
    assert_eq!(ebpf_len(&p4096), 8195);
    assert_eq!(max_copies(&p4096), 3);
    let p1 = validate(&[ret(ALLOW)]).unwrap();
    assert_eq!(ebpf_len(&p1), 5);
    assert_eq!(max_copies(&p1), 3641);
    let p1000 = validate(&vec![ret(ALLOW); 1000]).unwrap();
    assert_eq!(ebpf_len(&p1000), 2003);
    assert_eq!(max_copies(&p1000), 16);
    assert!(can_attach(&[&p4096, &p4096], &p4096));
    assert!(!can_attach(&[&p4096, &p4096, &p4096], &p4096));
    assert_eq!(path_len([8195, 8195, 8195], 8195), 32_792);
}

#[test]
fn ebpf_len_of_each_instruction_kind() {
    let len = |body: &[Insn]| ebpf_len(&validate(&with_ret(body)).unwrap()) - 3 - 2;
    assert_eq!(len(&[i(Opcode::RetA, 0)]), 1);
    assert_eq!(len(&[i(Opcode::DivX, 0)]), 5);
    assert_eq!(len(&[i(Opcode::DivK, 3)]), 1);
    assert_eq!(len(&[i(Opcode::LdAbsW, 0)]), 1);
    assert_eq!(len(&[jmp(Opcode::JeqK, 0, 0, 1)]), 1);
    assert_eq!(len(&[jmp(Opcode::JeqK, 1, 0, 1), ret(ALLOW)]), 1 + 2);
    assert_eq!(len(&[jmp(Opcode::JeqK, 0, 1, 1), ret(ALLOW)]), 1 + 2);
    assert_eq!(len(&[jmp(Opcode::JsetK, 0, 1, 1), ret(ALLOW)]), 2 + 2);
    assert_eq!(len(&[jmp(Opcode::JgtX, 1, 1, 1), ret(ALLOW)]), 2 + 2);
    assert_eq!(
        len(&[jmp(Opcode::JgeK, 1, 0, 0x8000_0000), ret(ALLOW)]),
        2 + 2
    );
    assert_eq!(
        len(&[jmp(Opcode::JsetK, 1, 1, 0xffff_ffff), ret(ALLOW)]),
        3 + 2
    );
    assert_eq!(
        len(&[jmp(Opcode::JeqX, 1, 0, 0xffff_ffff), ret(ALLOW)]),
        1 + 2
    );
    assert_eq!(len(&[i(Opcode::Ja, 0)]), 1);
}

#[test]
fn validate_module_exports() {
    // The free function and the module path are the same thing.
    assert!(validate::validate(&[ret(ALLOW)]).is_ok());
}
