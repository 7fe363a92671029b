//! What `/proc/<pid>/status` says about a process's seccomp state, and which
//! AUDIT_ARCH its syscalls use.
//!
//! In: a process id (or [`Target::SelfProcess`]). Out: a [`ProcStatus`] with
//! the `Seccomp`, `Seccomp_filters` and `NoNewPrivs` lines, and the arch read
//! from the ELF header of `/proc/<pid>/exe`.
//!
//! Not checked: the lines are read as the kernel prints them; a kernel older
//! than about 5.9 has no `Seccomp_filters` line, which gives `filters: None`.
//! The arch is the executable's: a 64-bit process that makes `int 0x80`
//! calls also uses i386 numbers, which no file on disk can tell.

use std::fmt;
use std::io;

use sysfence_cbpf::data::audit_arch_by_name;

/// Whose status to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// The calling process (`/proc/self`).
    SelfProcess,
    /// A process or thread id.
    Pid(i32),
}

impl Target {
    /// The process id. For [`Target::SelfProcess`] it is where the
    /// `/proc/self` link points, which no filter can change, rather than
    /// what `getpid` returns: a filter may make `getpid` fail with an
    /// errno, which the C library hands back as if it were the pid. Only
    /// when the link cannot be read (no `/proc`) is `getpid` asked.
    pub fn pid(self) -> i32 {
        match self {
            // Pids fit in 31 bits: PID_MAX_LIMIT is 2^22.
            Target::SelfProcess => self_pid_from_proc().unwrap_or(std::process::id() as i32),
            Target::Pid(pid) => pid,
        }
    }

    fn proc_dir(self) -> String {
        match self {
            Target::SelfProcess => "/proc/self".to_string(),
            Target::Pid(pid) => format!("/proc/{pid}"),
        }
    }
}

/// The pid the `/proc/self` link names.
fn self_pid_from_proc() -> Option<i32> {
    std::fs::read_link("/proc/self")
        .ok()?
        .to_str()?
        .parse()
        .ok()
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::SelfProcess => f.write_str("self"),
            Target::Pid(pid) => write!(f, "{pid}"),
        }
    }
}

/// The `Seccomp:` mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// 0: no seccomp.
    Disabled,
    /// 1: strict mode (read, write, exit, sigreturn only).
    Strict,
    /// 2: one or more filters.
    Filter,
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mode::Disabled => "disabled",
            Mode::Strict => "strict",
            Mode::Filter => "filter",
        })
    }
}

/// The seccomp lines of `/proc/<pid>/status`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcStatus {
    /// The `Name:` line.
    pub name: String,
    /// The `Seccomp:` line; `None` when the kernel has no seccomp at all.
    pub mode: Option<Mode>,
    /// The `Seccomp_filters:` line (kernels since about 5.9).
    pub filters: Option<u32>,
    /// The `NoNewPrivs:` line.
    pub no_new_privs: bool,
    /// The `Tgid:` line: the id of the process the task is a thread of.
    pub tgid: Option<i32>,
}

/// Why a status could not be read.
#[derive(Debug)]
pub struct StatusError {
    target: Target,
    error: io::Error,
}

impl StatusError {
    /// Whether the process does not exist.
    pub fn is_not_found(&self) -> bool {
        self.error.kind() == io::ErrorKind::NotFound
    }
}

impl fmt::Display for StatusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_not_found() {
            write!(f, "no process with id {}", self.target)
        } else {
            write!(f, "/proc/{}/status: {}", self.target, self.error)
        }
    }
}

impl std::error::Error for StatusError {}

/// Reads and parses `/proc/<pid>/status`.
pub fn read_status(target: Target) -> Result<ProcStatus, StatusError> {
    let path = format!("{}/status", target.proc_dir());
    let text = std::fs::read_to_string(path).map_err(|error| StatusError { target, error })?;
    Ok(parse_status(&text))
}

