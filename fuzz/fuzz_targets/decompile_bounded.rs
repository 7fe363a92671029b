//! Drawn rules on three syscalls, compiled and decompiled into Docker JSON
//! and minijail: every decompile ends within its bound, without a panic.
#![no_main]

use sysfence_fuzz::profile_checks::DrawnCond;

/// The rules: each its conditions, action and syscall.
type Input = Vec<(Vec<DrawnCond>, u8, u8)>;

libfuzzer_sys::fuzz_target!(|rules: Input| {
    sysfence_fuzz::decompile_checks::decompile_bounded(&rules);
});
