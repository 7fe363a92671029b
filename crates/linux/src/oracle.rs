//! The live-kernel oracle: ask the running kernel what a filter returns, and
//! whether it accepts a program at all, without letting the filter act.
//!
//! # What a run does
//!
//! [`Oracle::run`] takes a raw program the kernel accepts and a list of
//! [`SeccompData`] inputs, and returns the raw 32-bit value the filter
//! returned for each input, in three steps:
//!
//! 1. **Rewrite** the program so it can neither kill nor allow anything:
//!    every `ret #k` becomes `ret #(ERRNO | code)`, where `code` indexes a
//!    table of the program's distinct `k` values (at most 4,096, and ERRNO
//!    data 0..=4095 comes back intact as `-code` in `rax`). Every `ret a`
//!    becomes a `ja` to a trailer appended after the last instruction.
//!    A first pass uses a one-instruction trailer that returns a *marker*
//!    code, which tells `ret a` results from `ret #k` results. Only for the
//!    inputs that hit the marker, three more passes use the trailer
//!    `rsh #s; and #0xfff; or #ERRNO; ret a` with `s` = 0, 12 and 24, which
//!    bring A back 12 bits at a time.
//! 2. **Probe** each pass in a forked child (see `sys`): the child sets
//!    `no_new_privs`, loads the rewritten filter with
//!    `SECCOMP_FILTER_FLAG_SPEC_ALLOW`, then issues one raw `syscall`
//!    instruction per input with `rax` = nr and `rdi, rsi, rdx, r10, r8, r9`
//!    = args (or `int 0x80` with `rbx, rcx, rdx, rsi, rdi, rbp` for i386
//!    inputs), and stores raw `rax` in shared memory.
//! 3. A **run-time division by zero** (`div x` with X = 0) makes the filter
//!    return 0, `KILL_THREAD`, which no rewrite can intercept: the child dies
//!    of SIGSYS. That input's answer is 0, and a fresh child continues with
//!    the next input.
//!
//! # What inputs can be probed
//!
//! What a real x86_64 `syscall` instruction can produce:
//! `arch == AUDIT_ARCH_X86_64` and `instruction_pointer` equal to
//! [`Oracle::instruction_pointer`] (the address after the oracle's one
//! `syscall` instruction, learned with a probe filter `ld [8]; ret a` and
//! `ld [12]; ret a` when the oracle is made; children are forked from this
//! process, so it is the same in all of them, ASLR or not). Use
//! [`Oracle::data`] to build such inputs. `nr` 335 (`uretprobe`) and 336
//! (`uprobe`) are refused: since Linux 6.14 / 6.18 the kernel allows them
//! before any filter runs, so no filter result can be observed for them.
//! Any 32-bit `nr`, including -1 and x32 numbers, and any 64-bit arguments
//! are fine.
//!
//! And what `int 0x80` produces, when the kernel runs i386 system calls:
//! `arch == AUDIT_ARCH_I386` with [`Oracle::instruction_pointer_i386`]
//! (build them with [`Oracle::data_i386`]). These are slow (about 17 µs
//! each in a VM, against 0.3 µs for `syscall`), and every nr is filtered.
//! Arguments keep their upper halves: the kernel shows all 64 bits of
//! `rbx, rcx, rdx, rsi, rdi, rbp` in `args[]`.
//!
//! # What is not checked
//!
//! The oracle does not validate programs; it hands them to the kernel. A
//! program the kernel rejects gives an error from [`Oracle::run`] (and
//! `false` from [`load_accepts`]) — with one exception: the rewrite turns
//! `ret a` into `ja`, which resets the scratch-memory check, so dead code
//! right after a `ret a` that reads an unwritten slot is rejected as given
//! but accepted once rewritten. Ask [`load_accepts`] first when the input
//! may be invalid. Programs with a `ret a` must leave room for the trailer:
//! at most 4,092 instructions.
//!
//! # Preconditions
//!
//! The calling process must not be under seccomp itself: stacked filters
//! would change the answers (a pre-existing KILL or TRAP beats the probe's
//! ERRNO). [`Oracle::new`] and [`load_accepts`] check `/proc/self/status`
//! and report an error for which [`Error::is_unavailable`] is `true`, as on
//! kernels without seccomp and on hosts other than Linux x86_64.

