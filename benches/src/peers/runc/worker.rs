//! runc's conversion in a child process with a time limit.
//!
//! libseccomp can loop forever inside `seccomp_rule_add` on some rule sets
//! (docs/profiles.md §4.5), so the differential test never calls it in its
//! own process. The `runc-libseccomp` binary ([`serve`]) reads one request
//! per line on standard input — `{"profile": TEXT, "arches": null | [NAME,
//! ...]}` — and answers each on one line of standard output: `ok ` and the
//! program as 16 hex digits per instruction (code, jt, jf, k), or `err ` and
//! why runc or libseccomp refused the profile. [`Worker`] drives that child:
//! an answer that does not come within the time limit is a [`Reply::Timeout`],
//! after which the child is killed and a fresh one started.
//!
//! Not checked here: what the programs mean; the caller compares them.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::Duration;

use serde_json::{Value, json};
use sysfence_cbpf::insn::Insn;

use super::{Arches, convert};

/// What the child answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// runc's program.
    Program(Vec<Insn>),
    /// runc or libseccomp refused the profile, and why.
    Refused(String),
    /// No answer within the time limit (the child was restarted).
    Timeout,
}

/// A running `runc-libseccomp` child.
#[derive(Debug)]
pub struct Worker {
    exe: PathBuf,
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
    /// How many children were killed for a timeout.
    pub restarts: usize,
}

impl Worker {
    /// Starts the worker binary at `exe`.
    pub fn spawn(exe: impl Into<PathBuf>) -> std::io::Result<Worker> {
        let exe = exe.into();
        let (child, stdin, lines) = start(&exe)?;
        Ok(Worker {
            exe,
            child,
            stdin,
            lines,
            restarts: 0,
        })
    }

    /// The program runc builds for `text` (with only `arches` when given),
    /// waiting at most `limit`.
    pub fn convert(
        &mut self,
        text: &str,
        arches: Option<&[String]>,
        limit: Duration,
    ) -> std::io::Result<Reply> {
        let request = json!({ "profile": text, "arches": arches });
        writeln!(self.stdin, "{request}")?;
        self.stdin.flush()?;
        match self.lines.recv_timeout(limit) {
            Ok(line) => Ok(parse_reply(&line)),
            Err(RecvTimeoutError::Timeout) => {
                self.restart()?;
                Ok(Reply::Timeout)
            }
            Err(RecvTimeoutError::Disconnected) => {
                self.restart()?;
                Err(std::io::Error::other("the worker exited without an answer"))
            }
        }
    }

    fn restart(&mut self) -> std::io::Result<()> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let (child, stdin, lines) = start(&self.exe)?;
        (self.child, self.stdin, self.lines) = (child, stdin, lines);
        self.restarts += 1;
        Ok(())
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(exe: &PathBuf) -> std::io::Result<(Child, ChildStdin, Receiver<String>)> {
    let mut child = Command::new(exe)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let stdin = child.stdin.take().expect("piped stdin");
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    Ok((child, stdin, rx))
}

fn parse_reply(line: &str) -> Reply {
    if let Some(why) = line.strip_prefix("err ") {
        return Reply::Refused(why.to_string());
    }
    let hex = line.strip_prefix("ok ").unwrap_or("");
    let insns = hex
        .as_bytes()
        .chunks(16)
        .map(|c| {
            let c = std::str::from_utf8(c).unwrap_or("");
            let field = |r: std::ops::Range<usize>| u32::from_str_radix(&c[r], 16).unwrap_or(0);
            Insn::new(
                field(0..4) as u16,
                field(4..6) as u8,
                field(6..8) as u8,
                field(8..16),
            )
        })
        .collect();
    Reply::Program(insns)
}

/// Answers one request line (the worker binary's loop body).
pub fn answer(line: &str) -> String {
    let request: Value = match serde_json::from_str(line) {
        Ok(v) => v,
        Err(e) => return format!("err request: {e}"),
    };
    let text = request["profile"].as_str().unwrap_or("");
    let only: Option<Vec<String>> = request["arches"].as_array().map(|a| {
        a.iter()
            .filter_map(|n| n.as_str().map(str::to_string))
            .collect()
    });
    let arches = only.as_deref().map_or(Arches::Profile, Arches::Only);
    match convert(text, arches) {
        Ok(insns) => {
            let hex: String = insns
                .iter()
                .map(|i| format!("{:04x}{:02x}{:02x}{:08x}", i.code, i.jt, i.jf, i.k))
                .collect();
            format!("ok {hex}")
        }
        Err(why) => format!("err {}", why.replace('\n', " ")),
    }
}

/// The worker binary's main loop: one answer per request line.
pub fn serve() -> std::io::Result<()> {
    let stdin = std::io::stdin();
    let mut out = std::io::stdout().lock();
    for line in stdin.lock().lines() {
        writeln!(out, "{}", answer(&line?))?;
        out.flush()?;
    }
    Ok(())
}
