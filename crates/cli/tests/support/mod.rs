//! The command-line tests' view of the shared test-support crate: the
//! binary under test as a [`Cli`], and repository paths as text.

#![allow(dead_code, unused_imports, reason = "each test file uses a part")]

use sysfence_testkit::Cli;
pub use sysfence_testkit::cli::Run;
pub use sysfence_testkit::host::{
    has_seccomp, is_filtered, is_root, seccomp_or_skip, temp_dir, write,
};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_sysfence");

/// The binary under test: `SYSFENCE.exec(ARGS)`, or `SYSFENCE.run_in(ARGS,
/// STDIN, DIR)` with input or another working directory.
pub const SYSFENCE: Cli = Cli::new(BIN);

/// A path inside the repository.
pub fn repo(path: &str) -> String {
    sysfence_testkit::repo(path).display().to_string()
}
