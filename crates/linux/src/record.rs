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
use std::sync::atomic::{AtomicI32, Ordering};

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
    /// Tasks still running when the command exited and recording stopped
    /// (see [`record_with`]); they were killed with the recorder's exit.
    pub left_running: u32,
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

/// `PTRACE_GET_SYSCALL_INFO`, as `ptrace(2)` takes it.
const PTRACE_GET_SYSCALL_INFO: libc::c_uint = sysfence_cbpf::abi::calls::PTRACE_GET_SYSCALL_INFO;
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
    record_with(program, args, true)
}

/// Like [`record`]; with `follow_children` false, recording stops when the
/// command itself exits: tasks it left running in the background are not
/// waited for, and are killed when the recorder exits
/// (`PTRACE_O_EXITKILL`), as a container's processes end with its first
/// one. [`Recording::left_running`] counts them.
pub fn record_with(
    program: &OsStr,
    args: &[OsString],
    follow_children: bool,
) -> Result<Recording, RecordError> {
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
    let mut tracer = Tracer::new(pid);
    tracer.follow_children = follow_children;
    tracer.run()
}

/// While the recorder lives: SIGINT and SIGQUIT (which a terminal sends to
/// the whole foreground group, the command included) are ignored; SIGTERM
/// and SIGHUP (which `kill` and a closing terminal send to the recorder
/// alone) are caught and forwarded to the command by [`Tracer::run`], so
/// the command ends and what was recorded is still returned.
struct IgnoreInterrupts {
    previous: [libc::sighandler_t; 4],
}

/// The last SIGTERM or SIGHUP the recorder caught, 0 for none.
static FORWARD: AtomicI32 = AtomicI32::new(0);

extern "C" fn remember(signal: libc::c_int) {
    FORWARD.store(signal, Ordering::Relaxed);
}

impl IgnoreInterrupts {
    const SIGNALS: [libc::c_int; 4] = [libc::SIGINT, libc::SIGQUIT, libc::SIGTERM, libc::SIGHUP];

    fn new() -> IgnoreInterrupts {
        let previous = Self::SIGNALS.map(|s| {
            let handler = if s == libc::SIGTERM || s == libc::SIGHUP {
                remember as extern "C" fn(libc::c_int) as libc::sighandler_t
            } else {
                libc::SIG_IGN
            };
            // SAFETY: `sigaction` without SA_RESTART, so a blocked waitpid
            // returns EINTR; the handler only stores to an atomic, which
            // is async-signal-safe. `old` is a valid out-pointer.
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = handler;
                let mut old: libc::sigaction = std::mem::zeroed();
                libc::sigaction(s, &action, &mut old);
                old.sa_sigaction
            }
        });
        IgnoreInterrupts { previous }
    }

    /// The SIGTERM or SIGHUP caught since the last call, if any.
    fn take() -> Option<i32> {
        Some(FORWARD.swap(0, Ordering::Relaxed)).filter(|&s| s != 0)
    }
}

impl Drop for IgnoreInterrupts {
    fn drop(&mut self) {
        for (s, h) in Self::SIGNALS.into_iter().zip(self.previous) {
            // SAFETY: restores the disposition `sigaction` returned earlier.
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
    /// Tasks seen and not yet ended.
    alive: HashSet<i32>,
    exit: Option<Exit>,
    /// Whether to wait for every task rather than the command alone.
    follow_children: bool,
}

impl Tracer {
    fn new(pid: i32) -> Tracer {
        Tracer {
            pid,
            trace: Trace::new(),
            started: HashSet::new(),
            alive: HashSet::new(),
            exit: None,
            follow_children: true,
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
                    Some(libc::EINTR) => {
                        if let Some(signal) = IgnoreInterrupts::take() {
                            // SAFETY: kill takes integers; `pid` is our child.
                            unsafe { libc::kill(self.pid, signal) };
                        }
                        continue;
                    }
                    Some(libc::ECHILD) => break,
                    _ => return Err(RecordError::trace("waitpid")),
                }
            }
            self.on_status(tid, status);
            if self.exit.is_some() && !self.follow_children {
                break;
            }
        }
        let exit = self.exit.unwrap_or(Exit::Signal(libc::SIGKILL));
        Ok(Recording {
            trace: self.trace,
            exit,
            tasks: self.started.len() as u32,
            left_running: self.alive.len() as u32,
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
        self.alive.insert(self.pid);
        self.trace.add(NATIVE_ARCH, libc::SYS_execve as u32, 1);
        resume(self.pid, 0);
        Ok(())
    }

    /// Handles one `waitpid` report.
    fn on_status(&mut self, tid: i32, status: i32) {
        if libc::WIFEXITED(status) || libc::WIFSIGNALED(status) {
            self.alive.remove(&tid);
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
            // fork, vfork and clone events: the new task is traced from its
            // creation, so it counts as alive now, even if the command exits
            // before its first stop is reported. Exec by a thread that is not
            // the leader: it takes the leader's id, and its former id goes
            // away with no exit report.
            let event = status >> 16;
            if matches!(
                event,
                libc::PTRACE_EVENT_FORK | libc::PTRACE_EVENT_VFORK | libc::PTRACE_EVENT_CLONE
            ) && let Some(new) = event_msg(tid)
            {
                self.alive.insert(new);
            } else if event == libc::PTRACE_EVENT_EXEC
                && let Some(former) = event_msg(tid)
                && former != tid
            {
                self.alive.remove(&former);
                self.alive.insert(tid);
            }
            0
        } else if self.started.insert(tid) {
            // The first stop of a new task is the SIGSTOP ptrace gives it.
            self.alive.insert(tid);
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

/// The message of a ptrace event stop: the new task's id for fork, vfork
/// and clone events, the former thread id for exec.
fn event_msg(tid: i32) -> Option<i32> {
    let mut msg: libc::c_ulong = 0;
    // SAFETY: PTRACE_GETEVENTMSG writes one `unsigned long` to `data`.
    let rc = unsafe {
        libc::ptrace(
            libc::PTRACE_GETEVENTMSG,
            tid,
            0usize,
            &mut msg as *mut libc::c_ulong,
        )
    };
    (rc == 0).then_some(msg as i32)
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

/// Reads kernel audit records of seccomp events into a trace (see
/// [`crate::audit::read`], which also selects records and reports loss);
/// also returns how many records lacked `arch=` or `syscall=`.
pub fn parse_audit_log(text: &str) -> (Trace, usize) {
    let log = crate::audit::read(text, &crate::audit::Select::default());
    (log.trace, log.malformed)
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
