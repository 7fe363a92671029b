//! Finding the shared corpus, in one place.
//!
//! In: `$SYSFENCE_SHARED` if set, else `../shared` beside this checkout; and
//! `$CI`. Out: the directory (or a file under it), or `None` after printing
//! the reason the caller skips. Under `CI=true` the shared directory is
//! always laid beside the checkout, so its absence (or the absence of a file
//! a test asks for) is a failure: [`require`] panics with the path it
//! looked for instead of returning `None`.

use std::path::{Path, PathBuf};

/// The repository root (two levels above this crate).
pub fn repo_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A path under the repository root.
pub fn repo(rel: &str) -> PathBuf {
    repo_dir().join(rel)
}

/// Where the shared directory is expected: `$SYSFENCE_SHARED`, else
/// `../shared` beside the checkout. It may not exist.
pub fn expected_dir() -> PathBuf {
    std::env::var_os("SYSFENCE_SHARED").map_or_else(|| repo_dir().join("../shared"), PathBuf::from)
}

/// The shared directory when it holds a `corpus/` folder; never panics.
/// For tools (the benchmark driver) that run on what they have.
pub fn locate() -> Option<PathBuf> {
    let dir = expected_dir();
    dir.join("corpus").is_dir().then_some(dir)
}

/// Whether this run is CI (`CI=true`), where nothing may be skipped.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// `rel` under the shared directory (`corpus/third-party/moby/default.json`,
/// `corpus/workloads`), when it exists. When it does not: under CI a panic
/// naming the path; elsewhere `None`, after printing why the caller skips.
pub fn require(rel: &str) -> Option<PathBuf> {
    let path = expected_dir().join(rel);
    if path.exists() {
        return Some(path);
    }
    missing(&path.display().to_string());
    None
}

/// Reports a missing shared input: a panic under CI, a printed skip
/// elsewhere. For tests that find out late that a file they need is absent.
pub fn missing(what: &str) {
    let why = format!(
        "{what} is absent (set SYSFENCE_SHARED or lay the shared directory at {})",
        repo_dir().join("../shared").display()
    );
    assert!(!in_ci(), "CI=true and {why}");
    eprintln!("skipped: {why}");
}

/// The bytes of `rel` under the shared directory, as [`require`] decides.
pub fn read(rel: &str) -> Option<Vec<u8>> {
    let path = require(rel)?;
    Some(std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

/// The text of `rel` under the shared directory, as [`require`] decides.
pub fn read_string(rel: &str) -> Option<String> {
    let path = require(rel)?;
    Some(std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

/// Files under `dir` (recursively, sorted) whose extension is one of
/// `exts`, skipping folders named in `skip`.
pub fn files(dir: &Path, exts: &[&str], skip: &[&str]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    walk(dir, exts, skip, &mut out);
    out.sort();
    out
}

fn walk(dir: &Path, exts: &[&str], skip: &[&str], out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for p in entries.flatten().map(|e| e.path()) {
        if p.is_dir() {
            if !skip.iter().any(|s| p.ends_with(s)) {
                walk(&p, exts, skip, out);
            }
        } else if p
            .extension()
            .and_then(|x| x.to_str())
            .is_some_and(|x| exts.contains(&x))
        {
            out.push(p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_file_is_none_outside_ci_and_a_panic_inside() {
        let rel = "corpus/no-such-file-anywhere.json";
        if in_ci() {
            assert!(std::panic::catch_unwind(|| require(rel)).is_err());
        } else {
            assert_eq!(require(rel), None);
        }
    }

    #[test]
    fn repo_paths_point_into_this_checkout() {
        assert!(repo("Cargo.toml").is_file());
        assert!(repo("corpus/profiles").is_dir());
    }
}
