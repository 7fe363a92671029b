//! What each fuzz target checks, as plain functions over bytes.
//!
//! Every function panics (with an assertion message) when a property fails
//! and returns quietly otherwise; "no panic on any input" is itself the first
//! property. The same file is compiled into the fuzz crate and, through a
//! `#[path]` module, into `sysfence-cbpf`'s regression test, so the replayed
//! crashes check exactly what the fuzzer checked.
//!
//! Input layouts (fixed, so that regression files stay readable and do not
//! depend on the `arbitrary` crate's encoding):
//!
//! * [`raw_run`]: the first 64 bytes are a `seccomp_data` in little-endian
//!   (`nr`, `arch`, `instruction_pointer`, `args[0..6]`; missing bytes are
//!   zero), the rest a raw little-endian `struct sock_filter` array.
//! * [`asm_input`]: the bytes as text (invalid UTF-8 replaced).
//! * [`disasm_roundtrip`]: instructions (the fuzz target builds them with
//!   `arbitrary`; regression files hold them as little-endian
//!   `struct sock_filter` bytes, read with [`insns_from_bytes`]).
//! * [`valid_run`]: the first 8 bytes seed `generate::valid_program`, the
//!   next byte bounds its length, the rest is a `seccomp_data` as for
//!   [`raw_run`].

use sysfence_cbpf::action::Action;
use sysfence_cbpf::asm::{AsmOptions, DisasmOptions, assemble, disassemble};
use sysfence_cbpf::data::{OFFSET_ARCH, OFFSET_IP, OFFSET_NR, arg_offset};
use sysfence_cbpf::generate::{Rng, valid_program};
use sysfence_cbpf::insn::{decode, encode};
use sysfence_cbpf::interp::{Config, NoTrace, ShiftMode, Steps, run, run_with};
use sysfence_cbpf::program::Program;
use sysfence_cbpf::validate::{check_classic, validate};
use sysfence_cbpf::{Endian, Insn, SeccompData};

/// Size of the `seccomp_data` prefix of a [`raw_run`] input.
const DATA_BYTES: usize = 64;

/// Decode, validate and run arbitrary bytes; the validator's answers agree
/// with each other and the interpreter stays inside the program.
pub fn raw_run(bytes: &[u8]) {
    let (head, raw) = bytes.split_at(bytes.len().min(DATA_BYTES));
    let data = data_from_bytes(head);
    let Ok(insns) = decode(raw, Endian::Little) else {
        return;
    };
    assert_eq!(encode(&insns, Endian::Little), raw, "raw round trip");
    let checked = validate(&insns);
    assert_eq!(
        checked.is_ok(),
        Program::new(&insns).is_ok(),
        "validate and Program::new disagree"
    );
    let prog = match checked {
        Ok(prog) => prog,
        Err(e) => {
            assert!(!e.to_string().is_empty());
            if let Some(pc) = e.pc() {
                assert!(
                    pc < insns.len(),
                    "error pc {pc} outside a {}-instruction program",
                    insns.len()
                );
            }
            return;
        }
    };
    assert!(
        check_classic(&insns).is_ok(),
        "seccomp-valid but not classic-valid"
    );
    assert_eq!(
        prog.insns(),
        &insns[..],
        "the program does not keep its bytes"
    );
    run_everywhere(&prog, &data);
}

/// Generate a program that must be valid, then validate, run and round-trip
/// it: checks the generator's promise and drives the interpreter through
/// valid programs only.
pub fn valid_run(bytes: &[u8]) {
    let insns = seeded_program(bytes);
    let prog =
        validate(&insns).unwrap_or_else(|e| panic!("generated program rejected: {e}\n{insns:?}"));
    run_everywhere(&prog, &data_from_bytes(bytes.get(9..).unwrap_or(&[])));
    disasm_roundtrip(&insns);
}

