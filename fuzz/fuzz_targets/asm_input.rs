//! Arbitrary text into the assembler: never panics, round-trips when it assembles.
#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| sysfence_fuzz::checks::asm_input(bytes));
