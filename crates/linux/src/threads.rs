//! Installing a filter on the calling thread or on every thread of the process.
//!
//! In: raw instructions (`&[Insn]`, normally the bytes of a validated
//! `sysfence_cbpf::program::Program` or a compiled profile) and a set of
//! [`Flags`]. Out: the filter attached by `seccomp(SECCOMP_SET_MODE_FILTER)`,
//! or an [`InstallError`] that says which step the kernel refused and why.
//!
//! Not checked here: the program itself. The kernel validates it and answers
//! `EINVAL` for any content it dislikes; run the cBPF validator first for a
//! message with a pc. `no_new_privs` is *not* set implicitly: call
//! [`set_no_new_privs`] first unless the caller has `CAP_SYS_ADMIN`.
//!
//! Filters are per thread. [`install_thread`] confines only the calling
//! thread (and the threads and processes it creates afterwards);
//! [`install_all_threads`] uses `SECCOMP_FILTER_FLAG_TSYNC` so every thread
//! of the process gets the same filter stack, and reports the id of a thread
//! the kernel could not synchronise (one that already has a diverging
//! filter stack).
//!
//! # Per-thread filters, as a VMM does it
//!
//! A virtual machine monitor gives each kind of thread its own allow-list:
//! the main (`vmm`) thread, the HTTP `api` thread and one thread per `vcpu`.
//! Each thread installs its filter as the first thing it does, so the other
//! threads are not affected. (`vmm_insns` and friends would be compiled from
//! one seccompiler-style profile with a section per thread kind.)
//!
//! ```no_run
//! use sysfence_cbpf::Insn;
//! use sysfence_linux::threads::{install_thread, set_no_new_privs, Flags};
//!
//! fn spawn_confined(name: &str, filter: Vec<Insn>, body: fn()) -> std::thread::JoinHandle<()> {
//!     std::thread::Builder::new()
//!         .name(name.to_string())
//!         .spawn(move || {
//!             install_thread(&filter, Flags::empty()).expect("install the thread's filter");
//!             body();
//!         })
//!         .expect("spawn")
//! }
//!
//! # fn vmm_insns() -> Vec<Insn> { vec![Insn::new(0x06, 0, 0, 0x7fff_0000)] }
//! # fn api_insns() -> Vec<Insn> { vmm_insns() }
//! # fn vcpu_insns() -> Vec<Insn> { vmm_insns() }
//! # fn serve_api() {}
//! # fn run_vcpu() {}
//! # fn run_event_loop() {}
//! set_no_new_privs().expect("no_new_privs");
//! let api = spawn_confined("api", api_insns(), serve_api);
//! let vcpus: Vec<_> = (0..2).map(|i| spawn_confined(&format!("vcpu{i}"), vcpu_insns(), run_vcpu)).collect();
//! install_thread(&vmm_insns(), Flags::empty()).expect("vmm filter");
//! run_event_loop();
//! # drop((api, vcpus));
//! ```
//!
//! To confine a whole process that already runs several threads (a
//! sandbox that starts late), use [`install_all_threads`] instead; a thread
//! that cannot be synchronised is named in [`InstallError::thread`].
#![allow(unsafe_code)]

use std::fmt;
use std::io;

use sysfence_cbpf::Insn;
use sysfence_cbpf::abi::calls;

/// `SECCOMP_SET_MODE_FILTER`, as `seccomp(2)` takes it.
const SECCOMP_SET_MODE_FILTER: libc::c_ulong = calls::SECCOMP_SET_MODE_FILTER as libc::c_ulong;

/// The `seccomp(2)` filter flags this crate knows, as a small bit set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Flags(u32);

impl Flags {
    /// `SECCOMP_FILTER_FLAG_TSYNC`: put the filter on every thread.
    pub const TSYNC: Flags = Flags(calls::SECCOMP_FILTER_FLAG_TSYNC);
    /// `SECCOMP_FILTER_FLAG_LOG`: log ERRNO, TRAP, TRACE and USER_NOTIF results.
    pub const LOG: Flags = Flags(calls::SECCOMP_FILTER_FLAG_LOG);
    /// `SECCOMP_FILTER_FLAG_SPEC_ALLOW`: do not force the speculative-store-bypass mitigation.
    pub const SPEC_ALLOW: Flags = Flags(calls::SECCOMP_FILTER_FLAG_SPEC_ALLOW);