/// Parses the text of a `/proc/<pid>/status` file; missing lines become
/// `None` (or `false`).
pub fn parse_status(text: &str) -> ProcStatus {
    let field = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix(':').map(str::trim))
    };
    let mode = field("Seccomp").and_then(|v| match v {
        "0" => Some(Mode::Disabled),
        "1" => Some(Mode::Strict),
        "2" => Some(Mode::Filter),
        _ => None,
    });
    ProcStatus {
        name: field("Name").unwrap_or("").to_string(),
        mode,
        filters: field("Seccomp_filters").and_then(|v| v.parse().ok()),
        no_new_privs: field("NoNewPrivs") == Some("1"),
        tgid: field("Tgid").and_then(|v| v.parse().ok()),
    }
}

/// The ids of the threads of process `pid` (`/proc/PID/task`), sorted;
/// empty when they cannot be read.
pub fn thread_ids(pid: i32) -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    let mut tids: Vec<i32> = dir
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    tids.sort_unstable();
    tids
}

/// The AUDIT_ARCH of an executable, from its ELF header (`e_ident` class and
/// data, `e_machine`). `None` for a file that is not ELF or a machine this
/// table does not name.
pub fn elf_audit_arch(header: &[u8]) -> Option<u32> {
    if header.len() < 20 || header[..4] != *b"\x7fELF" {
        return None;
    }
    let is64 = header[4] == 2;
    let little = header[5] == 1;
    let machine = if little {
        u16::from_le_bytes([header[18], header[19]])
    } else {
        u16::from_be_bytes([header[18], header[19]])
    };
    let name = match (machine, is64, little) {
        (62, true, true) => "X86_64",
        (3, false, true) => "I386",
        (183, true, true) => "AARCH64",
        (40, false, true) => "ARM",
        (243, true, true) => "RISCV64",
        (22, true, false) => "S390X",
        (21, true, true) => "PPC64LE",
        (21, true, false) => "PPC64",
        (258, true, true) => "LOONGARCH64",
        _ => return None,
    };
    audit_arch_by_name(name)
}

/// The AUDIT_ARCH of a process's executable (`/proc/<pid>/exe`).
pub fn process_arch(target: Target) -> Result<Option<u32>, StatusError> {
    use std::io::Read;
    let path = format!("{}/exe", target.proc_dir());
    let mut header = [0u8; 20];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut header))
        .map_err(|error| StatusError { target, error })?;
    Ok(elf_audit_arch(&header))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_seccomp_lines() {
        let text = "Name:\tsleep\nUmask:\t0022\nTgid:\t77\nNoNewPrivs:\t1\nSeccomp:\t2\nSeccomp_filters:\t3\nSpeculation_Store_Bypass:\tthread force mitigated\n";
        let s = parse_status(text);
        assert_eq!(
            s,
            ProcStatus {
                name: "sleep".into(),
                mode: Some(Mode::Filter),
                filters: Some(3),
                no_new_privs: true,
                tgid: Some(77),
            }
        );
        let old = parse_status("Name:\tx\nNoNewPrivs:\t0\nSeccomp:\t0\n");
        assert_eq!(old.mode, Some(Mode::Disabled));
        assert_eq!(old.filters, None);
        assert!(!old.no_new_privs);
    }

    #[test]
    fn elf_header_to_audit_arch() {
        let mut h = [0u8; 20];
        h[..4].copy_from_slice(b"\x7fELF");
        h[4] = 2;
        h[5] = 1;
        h[18] = 62;
        assert_eq!(elf_audit_arch(&h), Some(0xc000_003e));
        h[4] = 1;
        h[18] = 3;
        assert_eq!(elf_audit_arch(&h), Some(0x4000_0003));
        assert_eq!(elf_audit_arch(b"#!/bin/sh\n0123456789"), None);
    }

    #[test]
    fn own_status_and_arch() {
        let s = read_status(Target::SelfProcess).expect("/proc/self/status");
        assert!(s.mode.is_some());
        #[cfg(target_arch = "x86_64")]
        assert_eq!(
            process_arch(Target::SelfProcess).unwrap(),
            Some(0xc000_003e)
        );
        let err = read_status(Target::Pid(i32::MAX)).unwrap_err();
        assert!(err.is_not_found());
        assert_eq!(err.to_string(), format!("no process with id {}", i32::MAX));
    }
}