use std::cell::Cell;
use std::collections::HashMap;

use sysfence_cbpf::action::RET_ERRNO;
use sysfence_cbpf::data::OFFSET_IP;
use sysfence_cbpf::limits::BPF_MAXINSNS;
use sysfence_cbpf::{Insn, Opcode, SeccompData};

use crate::error::Error;

/// `AUDIT_ARCH_X86_64` (what the oracle's `syscall` path produces) and
/// `AUDIT_ARCH_I386` (what `int 0x80` produces).
pub use sysfence_cbpf::abi::arch::{AUDIT_ARCH_I386, AUDIT_ARCH_X86_64};

/// Syscall numbers the kernel allows before any filter runs (x86_64
/// `uretprobe` and `uprobe`, Linux 6.14 and 6.18).
pub const FILTER_BYPASS_NRS: [u32; 2] = [335, 336];

/// The shifts of the three passes that read A back 12 bits at a time.
const SHIFTS: [u32; 3] = [0, 12, 24];

/// Counters of what an [`Oracle`] has done, for test reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Programs run through [`Oracle::run`].
    pub programs: u64,
    /// Inputs answered (one per input per call to [`Oracle::run`]).
    pub evaluations: u64,
    /// Raw syscalls issued by probe children, over all passes.
    pub syscalls: u64,
    /// Probe children forked.
    pub children: u64,
    /// Inputs answered 0 because the filter divided by zero (child killed).
    pub divisions_by_zero: u64,
}

/// A handle on the live-kernel oracle, made by [`Oracle::new`].
#[derive(Debug)]
pub struct Oracle {
    ip: u64,
    ip_i386: Option<u64>,
    stats: Cell<Stats>,
}

impl Oracle {
    /// Checks that this host can run the oracle and learns the
    /// `instruction_pointer` every probe will report (for i386 too, when the
    /// kernel has 32-bit emulation).
    pub fn new() -> Result<Oracle, Error> {
        check_host()?;
        let mut oracle = Oracle {
            ip: 0,
            ip_i386: None,
            stats: Cell::new(Stats::default()),
        };
        oracle.ip = oracle.learn_ip(Abi::X86_64)?;
        oracle.ip_i386 = oracle.learn_ip(Abi::I386).ok();
        oracle.stats.set(Stats::default());
        Ok(oracle)
    }

    /// The `instruction_pointer` the kernel reports for every x86_64 probe.
    pub fn instruction_pointer(&self) -> u64 {
        self.ip
    }

    /// The `instruction_pointer` of every i386 (`int 0x80`) probe, or `None`
    /// when the kernel cannot run i386 system calls
    /// (`CONFIG_IA32_EMULATION` off, or `ia32_emulation=0`).
    pub fn instruction_pointer_i386(&self) -> Option<u64> {
        self.ip_i386
    }

    /// A probe-able i386 input, when the kernel has i386 system calls:
    /// `AUDIT_ARCH_I386`, the `int 0x80` instruction pointer, and the given
    /// nr and arguments. The kernel shows all 64 bits of the argument
    /// registers in `args[]`, so upper halves set here are seen by the
    /// filter although a real 32-bit task could not set them.
    pub fn data_i386(&self, nr: u32, args: [u64; 6]) -> Option<SeccompData> {
        self.ip_i386.map(|ip| SeccompData {
            nr,
            arch: AUDIT_ARCH_I386,
            instruction_pointer: ip,
            args,
        })
    }