    /// The flags by name, in bit order; the names [`Flags::parse`] accepts.
    pub const NAMED: [(&'static str, Flags); 3] = [
        ("tsync", Flags::TSYNC),
        ("log", Flags::LOG),
        ("spec_allow", Flags::SPEC_ALLOW),
    ];

    /// No flags.
    pub const fn empty() -> Flags {
        Flags(0)
    }

    /// The raw value handed to `seccomp(2)`.
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// Both sets together.
    pub const fn union(self, other: Flags) -> Flags {
        Flags(self.0 | other.0)
    }

    /// This set without the flags of `other`.
    pub const fn without(self, other: Flags) -> Flags {
        Flags(self.0 & !other.0)
    }

    /// Whether every flag of `other` is in this set.
    pub const fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Parses a comma-separated list such as `tsync,log,spec_allow`
    /// (case-insensitive; an optional `SECCOMP_FILTER_FLAG_` prefix is
    /// accepted). The error is the unknown name.
    pub fn parse(list: &str) -> Result<Flags, String> {
        let mut flags = Flags::empty();
        for word in list.split(',').map(str::trim).filter(|w| !w.is_empty()) {
            let lower = word.to_ascii_lowercase();
            let bare = lower.strip_prefix("seccomp_filter_flag_").unwrap_or(&lower);
            match Flags::NAMED.iter().find(|(n, _)| *n == bare) {
                Some(&(_, f)) => flags = flags.union(f),
                None => return Err(word.to_string()),
            }
        }
        Ok(flags)
    }

    /// Each flag of the set on its own, with its name.
    pub fn each(self) -> impl Iterator<Item = (&'static str, Flags)> {
        Flags::NAMED
            .into_iter()
            .filter(move |&(_, f)| self.contains(f))
    }
}

impl fmt::Display for Flags {
    /// `tsync,log`, or `none`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("none");
        }
        let names: Vec<&str> = self.each().map(|(n, _)| n).collect();
        f.write_str(&names.join(","))
    }
}

/// The step of an install that failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// `prctl(PR_SET_NO_NEW_PRIVS)`.
    NoNewPrivs,
    /// `seccomp(SECCOMP_SET_MODE_FILTER)`.
    Attach,
}

/// Why a filter was not installed.
#[derive(Debug)]
pub struct InstallError {
    step: Step,
    kind: InstallErrorKind,
}

#[derive(Debug)]
enum InstallErrorKind {
    /// The program has more instructions than `sock_fprog.len` can hold.
    TooLong(usize),
    /// TSYNC could not synchronise this thread.
    Thread(i32),
    /// The kernel answered with an errno.
    Os(io::Error),
}

impl InstallError {
    fn os(step: Step, e: io::Error) -> InstallError {
        InstallError {
            step,
            kind: InstallErrorKind::Os(e),
        }
    }

    /// Which step failed.
    pub fn step(&self) -> Step {
        self.step
    }

    /// The id of the thread TSYNC could not synchronise, if that was the failure.
    pub fn thread(&self) -> Option<i32> {
        match self.kind {
            InstallErrorKind::Thread(tid) => Some(tid),
            _ => None,
        }
    }

    /// The errno the kernel answered, if it answered with one.
    pub fn errno(&self) -> Option<i32> {
        match &self.kind {
            InstallErrorKind::Os(e) => e.raw_os_error(),
            _ => None,
        }
    }
}

impl fmt::Display for InstallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.kind, self.step) {
            (InstallErrorKind::TooLong(n), _) => {
                write!(
                    f,
                    "program has {n} instructions; seccomp(2) takes at most 65535 (and the kernel 4096)"
                )
            }
            (InstallErrorKind::Thread(tid), _) => write!(
                f,
                "thread {tid} could not be synchronised (SECCOMP_FILTER_FLAG_TSYNC): its filter stack differs from the caller's"
            ),
            (InstallErrorKind::Os(e), Step::NoNewPrivs) => {
                write!(f, "prctl(PR_SET_NO_NEW_PRIVS): {e}")
            }
            (InstallErrorKind::Os(e), Step::Attach) => {
                write!(f, "seccomp(SECCOMP_SET_MODE_FILTER): {e}{}", hint(e))
            }
        }
    }
}

impl std::error::Error for InstallError {}

/// A short explanation of what an errno from `seccomp(2)` usually means.
fn hint(e: &io::Error) -> &'static str {
    match e.raw_os_error() {
        Some(libc::ENOSYS) => " (this kernel has no seccomp support)",
        Some(libc::EACCES) => " (neither no_new_privs nor CAP_SYS_ADMIN)",
        Some(libc::EINVAL) => " (the kernel rejected the program or a flag)",
        Some(libc::ENOMEM) => " (the stacked filters exceed the kernel's 32768-instruction budget)",
        Some(libc::EFAULT) => " (the program could not be read)",
        _ => "",
    }
}

/// Sets `no_new_privs` on the calling thread (inherited by children and kept
/// across `execve`), which lets an unprivileged thread install filters.
pub fn set_no_new_privs() -> Result<(), InstallError> {
    // SAFETY: PR_SET_NO_NEW_PRIVS takes integer arguments only.
    let rc = unsafe {
        libc::prctl(
            libc::PR_SET_NO_NEW_PRIVS,
            1 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(InstallError::os(
            Step::NoNewPrivs,
            io::Error::last_os_error(),
        ))
    }
}

/// The raw `seccomp(SECCOMP_SET_MODE_FILTER, flags, prog)` call. A positive
/// return with TSYNC is the id of the thread that could not be synchronised.
fn attach(insns: &[Insn], flags: Flags) -> Result<i64, InstallError> {
    let len = u16::try_from(insns.len()).map_err(|_| InstallError {
        step: Step::Attach,
        kind: InstallErrorKind::TooLong(insns.len()),
    })?;
    // `Insn` is `#[repr(C)]` with the layout of `struct sock_filter`.
    let prog = libc::sock_fprog {
        len,
        filter: insns.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: `prog` points at `len` valid instructions that outlive the call;
    // the kernel only reads them.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            SECCOMP_SET_MODE_FILTER,
            flags.bits() as libc::c_ulong,
            &prog as *const libc::sock_fprog,
        )
    };
    if rc < 0 {
        Err(InstallError::os(Step::Attach, io::Error::last_os_error()))
    } else {
        Ok(rc)
    }
}

