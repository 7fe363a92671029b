//! The contract between the assembler and the disassembler: for any
//! instructions at all — table opcodes with clean or junk fields, unknown
//! codes, jumps past the end — `assemble(disassemble(x)) == x`, and
//! disassembling the result again gives identical text. Plus: the assembler
//! returns an error, never panics, on arbitrary text.

mod asm_common;

use asm_common::{TinyX86_64, X86_64};
use proptest::prelude::*;
use sysfence_cbpf::asm::{AsmOptions, DisasmOptions, Style, assemble, disassemble};
use sysfence_cbpf::data::AUDIT_ARCH_X86_64;
use sysfence_cbpf::insn::Insn;
use sysfence_cbpf::opcode::TABLE;

/// A code: mostly from the table, sometimes any byte, sometimes any u16.
fn code() -> impl Strategy<Value = u16> {
    prop_oneof![
        8 => (0..TABLE.len()).prop_map(|i| TABLE[i].code),
        1 => any::<u8>().prop_map(u16::from),
        1 => any::<u16>(),
    ]
}

fn offset() -> impl Strategy<Value = u8> {
    prop_oneof![3 => Just(0u8), 3 => 0u8..8, 1 => any::<u8>()]
}

fn k() -> impl Strategy<Value = u32> {
    prop_oneof![2 => Just(0u32), 2 => 0u32..70, 1 => Just(AUDIT_ARCH_X86_64), 1 => Just(0x7fff_0000), 2 => any::<u32>()]
}

/// An instruction; with `clean`, fields the opcode ignores are zeroed, so
/// the printer takes its symbolic path instead of `.insn`.
fn insn() -> impl Strategy<Value = Insn> {
    (code(), offset(), offset(), k(), prop::bool::weighted(0.7)).prop_map(
        |(code, jt, jf, k, clean)| {
            let mut i = Insn::new(code, jt, jf, k);
            if let (true, Some(info)) = (clean, i.info()) {
                if !info.operand.is_conditional() {
                    (i.jt, i.jf) = (0, 0);
                }
                if !info.operand.uses_k() {
                    i.k = 0;
                }
                if info.operand == sysfence_cbpf::opcode::Operand::Jump {
                    i.k %= 8;
                }
            }
            i
        },
    )
}

fn program() -> impl Strategy<Value = Vec<Insn>> {
    prop::collection::vec(insn(), 1..40)
}

/// Disassembles with `opts`, re-assembles, and checks bytes and text.
fn round_trip(insns: &[Insn], opts: &DisasmOptions) -> Result<(), TestCaseError> {
    let text = disassemble(insns, opts);
    let back = assemble(&text, &AsmOptions::new())
        .map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
    prop_assert_eq!(&back, insns, "{}", text);
    prop_assert_eq!(disassemble(&back, opts), text);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn disassembly_reassembles_to_the_same_bytes(insns in program()) {
        let r = TinyX86_64;
        round_trip(&insns, &DisasmOptions::new())?;
        round_trip(&insns, &DisasmOptions::new().arch(Some(X86_64)).syscalls(&r))?;
        round_trip(&insns, &DisasmOptions::new().arch(Some(0x8000_0016)))?;
    }

    #[test]
    fn c_style_prints_one_numbered_line_per_instruction(insns in program()) {
        let r = TinyX86_64;
        let text = disassemble(&insns, &DisasmOptions::new().style(Style::C).arch(Some(X86_64)).syscalls(&r));
        prop_assert_eq!(text.lines().count(), insns.len());
        for (pc, line) in text.lines().enumerate() {
            let prefix = format!("{pc:04}: ");
            prop_assert!(line.starts_with(&prefix), "{}", line);
        }
    }

    #[test]
    fn the_assembler_never_panics_on_arbitrary_text(text in "\\PC{0,200}") {
        let _ = assemble(&text, &AsmOptions::new());
    }

    #[test]
    fn the_assembler_never_panics_on_token_soup(words in prop::collection::vec(prop::sample::select(SOUP), 0..40)) {
        let r = TinyX86_64;
        let text = words.concat();
        if let Ok(insns) = assemble(&text, &AsmOptions::new().syscalls(&r)) {
            // Whatever assembles also survives the round trip.
            round_trip(&insns, &DisasmOptions::new())?;
        }
    }
}

