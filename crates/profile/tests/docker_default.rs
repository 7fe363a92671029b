//! Docker's default profile (moby/profiles v0.2.3 `default.json`) as Docker
//! and runc load it. Expected facts are taken from moby's `default.json`
//! and docs/profiles.md, not from this crate's output.

use sysfence_profile::eval::{Call, DecidedBy, eval};
use sysfence_profile::ir::{Action, NrRange};
use sysfence_profile::{Arch, Format, HostContext, LoadOptions, Loaded, Runtime, load};
use sysfence_testkit::fixtures::action_of;

use sysfence_abi::arch::AUDIT_ARCH_I386 as I386;
use sysfence_abi::arch::AUDIT_ARCH_S390X as S390X;
use sysfence_abi::arch::AUDIT_ARCH_X86_64 as X86_64;
use sysfence_abi::arch::X32_SYSCALL_BIT as X32_BIT;
const EPERM: Action = Action::Errno(1);
const ENOSYS: Action = Action::Errno(38);

fn default_json() -> Option<Vec<u8>> {
    sysfence_testkit::shared::read("corpus/third-party/moby/default.json")
}

fn load_with(ctx: HostContext, format: Option<Format>) -> Option<Loaded> {
    let text = default_json()?;
    let opts = LoadOptions {
        format,
        context: ctx,
        file_name: "default.json".into(),
        ..LoadOptions::default()
    };
    Some(load(&text, &opts).expect("default.json loads"))
}

fn amd64() -> Option<Loaded> {
    load_with(HostContext::default(), None)
}

fn nr(arch: Arch, name: &str) -> u32 {
    arch.syscall_nr(name)
        .unwrap_or_else(|| panic!("{name} on {arch}"))
}

fn run(l: &Loaded, arch: u32, nr: u32, args: [u64; 6]) -> Action {
    action_of(&l.policy, arch, nr, args)
}

#[test]
fn arches_and_defaults() {
    let Some(l) = amd64() else { return };
    assert_eq!(l.format, Format::Docker);
    assert_eq!(l.native_arches, vec![Arch::X86_64, Arch::X86, Arch::X32]);
    let names: Vec<&str> = l.policy.arches().iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["x86", "x86_64+x32"]);
    assert_eq!(l.policy.bad_arch(), Action::KillThread);
    for a in l.policy.arches() {
        assert_eq!(a.default, EPERM);
    }
    assert_eq!(run(&l, 0xc000_00b7, 63, [0; 6]), Action::KillThread);
}

#[test]
fn x86_64_unconditional_allows_and_argument_rules() {
    let Some(l) = amd64() else { return };
    let ap = l.policy.arch(X86_64).expect("x86_64");
    let native: Vec<(&u32, &Vec<_>)> = ap.rules.iter().filter(|(n, _)| **n < X32_BIT).collect();
    let uncond_allow = native
        .iter()
        .filter(|(_, r)| r.len() == 1 && r[0].conds.is_empty() && r[0].action == Action::Allow)
        .count();
    // moby default.json: 306 argument-free allows with an x86_64 number (libseccomp HEAD
    // tables), plus socket, personality, clone (with arguments) and clone3.
    let table_has_all_new = ["getxattrat", "listmount", "mseal", "statmount", "uretprobe"]
        .iter()
        .all(|n| Arch::X86_64.syscall_nr(n).is_some());
    if table_has_all_new {
        assert_eq!(uncond_allow, 306);
        assert_eq!(native.len(), 310);
    }
    assert_eq!(ap.rules[&nr(Arch::X86_64, "socket")].len(), 3);
    assert_eq!(ap.rules[&nr(Arch::X86_64, "personality")].len(), 5);
    assert_eq!(ap.rules[&nr(Arch::X86_64, "clone")].len(), 1);
    assert_eq!(ap.rules[&nr(Arch::X86_64, "clone3")][0].action, ENOSYS);
}

