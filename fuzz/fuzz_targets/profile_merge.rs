//! Arbitrary rule sets on one syscall, any libseccomp release: the merge
//! ends (loads or refuses) within its time budget.
#![no_main]

libfuzzer_sys::fuzz_target!(|input: (Vec<(Vec<(u8, u8, u64)>, u8)>, u8, bool)| {
    let (rules, release, x32) = input;
    sysfence_fuzz::profile_checks::merge_terminates(&rules, release, x32);
});
