//! Real-kernel time per syscall with a filter loaded.
//!
//! In: a list of [`Subject`]s (a name and a cBPF program, or no program at
//! all), a list of [`Probe`]s (a raw syscall number and six arguments) and a
//! [`Config`]. Out: a [`Report`] with, for every (subject, probe), the
//! nanoseconds one call costs and its ratio to the same loop with no filter.
//!
//! How: for every round, for every subject in turn (so slow drifts of a noisy
//! machine hit every subject alike), the parent forks a child; the child pins
//! itself to one CPU, sets `PR_SET_NO_NEW_PRIVS`, installs the filter with
//! `seccomp(SECCOMP_SET_MODE_FILTER)`, then times `batches` loops of `calls`
//! raw syscalls per probe with the time-stamp counter (clock reads never enter
//! the kernel, so they are not filtered) and writes the tick counts to a pipe.
//! The parent keeps the fastest batch of each child, then the median over
//! the rounds; the spread over the rounds (interquartile range / median) is
//! the noise of that row, and the median of the rows' spreads is the run's
//! noise ([`Report::noise`]). Ticks are turned into nanoseconds with a
//! calibration against the monotonic clock made in the parent.
//!
//! Filters are installed as given, except that [`for_timing`] exists for
//! callers whose filters kill or trap: it rewrites every such `ret #k` into
//! `ret ERRNO(EPERM)`, so a denied probe returns instead of ending the child;
//! the program keeps its length and shape.
//!
//! Not checked: that a probe is harmless. Each probe really runs in the child
//! whenever the filter allows it, and always in the unfiltered baseline, so
//! callers pick calls that fail fast or only read (`personality(0xffffffff)`,
//! `ioctl(-1, ...)`, `syslog(10, 0, 0)`). Programs are not validated here;
//! the kernel's verdict on a bad one comes back as [`KernelTimeError::Install`].
#![cfg(target_os = "linux")]
#![allow(unsafe_code)]

use std::fmt;
use std::io;
use std::time::{Duration, Instant};

use sysfence_cbpf::abi::calls;
use sysfence_cbpf::action::{Action, RET_ERRNO};
use sysfence_cbpf::{Insn, Opcode};

/// `SECCOMP_SET_MODE_FILTER`, as `seccomp(2)` takes it.
const SECCOMP_SET_MODE_FILTER: libc::c_ulong = calls::SECCOMP_SET_MODE_FILTER as libc::c_ulong;
/// `SECCOMP_FILTER_FLAG_SPEC_ALLOW`: keep speculation mitigations as the
/// process had them, so the filter's own cost is what is measured.
const SECCOMP_FILTER_FLAG_SPEC_ALLOW: libc::c_ulong =
    calls::SECCOMP_FILTER_FLAG_SPEC_ALLOW as libc::c_ulong;
/// `EPERM`, the errno a rewritten stopping action returns.
const EPERM: u16 = 1;

/// One syscall to time: a raw number and its six arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Probe {
    /// A label for tables (`personality(0xffffffff)`).
    pub name: String,
    /// The native syscall number.
    pub nr: i64,
    /// The arguments, as the syscall sees them.
    pub args: [u64; 6],
}

/// One filter to time, or none.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subject {
    /// A label for tables (`sysfence tree`).
    pub name: String,
    /// The program to install; `None` times the bare syscall.
    pub program: Option<Vec<Insn>>,
}

/// How long to measure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// Syscalls per timed loop.
    pub calls: u32,
    /// Timed loops per probe and child (the fastest is kept).
    pub batches: u32,
    /// Children per subject, interleaved with every other subject.
    pub rounds: u32,
    /// Install with `SECCOMP_FILTER_FLAG_SPEC_ALLOW` (falls back to no flag
    /// on kernels that refuse it).
    pub spec_allow: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            calls: 20_000,
            batches: 5,
            rounds: 7,
            spec_allow: true,
        }
    }
}

/// The time of one probe under one subject.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Row {
    /// Index into [`Report::subjects`].
    pub subject: usize,
    /// Index into [`Report::probes`].
    pub probe: usize,
    /// Median nanoseconds per call over the rounds.
    pub ns_per_call: f64,
    /// Interquartile range over the rounds divided by the median.
    pub spread: f64,
    /// `ns_per_call` over the same probe with no filter.
    pub ratio: f64,
}

