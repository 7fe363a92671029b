//! Test support for the sysfence workspace, used as a dev-dependency only.
//!
//! * [`shared`]: the one place that finds the shared corpus (`../shared`
//!   beside the checkout, or `$SYSFENCE_SHARED`), and that decides whether a
//!   test without it skips (printing why) or fails (under `CI=true`).
//! * [`cli`]: runs the real `sysfence` binary.
//! * [`host`]: what this machine allows live tests, and scratch directories.
//! * [`insn`]: short constructors for hand-written cBPF programs.
//! * [`fixtures`]: hand-built policies.
//! * [`random_profile`]: random Docker/OCI profiles for property tests.
//! * [`random_minijail`]: random minijail policies for the peer's test.
//! * [`regressions`]: replays the fuzz targets' minimized inputs.
//!
//! In: the environment (`SYSFENCE_SHARED`, `CI`) and this checkout's path.
//! Out: paths, process outputs, instructions and policies. Not checked: the
//! contents of the shared corpus; each test asserts what it needs of them.

pub mod cli;
pub mod fixtures;
pub mod host;
pub mod insn;
pub mod random_minijail;
pub mod random_profile;
pub mod regressions;
pub mod shared;

pub use cli::Cli;
pub use shared::{repo, repo_dir};