    /// A probe-able input: x86_64, this oracle's instruction pointer, and the
    /// given nr and arguments.
    pub fn data(&self, nr: u32, args: [u64; 6]) -> SeccompData {
        SeccompData {
            nr,
            arch: AUDIT_ARCH_X86_64,
            instruction_pointer: self.ip,
            args,
        }
    }

    /// What has been done so far.
    pub fn stats(&self) -> Stats {
        self.stats.get()
    }

    /// The raw value the kernel's filter returns for each input, in order.
    ///
    /// Every input must be probe-able (see the module documentation); the
    /// first one that is not gives an error naming its index.
    pub fn run(&self, insns: &[Insn], inputs: &[SeccompData]) -> Result<Vec<u32>, Error> {
        let regs = inputs
            .iter()
            .enumerate()
            .map(|(i, d)| self.regs(i, d))
            .collect::<Result<Vec<_>, _>>()?;
        let out = self.run_regs(insns, &regs)?;
        self.bump(|s| {
            s.programs += 1;
            s.evaluations += inputs.len() as u64;
        });
        Ok(out)
    }

    /// Checks one input and turns it into registers.
    fn regs(&self, index: usize, d: &SeccompData) -> Result<Regs, Error> {
        let (abi, ip) = match d.arch {
            AUDIT_ARCH_X86_64 => (Abi::X86_64, self.ip),
            AUDIT_ARCH_I386 => match self.ip_i386 {
                Some(ip) => (Abi::I386, ip),
                None => {
                    return Err(Error::input(
                        index,
                        "this kernel cannot run i386 system calls",
                    ));
                }
            },
            other => {
                return Err(Error::input(
                    index,
                    format!("arch {other:#010x} is neither AUDIT_ARCH_X86_64 nor AUDIT_ARCH_I386"),
                ));
            }
        };
        if d.instruction_pointer != ip {
            return Err(Error::input(
                index,
                format!(
                    "instruction_pointer {:#x} is not the probe's {:#x}",
                    d.instruction_pointer, ip
                ),
            ));
        }
        if abi == Abi::X86_64 && FILTER_BYPASS_NRS.contains(&d.nr) {
            return Err(Error::input(
                index,
                format!("nr {} bypasses every seccomp filter on x86_64", d.nr),
            ));
        }
        Ok(Regs {
            abi,
            rax: u64::from(d.nr),
            args: d.args,
        })
    }

    /// Learns the instruction pointer of an ABI's probes with
    /// `ld [8]; ret a` and `ld [12]; ret a`.
    fn learn_ip(&self, abi: Abi) -> Result<u64, Error> {
        let probe = [Regs {
            abi,
            rax: 20,
            args: [0; 6],
        }];
        let word = |offset: u32| -> Result<u64, Error> {
            let prog = [
                Insn::op(Opcode::LdAbsW, 0, 0, offset),
                Insn::op(Opcode::RetA, 0, 0, 0),
            ];
            let out = self.run_regs(&prog, &probe)?;
            out.first()
                .map(|&w| u64::from(w))
                .ok_or_else(|| Error::probe("no answer to the ip probe"))
        };
        Ok(word(OFFSET_IP)? | word(OFFSET_IP + 4)? << 32)
    }

    /// [`Oracle::run`] on already checked registers.
    fn run_regs(&self, insns: &[Insn], regs: &[Regs]) -> Result<Vec<u32>, Error> {
        let plan = Plan::of(insns)?;
        let first = self.pass(&plan.rewrite(insns, Trailer::Marker), regs)?;
        let mut out = Vec::with_capacity(regs.len());
        let mut pending = Vec::new();
        for (i, answer) in first.iter().enumerate() {
            match *answer {
                None => out.push(0),
                Some(code) if code == plan.marker() => {
                    pending.push(i);
                    out.push(0);
                }
                Some(code) => out.push(plan.value(code)?),
            }
        }
        if !pending.is_empty() {
            let sub: Vec<Regs> = pending.iter().map(|&i| regs[i]).collect();
            for (i, a) in pending.iter().zip(self.read_a(insns, &plan, &sub)?) {
                out[*i] = a;
            }
        }
        Ok(out)
    }

