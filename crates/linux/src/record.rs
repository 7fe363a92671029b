//! Recording which syscalls a command makes, as plain counts per arch.
//!
//! In: a command (program and arguments), run under ptrace with every thread
//! and child process followed; or the text of a kernel audit log. Out: a
//! [`Trace`], a map AUDIT_ARCH → syscall number → count, and for a live run
//! how the command ended ([`Exit`]).
//!
//! This module knows no syscall names and writes no profile: turning numbers
//! into names is the caller's job, with the syscall tables of its choice.
//! Numbers the caller cannot name stay numbers.
//!
//! How a live recording works: the child calls `PTRACE_TRACEME` just before
//! `execve`, so the first stop is the post-exec `SIGTRAP`. The recorder then
//! sets `PTRACE_O_TRACESYSGOOD | TRACEFORK | TRACEVFORK | TRACECLONE |
//! TRACEEXEC | EXITKILL` and resumes every task with `PTRACE_SYSCALL`. At each
//! syscall-entry stop `PTRACE_GET_SYSCALL_INFO` gives the arch and the
//! number, so `int 0x80` calls of an x86_64 process count as i386. Signals
//! are handed on to the task that received them; group stops are resumed.
//! The `execve` that started the command happened before tracing began and
//! is added as one native-arch `execve`. The recorder ignores `SIGINT` and
//! `SIGQUIT` while the command runs (the terminal sends them to the command
//! too); if the recorder itself dies, `EXITKILL` kills every traced task.
//!
//! The recording ends when the last traced task has exited, as with
//! `strace -f`: a command that leaves a background process behind is
//! recorded until that process exits too. [`Recording::exit`] is the first
//! process's.
//!
//! One recording at a time: the recorder waits for *any* child of the
//! calling process (`waitpid(-1, __WALL)`, the only way to hear from tasks
//! it did not fork itself), so it must not run beside another recording or
//! beside code that waits for its own children in the same process.
//!
//! Not covered: calls answered in user space (the vDSO's `clock_gettime`,
//! `gettimeofday`, `time`, `getcpu`) never reach the kernel and so are not
//! seen, exactly as a seccomp filter would not see them.
#![allow(unsafe_code)]

use std::collections::{BTreeMap, HashSet};
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io;
use std::os::unix::process::CommandExt;

/// The AUDIT_ARCH of the native syscall ABI of this build.
#[cfg(target_arch = "x86_64")]
pub const NATIVE_ARCH: u32 = sysfence_cbpf::abi::arch::AUDIT_ARCH_X86_64;
/// The AUDIT_ARCH of the native syscall ABI of this build.
#[cfg(target_arch = "aarch64")]
pub const NATIVE_ARCH: u32 = sysfence_cbpf::abi::arch::AUDIT_ARCH_AARCH64;
/// The AUDIT_ARCH of the native syscall ABI of this build.
#[cfg(target_arch = "riscv64")]
pub const NATIVE_ARCH: u32 = sysfence_cbpf::abi::arch::AUDIT_ARCH_RISCV64;
/// The AUDIT_ARCH of the native syscall ABI of this build.
#[cfg(target_arch = "s390x")]
pub const NATIVE_ARCH: u32 = sysfence_cbpf::abi::arch::AUDIT_ARCH_S390X;

/// How many times each syscall was made, per AUDIT_ARCH value.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Trace {
    calls: BTreeMap<u32, BTreeMap<u32, u64>>,
}

impl Trace {
    /// An empty trace.
    pub fn new() -> Trace {
        Trace::default()
    }

    /// Counts `count` more calls of `nr` on `arch`.
    pub fn add(&mut self, arch: u32, nr: u32, count: u64) {
        *self.calls.entry(arch).or_default().entry(nr).or_default() += count;
    }

    /// Adds every count of `other`.
    pub fn merge(&mut self, other: &Trace) {
        for (arch, nr, count) in other.iter() {
            self.add(arch, nr, count);
        }
    }

