//! Replaying the fuzz targets' minimized inputs.
//!
//! In: a fuzz target's name and the check it runs. Out: every file under
//! `corpus/regressions/<target>/` in this checkout, passed to the check in
//! name order. A missing or empty directory panics naming it: a replay that
//! replays nothing proves nothing. Not checked: what the check asserts.

use std::path::PathBuf;

/// Every input of `target`, path and bytes, sorted by path.
pub fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = crate::repo("corpus/regressions").join(target);
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
            let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p, bytes)
        })
        .collect()
}

/// Runs `check` on every input of `target`, printing each path first.
pub fn replay(target: &str, check: impl Fn(&[u8])) {
    let all = inputs(target);
    assert!(!all.is_empty(), "{target}: no regression inputs");
    for (path, bytes) in &all {
        eprintln!("{target}: {}", path.display());
        check(bytes);
    }
    eprintln!("{target}: {} regression inputs replayed", all.len());
}