#[test]
fn x86_64_facts() {
    let Some(l) = amd64() else { return };
    let x = |name: &str, args: [u64; 6]| run(&l, X86_64, nr(Arch::X86_64, name), args);
    assert_eq!(x("read", [0; 6]), Action::Allow);
    assert_eq!(x("mount", [0; 6]), EPERM);
    assert_eq!(
        x("ptrace", [0; 6]),
        Action::Allow,
        "minKernel 4.8 rule on a 6.1 host"
    );
    assert_eq!(x("arch_prctl", [0; 6]), Action::Allow);
    assert_eq!(x("modify_ldt", [0; 6]), Action::Allow);
    assert_eq!(
        x("chroot", [0; 6]),
        Action::Allow,
        "CAP_SYS_CHROOT is a default cap"
    );
    assert_eq!(x("reboot", [0; 6]), EPERM);
    assert_eq!(x("clone3", [0; 6]), ENOSYS);
    for (p, want) in [
        (0, Action::Allow),
        (8, Action::Allow),
        (0x20000, Action::Allow),
        (0x20008, Action::Allow),
    ] {
        assert_eq!(x("personality", [p, 0, 0, 0, 0, 0]), want);
    }
    assert_eq!(
        x("personality", [0xffff_ffff, 0, 0, 0, 0, 0]),
        Action::Allow
    );
    assert_eq!(x("personality", [1, 0, 0, 0, 0, 0]), EPERM);
    assert_eq!(
        x("personality", [0x1_0000_0000, 0, 0, 0, 0, 0]),
        EPERM,
        "64-bit compare"
    );
    assert_eq!(x("clone", [0x11, 0, 0, 0, 0, 0]), Action::Allow);
    assert_eq!(x("clone", [0x2_0000, 0, 0, 0, 0, 0]), EPERM, "CLONE_NEWNS");
    assert_eq!(
        x("clone", [0x1000_0000, 0, 0, 0, 0, 0]),
        EPERM,
        "CLONE_NEWUSER"
    );
    for (fam, want) in [
        (2, Action::Allow),
        (37, Action::Allow),
        (38, EPERM),
        (39, Action::Allow),
        (40, EPERM),
        (41, Action::Allow),
    ] {
        assert_eq!(x("socket", [fam, 0, 0, 0, 0, 0]), want, "family {fam}");
    }
}

#[test]
fn enosys_stub_cut_offs() {
    let Some(l) = amd64() else { return };
    let ap = l.policy.arch(X86_64).expect("x86_64");
    let max64 = nr(Arch::X86_64, "removexattrat");
    let max_x32 = nr(Arch::X32, "pwritev2");
    assert_eq!(max_x32, X32_BIT | 547);
    // The stub is built per bit-30 half (x86_64's cut-off, then x32's), so
    // adjacent ranges with one action are read as one.
    assert_eq!(
        coalesced(&ap.ranges),
        vec![
            NrRange {
                lo: max64 + 1,
                hi: X32_BIT - 1,
                action: ENOSYS
            },
            NrRange {
                lo: max_x32 + 1,
                hi: u32::MAX,
                action: ENOSYS
            },
        ]
    );
    assert_eq!(max64, 466);
    assert_eq!(run(&l, X86_64, 467, [0; 6]), ENOSYS);
    assert!(matches!(
        eval(
            &l.policy,
            &Call {
                arch: X86_64,
                nr: 400,
                ..Call::default()
            }
        )
        .1,
        DecidedBy::Default
    ));
    let i386 = l.policy.arch(I386).expect("x86");
    assert_eq!(
        i386.ranges,
        vec![NrRange {
            lo: 467,
            hi: u32::MAX,
            action: ENOSYS
        }]
    );
}