/// What the host looked like while measuring; always printed with numbers.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Environment {
    /// `uname -r`.
    pub kernel: String,
    /// `/proc/sys/net/core/bpf_jit_enable`, or `?`.
    pub bpf_jit_enable: String,
    /// `/proc/sys/net/core/bpf_jit_harden`, or `?`.
    pub bpf_jit_harden: String,
    /// `/sys/devices/system/cpu/vulnerabilities/spec_store_bypass`, or `?`.
    pub spec_store_bypass: String,
    /// Whether filters were installed with SPEC_ALLOW.
    pub spec_allow: bool,
}

/// Every measurement of one run.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    /// Subject names, "no filter" first.
    pub subjects: Vec<String>,
    /// Probe names.
    pub probes: Vec<String>,
    /// One row per (subject, probe), subject-major, "no filter" included.
    pub rows: Vec<Row>,
    /// Time-stamp-counter ticks per nanosecond used for the conversion.
    pub ticks_per_ns: f64,
    /// The host.
    pub environment: Environment,
}

impl Report {
    /// The row of one subject and probe.
    pub fn row(&self, subject: usize, probe: usize) -> Option<&Row> {
        self.rows
            .iter()
            .find(|r| r.subject == subject && r.probe == probe)
    }

    /// The run's noise: the median of the rows' spreads.
    pub fn noise(&self) -> f64 {
        let mut v: Vec<f64> = self.rows.iter().map(|r| r.spread).collect();
        v.sort_by(f64::total_cmp);
        median_sorted(&v)
    }
}

/// Why a timing run failed.
#[derive(Debug)]
pub enum KernelTimeError {
    /// A probe list or subject list was empty, or a count was zero.
    Empty(&'static str),
    /// `pipe2` or `fork` failed in the parent.
    Os {
        /// The call that failed.
        call: &'static str,
        /// Its error.
        source: io::Error,
    },
    /// The kernel refused a filter.
    Install {
        /// The subject's name.
        subject: String,
        /// The step that failed (`prctl` or `seccomp`).
        step: &'static str,
        /// The errno.
        errno: i32,
    },
    /// A child ended without a complete result.
    Child {
        /// The subject's name.
        subject: String,
        /// The wait status.
        status: i32,
    },
}

impl fmt::Display for KernelTimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KernelTimeError::Empty(what) => write!(f, "nothing to time: {what}"),
            KernelTimeError::Os { call, source } => write!(f, "{call} failed: {source}"),
            KernelTimeError::Install {
                subject,
                step,
                errno,
            } => {
                write!(
                    f,
                    "subject {subject:?}: {step} failed: {}",
                    io::Error::from_raw_os_error(*errno)
                )
            }
            KernelTimeError::Child { subject, status } => {
                write!(
                    f,
                    "subject {subject:?}: child ended without a result (wait status {status:#x})"
                )
            }
        }
    }
}

