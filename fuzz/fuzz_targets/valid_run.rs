//! Seeded generation of a valid program: validate, run, round-trip.
#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| sysfence_fuzz::checks::valid_run(bytes));
