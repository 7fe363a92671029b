//! Raw x86_64 system calls, a shared result page and short-lived probe
//! children: the mechanics under [`crate::oracle`].
//!
//! A probe child is forked from the caller, loads one seccomp filter and from
//! then on executes **no library code at all**: only raw `syscall`
//! instructions (this module's inline assembly), stores to a
//! `MAP_SHARED | MAP_ANONYMOUS` region, and finally `pause` in a spin loop.
//! A [`Job::Probe`] child probes inputs under the filter it loaded; a
//! [`Job::Check`] child asks the kernel to validate many programs without
//! attaching any of them.
//! The parent watches the region and the child's exit status and kills the
//! child when it has what it needs. The child uses raw system calls even
//! before the filter is loaded, so nothing it runs after `fork()` depends on
//! locks another thread of the parent might have held.
//!
//! What is not handled here: choosing inputs, rewriting programs and decoding
//! results (all in [`crate::oracle`]).
#![allow(unsafe_code)]

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sysfence_cbpf::Opcode;
use sysfence_cbpf::abi::action::RET_ALLOW;
use sysfence_cbpf::abi::calls;

use crate::error::Error;

/// `SECCOMP_SET_MODE_FILTER`, as a raw syscall argument.
const SECCOMP_SET_MODE_FILTER: u64 = calls::SECCOMP_SET_MODE_FILTER as u64;
/// `SECCOMP_GET_ACTION_AVAIL`, as a raw syscall argument.
const SECCOMP_GET_ACTION_AVAIL: u64 = calls::SECCOMP_GET_ACTION_AVAIL as u64;
/// `SECCOMP_FILTER_FLAG_SPEC_ALLOW`: skip the speculative-store-bypass
/// mitigation, which only slows the probe down.
const SECCOMP_FILTER_FLAG_SPEC_ALLOW: u64 = calls::SECCOMP_FILTER_FLAG_SPEC_ALLOW as u64;
/// `SECCOMP_FILTER_FLAG_NEW_LISTENER`: return a notification listener fd.
const SECCOMP_FILTER_FLAG_NEW_LISTENER: u64 = calls::SECCOMP_FILTER_FLAG_NEW_LISTENER as u64;

/// The syscall numbers the child uses, from libc's table for this target
/// (x86_64), as the rest of the crate takes them.
const NR_PRCTL: u64 = libc::SYS_prctl as u64;
const NR_PRLIMIT64: u64 = libc::SYS_prlimit64 as u64;
const NR_SECCOMP: u64 = libc::SYS_seccomp as u64;
const NR_EXIT_GROUP: u64 = libc::SYS_exit_group as u64;

/// How long a child may go without finishing before the parent gives up.
const TIMEOUT: Duration = Duration::from_secs(20);

/// `loaded` before the child has reported the outcome of `seccomp()`.
const PENDING: i64 = i64::MIN;

/// How a probe enters the kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Abi {
    /// The `syscall` instruction: `AUDIT_ARCH_X86_64`, arguments in
    /// `rdi, rsi, rdx, r10, r8, r9`.
    X86_64,
    /// `int 0x80`: `AUDIT_ARCH_I386`, arguments in
    /// `rbx, rcx, rdx, rsi, rdi, rbp` (all 64 bits of each reach `args[]`).
    I386,
}

/// The registers of one probe: the entry, `rax` (the syscall number) and the
/// six argument registers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Regs {
    pub(crate) abi: Abi,
    pub(crate) rax: u64,
    pub(crate) args: [u64; 6],
}

