//! Running the real `sysfence` binary, as a user would.
//!
//! In: the binary's path (a test of the `sysfence` package names it with
//! `env!("CARGO_BIN_EXE_sysfence")`; [`Cli::locate`] finds it beside the
//! running test executable otherwise), arguments and optional standard
//! input. Out: the process [`Output`]. Not checked: anything about the
//! output; the caller asserts.

use std::borrow::Cow;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// The `sysfence` binary.
#[derive(Clone, Debug)]
pub struct Cli {
    bin: Cow<'static, str>,
}

impl Cli {
    /// The binary at `bin`: in a test of the `sysfence` package,
    /// `const SYSFENCE: Cli = Cli::new(env!("CARGO_BIN_EXE_sysfence"));`.
    pub const fn new(bin: &'static str) -> Cli {
        Cli {
            bin: Cow::Borrowed(bin),
        }
    }

    /// The binary's path.
    pub fn path(&self) -> &Path {
        Path::new(self.bin.as_ref())
    }

    /// The `sysfence` binary of the profile the running test was built in
    /// (`target/<profile>/sysfence`), when it has been built.
    pub fn locate() -> Option<Cli> {
        let exe = std::env::current_exe().ok()?;
        let profile_dir = exe.parent()?.parent()?;
        let bin = profile_dir.join(format!("sysfence{}", std::env::consts::EXE_SUFFIX));
        bin.is_file().then(|| Cli {
            bin: Cow::Owned(bin.to_string_lossy().into_owned()),
        })
    }

    /// Runs `sysfence ARGS` with standard input closed.
    pub fn run(&self, args: &[&str]) -> Output {
        Command::new(self.path())
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("{}: {e}", self.bin))
    }

    /// Runs `sysfence ARGS` with `stdin` written to its standard input.
    pub fn run_with_stdin(&self, args: &[&str], stdin: &[u8]) -> Output {
        let mut child = Command::new(self.path())
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e}", self.bin));
        let mut pipe = child.stdin.take().expect("piped stdin");
        // A program that exits before reading all of it closes the pipe.
        let _ = pipe.write_all(stdin);
        drop(pipe);
        child.wait_with_output().expect("sysfence finishes")
    }

    /// Exit status (-1 for a signal), standard output and standard error.
    pub fn status(&self, args: &[&str]) -> (i32, String, String) {
        summary(&self.run(args))
    }
}

/// Exit status (-1 for a signal), standard output and error, as text.
pub fn summary(out: &Output) -> (i32, String, String) {
    (
        out.status.code().unwrap_or(-1),
        text(&out.stdout),
        text(&out.stderr),
    )
}

/// Bytes as text, invalid UTF-8 replaced.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Standard output as text.
pub fn stdout(out: &Output) -> String {
    text(&out.stdout)
}

/// Standard error as text.
pub fn stderr(out: &Output) -> String {
    text(&out.stderr)
}

/// What a run printed and how it ended, decoded once.
#[derive(Debug)]
pub struct Run {
    /// The exit status; -1 when a signal ended it.
    pub code: i32,
    /// The signal that ended it, if one did.
    pub signal: Option<i32>,
    /// Standard output, lossily decoded.
    pub stdout: String,
    /// Standard error, lossily decoded.
    pub stderr: String,
}

impl Run {
    /// Asserts that the run exited with `code` and that standard error
    /// holds every one of `needles` (`context` prefixes the failure).
    #[track_caller]
    pub fn assert_fails(&self, code: i32, needles: &[&str], context: &str) {
        assert_eq!(self.code, code, "{context}: {}", self.stderr);
        for n in needles {
            assert!(
                self.stderr.contains(n),
                "{context}: no {n:?} in {}",
                self.stderr
            );
        }
    }
}

impl From<Output> for Run {
    fn from(out: Output) -> Run {
        use std::os::unix::process::ExitStatusExt;
        Run {
            code: out.status.code().unwrap_or(-1),
            signal: out.status.signal(),
            stdout: text(&out.stdout),
            stderr: text(&out.stderr),
        }
    }
}

impl Cli {
    /// Runs `sysfence ARGS` with empty standard input, decoded.
    pub fn exec(&self, args: &[&str]) -> Run {
        self.run_in(args, b"", None)
    }

    /// Runs `sysfence ARGS` with `stdin` as input, in `dir` if given.
    pub fn run_in(&self, args: &[&str], stdin: &[u8], dir: Option<&Path>) -> Run {
        let mut cmd = Command::new(self.path());
        cmd.args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(d) = dir {
            cmd.current_dir(d);
        }
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("{}: {e}", self.bin));
        if let Some(mut input) = child.stdin.take() {
            // A program that exits before reading all of it closes the pipe.
            let _ = input.write_all(stdin);
        }
        Run::from(child.wait_with_output().expect("sysfence finishes"))
    }

    /// Runs `sysfence ARGS` with standard output a pipe whose reader is
    /// already gone (`sysfence ARGS | true`, `true` long finished), so the
    /// first write fails; the run's `stdout` is empty.
    pub fn exec_closed_stdout(&self, args: &[&str]) -> Run {
        let (reader, writer) = std::io::pipe().expect("pipe");
        drop(reader);
        let out = Command::new(self.path())
            .args(args)
            .stdin(Stdio::null())
            .stdout(writer)
            .stderr(Stdio::piped())
            .output()
            .unwrap_or_else(|e| panic!("{}: {e}", self.bin));
        Run::from(out)
    }
}