#[test]
fn x32_and_i386_compare_low_words() {
    let Some(l) = amd64() else { return };
    let socket32 = nr(Arch::X32, "socket");
    assert_eq!(
        run(&l, X86_64, socket32, [0x1_0000_0026, 0, 0, 0, 0, 0]),
        EPERM,
        "x32: low word 38"
    );
    assert_eq!(
        run(&l, X86_64, socket32, [0x1_0000_0002, 0, 0, 0, 0, 0]),
        Action::Allow
    );
    assert_eq!(
        run(&l, X86_64, nr(Arch::X32, "read"), [0; 6]),
        Action::Allow
    );
    let pers = nr(Arch::X86, "personality");
    assert_eq!(
        run(&l, I386, pers, [0x1_0000_0000, 0, 0, 0, 0, 0]),
        Action::Allow,
        "x86: high word ignored"
    );
    // x86 reaches socket through socketcall(SYS_SOCKET) too, and the direct
    // call gets the family checks.
    let sock = nr(Arch::X86, "socket");
    assert_eq!(run(&l, I386, sock, [38, 0, 0, 0, 0, 0]), EPERM);
    assert_eq!(
        run(&l, I386, nr(Arch::X86, "socketcall"), [1, 0, 0, 0, 0, 0]),
        Action::Allow
    );
}

#[test]
fn s390x_host_uses_the_arg1_clone_rule() {
    let ctx = HostContext {
        host_arch: Arch::S390x,
        ..HostContext::default()
    };
    let Some(l) = load_with(ctx, None) else {
        return;
    };
    assert_eq!(l.native_arches, vec![Arch::S390x, Arch::S390]);
    let clone = nr(Arch::S390x, "clone");
    assert_eq!(run(&l, S390X, clone, [0, 0x2_0000, 0, 0, 0, 0]), EPERM);
    assert_eq!(
        run(&l, S390X, clone, [0x2_0000, 0x11, 0, 0, 0, 0]),
        Action::Allow
    );
    assert_eq!(run(&l, S390X, 0, [0; 6]), ENOSYS, "nr 0 on s390x");
}

#[test]
fn without_caps_and_old_kernel() {
    let ctx = HostContext {
        caps: vec![],
        kernel: (4, 4),
        ..HostContext::default()
    };
    let Some(l) = load_with(ctx, None) else {
        return;
    };
    let x = |name: &str| run(&l, X86_64, nr(Arch::X86_64, name), [0; 6]);
    assert_eq!(x("ptrace"), EPERM);
    assert_eq!(x("chroot"), EPERM);
    let ctx = HostContext {
        caps: vec!["CAP_SYS_ADMIN".into()],
        ..HostContext::default()
    };
    let Some(l) = load_with(ctx, None) else {
        return;
    };
    let x = |name: &str, a0: u64| run(&l, X86_64, nr(Arch::X86_64, name), [a0, 0, 0, 0, 0, 0]);
    assert_eq!(x("clone", 0x2_0000), Action::Allow);
    assert_eq!(x("clone3", 0), Action::Allow);
    assert_eq!(x("mount", 0), Action::Allow);
}

#[test]
fn containerd_reads_it_without_extensions() {
    let ctx = HostContext {
        runtime: Runtime::Containerd,
        ..HostContext::default()
    };
    let Some(l) = load_with(ctx, None) else {
        return;
    };
    assert_eq!(l.native_arches, vec![Arch::X86_64], "archMap ignored");
    let x = |name: &str, a0: u64| run(&l, X86_64, nr(Arch::X86_64, name), [a0, 0, 0, 0, 0, 0]);
    assert_eq!(
        x("clone", 0x2_0000),
        Action::Allow,
        "the CAP_SYS_ADMIN rule comes first"
    );
    assert_eq!(x("clone3", 0), Action::Allow);
    assert_eq!(x("reboot", 0), Action::Allow);
    assert!(
        l.warnings
            .iter()
            .any(|w| w.message.contains("clone3") && w.message.contains("ignored"))
    );
}

#[test]
fn crun_has_no_stub() {
    let ctx = HostContext {
        runtime: Runtime::Crun,
        ..HostContext::default()
    };
    let Some(l) = load_with(ctx, None) else {
        return;
    };
    let ap = l.policy.arch(X86_64).expect("x86_64");
    assert!(ap.ranges.is_empty());
    assert_eq!(run(&l, X86_64, 467, [0; 6]), EPERM);
}

