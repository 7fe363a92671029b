//! Arbitrary bytes as a minijail policy: read, compile, self-check.
#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| sysfence_fuzz::minijail_checks::minijail_compile(bytes));
