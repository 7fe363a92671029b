//! Arbitrary bytes as a profile in every format: read, compile, self-check.
#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| sysfence_fuzz::profile_checks::profile_compile(bytes));
