//! A generated program's decision diagram against the interpreter.
#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| sysfence_fuzz::exact_checks::diagram_run(bytes));