/// The program `generate::valid_program` makes from the first 8 bytes as
/// its seed, at most `2 + 4 × byte 8` instructions long.
pub fn seeded_program(bytes: &[u8]) -> Vec<Insn> {
    let mut seed = [0u8; 8];
    let n = bytes.len().min(8);
    seed[..n].copy_from_slice(&bytes[..n]);
    let max_len = 2 + usize::from(bytes.get(8).copied().unwrap_or(0)) * 4;
    valid_program(&mut Rng::new(u64::from_le_bytes(seed)), max_len)
}

/// Runs `prog` in every mode and with a tracer; all runs must agree where
/// they should and stay inside the program.
fn run_everywhere(prog: &Program, data: &SeccompData) {
    let plain = run(prog, data);
    assert!(
        plain.insns >= 1 && plain.insns as usize <= prog.len(),
        "executed {} of {}",
        plain.insns,
        prog.len()
    );
    assert_eq!(plain.action, Action::from_raw(plain.raw));
    let mut steps = Steps::new();
    let traced = run_with(prog, data, &Config::new(), &mut steps);
    assert_eq!(traced, plain, "a tracer changed the outcome");
    assert_eq!(
        steps.steps().len(),
        plain.insns as usize,
        "one step per executed instruction"
    );
    let zero = run_with(
        prog,
        data,
        &Config::new().shift(ShiftMode::ZeroAbove31),
        &mut NoTrace,
    );
    assert!(zero.insns as usize <= prog.len());
}

/// A `seccomp_data` from up to 64 little-endian bytes (missing bytes 0).
pub fn data_from_bytes(head: &[u8]) -> SeccompData {
    let mut b = [0u8; DATA_BYTES];
    let n = head.len().min(DATA_BYTES);
    b[..n].copy_from_slice(&head[..n]);
    let u32_at = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    let u64_at = |i: usize| u64::from(u32_at(i)) | u64::from(u32_at(i + 4)) << 32;
    let at = |offset: u32| offset as usize;
    let mut args = [0u64; 6];
    for (i, a) in args.iter_mut().enumerate() {
        *a = u64_at(at(arg_offset(i)));
    }
    SeccompData {
        nr: u32_at(at(OFFSET_NR)),
        arch: u32_at(at(OFFSET_ARCH)),
        instruction_pointer: u64_at(at(OFFSET_IP)),
        args,
    }
}

/// Assemble arbitrary text: never panics, errors point inside the text, and
/// whatever assembles survives a disassemble/assemble round trip.
pub fn asm_input(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    match assemble(&text, &AsmOptions::new()) {
        Ok(insns) => disasm_roundtrip(&insns),
        Err(e) => {
            let lines = text.split('\n').count() as u32;
            assert!(
                e.line() >= 1 && e.line() <= lines.max(1),
                "error line {} of {lines}",
                e.line()
            );
            assert!(!e.to_string().is_empty());
        }
    }
}

/// Disassembly of any instructions assembles back to the same instructions,
/// and disassembling again gives the same text.
pub fn disasm_roundtrip(insns: &[Insn]) {
    if insns.is_empty() {
        // No program holds no instruction: the assembler refuses the text.
        let text = disassemble(insns, &DisasmOptions::new());
        assert!(assemble(&text, &AsmOptions::new()).is_err());
        return;
    }
    for opts in [
        DisasmOptions::new(),
        DisasmOptions::new().arch(Some(0xc000_003e)),
    ] {
        let text = disassemble(insns, &opts);
        let back = assemble(&text, &AsmOptions::new())
            .unwrap_or_else(|e| panic!("disassembly does not assemble: {e}\n{text}"));
        assert_eq!(back, insns, "round trip changed the program\n{text}");
        assert_eq!(
            disassemble(&back, &opts),
            text,
            "second disassembly differs"
        );
    }
}

/// Instructions from little-endian `struct sock_filter` bytes (a trailing
/// partial instruction is ignored).
pub fn insns_from_bytes(bytes: &[u8]) -> Vec<Insn> {
    bytes
        .chunks_exact(8)
        .map(|c| {
            Insn::from_bytes(
                [c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]],
                Endian::Little,
            )
        })
        .collect()
}
