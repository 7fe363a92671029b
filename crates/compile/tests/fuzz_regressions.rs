//! Replays every minimized input of the `profile_compile` fuzz target under
//! `corpus/regressions/profile_compile/` (profile text in any dialect)
//! through the check the target runs (`fuzz/src/profile_checks.rs`,
//! compiled in here as a module): read with detection and with every format
//! forced, compiled in every layout, never a panic nor a compiler-check
//! difference; and the `minijail_compile` target's inputs
//! (`fuzz/src/minijail_checks.rs`). A missing or empty directory fails the
//! test.

#[path = "../../../fuzz/src/profile_checks.rs"]
#[allow(
    dead_code,
    reason = "only the profile_compile target's inputs are replayed here"
)]
mod profile_checks;

#[path = "../../../fuzz/src/minijail_checks.rs"]
mod minijail_checks;

use sysfence_testkit::regressions::replay;

#[test]
fn profile_compile_regressions() {
    replay("profile_compile", profile_checks::profile_compile);
}

#[test]
fn minijail_compile_regressions() {
    replay("minijail_compile", minijail_checks::minijail_compile);
}