    /// The arches seen, in ascending AUDIT_ARCH order.
    pub fn arches(&self) -> impl Iterator<Item = u32> + '_ {
        self.calls.keys().copied()
    }

    /// The counts for one arch, by syscall number.
    pub fn calls(&self, arch: u32) -> Option<&BTreeMap<u32, u64>> {
        self.calls.get(&arch)
    }

    /// How often `nr` was called on `arch`.
    pub fn count(&self, arch: u32, nr: u32) -> u64 {
        self.calls
            .get(&arch)
            .and_then(|m| m.get(&nr))
            .copied()
            .unwrap_or(0)
    }

    /// Every `(arch, nr, count)`, sorted by arch then number.
    pub fn iter(&self) -> impl Iterator<Item = (u32, u32, u64)> + '_ {
        self.calls
            .iter()
            .flat_map(|(&arch, m)| m.iter().map(move |(&nr, &c)| (arch, nr, c)))
    }

    /// The number of calls in total.
    pub fn total(&self) -> u64 {
        self.iter().map(|(_, _, c)| c).sum()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }
}

/// How the recorded command ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// It exited with this status.
    Code(i32),
    /// It was killed by this signal.
    Signal(i32),
}

/// A finished live recording.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recording {
    /// The syscalls seen, all tasks together.
    pub trace: Trace,
    /// How the command itself (the first process) ended.
    pub exit: Exit,
    /// How many tasks (threads and processes, the command included) were traced.
    pub tasks: u32,
}

/// Why a recording could not be made.
#[derive(Debug)]
pub struct RecordError {
    kind: RecordErrorKind,
}

/// The kinds of [`RecordError`].
#[derive(Debug)]
pub enum RecordErrorKind {
    /// The program was not found (on `PATH` when it has no slash).
    NotFound(OsString),
    /// The program could not be started (not executable, `PTRACE_TRACEME` refused, …).
    Spawn(OsString, io::Error),
    /// A ptrace or wait call failed.
    Trace(&'static str, io::Error),
}

impl RecordError {
    /// What went wrong.
    pub fn kind(&self) -> &RecordErrorKind {
        &self.kind
    }

    fn trace(step: &'static str) -> RecordError {
        RecordError {
            kind: RecordErrorKind::Trace(step, io::Error::last_os_error()),
        }
    }
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            RecordErrorKind::NotFound(p) => write!(f, "{}: command not found", p.to_string_lossy()),
            RecordErrorKind::Spawn(p, e) => write!(f, "{}: {e}", p.to_string_lossy()),
            RecordErrorKind::Trace(step, e) => {
                let hint = if e.raw_os_error() == Some(libc::EPERM) {
                    " (ptrace is not permitted here: check /proc/sys/kernel/yama/ptrace_scope, or a seccomp filter on the recorder)"
                } else {
                    ""
                };
                write!(f, "{step}: {e}{hint}")
            }
        }
    }
}

impl std::error::Error for RecordError {}

/// `PTRACE_GET_SYSCALL_INFO`.
const PTRACE_GET_SYSCALL_INFO: libc::c_uint = 0x420e;
/// `PTRACE_SYSCALL_INFO_ENTRY`.
const SYSCALL_INFO_ENTRY: u8 = 1;

/// `struct ptrace_syscall_info` with the union as raw words; for an entry
/// stop `data[0]` is the number and `data[1..7]` the arguments.
#[repr(C)]
#[derive(Default)]
struct SyscallInfo {
    op: u8,
    pad: u8,
    flags: u16,
    arch: u32,
    instruction_pointer: u64,
    stack_pointer: u64,
    data: [u64; 8],
}