/// Issues one system call with every register given.
///
/// # Safety
///
/// A raw system call can do anything the process may do (unmap memory, exit,
/// change signal handlers). The caller must make sure `nr` and `args` describe
/// a call that leaves the process in a state it can continue from.
#[inline(always)]
unsafe fn raw_syscall(nr: u64, args: [u64; 6]) -> u64 {
    let ret: u64;
    // SAFETY: the `syscall` instruction reads rax and the six argument
    // registers and clobbers only rax, rcx and r11, which are all declared.
    // It does not touch the stack. What the call itself does is the caller's
    // responsibility (see the function's contract).
    unsafe {
        core::arch::asm!(
            "syscall",
            inlateout("rax") nr => ret,
            in("rdi") args[0],
            in("rsi") args[1],
            in("rdx") args[2],
            in("r10") args[3],
            in("r8") args[4],
            in("r9") args[5],
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    ret
}

/// Issues one i386 system call through `int 0x80`.
///
/// # Safety
///
/// As for [`raw_syscall`].
#[inline(always)]
unsafe fn raw_int80(nr: u64, args: [u64; 6]) -> u64 {
    let ret: u64;
    // SAFETY: rbx and rbp cannot be named as operands, so their values are
    // swapped in from two scratch registers around `int 0x80` and swapped
    // back right after; nothing between the swaps uses the stack or the
    // frame pointer. The 64-bit kernel's int 0x80 entry returns in rax and
    // clears r8-r11, all declared as clobbered.
    unsafe {
        core::arch::asm!(
            "xchg rbx, {a0}",
            "xchg rbp, {a5}",
            "int 0x80",
            "xchg rbp, {a5}",
            "xchg rbx, {a0}",
            a0 = inout(reg) args[0] => _,
            a5 = inout(reg) args[5] => _,
            inlateout("rax") nr => ret,
            in("rcx") args[1],
            in("rdx") args[2],
            in("rsi") args[3],
            in("rdi") args[4],
            lateout("r8") _,
            lateout("r9") _,
            lateout("r10") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    ret
}

/// The one `syscall` and the one `int 0x80` instruction every probe goes
/// through, so that every probe of an ABI sees the same
/// `instruction_pointer`: this function is never inlined, and probe
/// children are forked from the caller, so the addresses are the same in all
/// of them.
///
/// # Safety
///
/// As for [`raw_syscall`]; probe children call it only under a filter that
/// answers every system call with `SECCOMP_RET_ERRNO` (the oracle) or
/// `SECCOMP_RET_TRACE` with no tracer (`probe`), so no call runs.
#[inline(never)]
unsafe fn probe_syscall(regs: &Regs) -> u64 {
    // SAFETY: forwarded to the caller's contract.
    unsafe {
        match regs.abi {
            Abi::X86_64 => raw_syscall(regs.rax, regs.args),
            Abi::I386 => raw_int80(regs.rax, regs.args),
        }
    }
}

/// Converts a raw return value into `Ok(value)` or `Err(errno)`.
fn check(ret: u64) -> Result<u64, i32> {
    let signed = ret as i64;
    if (-4095..0).contains(&signed) {
        Err(-signed as i32)
    } else {
        Ok(ret)
    }
}

/// Whether `seccomp(SECCOMP_GET_ACTION_AVAIL)` knows `action`.
pub(crate) fn action_available(action: u32) -> Result<(), i32> {
    let value = action;
    // SAFETY: SECCOMP_GET_ACTION_AVAIL only reads the u32 behind the pointer,
    // which lives on this stack frame for the whole call.
    let ret = unsafe {
        raw_syscall(
            NR_SECCOMP,
            [
                SECCOMP_GET_ACTION_AVAIL,
                0,
                &value as *const u32 as u64,
                0,
                0,
                0,
            ],
        )
    };
    check(ret).map(|_| ())
}

/// The header and the result words of the region shared with a child.
#[repr(C)]
struct Header {
    /// What `seccomp(SET_MODE_FILTER)` returned in the child, or [`PENDING`].
    loaded: AtomicI64,
    /// Number of inputs whose result is stored (an index into the inputs).
    progress: AtomicU64,
}

/// A `MAP_SHARED | MAP_ANONYMOUS` region: a [`Header`] and one result word
/// per input. It survives `fork()` as the same physical pages, so the parent
/// sees the child's stores.
pub(crate) struct Shared {
    base: *mut u8,
    size: usize,
    results: usize,
}

impl Shared {
    /// Maps a region for `results` result words.
    pub(crate) fn new(results: usize) -> Result<Shared, Error> {
        let size = size_of::<Header>() + 8 * results.max(1);
        // SAFETY: an anonymous mapping with no address hint touches no
        // existing memory; the result is checked against MAP_FAILED.
        let base = unsafe {
            libc::mmap(
                core::ptr::null_mut(),
                size,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(Error::last_os("mmap"));
        }
        Ok(Shared {
            base: base.cast(),
            size,
            results,
        })
    }

    fn header(&self) -> &Header {
        // SAFETY: `base` is page-aligned, at least `size_of::<Header>()` bytes
        // long and zero-initialised by mmap; atomics are valid for any bits
        // and only ever accessed atomically, from this or a forked process.
        unsafe { &*self.base.cast::<Header>() }
    }

    /// The result words, one per input.
    pub(crate) fn results(&self) -> &[AtomicU64] {
        // SAFETY: the words start right after the 16-byte header (8-aligned)
        // and `results` of them fit in the mapping (see `new`); the memory is
        // initialised and only accessed atomically.
        unsafe {
            core::slice::from_raw_parts(
                self.base.add(size_of::<Header>()).cast::<AtomicU64>(),
                self.results,
            )
        }
    }

    fn reset(&self, start: usize) {
        self.header().loaded.store(PENDING, Ordering::SeqCst);
        self.header().progress.store(start as u64, Ordering::SeqCst);
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        // SAFETY: `base`/`size` are exactly what mmap returned; no reference
        // into the region outlives `self`.
        unsafe {
            libc::munmap(self.base.cast(), self.size);
        }
    }
}

/// How one child's run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ending {
    /// `seccomp()` failed in the child with this errno; nothing ran.
    NotLoaded(i32),
    /// Every input from `start` on has its result.
    Done,
    /// The filter killed the child (SIGSYS) while probing input `at`.
    Killed { at: usize },
}

/// A forked child that is killed and reaped when dropped.
struct Child {
    pid: libc::pid_t,
    reaped: bool,
}

impl Child {
    /// `waitpid(WNOHANG)`: the wait status once the child has ended.
    fn try_wait(&mut self) -> Result<Option<i32>, Error> {
        let mut status = 0;
        // SAFETY: `status` is a valid out-pointer; `pid` is our own child.
        let r = unsafe { libc::waitpid(self.pid, &mut status, libc::WNOHANG) };
        match r {
            0 => Ok(None),
            r if r == self.pid => {
                self.reaped = true;
                Ok(Some(status))
            }
            _ => Err(Error::last_os("waitpid")),
        }
    }

    /// SIGKILL, then reap.
    fn kill(&mut self) {
        if self.reaped {
            return;
        }
        let mut status = 0;
        // SAFETY: `pid` is our own unreaped child, so it cannot have been
        // recycled; `status` is a valid out-pointer.
        unsafe {
            libc::kill(self.pid, libc::SIGKILL);
            libc::waitpid(self.pid, &mut status, 0);
        }
        self.reaped = true;
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        self.kill();
    }
}

/// What a child does once forked.
pub(crate) enum Job<'a> {
    /// Load `filter`, then probe `inputs[start..]`; one result per input.
    Probe {
        filter: &'a [libc::sock_filter],
        inputs: &'a [Regs],
        start: usize,
    },
    /// Attach an allow-all filter that has a notification listener, then
    /// offer each program with `SECCOMP_FILTER_FLAG_NEW_LISTENER`. The kernel
    /// validates each one completely and then refuses to attach it, because
    /// the task already has a listener (`EBUSY`, checked under the sighand
    /// lock after `seccomp_prepare_filter`); any other errno is what the
    /// kernel's checks said. One result per program: the raw return value.
    Check {
        programs: &'a [&'a [libc::sock_filter]],
    },
}

impl Job<'_> {
    /// How many result words the job fills.
    fn end(&self) -> usize {
        match self {
            Job::Probe { inputs, .. } => inputs.len(),
            Job::Check { programs } => programs.len(),
        }
    }

    fn start(&self) -> usize {
        match self {
            Job::Probe { start, .. } => *start,
            Job::Check { .. } => 0,
        }
    }
}

/// `sock_fprog` for a filter, or an error if `len` does not fit its u16.
pub(crate) fn fprog(filter: &[libc::sock_filter]) -> Result<libc::sock_fprog, Error> {
    let len = u16::try_from(filter.len())
        .map_err(|_| Error::too_long(filter.len(), u16::MAX as usize))?;
    Ok(libc::sock_fprog {
        len,
        filter: filter.as_ptr().cast_mut(),
    })
}

/// The allow-all filter of [`Job::Check`]: `ret #SECCOMP_RET_ALLOW`.
static ALLOW_ALL: [libc::sock_filter; 1] = [libc::sock_filter {
    code: Opcode::RetK as u16,
    jt: 0,
    jf: 0,
    k: RET_ALLOW,
}];

/// Forks one child for `job`, waits until it has finished or died, and kills
/// it. Results land in `shared.results()[start..]`.
pub(crate) fn run_child(job: &Job<'_>, shared: &Shared) -> Result<Ending, Error> {
    // Every `sock_fprog` is built before fork, so the child only reads.
    let first = match job {
        Job::Probe { filter, .. } => fprog(filter)?,
        Job::Check { .. } => fprog(&ALLOW_ALL)?,
    };
    let checks = match job {
        Job::Check { programs } => programs
            .iter()
            .map(|p| fprog(p))
            .collect::<Result<Vec<_>, _>>()?,
        Job::Probe { .. } => Vec::new(),
    };
    shared.reset(job.start());
    // SAFETY: fork() has no memory-safety preconditions. The child branch
    // below runs only `child_main`, which never returns, takes no locks and
    // calls no library functions.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(Error::last_os("fork"));
    }
    if pid == 0 {
        child_main(&first, &checks, job, shared);
    }
    let mut child = Child { pid, reaped: false };
    let ending = watch(&mut child, job.end() as u64, shared);
    child.kill();
    ending
}

