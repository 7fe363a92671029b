//! sysfence fuzzing: the properties live in [`checks`], shared with the
//! regression test `crates/cbpf/tests/regressions.rs`, which replays every
//! minimized crash under `corpus/regressions/<target>/` with `cargo test`.
//! The targets in `fuzz_targets/` only turn fuzzer input into arguments.
#![deny(missing_docs)]

pub mod checks;
pub mod decompile_checks;
pub mod exact_checks;
pub mod minijail_checks;
pub mod profile_checks;