impl std::error::Error for KernelTimeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            KernelTimeError::Os { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// A copy of `program` whose stopping returns (`KILL_*`, `TRAP`, `TRACE`,
/// `USER_NOTIF`, unknown actions) return `ERRNO(EPERM)` instead. Only
/// `ret #k` is rewritten; lengths and jumps are untouched.
pub fn for_timing(program: &[Insn]) -> Vec<Insn> {
    program
        .iter()
        .map(|insn| {
            if insn.opcode() != Some(Opcode::RetK) {
                return *insn;
            }
            match Action::from_raw(insn.k) {
                Action::Allow | Action::Log | Action::Errno(_) => *insn,
                _ => Insn {
                    k: RET_ERRNO | u32::from(EPERM),
                    ..*insn
                },
            }
        })
        .collect()
}

/// Times every probe under every subject and under no filter.
pub fn measure(
    subjects: &[Subject],
    probes: &[Probe],
    config: &Config,
) -> Result<Report, KernelTimeError> {
    if probes.is_empty() {
        return Err(KernelTimeError::Empty("no probes"));
    }
    if config.calls == 0 || config.batches == 0 || config.rounds == 0 {
        return Err(KernelTimeError::Empty(
            "calls, batches and rounds must be positive",
        ));
    }
    let mut all = vec![Subject {
        name: "no filter".into(),
        program: None,
    }];
    all.extend(subjects.iter().cloned());
    let ticks_per_ns = calibrate();
    // per_round[subject][probe] = the median batch of each round, in ticks per call.
    let mut per_round =
        vec![vec![Vec::with_capacity(config.rounds as usize); probes.len()]; all.len()];
    for _ in 0..config.rounds {
        for (s, subject) in all.iter().enumerate() {
            let ticks = run_child(subject, probes, config)?;
            for (p, batches) in ticks.chunks(config.batches as usize).enumerate() {
                per_round[s][p].push(fastest(batches) / f64::from(config.calls));
            }
        }
    }
    let mut rows = Vec::with_capacity(all.len() * probes.len());
    for (s, per_probe) in per_round.iter().enumerate() {
        for (p, samples) in per_probe.iter().enumerate() {
            let (ns, spread) = summarize(samples, ticks_per_ns);
            let base = summarize(&per_round[0][p], ticks_per_ns).0;
            let ratio = if base > 0.0 { ns / base } else { f64::NAN };
            rows.push(Row {
                subject: s,
                probe: p,
                ns_per_call: ns,
                spread,
                ratio,
            });
        }
    }
    Ok(Report {
        subjects: all.into_iter().map(|s| s.name).collect(),
        probes: probes.iter().map(|p| p.name.clone()).collect(),
        rows,
        ticks_per_ns,
        environment: environment(config.spec_allow),
    })
}

/// Median and relative interquartile range of per-call tick samples, in ns.
fn summarize(samples: &[f64], ticks_per_ns: f64) -> (f64, f64) {
    let mut v: Vec<f64> = samples.to_vec();
    v.sort_by(f64::total_cmp);
    let m = median_sorted(&v);
    let q = |f: f64| v[((v.len() - 1) as f64 * f).round() as usize];
    let spread = if m > 0.0 {
        (q(0.75) - q(0.25)) / m
    } else {
        0.0
    };
    (m / ticks_per_ns, spread)
}

/// The fastest batch: interference (other processes, interrupts) only ever
/// adds time, so the minimum is the child's best estimate.
fn fastest(samples: &[u64]) -> f64 {
    samples.iter().copied().min().unwrap_or(0) as f64
}

fn median_sorted(v: &[f64]) -> f64 {
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// Time-stamp-counter ticks per nanosecond, from a 50 ms window.
fn calibrate() -> f64 {
    let t0 = Instant::now();
    let c0 = ticks();
    while t0.elapsed() < Duration::from_millis(50) {
        std::hint::spin_loop();
    }
    let c1 = ticks();
    let ns = t0.elapsed().as_nanos() as f64;
    if ns > 0.0 && c1 > c0 {
        (c1 - c0) as f64 / ns
    } else {
        1.0
    }
}

#[cfg(target_arch = "x86_64")]
fn ticks() -> u64 {
    // SAFETY: rdtsc has no preconditions on x86_64.
    unsafe { core::arch::x86_64::_rdtsc() }
}

#[cfg(not(target_arch = "x86_64"))]
fn ticks() -> u64 {
    use std::sync::OnceLock;
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

/// The child's first word: 0, or the failed step (1 prctl, 2 seccomp) in the
/// high half and the errno in the low half.
const STEP_PRCTL: u64 = 1 << 32;
const STEP_SECCOMP: u64 = 2 << 32;

/// Forks one child for `subject`, returns its tick counts, probe-major.
fn run_child(
    subject: &Subject,
    probes: &[Probe],
    config: &Config,
) -> Result<Vec<u64>, KernelTimeError> {
    let words = 1 + probes.len() * config.batches as usize;
    // Everything the child touches is allocated before the fork.
    let mut result = vec![0u64; words];
    let filter: Vec<libc::sock_filter> = subject
        .program
        .iter()
        .flatten()
        .map(|i| libc::sock_filter {
            code: i.code,
            jt: i.jt,
            jf: i.jf,
            k: i.k,
        })
        .collect();
    let prog = libc::sock_fprog {
        len: filter.len() as u16,
        filter: filter.as_ptr().cast_mut(),
    };
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: fds has room for the two descriptors pipe2 writes.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(KernelTimeError::Os {
            call: "pipe2",
            source: io::Error::last_os_error(),
        });
    }
    let (read_fd, write_fd) = (fds[0], fds[1]);
    // SAFETY: the child only makes raw syscalls on memory allocated above and
    // leaves with _exit, so no lock or allocator state of the parent is used.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        let source = io::Error::last_os_error();
        close(read_fd);
        close(write_fd);
        return Err(KernelTimeError::Os {
            call: "fork",
            source,
        });
    }
    if pid == 0 {
        close(read_fd);
        child(
            subject.program.is_some().then_some(&prog),
            probes,
            config,
            &mut result,
        );
        write_all(write_fd, &result);
        // SAFETY: ends the child without running the parent's destructors.
        unsafe { libc::_exit(0) }
    }
    close(write_fd);
    let complete = read_all(read_fd, &mut result);
    close(read_fd);
    let status = wait(pid);
    if !complete {
        return Err(KernelTimeError::Child {
            subject: subject.name.clone(),
            status,
        });
    }
    match result[0] {
        0 => Ok(result.split_off(1)),
        word => Err(KernelTimeError::Install {
            subject: subject.name.clone(),
            step: if word & STEP_SECCOMP == STEP_SECCOMP {
                "seccomp"
            } else {
                "prctl"
            },
            errno: (word & 0xffff_ffff) as i32,
        }),
    }
}

/// The child's work: install, then time. Writes only into `out`.
fn child(prog: Option<&libc::sock_fprog>, probes: &[Probe], config: &Config, out: &mut [u64]) {
    pin_to_last_cpu();
    if let Some(Err(word)) = prog.map(|p| install(p, config.spec_allow)) {
        out[0] = word;
        return;
    }
    let batches = config.batches as usize;
    for (p, probe) in probes.iter().enumerate() {
        time_loop(probe, config.calls); // warm-up
        for b in 0..batches {
            out[1 + p * batches + b] = time_loop(probe, config.calls);
        }
    }
}

fn install(prog: &libc::sock_fprog, spec_allow: bool) -> Result<(), u64> {
    // The error holds the errno without allocating, as a forked child needs.
    if let Err(e) = crate::threads::set_no_new_privs() {
        return Err(STEP_PRCTL | e.errno().unwrap_or(0) as u64);
    }
    let attempt = |flags: libc::c_ulong| {
        // SAFETY: prog points to a live sock_fprog whose filter outlives the call.
        unsafe {
            libc::syscall(
                libc::SYS_seccomp,
                SECCOMP_SET_MODE_FILTER,
                flags,
                prog as *const libc::sock_fprog,
            )
        }
    };
    if spec_allow && attempt(SECCOMP_FILTER_FLAG_SPEC_ALLOW) == 0 {
        return Ok(());
    }
    if attempt(0) == 0 {
        Ok(())
    } else {
        Err(STEP_SECCOMP | errno() as u64)
    }
}

/// Ticks for `calls` raw syscalls of `probe`.
fn time_loop(probe: &Probe, calls: u32) -> u64 {
    let [a0, a1, a2, a3, a4, a5] = probe.args;
    let start = ticks();
    for _ in 0..calls {
        // SAFETY: a raw syscall with plain integer arguments; the caller
        // vouches that the probe is harmless (module docs).
        unsafe {
            libc::syscall(probe.nr as libc::c_long, a0, a1, a2, a3, a4, a5);
        }
    }
    ticks().wrapping_sub(start)
}

fn pin_to_last_cpu() {
    // SAFETY: CPU_* helpers and sched_setaffinity act on a local cpu_set_t.
    unsafe {
        let n = libc::sysconf(libc::_SC_NPROCESSORS_ONLN);
        if n < 1 {
            return;
        }
        let mut set: libc::cpu_set_t = core::mem::zeroed();
        libc::CPU_SET((n - 1) as usize, &mut set);
        libc::sched_setaffinity(0, core::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

fn errno() -> i32 {
    io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

fn close(fd: libc::c_int) {
    // SAFETY: fd is a descriptor this module opened.
    unsafe {
        libc::close(fd);
    }
}

fn write_all(fd: libc::c_int, words: &[u64]) {
    let bytes = words.len() * 8;
    let mut done = 0;
    while done < bytes {
        // SAFETY: the range lies inside `words`.
        let n = unsafe {
            libc::write(
                fd,
                words.as_ptr().cast::<u8>().add(done).cast(),
                bytes - done,
            )
        };
        if n <= 0 {
            return;
        }
        done += n as usize;
    }
}

fn read_all(fd: libc::c_int, words: &mut [u64]) -> bool {
    let bytes = words.len() * 8;
    let mut done = 0;
    while done < bytes {
        // SAFETY: the range lies inside `words`.
        let n = unsafe {
            libc::read(
                fd,
                words.as_mut_ptr().cast::<u8>().add(done).cast(),
                bytes - done,
            )
        };
        if n < 0 && errno() == libc::EINTR {
            continue;
        }
        if n <= 0 {
            return false;
        }
        done += n as usize;
    }
    true
}

fn wait(pid: libc::pid_t) -> i32 {
    let mut status = 0;
    loop {
        // SAFETY: waits for our own child.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r >= 0 || errno() != libc::EINTR {
            return status;
        }
    }
}

fn environment(spec_allow: bool) -> Environment {
    let read = |path: &str| {
        std::fs::read_to_string(path)
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|_| "?".into())
    };
    Environment {
        kernel: read("/proc/sys/kernel/osrelease"),
        bpf_jit_enable: read("/proc/sys/net/core/bpf_jit_enable"),
        bpf_jit_harden: read("/proc/sys/net/core/bpf_jit_harden"),
        spec_store_bypass: read("/sys/devices/system/cpu/vulnerabilities/spec_store_bypass"),
        spec_allow,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RET_ALLOW: Insn = Insn::op(Opcode::RetK, 0, 0, sysfence_cbpf::action::RET_ALLOW);

    #[test]
    fn for_timing_rewrites_only_stopping_returns() {
        let prog = [
            Insn::op(Opcode::RetK, 0, 0, 0x8000_0000),
            Insn::op(Opcode::RetK, 0, 0, 0x0003_0007),
            Insn::op(Opcode::RetK, 0, 0, 0x0005_0026),
            RET_ALLOW,
            Insn::op(Opcode::RetA, 0, 0, 0),
        ];
        let out = for_timing(&prog);
        assert_eq!(
            out.iter().map(|i| i.k).collect::<Vec<_>>(),
            [0x0005_0001, 0x0005_0001, 0x0005_0026, 0x7fff_0000, 0]
        );
    }

    #[test]
    fn summarize_reports_median_and_relative_iqr() {
        let (ns, spread) = summarize(&[10.0, 30.0, 20.0, 20.0, 20.0], 2.0);
        assert_eq!(ns, 10.0);
        assert_eq!(spread, 0.0);
        let (_, spread) = summarize(&[10.0, 20.0, 30.0], 1.0);
        assert_eq!(spread, 0.5);
    }

    /// Needs Linux and permission to fork and install filters (any user can,
    /// thanks to NO_NEW_PRIVS).
    #[test]
    fn every_subject_is_timed_against_the_unfiltered_baseline() {
        let getppid = Probe {
            name: "getppid".into(),
            nr: libc::SYS_getppid,
            args: [0; 6],
        };
        // ld [0]; jeq getppid, 0, 1; ret KILL_PROCESS; ret ALLOW
        let deny = vec![
            Insn::op(Opcode::LdAbsW, 0, 0, 0),
            Insn::op(Opcode::JeqK, 0, 1, libc::SYS_getppid as u32),
            Insn::op(Opcode::RetK, 0, 0, 0x8000_0000),
            RET_ALLOW,
        ];
        let subjects = [Subject {
            name: "deny getppid".into(),
            program: Some(for_timing(&deny)),
        }];
        let config = Config {
            calls: 200,
            batches: 2,
            rounds: 2,
            spec_allow: true,
        };
        let report = match measure(&subjects, &[getppid], &config) {
            Ok(r) => r,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(report.subjects, ["no filter", "deny getppid"]);
        assert_eq!(report.rows.len(), 2);
        assert_eq!(report.row(0, 0).map(|r| r.ratio), Some(1.0));
        assert!(report.rows.iter().all(|r| r.ns_per_call > 0.0));
    }

    #[test]
    fn a_refused_filter_reports_the_step() {
        let bad = Subject {
            name: "empty".into(),
            program: Some(vec![]),
        };
        let probe = Probe {
            name: "getppid".into(),
            nr: libc::SYS_getppid,
            args: [0; 6],
        };
        let config = Config {
            calls: 1,
            batches: 1,
            rounds: 1,
            spec_allow: false,
        };
        match measure(&[bad], &[probe], &config) {
            Err(KernelTimeError::Install { step, errno, .. }) => {
                assert_eq!(step, "seccomp");
                assert_eq!(errno, libc::EINVAL);
            }
            other => panic!("expected an install error, got {other:?}"),
        }
    }
}
