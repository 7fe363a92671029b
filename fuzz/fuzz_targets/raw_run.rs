//! Arbitrary bytes: `seccomp_data` prefix + raw program; decode, validate, run.
#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| sysfence_fuzz::checks::raw_run(bytes));
