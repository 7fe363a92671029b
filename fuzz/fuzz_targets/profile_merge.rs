//! Arbitrary rule sets on one syscall, any libseccomp release: the merge
//! ends (loads or refuses) within its time budget.
#![no_main]

use sysfence_fuzz::profile_checks::DrawnCond;

/// The rules (each its conditions and action), the release and x32.
type Input = (Vec<(Vec<DrawnCond>, u8)>, u8, bool);

libfuzzer_sys::fuzz_target!(|input: Input| {
    let (rules, release, x32) = input;
    sysfence_fuzz::profile_checks::merge_terminates(&rules, release, x32);
});
