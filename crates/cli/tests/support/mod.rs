//! The command-line tests' view of the shared test-support crate: the
//! binary under test, and short names for running it.

#![allow(dead_code, unused_imports, reason = "each test file uses a part")]

use sysfence_testkit::Cli;
pub use sysfence_testkit::cli::Run;
pub use sysfence_testkit::host::{has_seccomp, is_filtered, is_root, temp_dir, write};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_sysfence");

const SYSFENCE: Cli = Cli::new(BIN);

/// A path inside the repository.
pub fn repo(path: &str) -> String {
    sysfence_testkit::repo(path).display().to_string()
}

/// Runs `sysfence ARGS` with no input.
pub fn sysfence(args: &[&str]) -> Run {
    SYSFENCE.run_in(args, b"", None)
}

/// Runs `sysfence ARGS` with `stdin` as input, in `dir` if given.
pub fn sysfence_in(args: &[&str], stdin: &[u8], dir: Option<&std::path::Path>) -> Run {
    SYSFENCE.run_in(args, stdin, dir)
}
