//! The disassembler's comments and C-style forms, case by case: what the
//! data-flow pass may and may not claim, byte order, and the spellings of
//! each jump shape.

mod asm_common;

use asm_common::{TinyX86_64, X86_64};
use sysfence_cbpf::asm::{AsmOptions, DisasmOptions, Style, assemble, disassemble};
use sysfence_cbpf::insn::Insn;

use sysfence_cbpf::abi::arch::AUDIT_ARCH_S390X as S390X;

fn asm(text: &str) -> Vec<Insn> {
    assemble(text, &AsmOptions::new()).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn lines(insns: &[Insn], opts: &DisasmOptions) -> Vec<String> {
    disassemble(insns, opts)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn word_names_follow_the_arch_byte_order() {
    let p = asm("ld [16]\nld [20]\nld [8]\nret a");
    let le = lines(&p, &DisasmOptions::new());
    assert_eq!(le[0], "        ld [16]                  ; args[0].lo");
    assert_eq!(le[1], "        ld [20]                  ; args[0].hi");
    assert_eq!(
        le[2],
        "        ld [8]                   ; instruction_pointer.lo"
    );
    let be = lines(&p, &DisasmOptions::new().arch(Some(S390X)));
    assert_eq!(be[0], "        ld [16]                  ; args[0].hi");
    assert_eq!(be[1], "        ld [20]                  ; args[0].lo");
    let c = lines(&p, &DisasmOptions::new().style(Style::C).arch(Some(S390X)));
    assert_eq!(c[0], "0000: A = args[0].hi");
    assert_eq!(c[2], "0002: A = instruction_pointer.hi");
}

#[test]
fn syscall_names_need_both_an_arch_and_a_table() {
    let p = asm("ld [0]\njeq #39, a\na: ret #0");
    let r = TinyX86_64;
    assert_eq!(
        lines(&p, &DisasmOptions::new().syscalls(&r))[1],
        "        jeq #39, L2"
    );
    assert_eq!(
        lines(&p, &DisasmOptions::new().arch(Some(X86_64)))[1],
        "        jeq #39, L2"
    );
    assert_eq!(
        lines(&p, &DisasmOptions::new().arch(Some(X86_64)).syscalls(&r))[1],
        "        jeq #39, L2              ; getpid"
    );
}

#[test]
fn names_stop_where_the_program_rules_the_arch_out_or_a_no_longer_holds_nr() {
    let r = TinyX86_64;
    let opts = DisasmOptions::new().arch(Some(X86_64)).syscalls(&r);
    // On the false edge of `jeq #X86_64` the arch is not x86_64; where the
    // two edges meet it is unknown.
    let p = asm("ld [arch]\njeq #AUDIT_ARCH_X86_64, x, other\n\
         other: ld [nr]\njeq #39, end\nja join\n\
         x: ld [nr]\njeq #39, end\n\
         join: jeq #39, end\n\
         add #0\njeq #39, end\n\
         end: ret #0");
    let text = lines(&p, &opts);
    assert_eq!(text[3], "        jeq #39, L10");
    assert_eq!(text[6], "        jeq #39, L10             ; getpid");
    assert_eq!(text[7], "L7:     jeq #39, L10");
    assert_eq!(text[9], "        jeq #39, L10");
}

#[test]
fn arch_constants_are_named_only_when_a_holds_arch() {
    let p = asm("ld [arch]\njeq #0x40000003, a\na: ld [nr]\njeq #0x40000003, b\nb: ret #0");
    let text = lines(&p, &DisasmOptions::new());
    assert_eq!(
        text[1],
        "        jeq #0x40000003, L2      ; AUDIT_ARCH_I386"
    );
    assert_eq!(text[3], "        jeq #0x40000003, L4");
}

#[test]
fn c_style_jump_shapes() {
    let p = asm(
        "jset #256, a\njset #256, b, a\njset x, a, b\njne #1, b\njle #2, b\njlt #3, b\njeq #4, a, b\njeq #5, b\na: ja b\nb: ret a",
    );
    // Rewrite two jumps to the shapes the assembler cannot spell directly:
    // jt == 0 on jset (printed negated), and both offsets equal.
    let mut p = p;
    p[0].jt = 0;
    p[0].jf = 8;
    p[6].jf = p[6].jt;
    let c = lines(&p, &DisasmOptions::new().style(Style::C));
    assert_eq!(
        c,
        [
            "0000: if (!(A & 256)) goto 0009",
            "0001: if (A & 256) goto 0009 else goto 0008",
            "0002: if (A & X) goto 0008 else goto 0009",
            "0003: if (A != 1) goto 0009",
            "0004: if (A <= 2) goto 0009",
            "0005: if (A < 3) goto 0009",
            "0006: goto 0008",
            "0007: if (A == 5) goto 0009",
            "0008: goto 0009",
            "0009: return A",
        ]
    );
    let back = assemble(&disassemble(&p, &DisasmOptions::new()), &AsmOptions::new()).unwrap();
    assert_eq!(back, p);
}

#[test]
fn c_style_marks_junk_and_invalid_codes() {
    let p = [
        Insn::new(0x80, 5, 6, 0x1234),
        Insn::new(0x0e, 0, 0, 0),
        Insn::new(0x06, 0, 0, 0x0005_0001),
    ];
    assert_eq!(
        lines(&p, &DisasmOptions::new().style(Style::C)),
        [
            "0000: A = len                          // unused fields: jt 5, jf 6, k 0x1234",
            "0001: invalid code 0x000e (jt 0, jf 0, k 0x00000000)",
            "0002: return ERRNO(1)",
        ]
    );
}

#[test]
fn unknown_action_values_are_spelled_out() {
    let p = [Insn::new(0x06, 0, 0, 0x0001_0000)];
    assert_eq!(
        lines(&p, &DisasmOptions::new())[0],
        "        ret #0x00010000          ; UNKNOWN(0x00010000)"
    );
    assert_eq!(
        lines(&p, &DisasmOptions::new().style(Style::C))[0],
        "0000: return UNKNOWN(0x00010000)"
    );
}
