//! Helpers shared by this crate's integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

use sysfence_profile::ir::Policy;
use sysfence_profile::{LoadOptions, load};

/// A file of the shared corpus; `None` (with a printed reason) when it is
/// absent, a panic when `CI=true`.
pub fn shared(rel: &str) -> Option<PathBuf> {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let root = std::env::var_os("SYSFENCE_SHARED")
        .map(PathBuf::from)
        .or_else(|| {
            ["../../../shared", "../../../../shared"]
                .iter()
                .map(|r| here.join(r))
                .find(|p| p.exists())
        })
        .unwrap_or_else(|| here.join("../../../shared"));
    let p = root.join(rel);
    if p.exists() {
        return Some(p);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{} is required under CI",
        p.display()
    );
    eprintln!("skipped: {} is absent", p.display());
    None
}

/// Docker's default profile as a policy, with the default context.
pub fn docker_default() -> Option<Policy> {
    let path = shared("corpus/third-party/moby/default.json")?;
    let text = std::fs::read(path).expect("readable");
    Some(load(&text, &LoadOptions::default()).expect("loads").policy)
}