/// Installs a filter on the calling thread only. TSYNC in `flags` is
/// ignored; use [`install_all_threads`] for that.
pub fn install_thread(insns: &[Insn], flags: Flags) -> Result<(), InstallError> {
    attach(insns, flags.without(Flags::TSYNC)).map(drop)
}

/// Installs a filter on every thread of the process
/// (`SECCOMP_FILTER_FLAG_TSYNC`). When a thread cannot be synchronised the
/// kernel installs nothing and the error names that thread.
pub fn install_all_threads(insns: &[Insn], flags: Flags) -> Result<(), InstallError> {
    match attach(insns, flags.union(Flags::TSYNC))? {
        0 => Ok(()),
        tid => Err(InstallError {
            step: Step::Attach,
            kind: InstallErrorKind::Thread(tid as i32),
        }),
    }
}

/// Installs with `flags`, TSYNC included or not, as given.
pub fn install(insns: &[Insn], flags: Flags) -> Result<(), InstallError> {
    if flags.contains(Flags::TSYNC) {
        install_all_threads(insns, flags)
    } else {
        install_thread(insns, flags)
    }
}

/// What the running kernel says about seccomp filter mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Support {
    /// Filter mode is available.
    Filter,
    /// The kernel was built without `CONFIG_SECCOMP_FILTER` (or without seccomp).
    Missing,
}

/// Asks the kernel whether filter mode exists, without changing anything:
/// `seccomp(SECCOMP_SET_MODE_FILTER, 0, NULL)` fails with `EFAULT` when it
/// does (the NULL program is read after the mode is accepted) and with
/// `EINVAL`/`ENOSYS` when it does not.
pub fn support() -> Support {
    match probe(0) {
        Some(libc::EFAULT) | Some(libc::EACCES) => Support::Filter,
        _ => Support::Missing,
    }
}

/// Whether the kernel knows a flag: the flag check comes before the program
/// is read, so a known flag with a NULL program gives `EFAULT` and an
/// unknown one `EINVAL`. Nothing is installed either way.
pub fn flag_supported(flag: Flags) -> bool {
    matches!(probe(flag.bits()), Some(libc::EFAULT) | Some(libc::EACCES))
}

/// The flags of `flags` this kernel does not know.
pub fn unsupported_flags(flags: Flags) -> Flags {
    flags
        .each()
        .filter(|&(_, f)| !flag_supported(f))
        .fold(Flags::empty(), |acc, (_, f)| acc.union(f))
}

fn probe(flags: u32) -> Option<i32> {
    // SAFETY: a NULL program pointer is rejected by the kernel with EFAULT
    // (or earlier with EINVAL/EACCES); nothing is read or written.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            SECCOMP_SET_MODE_FILTER,
            flags as libc::c_ulong,
            std::ptr::null::<libc::sock_fprog>(),
        )
    };
    if rc < 0 {
        io::Error::last_os_error().raw_os_error()
    } else {
        None
    }
}

/// The calling thread's id (`gettid`).
pub fn current_thread_id() -> i32 {
    // SAFETY: gettid has no arguments and cannot fail.
    unsafe { libc::gettid() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_parse_and_print() {
        assert_eq!(
            Flags::parse("tsync,LOG").unwrap(),
            Flags::TSYNC.union(Flags::LOG)
        );
        assert_eq!(
            Flags::parse("SECCOMP_FILTER_FLAG_SPEC_ALLOW")
                .unwrap()
                .bits(),
            4
        );
        assert_eq!(Flags::parse("").unwrap(), Flags::empty());
        assert_eq!(Flags::parse("tsync,bogus").unwrap_err(), "bogus");
        assert_eq!(
            Flags::TSYNC.union(Flags::SPEC_ALLOW).to_string(),
            "tsync,spec_allow"
        );
        assert_eq!(Flags::empty().to_string(), "none");
        assert_eq!(
            Flags::LOG.union(Flags::TSYNC).without(Flags::TSYNC),
            Flags::LOG
        );
    }

    #[test]
    fn probing_installs_nothing() {
        // Whatever the kernel supports, probing must leave this process unfiltered.
        let before = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let _ = support();
        let _ = unsupported_flags(Flags::TSYNC.union(Flags::LOG).union(Flags::SPEC_ALLOW));
        let after = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let seccomp = |s: &str| {
            s.lines()
                .find(|l| l.starts_with("Seccomp:"))
                .map(str::to_string)
        };
        assert_eq!(seccomp(&before), seccomp(&after));
    }
}