    /// The value of A at `ret a` for inputs known to end there: three passes.
    fn read_a(&self, insns: &[Insn], plan: &Plan, regs: &[Regs]) -> Result<Vec<u32>, Error> {
        let mut a = vec![0u32; regs.len()];
        for shift in SHIFTS {
            let answers = self.pass(&plan.rewrite(insns, Trailer::Shift(shift)), regs)?;
            for (slot, answer) in a.iter_mut().zip(answers) {
                let code = answer.ok_or_else(|| Error::probe("a ret a pass killed the probe"))?;
                *slot |= code << shift;
            }
        }
        Ok(a)
    }

    /// One pass: each input's ERRNO code, or `None` where the filter killed
    /// the child (a run-time division by zero).
    fn pass(&self, filter: &[Insn], regs: &[Regs]) -> Result<Vec<Option<u32>>, Error> {
        imp::pass(self, filter, regs)
    }

    fn bump(&self, f: impl FnOnce(&mut Stats)) {
        let mut s = self.stats.get();
        f(&mut s);
        self.stats.set(s);
    }
}

/// Whether the running kernel accepts `insns` as a seccomp filter:
/// `Ok(true)` when `seccomp(SECCOMP_SET_MODE_FILTER)` succeeds, `Ok(false)`
/// when it fails with `EINVAL`, an error for any other failure.
///
/// The program is loaded unchanged in a forked child that has set
/// `no_new_privs`; the child stores the return value of `seccomp()` in
/// shared memory right after the call, with no other instruction that could
/// be filtered in between, and is then killed. Costs one `fork` (about
/// 0.5 ms on an idle machine). Lengths that do not fit `sock_fprog.len`
/// (above 65,535) are an error; 0 and 4,097..=65,535 are asked like any other.
pub fn load_accepts(insns: &[Insn]) -> Result<bool, Error> {
    check_host()?;
    imp::load_accepts(insns)
}

/// [`load_accepts`] for many programs, in one forked child.
///
/// The child first attaches an allow-all filter (`ret #ALLOW`, which the
/// action cache answers without running BPF) with
/// `SECCOMP_FILTER_FLAG_NEW_LISTENER`, then offers each program with the
/// same flag. `seccomp_set_mode_filter` prepares (copies, checks, converts
/// and JIT-compiles) the new filter completely before it looks for a
/// duplicate listener, so a program the kernel accepts fails with `EBUSY`
/// and is never attached, while a rejected one fails with `EINVAL` as
/// usual. Stacking limits (`ENOMEM`) are not exercised: nothing stacks.
/// About 20 µs per program instead of a fork each.
pub fn load_accepts_all<P: AsRef<[Insn]>>(programs: &[P]) -> Result<Vec<bool>, Error> {
    check_host()?;
    let programs: Vec<&[Insn]> = programs.iter().map(AsRef::as_ref).collect();
    imp::load_accepts_all(&programs)
}

/// The registers of one probe (see `sys`).
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
use crate::sys::{Abi, Regs};

/// How a probe enters the kernel (no probing on this target).
#[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Abi {
    X86_64,
    I386,
}

/// The registers of one probe (no probing on this target).
#[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
#[derive(Clone, Copy, Debug)]
#[allow(dead_code)]
struct Regs {
    abi: Abi,
    rax: u64,
    args: [u64; 6],
}

/// Which trailer a pass appends for `ret a`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Trailer {
    /// `ret #(ERRNO | marker)`.
    Marker,
    /// `rsh #s; and #0xfff; or #ERRNO; ret a`.
    Shift(u32),
}

/// The rewrite of one program: its distinct `ret #k` values (the code of a
/// value is its index) and whether it has a `ret a`.
#[derive(Debug)]
struct Plan {
    values: Vec<u32>,
    codes: HashMap<u32, u32>,
    ret_a: bool,
}

