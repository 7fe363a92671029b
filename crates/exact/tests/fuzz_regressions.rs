//! Replays every input of the `diagram_run` fuzz target under
//! `corpus/regressions/diagram_run/` through the check the target runs
//! (`fuzz/src/exact_checks.rs`, compiled in here as a module, with the
//! input helpers of `fuzz/src/checks.rs`): a generated program's diagram
//! keeps the variable order and agrees with the interpreter. A missing or
//! empty directory fails the test.

#[path = "../../../fuzz/src/checks.rs"]
#[allow(dead_code, reason = "only the input helpers are used here")]
mod checks;

#[path = "../../../fuzz/src/exact_checks.rs"]
mod exact_checks;

use sysfence_testkit::regressions::replay;

#[test]
fn diagram_run_regressions() {
    replay("diagram_run", exact_checks::diagram_run);
}