/// Fragments that form plausible and implausible statements.
const SOUP: &[&str] = &[
    "ld ", "ldh ", "ldx ", "ldxb ", "jeq ", "jne ", "jset ", "ja ", "ret ", "tax", "add ", "#",
    "#0x10", "#-1", "[", "]", "x", "%x", "+", "4", "*", "(", "&", "0xf", ")", "M", "len", ",", " ",
    "\n", "a:", "b:", "a", "b", "; c\n", "/*", "*/", ".insn ", ".arch ", "x86_64", "1", "255",
    "256", "#ALLOW", "#ERRNO(", "[args[", "].lo", "nr", "arch", "#getpid", "#__NR_", "_", "\t",
];

#[test]
fn every_instruction_kind_round_trips_explicitly() {
    // Hand-picked edge cases the generator may miss.
    let cases = [
        vec![Insn::new(0x15, 0, 0, 0)],        // both offsets 0: jeq #0, L1
        vec![Insn::new(0x45, 0, 3, 0)],        // jset with only jf: two labels
        vec![Insn::new(0x15, 1, 0, 0)],        // target == len: label after the end
        vec![Insn::new(0x05, 0, 0, 0)],        // ja to the end
        vec![Insn::new(0x05, 0, 0, u32::MAX)], // ja far past the end
        vec![Insn::new(0x1d, 0, 0, 5)],        // jeq x with junk k
        vec![Insn::new(0xffff, 255, 255, u32::MAX)],
        vec![Insn::new(0x06, 0, 0, 0x0005_0001), Insn::new(0x16, 0, 0, 0)],
    ];
    for insns in cases {
        round_trip(&insns, &DisasmOptions::new()).unwrap();
    }
}

/// Assembles canonical text, disassembles the result and demands the same
/// text back. A macro, so a failing case reports its own line.
macro_rules! text_round_trip {
    ($($line:expr),+ $(,)?) => {{
        let text: String = [$($line),+].iter().map(|l| format!("{l}\n")).collect();
        let insns = assemble(&text, &AsmOptions::new()).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(disassemble(&insns, &DisasmOptions::new()), text);
    }};
}

#[test]
fn canonical_text_is_a_fixpoint() {
    text_round_trip!(
        "        ld [4]                   ; arch",
        "        jne #0xc000003e, L8      ; AUDIT_ARCH_X86_64",
        "        ld [0]                   ; nr",
        "        jge #0x40000000, L8",
        "        jeq #39, L7",
        "        jeq #231, L7",
        "        ret #0x00050001          ; ERRNO(1)",
        "L7:     ret #0x7fff0000          ; ALLOW",
        "L8:     ret #0x80000000          ; KILL_PROCESS",
    );
    text_round_trip!(
        "        ldh [x + 2]",
        "        ldb [3]",
        "        ldxb 4*([14]&0xf)",
        "        ldx len",
        "        st M[15]",
        "        stx M[0]",
        "        ld M[1]",
        "        mod x",
        "        neg",
        "        tax",
        "        txa",
        "        jset #256, L13, L14",
        "        jset x, L13",
        "L13:    ja L15",
        "L14:    jle x, L16",
        "L15:    ret a",
        "L16:    ret #0x00000000          ; KILL_THREAD",
    );
    text_round_trip!(
        "        .insn 0x80, 5, 6, 0x1234 ; ld: unused fields are not zero",
        "        .insn 0x0e, 0, 0, 0x0    ; not a classic BPF opcode",
        "        .insn 0x15, 9, 0, 0x27   ; jeq: jump target past the end",
        "        jlt #5, L5",
        "        ret a",
        "L5:",
    );
}