impl Plan {
    /// Collects the return values and checks that every pass fits.
    fn of(insns: &[Insn]) -> Result<Plan, Error> {
        let mut plan = Plan {
            values: Vec::new(),
            codes: HashMap::new(),
            ret_a: false,
        };
        for insn in insns {
            match Opcode::from_code(insn.code) {
                Some(Opcode::RetK) => {
                    let next = plan.values.len() as u32;
                    if *plan.codes.entry(insn.k).or_insert(next) == next {
                        plan.values.push(insn.k);
                    }
                }
                Some(Opcode::RetA) => plan.ret_a = true,
                _ => {}
            }
        }
        let limit = if plan.ret_a {
            BPF_MAXINSNS - 4
        } else {
            BPF_MAXINSNS
        };
        if insns.len() > limit {
            return Err(Error::too_long(insns.len(), limit));
        }
        Ok(plan)
    }

    /// The code the marker trailer returns: one past the last value code
    /// (at most 4,094, since a program with `ret a` has at most 4,092
    /// instructions).
    fn marker(&self) -> u32 {
        self.values.len() as u32
    }

    /// The original `k` of a code.
    fn value(&self, code: u32) -> Result<u32, Error> {
        self.values.get(code as usize).copied().ok_or_else(|| {
            Error::probe(format!(
                "the kernel returned code {code}, which no ret uses"
            ))
        })
    }

    /// The program with every return rewritten and the trailer appended.
    fn rewrite(&self, insns: &[Insn], trailer: Trailer) -> Vec<Insn> {
        let end = insns.len() as u32;
        let mut out: Vec<Insn> = insns
            .iter()
            .enumerate()
            .map(|(pc, insn)| match Opcode::from_code(insn.code) {
                Some(Opcode::RetK) => Insn {
                    k: RET_ERRNO | self.codes[&insn.k],
                    ..*insn
                },
                Some(Opcode::RetA) => Insn::op(Opcode::Ja, 0, 0, end - pc as u32 - 1),
                _ => *insn,
            })
            .collect();
        if self.ret_a {
            out.extend(trailer_insns(trailer, self.marker()));
        }
        out
    }
}

/// The instructions of a trailer.
fn trailer_insns(trailer: Trailer, marker: u32) -> Vec<Insn> {
    match trailer {
        Trailer::Marker => vec![Insn::op(Opcode::RetK, 0, 0, RET_ERRNO | marker)],
        Trailer::Shift(s) => vec![
            Insn::op(Opcode::RshK, 0, 0, s),
            Insn::op(Opcode::AndK, 0, 0, 0xfff),
            Insn::op(Opcode::OrK, 0, 0, RET_ERRNO),
            Insn::op(Opcode::RetA, 0, 0, 0),
        ],
    }
}