/// The parent's side: poll the header and the child's status.
fn watch(child: &mut Child, end: u64, shared: &Shared) -> Result<Ending, Error> {
    let deadline = Instant::now() + TIMEOUT;
    for round in 0u32.. {
        let loaded = shared.header().loaded.load(Ordering::Acquire);
        if loaded >= 0 && shared.header().progress.load(Ordering::Acquire) >= end {
            return Ok(Ending::Done);
        }
        if let Some(status) = child.try_wait()? {
            return ended(status, shared);
        }
        if Instant::now() > deadline {
            return Err(Error::probe("the probe child made no progress for 20 s"));
        }
        back_off(round);
    }
    Err(Error::probe("the watch loop ended"))
}

/// Spins briefly (a batch usually takes microseconds), then sleeps.
fn back_off(round: u32) {
    if round < 64 {
        std::thread::yield_now();
    } else {
        std::thread::sleep(Duration::from_micros(if round < 1024 { 20 } else { 200 }));
    }
}

/// Classifies a child that ended on its own.
fn ended(status: i32, shared: &Shared) -> Result<Ending, Error> {
    let loaded = shared.header().loaded.load(Ordering::Acquire);
    if loaded == PENDING {
        return Err(Error::probe(format!(
            "the child ended before loading its filter (wait status {status:#x})"
        )));
    }
    if loaded < 0 {
        return Ok(Ending::NotLoaded((-loaded) as i32));
    }
    if libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == libc::SIGSYS {
        let at = shared.header().progress.load(Ordering::Acquire) as usize;
        return Ok(Ending::Killed { at });
    }
    Err(Error::probe(format!(
        "the child ended unexpectedly (wait status {status:#x})"
    )))
}

