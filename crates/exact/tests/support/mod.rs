//! Helpers shared by this crate's integration tests.
#![allow(dead_code)]

use sysfence_profile::ir::Policy;
use sysfence_profile::{LoadOptions, load};

/// Docker's default profile as a policy, with the default context; `None`
/// (skipped, or a panic under CI) without the shared corpus.
pub fn docker_default() -> Option<Policy> {
    let text = sysfence_testkit::shared::read("corpus/third-party/moby/default.json")?;
    Some(load(&text, &LoadOptions::default()).expect("loads").policy)
}