/// Refuses to run when answers could be wrong or nothing can be asked.
fn check_host() -> Result<(), Error> {
    if !cfg!(all(target_os = "linux", target_arch = "x86_64")) {
        return Err(Error::unsupported("the live-kernel oracle"));
    }
    let status = std::fs::read_to_string("/proc/self/status")
        .map_err(|e| Error::unavailable(format!("cannot read /proc/self/status: {e}")))?;
    let mode = status
        .lines()
        .find_map(|l| l.strip_prefix("Seccomp:"))
        .map(str::trim);
    match mode {
        None => Err(Error::unavailable(
            "the kernel has no seccomp (no Seccomp: line in /proc/self/status)",
        )),
        Some("0") => imp::check_actions(),
        Some(m) => Err(Error::unavailable(format!(
            "this process is already under seccomp (Seccomp: {m}); its filters would stack with the probe's"
        ))),
    }
}

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod imp {
    use sysfence_cbpf::Insn;
    use sysfence_cbpf::action::RET_ERRNO;

    use super::{Oracle, Regs};
    use crate::error::Error;
    use crate::sys::{self, Ending, Job, Shared};

    /// The probe filters answer with ERRNO; the kernel must know it.
    pub(super) fn check_actions() -> Result<(), Error> {
        sys::action_available(RET_ERRNO).map_err(|errno| {
            Error::unavailable(format!(
                "seccomp(SECCOMP_GET_ACTION_AVAIL, ERRNO) failed: {}",
                std::io::Error::from_raw_os_error(errno)
            ))
        })
    }

    fn sock_filters(insns: &[Insn]) -> Vec<libc::sock_filter> {
        insns
            .iter()
            .map(|i| libc::sock_filter {
                code: i.code,
                jt: i.jt,
                jf: i.jf,
                k: i.k,
            })
            .collect()
    }

    pub(super) fn pass(
        oracle: &Oracle,
        filter: &[Insn],
        regs: &[Regs],
    ) -> Result<Vec<Option<u32>>, Error> {
        if regs.is_empty() {
            return Ok(Vec::new());
        }
        let filter = sock_filters(filter);
        let shared = Shared::new(regs.len())?;
        let mut answers = vec![None; regs.len()];
        let mut start = 0;
        while start < regs.len() {
            let ending = sys::run_child(
                &Job::Probe {
                    filter: &filter,
                    inputs: regs,
                    start,
                },
                &shared,
            )?;
            let end = match ending {
                Ending::NotLoaded(errno) => return Err(Error::rejected(errno)),
                Ending::Done => regs.len(),
                Ending::Killed { at } => at,
            };
            for (i, slot) in shared.results().iter().enumerate().take(end).skip(start) {
                answers[i] = Some(decode(i, slot.load(std::sync::atomic::Ordering::Acquire))?);
            }
            oracle.bump(|s| {
                s.children += 1;
                s.syscalls += (end - start) as u64 + u64::from(end < regs.len());
                s.divisions_by_zero += u64::from(end < regs.len());
            });
            start = end + 1;
        }
        Ok(answers)
    }

    /// `rax` after an ERRNO(code) result is `-code`.
    fn decode(index: usize, rax: u64) -> Result<u32, Error> {
        let code = (rax as i64).wrapping_neg();
        if (0..4096).contains(&code) {
            Ok(code as u32)
        } else {
            Err(Error::probe(format!(
                "input {index}: rax {rax:#x} is not an ERRNO result"
            )))
        }
    }

    pub(super) fn load_accepts(insns: &[Insn]) -> Result<bool, Error> {
        let filter = sock_filters(insns);
        let shared = Shared::new(0)?;
        match sys::run_child(
            &Job::Probe {
                filter: &filter,
                inputs: &[],
                start: 0,
            },
            &shared,
        )? {
            Ending::Done => Ok(true),
            Ending::NotLoaded(libc::EINVAL) => Ok(false),
            Ending::NotLoaded(errno) => Err(Error::sys("seccomp(SECCOMP_SET_MODE_FILTER)", errno)),
            Ending::Killed { .. } => {
                Err(Error::probe("the child was killed with no input to probe"))
            }
        }
    }

    /// Programs per child in [`load_accepts_all`], to bound shared memory.
    const CHECK_BATCH: usize = 4096;

    pub(super) fn load_accepts_all(programs: &[&[Insn]]) -> Result<Vec<bool>, Error> {
        let mut out = Vec::with_capacity(programs.len());
        for (batch_no, batch) in programs.chunks(CHECK_BATCH).enumerate() {
            let filters: Vec<Vec<libc::sock_filter>> =
                batch.iter().map(|p| sock_filters(p)).collect();
            let views: Vec<&[libc::sock_filter]> = filters.iter().map(Vec::as_slice).collect();
            let shared = Shared::new(batch.len())?;
            match sys::run_child(&Job::Check { programs: &views }, &shared)? {
                Ending::Done => {}
                Ending::NotLoaded(errno) => {
                    return Err(Error::sys("seccomp(allow-all with NEW_LISTENER)", errno));
                }
                Ending::Killed { at } => {
                    return Err(Error::probe(format!("the checker died at program {at}")));
                }
            }
            for (i, slot) in shared.results().iter().enumerate() {
                let index = batch_no * CHECK_BATCH + i;
                out.push(accepted(
                    index,
                    slot.load(std::sync::atomic::Ordering::Acquire),
                )?);
            }
        }
        Ok(out)
    }

    /// `EBUSY` means "valid, but a listener already exists"; `EINVAL` means
    /// rejected.
    fn accepted(index: usize, ret: u64) -> Result<bool, Error> {
        match (ret as i64).wrapping_neg() {
            e if e == i64::from(libc::EBUSY) => Ok(true),
            e if e == i64::from(libc::EINVAL) => Ok(false),
            e if e <= 0 => Err(Error::probe(format!(
                "program {index} was attached (seccomp returned {ret})"
            ))),
            e => Err(Error::sys("seccomp(SECCOMP_SET_MODE_FILTER)", e as i32)),
        }
    }
}

