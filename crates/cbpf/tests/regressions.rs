//! Replays every minimized fuzz input under `corpus/regressions/<target>/`
//! through the same checks the fuzz targets run (`fuzz/src/checks.rs`,
//! compiled in here as a module), so a crash found once stays fixed.
//!
//! Layout: one file per input, named after what it found; `raw_run/` and
//! `asm_input/` hold the fuzzer's bytes as they are, `disasm_roundtrip/`
//! little-endian `struct sock_filter` bytes, `profile_compile/` profile
//! text in any dialect (`fuzz/src/profile_checks.rs`). A missing or empty
//! directory fails the test: a replay that replays nothing proves nothing.

#[path = "../../../fuzz/src/checks.rs"]
#[allow(dead_code)]
mod checks;

#[path = "../../../fuzz/src/profile_checks.rs"]
#[allow(
    dead_code,
    reason = "the merge target's checks are replayed by the profile crate's termination test"
)]
mod profile_checks;

use std::path::{Path, PathBuf};

fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../corpus/regressions")
        .join(target);
    let entries = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{target}: no regression directory {}: {e}", dir.display()));
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            (
                p.clone(),
                std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())),
            )
        })
        .collect()
}

fn replay(target: &str, check: impl Fn(&[u8])) {
    let all = inputs(target);
    assert!(!all.is_empty(), "{target}: no regression inputs");
    for (path, bytes) in &all {
        eprintln!("{target}: {}", path.display());
        check(bytes);
    }
    eprintln!("{target}: {} regression inputs replayed", all.len());
}

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

#[test]
fn profile_compile_regressions() {
    replay("profile_compile", profile_checks::profile_compile);
}
