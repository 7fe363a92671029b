//! A progress line on standard error, only when it is a terminal: for the
//! `sysfence` verbs and `sysfence-bench`, whose work can take seconds.
//!
//! In: a message; out: `sysfence: MESSAGE…` on standard error after one
//! second (nothing for work that ends sooner), erased when the work is done.
//! When standard error is not a terminal nothing is ever written, so logs
//! and tests see no progress output.

use std::io::{IsTerminal, Write};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::Duration;

/// How long work runs before the line appears (one second;
/// `SYSFENCE_PROGRESS_AFTER_MS` overrides it, for tests).
fn delay() -> Duration {
    std::env::var("SYSFENCE_PROGRESS_AFTER_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(Duration::from_secs(1), Duration::from_millis)
}

/// A running indicator; [`Progress::finish`] (or dropping it) removes it.
#[derive(Debug)]
pub struct Progress {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Progress {
    /// Starts the indicator for `what`.
    pub fn start(what: &str) -> Progress {
        if !std::io::stderr().is_terminal() {
            return Progress {
                stop: None,
                thread: None,
            };
        }
        let (tx, rx) = mpsc::channel::<()>();
        let what = what.to_string();
        let first = delay();
        let mut shown = first.is_zero();
        if shown {
            eprint!("\r\x1b[Ksysfence: {what}");
        }
        let thread = std::thread::spawn(move || {
            let mut dots = 0usize;
            loop {
                let wait = if shown {
                    Duration::from_millis(500)
                } else {
                    first
                };
                match rx.recv_timeout(wait) {
                    Err(RecvTimeoutError::Timeout) => {
                        shown = true;
                        dots = dots % 3 + 1;
                        eprint!("\r\x1b[Ksysfence: {what}{}", ".".repeat(dots));
                        let _ = std::io::stderr().flush();
                    }
                    _ => break,
                }
            }
            if shown {
                eprint!("\r\x1b[K");
            }
        });
        Progress {
            stop: Some(tx),
            thread: Some(thread),
        }
    }

    /// Removes the indicator.
    pub fn finish(self) {
        drop(self);
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.stop.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