#[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
mod imp {
    use sysfence_cbpf::Insn;

    use super::{Oracle, Regs};
    use crate::error::Error;

    pub(super) fn check_actions() -> Result<(), Error> {
        Err(Error::unsupported("the live-kernel oracle"))
    }

    pub(super) fn pass(_: &Oracle, _: &[Insn], _: &[Regs]) -> Result<Vec<Option<u32>>, Error> {
        Err(Error::unsupported("the live-kernel oracle"))
    }

    pub(super) fn load_accepts(_: &[Insn]) -> Result<bool, Error> {
        Err(Error::unsupported("the live-kernel oracle"))
    }

    pub(super) fn load_accepts_all(_: &[&[Insn]]) -> Result<Vec<bool>, Error> {
        Err(Error::unsupported("the live-kernel oracle"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ret_k(k: u32) -> Insn {
        Insn::op(Opcode::RetK, 0, 0, k)
    }

    #[test]
    fn rewrite_maps_distinct_values_to_codes() {
        let prog = [
            Insn::op(Opcode::JeqK, 0, 1, 3),
            ret_k(0x7fff_0000),
            ret_k(0),
            ret_k(0x7fff_0000),
        ];
        let plan = Plan::of(&prog).unwrap();
        assert_eq!(plan.values, [0x7fff_0000, 0]);
        let out = plan.rewrite(&prog, Trailer::Marker);
        assert_eq!(out.len(), 4);
        assert_eq!(out[1].k, RET_ERRNO);
        assert_eq!(out[2].k, RET_ERRNO | 1);
        assert_eq!(out[3].k, RET_ERRNO);
        assert_eq!(out[0], prog[0]);
    }

    #[test]
    fn ret_a_jumps_to_the_trailer() {
        let prog = [
            Insn::op(Opcode::JeqK, 0, 1, 3),
            Insn::op(Opcode::RetA, 0, 0, 0),
            ret_k(7),
        ];
        let plan = Plan::of(&prog).unwrap();
        assert_eq!(plan.marker(), 1);
        let marked = plan.rewrite(&prog, Trailer::Marker);
        assert_eq!(marked[1], Insn::op(Opcode::Ja, 0, 0, 1));
        assert_eq!(marked[3], ret_k(RET_ERRNO | 1));
        let shifted = plan.rewrite(&prog, Trailer::Shift(12));
        assert_eq!(shifted.len(), 7);
        assert_eq!(shifted[3], Insn::op(Opcode::RshK, 0, 0, 12));
        assert_eq!(shifted[6], Insn::op(Opcode::RetA, 0, 0, 0));
    }

    #[test]
    fn trailer_room_is_checked() {
        let mut prog = vec![Insn::op(Opcode::RetA, 0, 0, 0); 4093];
        assert_eq!(Plan::of(&prog).unwrap_err(), Error::too_long(4093, 4092));
        prog.pop();
        assert!(Plan::of(&prog).is_ok());
        assert!(Plan::of(&vec![ret_k(1); 4096]).is_ok());
    }
}
