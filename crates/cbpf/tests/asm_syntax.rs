//! The assembler, form by form: every mnemonic and operand shape, the
//! aliases, numbers, comments, labels, symbolic operands, veneers and the
//! errors (with their exact line and column).

mod asm_common;

use asm_common::{TinyX86_64, X86_64};
use sysfence_cbpf::asm::{AsmOptions, assemble};
use sysfence_cbpf::insn::{Endian, Insn};
use sysfence_cbpf::opcode::{Opcode, TABLE};
use sysfence_testkit::insn::{i, jmp};

fn asm(text: &str) -> Vec<Insn> {
    assemble(text, &AsmOptions::new()).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn err(text: &str) -> String {
    assemble(text, &AsmOptions::new().syscalls(&TinyX86_64))
        .expect_err(text)
        .to_string()
}

#[test]
fn the_kernel_example_assembles_to_its_documented_bytecode() {
    let text =
        std::fs::read_to_string(asm_common::programs_dir().join("x86_64-allow-list.bpf")).unwrap();
    let insns = asm(&text);
    assert_eq!(
        sysfence_cbpf::asm::to_bytecode_line(&insns),
        "9,32 0 0 4,21 0 6 3221225534,32 0 0 0,53 4 0 1073741824,21 2 0 39,21 1 0 231,6 0 0 327681,6 0 0 2147418112,6 0 0 2147483648,\n"
    );
}

#[test]
fn every_table_row_has_a_spelling() {
    // One line per row, written from the operand shape only.
    for info in TABLE {
        let m = info.mnemonic;
        let text = match info.operand {
            sysfence_cbpf::opcode::Operand::None => m.to_string(),
            sysfence_cbpf::opcode::Operand::Imm => format!("{m} #9"),
            sysfence_cbpf::opcode::Operand::Abs => format!("{m} [9]"),
            sysfence_cbpf::opcode::Operand::Ind => format!("{m} [x + 9]"),
            sysfence_cbpf::opcode::Operand::Mem => format!("{m} M[9]"),
            sysfence_cbpf::opcode::Operand::Len => format!("{m} len"),
            sysfence_cbpf::opcode::Operand::Msh => format!("{m} 4*([9]&0xf)"),
            sysfence_cbpf::opcode::Operand::X => format!("{m} x"),
            sysfence_cbpf::opcode::Operand::A => format!("{m} a"),
            sysfence_cbpf::opcode::Operand::Jump => format!("{m} end\nend:"),
            sysfence_cbpf::opcode::Operand::CondK => format!("{m} #9, end\nend:"),
            sysfence_cbpf::opcode::Operand::CondX => format!("{m} x, end\nend:"),
        };
        let k = if info.operand.uses_k()
            && !matches!(info.operand, sysfence_cbpf::opcode::Operand::Jump)
        {
            9
        } else {
            0
        };
        assert_eq!(asm(&text), [i(info.opcode, k)], "{text}");
    }
}

#[test]
fn aliases_encode_as_bpf_asm_does() {
    let text = "ldi #1\nldi 2\nldxi #3\nldx 4*([5]&0xf)\njmp l\nl: jneq #6, m\njne x, m\njlt #7, m\njle #8, m\nret #0\nm: ret #1";
    assert_eq!(
        asm(text),
        [
            i(Opcode::LdImm, 1),
            i(Opcode::LdImm, 2),
            i(Opcode::LdxImm, 3),
            i(Opcode::LdxMsh, 5),
            i(Opcode::Ja, 0),
            jmp(Opcode::JeqK, 0, 4, 6),
            jmp(Opcode::JeqX, 0, 3, 0),
            jmp(Opcode::JgeK, 0, 2, 7),
            jmp(Opcode::JgtK, 0, 1, 8),
            i(Opcode::RetK, 0),
            i(Opcode::RetK, 1),
        ]
    );
}

#[test]
fn mnemonics_and_registers_are_case_insensitive_labels_are_not() {
    assert_eq!(
        asm("LD [0]\nJEQ %X, Ab, ab\nAb: RET A\nab: Ret #0"),
        [
            i(Opcode::LdAbsW, 0),
            jmp(Opcode::JeqX, 0, 1, 0),
            i(Opcode::RetA, 0),
            i(Opcode::RetK, 0),
        ]
    );
}

#[test]
fn numbers_in_every_radix() {
    let got: Vec<u32> = asm("ld #0x1F\nld #0b101\nld #017\nld #42\nld #-1\nld #0\nld #-2147483648")
        .iter()
        .map(|i| i.k)
        .collect();
    assert_eq!(got, [31, 5, 15, 42, 0xffff_ffff, 0, 0x8000_0000]);
}

#[test]
fn comments_of_three_kinds() {
    let text = "# a comment line\n  # indented too\nld /* inline */ [4] ; tail\n/* several\nlines */ ret #0";
    assert_eq!(asm(text), [i(Opcode::LdAbsW, 4), i(Opcode::RetK, 0)]);
}

#[test]
fn labels_of_any_length_several_per_line_and_at_the_end() {
    let text = "jeq #1, a, end\nja b\na: b: ret #0\nend:";
    assert_eq!(
        asm(text),
        [
            jmp(Opcode::JeqK, 1, 2, 1),
            i(Opcode::Ja, 0),
            i(Opcode::RetK, 0)
        ]
    );
    // A label on a line of its own names the next instruction.
    assert_eq!(
        asm("ja x\nx:\n\n ret #1"),
        [i(Opcode::Ja, 0), i(Opcode::RetK, 1)]
    );
}

#[test]
fn seccomp_data_fields_follow_the_byte_order() {
    let text = "ld [nr]\nld [arch]\nld [instruction_pointer.lo]\nld [instruction_pointer.hi]\nld [args[0].lo]\nld [args[5].hi]";
    let ks = |insns: Vec<Insn>| insns.iter().map(|i| i.k).collect::<Vec<_>>();
    assert_eq!(ks(asm(text)), [0, 4, 8, 12, 16, 60]);
    let big = assemble(text, &AsmOptions::new().endian(Endian::Big)).unwrap();
    assert_eq!(ks(big), [0, 4, 12, 8, 20, 56]);
    let directive = asm(
        ".arch s390x\nld [args[1].lo]\n.arch x86_64\nld [args[1].lo]\n.arch 0x80000015\nld [args[1].lo]",
    );
    assert_eq!(ks(directive), [28, 24, 28]);
}

#[test]
fn named_immediates() {
    let r = TinyX86_64;
    let opts = AsmOptions::new().syscalls(&r);
    let text = "ret #ALLOW\nret #ERRNO(1)\nret #KILL_PROCESS\nret #KILL\nret #TRAP(3)\nret #TRACE(0x10)\nret #LOG\nret #USER_NOTIF\n\
                ret #SECCOMP_RET_KILL_THREAD\nld #AUDIT_ARCH_X86_64\nld #audit_arch_i386\nld #__NR_getpid\nld #exit_group\nld #kill";
    let ks: Vec<u32> = assemble(text, &opts).unwrap().iter().map(|i| i.k).collect();
    assert_eq!(
        ks,
        [
            0x7fff_0000,
            0x0005_0001,
            0x8000_0000,
            0,
            0x0003_0003,
            0x7ff0_0010,
            0x7ffc_0000,
            0x7fc0_0000,
            0,
            X86_64,
            0x4000_0003,
            39,
            231,
            62
        ]
    );
}

#[test]
fn errors_carry_line_and_column() {
    let cases = [
        (
            "ld [0]\n\n  lda #1",
            "line 3, column 3: unknown mnemonic `lda`",
        ),
        (
            "ld [0]\nldh M[2]",
            "line 2, column 5: `ldh` does not take `M[k]`; it takes `[k]` or `[x + k]`",
        ),
        (
            "ret x",
            "line 1, column 5: `ret` does not take `x`; it takes `#k` or `a`",
        ),
        (
            "ldi M[1]",
            "line 1, column 5: `ldi` does not take `M[k]`; it takes `#k`",
        ),
        ("ld #nosuch", "line 1, column 5: unknown name `nosuch`"),
        (
            "ld #__NR_nosuch",
            "line 1, column 5: unknown name `__NR_nosuch`",
        ),
        (
            "ret #ERRNO(65536)",
            "line 1, column 6: unknown action `ERRNO(65536)` (or its data does not fit in 16 bits)",
        ),
        (
            "ret #errno(1)",
            "line 1, column 6: unknown action `errno(1)` (or its data does not fit in 16 bits)",
        ),
        (
            "ld #AUDIT_ARCH_VAX",
            "line 1, column 5: unknown arch `AUDIT_ARCH_VAX`",
        ),
        (
            "ld [args[6].lo]",
            "line 1, column 10: argument index 6 is out of range (at most 5)",
        ),
        (
            "ld [args[1]]",
            "line 1, column 12: expected `.lo` or `.hi`, found `]`",
        ),
        (
            "ld [pc]",
            "line 1, column 5: unknown seccomp_data field `pc`; expected nr, arch, instruction_pointer.lo/.hi or args[i].lo/.hi",
        ),
        (
            "ldx 4*([1]&0xe)",
            "line 1, column 5: only `4*([k]&0xf)` is accepted",
        ),
        ("ja nowhere", "line 1, column 4: undefined label `nowhere`"),
        (
            "a: ret #0\njeq #1, a",
            "line 2, column 9: backward jump to `a`: classic BPF jumps only go forward",
        ),
        (
            "a: ja a",
            "line 1, column 7: backward jump to `a`: classic BPF jumps only go forward",
        ),
        (
            "a: ret #0\n a: ret #1",
            "line 2, column 2: label `a` is already defined on line 1",
        ),
        (
            "jne #1, a, b\na: b: ret #0",
            "line 1, column 12: `jne` takes exactly one label",
        ),
        (
            "jeq #1\nret #0",
            "line 1, column 7: expected `,` and a jump label, found end of line",
        ),
        (
            "ret #0 #1",
            "line 1, column 8: expected end of line, found `#`",
        ),
        (
            ".insn 0x10000, 0, 0, 0",
            "line 1, column 7: code 65536 is out of range (at most 65535)",
        ),
        (
            ".insn 6, 256, 0, 0",
            "line 1, column 10: jt 256 is out of range (at most 255)",
        ),
        (
            ".byte 1",
            "line 1, column 1: unknown directive `.byte`; expected `.insn` or `.arch`",
        ),
        (".arch vax", "line 1, column 7: unknown arch `vax`"),
        ("ld @", "line 1, column 4: unexpected character `@`"),
        (
            "ret #0x1_0000_0000",
            "line 1, column 6: bad number `0x1_0000_0000`: not a hex digit",
        ),
    ];
    for (text, want) in cases {
        assert_eq!(err(text), want, "{text}");
    }
    let no_table = assemble("ld #getpid", &AsmOptions::new()).unwrap_err();
    assert_eq!(
        no_table.to_string(),
        "line 1, column 5: syscall name `getpid` needs a syscall table"
    );
    assert_eq!((no_table.line(), no_table.column()), (1, 5));
}

/// `jeq #n, far` followed by `gap` filler instructions and the target.
fn far_program(gap: usize) -> String {
    let mut text = String::from("ld [0]\njeq #1, far, near\nnear: ret #0\n");
    text.push_str(&"ld #0\n".repeat(gap));
    text.push_str("far: ret #1\n");
    text
}

#[test]
fn a_conditional_reaches_255_without_a_veneer() {
    // jt = 1 (near) + gap = 255 exactly.
    let insns = asm(&far_program(254));
    assert_eq!(insns.len(), 258);
    assert_eq!(insns[1], jmp(Opcode::JeqK, 255, 0, 1));
}

#[test]
fn a_far_conditional_gets_a_ja_veneer() {
    let insns = asm(&far_program(255));
    assert_eq!(insns.len(), 260);
    // jt goes to the veneer right after the jump, jf skips it.
    assert_eq!(insns[1], jmp(Opcode::JeqK, 0, 1, 1));
    assert_eq!(insns[2], i(Opcode::Ja, 256));
    assert_eq!(insns[3], i(Opcode::RetK, 0));
    assert_eq!(insns[2 + 1 + 256], i(Opcode::RetK, 1));
}

#[test]
fn both_edges_far_get_two_veneers_in_jt_jf_order() {
    let mut text = String::from("jeq #1, t, f\n");
    text.push_str(&"ld #0\n".repeat(300));
    text.push_str("t: ret #1\n");
    text.push_str(&"ld #0\n".repeat(300));
    text.push_str("f: ret #2\n");
    let insns = asm(&text);
    assert_eq!(insns[0], jmp(Opcode::JeqK, 0, 1, 1));
    assert_eq!(insns[1], i(Opcode::Ja, 1 + 300));
    assert_eq!(insns[2], i(Opcode::Ja, 300 + 1 + 300));
    assert_eq!(insns[3 + 300], i(Opcode::RetK, 1));
    assert_eq!(insns[3 + 300 + 1 + 300], i(Opcode::RetK, 2));
}

#[test]
fn veneers_reach_a_fixpoint_when_one_pushes_another_out_of_range() {
    // The first jump's target is 255 away until the second jump's veneer
    // lands in between.
    let mut text = String::from("jeq #1, t\njeq #2, u\n");
    text.push_str(&"ld #0\n".repeat(254));
    text.push_str("t: ret #1\n");
    text.push_str(&"ld #0\n".repeat(10));
    text.push_str("u: ret #2\n");
    let insns = asm(&text);
    assert_eq!(insns[0], jmp(Opcode::JeqK, 0, 1, 1));
    assert_eq!(insns[1], i(Opcode::Ja, 1 + 1 + 254));
    assert_eq!(insns[2], jmp(Opcode::JeqK, 0, 1, 2));
    assert_eq!(insns[3], i(Opcode::Ja, 254 + 1 + 10));
    assert_eq!(insns[4 + 254], i(Opcode::RetK, 1));
    assert_eq!(insns[4 + 254 + 1 + 10], i(Opcode::RetK, 2));
}

#[test]
fn without_veneers_a_far_jump_is_an_error_naming_the_distance() {
    let e = assemble(&far_program(255), &AsmOptions::new().veneers(false)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "line 2, column 9: conditional jump to `far` is 256 instructions away; jt/jf reach at most 255"
    );
    assert!(assemble(&far_program(254), &AsmOptions::new().veneers(false)).is_ok());
}

#[test]
fn a_veneer_inside_a_literal_jump_is_an_error() {
    let mut text = String::from(".insn 0x05, 0, 0, 300\njeq #1, far\n");
    text.push_str(&"ld #0\n".repeat(300));
    text.push_str("far: ret #1\n");
    assert_eq!(
        err(&text),
        "line 1, column 1: a `ja` veneer would be inserted inside the span of this literal `.insn` jump"
    );
}

#[test]
fn raw_directive_keeps_every_field() {
    assert_eq!(
        asm(".insn 0x80, 5, 6, 0x1234\n.INSN 0xffff, 255, 255, -1"),
        [
            Insn::new(0x80, 5, 6, 0x1234),
            Insn::new(0xffff, 255, 255, 0xffff_ffff),
        ]
    );
}

#[test]
fn empty_input_is_refused() {
    // No program holds no instruction: the kernel, `validate` and `disasm`
    // refuse one, so the assembler does not write one.
    for text in ["", "; nothing\n\n"] {
        assert_eq!(
            err(text),
            "line 1, column 1: no instructions: a program holds at least one (a `ret`)"
        );
    }
}