#[test]
fn arm64_host_with_arm_sub_arch() {
    let ctx = HostContext {
        host_arch: Arch::Aarch64,
        ..HostContext::default()
    };
    let Some(l) = load_with(ctx, None) else {
        return;
    };
    assert_eq!(l.native_arches, vec![Arch::Aarch64, Arch::Arm]);
    use sysfence_abi::arch::AUDIT_ARCH_AARCH64 as AARCH64;
    use sysfence_abi::arch::AUDIT_ARCH_ARM as ARM;
    let arm = l.policy.arch(ARM).expect("arm");
    // set_tls (0xf0005, ARM-private) is the largest number on arm.
    assert_eq!(
        arm.ranges,
        vec![NrRange {
            lo: 0xf0006,
            hi: u32::MAX,
            action: ENOSYS
        }]
    );
    assert_eq!(
        run(&l, ARM, nr(Arch::Arm, "set_tls"), [0; 6]),
        Action::Allow
    );
    assert_eq!(
        run(&l, ARM, nr(Arch::Arm, "arm_fadvise64_64"), [0; 6]),
        Action::Allow
    );
    assert_eq!(
        run(
            &l,
            ARM,
            nr(Arch::Arm, "personality"),
            [0x1_0000_0008, 0, 0, 0, 0, 0]
        ),
        Action::Allow
    );
    let a64 = l.policy.arch(AARCH64).expect("aarch64");
    assert_eq!(
        a64.ranges,
        vec![NrRange {
            lo: 467,
            hi: u32::MAX,
            action: ENOSYS
        }]
    );
    assert_eq!(
        run(&l, AARCH64, nr(Arch::Aarch64, "read"), [0; 6]),
        Action::Allow
    );
    assert_eq!(
        run(&l, X86_64, 0, [0; 6]),
        Action::KillThread,
        "x86_64 is foreign here"
    );
}

#[test]
fn ppc64le_host_gets_its_native_arch_only() {
    let ctx = HostContext {
        host_arch: Arch::Ppc64le,
        ..HostContext::default()
    };
    let Some(l) = load_with(ctx, None) else {
        return;
    };
    assert_eq!(l.native_arches, vec![Arch::Ppc64le]);
    const PPC64LE: u32 = 0xc000_0015;
    assert_eq!(
        run(&l, PPC64LE, nr(Arch::Ppc64le, "sync_file_range2"), [0; 6]),
        Action::Allow
    );
    assert_eq!(
        run(&l, PPC64LE, nr(Arch::Ppc64le, "swapcontext"), [0; 6]),
        Action::Allow
    );
    // ppc64le multiplexes socket calls: socketcall(SYS_SOCKET) reaches the
    // allow even where the direct socket rules check the family.
    assert_eq!(
        run(
            &l,
            PPC64LE,
            nr(Arch::Ppc64le, "socket"),
            [40, 0, 0, 0, 0, 0]
        ),
        EPERM
    );
    assert_eq!(
        run(
            &l,
            PPC64LE,
            nr(Arch::Ppc64le, "socketcall"),
            [1, 40, 0, 0, 0, 0]
        ),
        Action::Allow
    );
    let ap = l.policy.arch(PPC64LE).expect("ppc64le");
    assert_eq!(
        ap.ranges,
        vec![NrRange {
            lo: 467,
            hi: u32::MAX,
            action: ENOSYS
        }]
    );
}

/// Adjacent ranges with the same action, joined.
fn coalesced(ranges: &[NrRange]) -> Vec<NrRange> {
    let mut out: Vec<NrRange> = Vec::new();
    for r in ranges {
        match out.last_mut() {
            Some(l) if l.action == r.action && l.hi.checked_add(1) == Some(r.lo) => l.hi = r.hi,
            _ => out.push(*r),
        }
    }
    out
}
