//! `diff` of Docker's default profile compiled by sysfence and by
//! libseccomp (cargo feature `libseccomp`), over the whole input space.
//!
//! The profile is read in the runc context (sysfence's default: runc's
//! ENOSYS stub, x86_64 with x32 numbers) and its x86_64 part is compiled by
//! both. The difference must be exactly the known one, and nothing else:
//!
//! * x32 numbers (bit 30 set) on x86_64: libseccomp's prologue sends them to
//!   the bad-arch action on an x86_64-only filter, sysfence follows the
//!   policy's reading of them;
//! * runc's ENOSYS stub: numbers past the kernel's table get ERRNO(38) from
//!   sysfence, the default action from libseccomp (runc adds the stub by
//!   patching libseccomp's output, which the peer does not do).
//!
//! Every region is replayed through the interpreter. The build of both
//! diagrams and the region walk are timed and the diagram sizes printed
//! (targets: 50 ms, 20,000 nodes per program; asserted only for size).
//! Without the shared corpus the test is skipped, except under `CI=true`.
#![cfg(feature = "libseccomp")]

use std::time::Instant;

use sysfence_benches::peers::libseccomp::{Layout as PeerLayout, compile as peer_compile};
use sysfence_benches::set::docker;
use sysfence_cbpf::data::AUDIT_ARCH_X86_64;
use sysfence_cbpf::interp::ShiftMode;
use sysfence_cbpf::limits::X32_SYSCALL_BIT;
use sysfence_compile::{Config, compile};
use sysfence_exact::compare::{self, DEFAULT_BUDGET};
use sysfence_exact::diff::{Region, regions};
use sysfence_exact::store::{SLOT_OFFSETS, Store};
use sysfence_exact::subject::Subject;
use sysfence_exact::witness::{Named, data_of, replay};
use sysfence_profile::arch::Arch;
use sysfence_profile::ir::Action;
use sysfence_profile::{HostContext, LoadOptions, load};

#[test]
fn docker_default_differs_from_libseccomp_only_where_known() {
    let Some(shared) = sysfence_testkit::shared::dir() else {
        return;
    };
    let text = std::fs::read_to_string(shared.join("corpus/third-party/moby/default.json"))
        .expect("readable");
    let opts = LoadOptions {
        context: HostContext::default().with_arches(&[Arch::X86_64]),
        ..LoadOptions::default()
    };
    let runc = load(text.as_bytes(), &opts).expect("loads").policy;
    let ours = compile(&runc, &Config::new().arches(vec![Arch::X86_64]))
        .expect("compiles")
        .into_program();
    // libseccomp's input: the same profile without the stub (runc adds it by
    // patching libseccomp's output).
    let plain = docker(&shared).expect("loads");
    let ap = plain.arch_policy();
    let policy = &plain.policy;
    for layout in [PeerLayout::Linear, PeerLayout::Tree] {
        let theirs = peer_compile(ap, policy.bad_arch(), layout)
            .expect("libseccomp")
            .program;
        let a = Subject::Program(ours.clone(), ShiftMode::Mask31);
        let b = Subject::Program(theirs, ShiftMode::Mask31);
        let start = Instant::now();
        let mut s = Store::new(DEFAULT_BUDGET);
        let (x, y) = compare::diagrams(&mut s, &a, &b).expect("within the budget");
        let (list, cut) = regions(&s, x, y, 1000);
        let took = start.elapsed();
        eprintln!(
            "{layout:?}: {} regions in {took:?}; diagrams {} and {} nodes, store {}",
            list.len(),
            s.size(x),
            s.size(y),
            s.len()
        );
        assert!(!cut);
        let mut covered = [0u64; 2];
        for r in &list {
            let w = replay(&a, &b, data_of(&r.sample()), (r.a, r.b)).expect("replays");
            covered[known(r, ap.default, policy.bad_arch())
                .unwrap_or_else(|| panic!("an unexplained difference: {}", Named(&w.data)))] +=
                count(r);
        }
        // The stub's own first number (runc: past the highest number the
        // profile names), from the runc reading's ranges.
        let first = runc
            .arch(AUDIT_ARCH_X86_64)
            .expect("x86_64")
            .ranges
            .iter()
            .filter(|r| r.action == Action::Errno(38))
            .map(|r| r.lo)
            .min()
            .expect("a stub range");
        let stub = u64::from(X32_SYSCALL_BIT - first);
        assert_eq!(covered, [stub, 1 << 30], "every known region, whole");
        assert!(s.size(x) <= 20_000 && s.size(y) <= 20_000);
    }
}

/// Which known difference a region belongs to: 0 for the ENOSYS stub
/// (x86_64 numbers past the table below bit 30: ERRNO(38) against the
/// default), 1 for the x32 handling (numbers 2^31..2^31+2^30 with bit 30
/// clear, which libseccomp's x86_64 prologue treats as x32 and sends to the
/// bad-arch action, while the stub gives them ERRNO(38)).
fn known(r: &Region, default: Action, bad_arch: Action) -> Option<usize> {
    let (arch, nr) = (r.words[slot(4)], r.words[slot(0)]);
    let only_nr = (0..16).all(|i| i == slot(4) || i == slot(0) || r.words[i].mask == 0);
    let (lo, hi) = nr.range()?;
    let x86_64 = arch.mask == u32::MAX && arch.value == AUDIT_ARCH_X86_64;
    if !(only_nr && x86_64 && r.a == Action::Errno(38).to_raw()) {
        return None;
    }
    if r.b == default.to_raw() && hi < X32_SYSCALL_BIT {
        return Some(0);
    }
    (r.b == bad_arch.to_raw() && lo >= 0x8000_0000 && hi < 0xc000_0000).then_some(1)
}

/// The number of syscall numbers a region spans.
fn count(r: &Region) -> u64 {
    r.words[slot(0)]
        .range()
        .map_or(0, |(lo, hi)| u64::from(hi - lo) + 1)
}

fn slot(offset: u32) -> usize {
    SLOT_OFFSETS
        .iter()
        .position(|&o| o == offset)
        .expect("a word offset")
}