/// The child: harden, load the first filter, do the job, spin. Never
/// returns.
fn child_main(
    first: &libc::sock_fprog,
    checks: &[libc::sock_fprog],
    job: &Job<'_>,
    shared: &Shared,
) -> ! {
    let header = shared.header();
    if let Err(errno) = prepare_child() {
        header.loaded.store(-i64::from(errno), Ordering::Release);
        exit_group(1);
    }
    let flags = match job {
        Job::Probe { .. } => SECCOMP_FILTER_FLAG_SPEC_ALLOW,
        Job::Check { .. } => SECCOMP_FILTER_FLAG_NEW_LISTENER,
    };
    let ret = set_mode_filter(flags, first);
    // Written before anything else can happen: from here on the filter rules.
    header.loaded.store(ret as i64, Ordering::Release);
    if (ret as i64) < 0 {
        exit_group(0);
    }
    match job {
        Job::Probe { inputs, start, .. } => probe_all(inputs, *start, shared),
        Job::Check { .. } => check_all(checks, shared),
    }
    loop {
        core::hint::spin_loop();
    }
}

/// `seccomp(SECCOMP_SET_MODE_FILTER, flags, prog)`, raw.
fn set_mode_filter(flags: u64, prog: &libc::sock_fprog) -> u64 {
    // SAFETY: seccomp(SET_MODE_FILTER) only reads `prog` and the instructions
    // it points to, both alive in this address space for the whole call.
    unsafe {
        raw_syscall(
            NR_SECCOMP,
            [
                SECCOMP_SET_MODE_FILTER,
                flags,
                prog as *const libc::sock_fprog as u64,
                0,
                0,
                0,
            ],
        )
    }
}