/// Runs `program` with `args` to completion under ptrace and counts every
/// syscall of every thread and child.
pub fn record(program: &OsStr, args: &[OsString]) -> Result<Recording, RecordError> {
    let mut command = std::process::Command::new(program);
    command.args(args);
    // SAFETY: the closure runs in the forked child before execve and makes
    // one async-signal-safe system call.
    unsafe {
        command.pre_exec(|| {
            if libc::ptrace(libc::PTRACE_TRACEME, 0, 0usize, 0usize) != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = command.spawn().map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => RecordError {
            kind: RecordErrorKind::NotFound(program.to_os_string()),
        },
        _ => RecordError {
            kind: RecordErrorKind::Spawn(program.to_os_string(), e),
        },
    })?;
    let pid = child.id() as i32;
    let _quiet = IgnoreInterrupts::new();
    Tracer::new(pid).run()
}

/// Ignores SIGINT and SIGQUIT in the recorder while it lives.
struct IgnoreInterrupts {
    previous: [libc::sighandler_t; 2],
}

impl IgnoreInterrupts {
    const SIGNALS: [libc::c_int; 2] = [libc::SIGINT, libc::SIGQUIT];

    fn new() -> IgnoreInterrupts {
        // SAFETY: SIG_IGN is a valid disposition for both signals.
        let previous = Self::SIGNALS.map(|s| unsafe { libc::signal(s, libc::SIG_IGN) });
        IgnoreInterrupts { previous }
    }
}

impl Drop for IgnoreInterrupts {
    fn drop(&mut self) {
        for (s, h) in Self::SIGNALS.into_iter().zip(self.previous) {
            // SAFETY: restores the disposition `signal` returned earlier.
            unsafe { libc::signal(s, h) };
        }
    }
}

/// The state of one live recording.
struct Tracer {
    pid: i32,
    trace: Trace,
    /// Tasks whose first stop has been seen.
    started: HashSet<i32>,
    exit: Option<Exit>,
}

impl Tracer {
    fn new(pid: i32) -> Tracer {
        Tracer {
            pid,
            trace: Trace::new(),
            started: HashSet::new(),
            exit: None,
        }
    }

    fn run(mut self) -> Result<Recording, RecordError> {
        self.first_stop()?;
        loop {
            let mut status = 0;
            // SAFETY: `status` is a valid out-pointer.
            let tid = unsafe { libc::waitpid(-1, &mut status, libc::__WALL) };
            if tid < 0 {
                match io::Error::last_os_error().raw_os_error() {
                    Some(libc::EINTR) => continue,
                    Some(libc::ECHILD) => break,
                    _ => return Err(RecordError::trace("waitpid")),
                }
            }
            self.on_status(tid, status);
        }
        let exit = self.exit.unwrap_or(Exit::Signal(libc::SIGKILL));
        Ok(Recording {
            trace: self.trace,
            exit,
            tasks: self.started.len() as u32,
        })
    }

    /// Waits for the post-exec SIGTRAP of the command, sets the options and
    /// starts syscall tracing.
    fn first_stop(&mut self) -> Result<(), RecordError> {
        let mut status = 0;
        // SAFETY: `status` is a valid out-pointer.
        if unsafe { libc::waitpid(self.pid, &mut status, libc::__WALL) } < 0 {
            return Err(RecordError::trace("waitpid"));
        }
        if !libc::WIFSTOPPED(status) {
            self.on_status(self.pid, status);
            return Ok(());
        }
        let options = libc::PTRACE_O_TRACESYSGOOD
            | libc::PTRACE_O_TRACEFORK
            | libc::PTRACE_O_TRACEVFORK
            | libc::PTRACE_O_TRACECLONE
            | libc::PTRACE_O_TRACEEXEC
            | libc::PTRACE_O_EXITKILL;
        // SAFETY: PTRACE_SETOPTIONS takes the option bits as `data`.
        if unsafe { libc::ptrace(libc::PTRACE_SETOPTIONS, self.pid, 0usize, options as usize) } != 0
        {
            return Err(RecordError::trace("ptrace(PTRACE_SETOPTIONS)"));
        }
        self.started.insert(self.pid);
        self.trace.add(NATIVE_ARCH, libc::SYS_execve as u32, 1);
        resume(self.pid, 0);
        Ok(())
    }

    /// Handles one `waitpid` report.
    fn on_status(&mut self, tid: i32, status: i32) {
        if libc::WIFEXITED(status) || libc::WIFSIGNALED(status) {
            if tid == self.pid {
                self.exit = Some(if libc::WIFEXITED(status) {
                    Exit::Code(libc::WEXITSTATUS(status))
                } else {
                    Exit::Signal(libc::WTERMSIG(status))
                });
            }
            return;
        }
        if !libc::WIFSTOPPED(status) {
            return;
        }
        let sig = libc::WSTOPSIG(status);
        let inject = if sig == libc::SIGTRAP | 0x80 {
            self.on_syscall(tid);
            0
        } else if status >> 16 != 0 {
            // fork, vfork, clone and exec events: nothing to count.
            0
        } else if self.started.insert(tid) {
            // The first stop of a new task is the SIGSTOP ptrace gives it.
            0
        } else if is_group_stop(tid) {
            0
        } else {
            sig
        };
        resume(tid, inject);
    }

    /// Counts a syscall-entry stop.
    fn on_syscall(&mut self, tid: i32) {
        let mut info = SyscallInfo::default();
        // SAFETY: the kernel writes at most `size_of::<SyscallInfo>()` bytes
        // into `info`.
        let n = unsafe {
            libc::ptrace(
                PTRACE_GET_SYSCALL_INFO,
                tid,
                std::mem::size_of::<SyscallInfo>(),
                &mut info as *mut SyscallInfo,
            )
        };
        if n > 0 && info.op == SYSCALL_INFO_ENTRY {
            self.trace.add(info.arch, info.data[0] as u32, 1);
        }
    }
}

/// Resumes a task until its next syscall stop, delivering `sig` (0 = none).
fn resume(tid: i32, sig: i32) {
    // SAFETY: PTRACE_SYSCALL takes the signal to deliver as `data`. A task
    // that died meanwhile makes it fail with ESRCH, which waitpid reports.
    unsafe { libc::ptrace(libc::PTRACE_SYSCALL, tid, 0usize, sig as usize) };
}

/// Whether a stop is a group stop rather than a signal to deliver:
/// `PTRACE_GETSIGINFO` fails with `EINVAL` only for group stops.
fn is_group_stop(tid: i32) -> bool {
    // SAFETY: `siginfo` is a valid out-pointer of the right type.
    let mut siginfo: libc::siginfo_t = unsafe { std::mem::zeroed() };
    let rc = unsafe {
        libc::ptrace(
            libc::PTRACE_GETSIGINFO,
            tid,
            0usize,
            &mut siginfo as *mut libc::siginfo_t,
        )
    };
    rc != 0 && io::Error::last_os_error().raw_os_error() == Some(libc::EINVAL)
}

/// Reads kernel audit records of seccomp events (`type=SECCOMP` or
/// `type=1326`, as `SCMP_ACT_LOG` and killed calls produce them, from
/// `/var/log/audit/audit.log`, `dmesg` or `journalctl -k`) into a trace: one
/// count per record, keyed by its `arch=` (hex AUDIT_ARCH) and `syscall=`
/// (decimal) fields. Also returns how many seccomp records lacked one of the
/// two fields.
pub fn parse_audit_log(text: &str) -> (Trace, usize) {
    let mut trace = Trace::new();
    let mut skipped = 0;
    for line in text
        .lines()
        .filter(|l| l.contains("type=SECCOMP") || l.contains("type=1326"))
    {
        let field = |key: &str| line.split_whitespace().find_map(|w| w.strip_prefix(key));
        let arch = field("arch=").and_then(|v| u32::from_str_radix(v, 16).ok());
        let nr = field("syscall=").and_then(|v| v.parse::<i64>().ok());
        match (arch, nr) {
            (Some(arch), Some(nr)) => trace.add(arch, nr as u32, 1),
            _ => skipped += 1,
        }
    }
    (trace, skipped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_counts_and_merges() {
        let mut t = Trace::new();
        t.add(0xc000_003e, 1, 2);
        t.add(0xc000_003e, 1, 3);
        t.add(0x4000_0003, 4, 1);
        assert_eq!(t.count(0xc000_003e, 1), 5);
        assert_eq!(t.total(), 6);
        assert_eq!(t.arches().collect::<Vec<_>>(), [0x4000_0003, 0xc000_003e]);
        let mut u = Trace::new();
        u.merge(&t);
        u.merge(&t);
        assert_eq!(u.count(0x4000_0003, 4), 2);
        assert_eq!(
            u.iter().collect::<Vec<_>>(),
            [(0x4000_0003, 4, 2), (0xc000_003e, 1, 10)]
        );
    }

    #[test]
    fn audit_records() {
        let log = "\
type=SECCOMP msg=audit(1700000000.123:42): auid=0 uid=0 gid=0 ses=1 pid=77 comm=\"ls\" exe=\"/usr/bin/ls\" sig=0 arch=c000003e syscall=257 compat=0 ip=0x7f code=0x7ffc0000
type=SECCOMP msg=audit(1700000000.124:43): pid=77 comm=\"ls\" arch=c000003e syscall=257 compat=0 ip=0x7f code=0x7ffc0000
[ 12.5] audit: type=1326 audit(1700000000.200:44): pid=78 comm=\"a\" arch=40000003 syscall=4 compat=1 code=0x7ffc0000
type=SYSCALL msg=audit(1700000000.300:45): arch=c000003e syscall=59 success=yes
type=SECCOMP msg=audit(1700000000.400:46): pid=79 comm=\"b\" syscall=1
";
        let (t, skipped) = parse_audit_log(log);
        assert_eq!(
            t.iter().collect::<Vec<_>>(),
            [(0x4000_0003, 4, 1), (0xc000_003e, 257, 2)]
        );
        assert_eq!(skipped, 1);
    }
}
