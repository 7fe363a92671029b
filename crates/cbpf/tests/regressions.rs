//! Replays every minimized input of the cBPF fuzz targets under
//! `corpus/regressions/<target>/` through the same checks the fuzz targets
//! run (`fuzz/src/checks.rs`, compiled in here as a module), so a crash
//! found once stays fixed. The profile targets' inputs are replayed by
//! `sysfence-compile`'s `fuzz_regressions` test, which has the profile
//! reader and the compiler.
//!
//! Layout: one file per input, named after what it found; `raw_run/` and
//! `asm_input/` hold the fuzzer's bytes as they are, `disasm_roundtrip/`
//! little-endian `struct sock_filter` bytes. A missing or empty directory
//! fails the test: a replay that replays nothing proves nothing.

#[path = "../../../fuzz/src/checks.rs"]
#[allow(dead_code)]
mod checks;

use sysfence_testkit::regressions::replay;

#[test]
fn raw_run_regressions() {
    replay("raw_run", checks::raw_run);
}

#[test]
fn asm_input_regressions() {
    replay("asm_input", checks::asm_input);
}

#[test]
fn disasm_roundtrip_regressions() {
    replay("disasm_roundtrip", |bytes| {
        checks::disasm_roundtrip(&checks::insns_from_bytes(bytes))
    });
}

#[test]
fn valid_run_regressions() {
    replay("valid_run", checks::valid_run);
}