/// [`Job::Probe`] in the child, under the probe filter.
fn probe_all(inputs: &[Regs], start: usize, shared: &Shared) {
    let (header, results) = (shared.header(), shared.results());
    for (i, regs) in inputs.iter().enumerate().skip(start) {
        // SAFETY: the filter just loaded answers every call with ERRNO, so
        // the kernel runs nothing (see `probe_syscall`).
        let raw = unsafe { probe_syscall(regs) };
        if let Some(slot) = results.get(i) {
            slot.store(raw, Ordering::Relaxed);
        }
        header.progress.store(i as u64 + 1, Ordering::Release);
    }
}

/// [`Job::Check`] in the child, under the allow-all listener filter. Stops
/// at the first program the kernel attached after all (which would change
/// the answers after it) and reports the batch as complete, so the parent
/// sees that result.
fn check_all(checks: &[libc::sock_fprog], shared: &Shared) {
    let (header, results) = (shared.header(), shared.results());
    for (i, prog) in checks.iter().enumerate() {
        let ret = set_mode_filter(SECCOMP_FILTER_FLAG_NEW_LISTENER, prog);
        if let Some(slot) = results.get(i) {
            slot.store(ret, Ordering::Relaxed);
        }
        let attached = (ret as i64) >= 0;
        let done = if attached { checks.len() } else { i + 1 };
        header.progress.store(done as u64, Ordering::Release);
        if attached {
            return;
        }
    }
}

/// Before the filter: die with the parent, never dump core (the filter kills
/// with SIGSYS on a run-time division by zero), and set `no_new_privs`.
fn prepare_child() -> Result<(), i32> {
    let no_core = [0u64; 2];
    // SAFETY: prctl options with integer arguments only, and prlimit64 on
    // ourselves (pid 0) reading a 16-byte rlimit from this stack frame.
    unsafe {
        check(raw_syscall(
            NR_PRCTL,
            [
                libc::PR_SET_PDEATHSIG as u64,
                libc::SIGKILL as u64,
                0,
                0,
                0,
                0,
            ],
        ))?;
        check(raw_syscall(
            NR_PRCTL,
            [libc::PR_SET_DUMPABLE as u64, 0, 0, 0, 0, 0],
        ))?;
        check(raw_syscall(
            NR_PRLIMIT64,
            [
                0,
                libc::RLIMIT_CORE as u64,
                no_core.as_ptr() as u64,
                0,
                0,
                0,
            ],
        ))?;
        check(raw_syscall(
            NR_PRCTL,
            [libc::PR_SET_NO_NEW_PRIVS as u64, 1, 0, 0, 0, 0],
        ))?;
    }
    Ok(())
}

/// `exit_group(code)` without running any library code.
fn exit_group(code: u64) -> ! {
    // SAFETY: exit_group ends the process and never returns; nothing is
    // owed to anyone in this forked child.
    unsafe {
        raw_syscall(NR_EXIT_GROUP, [code, 0, 0, 0, 0, 0]);
    }
    loop {
        core::hint::spin_loop();
    }
}
