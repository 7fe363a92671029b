//! The `SIGPIPE` disposition sysfence runs with.
//!
//! Before `main`, the Rust runtime sets `SIGPIPE` to "ignore", so a write
//! to a pipe whose reader has gone returns `EPIPE`, and `print!` panics on
//! it. Command-line tools are expected to end quietly instead, killed by
//! `SIGPIPE` as `cat` or `grep` are (`sysfence validate a.s | head -1`).
//! [`restore_default`] puts the default disposition back.
//!
//! It matters for `execve` too: an ignored signal stays ignored in the new
//! program, so without the default restored every command `sysfence run`
//! executes would start with `SIGPIPE` ignored, unlike the same command
//! started from a shell.

#![allow(unsafe_code)]

use std::io;

/// Sets `SIGPIPE` back to its default action (end the process).
pub fn restore_default() -> io::Result<()> {
    // SAFETY: `signal` with `SIG_DFL` installs no handler and reads or
    // writes no memory of ours.
    let previous = unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    if previous == libc::SIG_ERR {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
