//! Spot facts about every arch and its syscall table, written down from the
//! kernel's tables and headers (not from this crate's data).

use sysfence_profile::arch::{Arch, ArchError, IPC_CALLS, Multiplexed, SOCKETCALL_CALLS};
use sysfence_profile::ir::ArgWidth;

fn nr(arch: Arch, name: &str) -> Option<u32> {
    arch.syscall_nr(name)
}

#[test]
fn x86_64_numbers() {
    let a = Arch::X86_64;
    assert_eq!(nr(a, "read"), Some(0));
    assert_eq!(nr(a, "getpid"), Some(39));
    assert_eq!(nr(a, "exit_group"), Some(231));
    assert_eq!(nr(a, "clone3"), Some(435));
    assert_eq!(nr(a, "arch_prctl"), Some(158));
    assert_eq!(nr(a, "socketcall"), None);
    assert_eq!(a.syscall_name(39), Some("getpid"));
    assert_eq!(a.syscall_name(400), None);
}

#[test]
fn x86_numbers() {
    let a = Arch::X86;
    assert_eq!(nr(a, "socketcall"), Some(102));
    assert_eq!(nr(a, "ipc"), Some(117));
    assert_eq!(nr(a, "getpid"), Some(20));
    assert_eq!(nr(a, "socket"), Some(359));
    assert_eq!(nr(a, "_llseek"), Some(140));
    assert_eq!(nr(a, "clock_gettime64"), Some(403));
    assert_eq!(nr(a, "break"), Some(17));
}

#[test]
fn aarch64_riscv64_loongarch64_are_generic() {
    for a in [Arch::Aarch64, Arch::Riscv64, Arch::Loongarch64] {
        assert_eq!(nr(a, "getpid"), Some(172), "{a}");
        assert_eq!(nr(a, "openat"), Some(56), "{a}");
        assert_eq!(nr(a, "open"), None, "{a}");
        assert_eq!(nr(a, "socketcall"), None, "{a}");
    }
    assert_eq!(nr(Arch::Riscv64, "riscv_flush_icache"), Some(259));
}

/// Rows of Linux's scripts/syscall.tbl per 64-bit ABI selection
/// (arm64: renameat, rlimit, memfd_secret; riscv: riscv, rlimit,
/// memfd_secret; loongarch: none).
#[test]
fn generic_64_bit_abis() {
    for a in [Arch::Aarch64, Arch::Riscv64, Arch::Loongarch64] {
        assert_eq!(nr(a, "newfstatat"), Some(79), "{a}");
        assert_eq!(nr(a, "fstat"), Some(80), "{a}");
        assert_eq!(nr(a, "fstatat"), None, "{a}");
        assert_eq!(nr(a, "clock_gettime64"), None, "{a}");
        assert_eq!(nr(a, "futex_time64"), None, "{a}");
        assert_eq!(a.syscall_name(403), None, "{a}");
        assert_eq!(nr(a, "clone3"), Some(435), "{a}");
    }
    assert_eq!(nr(Arch::Aarch64, "renameat"), Some(38));
    assert_eq!(nr(Arch::Riscv64, "renameat"), None);
    assert_eq!(nr(Arch::Loongarch64, "renameat"), None);
    for a in [Arch::Aarch64, Arch::Riscv64] {
        assert_eq!(nr(a, "getrlimit"), Some(163), "{a}");
        assert_eq!(nr(a, "setrlimit"), Some(164), "{a}");
        assert_eq!(nr(a, "memfd_secret"), Some(447), "{a}");
    }
    assert_eq!(nr(Arch::Loongarch64, "getrlimit"), None);
    assert_eq!(nr(Arch::Loongarch64, "setrlimit"), None);
    assert_eq!(nr(Arch::Loongarch64, "memfd_secret"), None);
    assert_eq!(nr(Arch::Loongarch64, "prlimit64"), Some(261));
}

#[test]
fn x32_numbers_carry_bit_30() {
    let a = Arch::X32;
    assert_eq!(nr(a, "read"), Some(0x4000_0000));
    assert_eq!(nr(a, "getpid"), Some(0x4000_0027));
    // x32-only numbers 512..=547.
    assert_eq!(nr(a, "rt_sigaction"), Some(0x4000_0200));
    assert_eq!(nr(a, "ioctl"), Some(0x4000_0202));
    assert_eq!(nr(a, "pwritev2"), Some(0x4000_0223));
    // "64"-only rows do not exist on x32.
    assert_eq!(nr(a, "uselib"), None);
    assert_eq!(nr(a, "map_shadow_stack"), Some(0x4000_01c5));
    assert_eq!(a.syscall_name(13 | 0x4000_0000), None);
    assert_eq!(a.syscall_name(0x4000_0200), Some("rt_sigaction"));
    assert_eq!(a.max_nr(), 0x4000_0223);
    assert!(a.table().iter().all(|&(_, n)| n & 0x4000_0000 != 0));
}

#[test]
fn arm_private_calls() {
    let a = Arch::Arm;
    assert_eq!(nr(a, "breakpoint"), Some(0xf0001));
    assert_eq!(nr(a, "cacheflush"), Some(0xf0002));
    assert_eq!(nr(a, "usr26"), Some(0xf0003));
    assert_eq!(nr(a, "usr32"), Some(0xf0004));
    assert_eq!(nr(a, "set_tls"), Some(0xf0005));
    assert_eq!(nr(a, "get_tls"), Some(0xf0006));
    assert_eq!(a.max_nr(), 0xf0006);
    assert_eq!(nr(a, "getpid"), Some(20));
    // EABI: no socketcall, direct socket calls.
    assert_eq!(nr(a, "socketcall"), None);
    assert_eq!(nr(a, "socket"), Some(281));
    assert_eq!(nr(a, "arm_fadvise64_64"), Some(270));
    assert_eq!(nr(a, "arm_sync_file_range"), Some(341));
    assert_eq!(nr(a, "sync_file_range2"), Some(341));
    assert_eq!(a.syscall_name(341), Some("arm_sync_file_range"));
    assert_eq!(nr(Arch::Aarch64, "sync_file_range2"), None);
}

#[test]
fn mips_bases() {
    for a in [Arch::Mips, Arch::Mipsel] {
        assert_eq!(nr(a, "getpid"), Some(4020), "{a}");
        assert_eq!(nr(a, "socketcall"), Some(4102), "{a}");
        assert_eq!(nr(a, "ipc"), Some(4117), "{a}");
    }
    for a in [Arch::Mips64, Arch::Mips64el] {
        assert_eq!(nr(a, "getpid"), Some(5038), "{a}");
        assert_eq!(nr(a, "read"), Some(5000), "{a}");
        assert_eq!(nr(a, "set_mempolicy_home_node"), Some(5450), "{a}");
    }
    for a in [Arch::Mips64n32, Arch::Mipsel64n32] {
        assert_eq!(nr(a, "getpid"), Some(6038), "{a}");
        assert_eq!(nr(a, "read"), Some(6000), "{a}");
        assert_eq!(nr(a, "fcntl64"), Some(6212), "{a}");
        assert_eq!(nr(a, "faccessat2"), Some(6439), "{a}");
        assert_eq!(nr(a, "process_madvise"), Some(6440), "{a}");
        assert_eq!(nr(a, "set_mempolicy_home_node"), Some(6450), "{a}");
        assert_eq!(nr(a, "file_setattr"), Some(6469), "{a}");
        assert_eq!(nr(a, "memfd_secret"), None, "{a}");
    }
}

#[test]
fn s390_and_s390x() {
    assert_eq!(nr(Arch::S390x, "getpid"), Some(20));
    assert_eq!(nr(Arch::S390x, "select"), Some(142));
    assert_eq!(nr(Arch::S390x, "_newselect"), None);
    assert_eq!(nr(Arch::S390x, "getuid"), Some(199));
    assert_eq!(nr(Arch::S390x, "semtimedop"), Some(392));
    assert_eq!(nr(Arch::S390x, "socketcall"), Some(102));
    let a = Arch::S390;
    assert_eq!(nr(a, "getpid"), Some(20));
    assert_eq!(nr(a, "_newselect"), Some(142));
    assert_eq!(nr(a, "select"), None);
    assert_eq!(nr(a, "getuid"), Some(24));
    assert_eq!(nr(a, "getuid32"), Some(199));
    assert_eq!(nr(a, "newfstatat"), None);
    assert_eq!(nr(a, "fstatat64"), Some(293));
    assert_eq!(nr(a, "semtimedop"), None);
    assert_eq!(nr(a, "semtimedop_time64"), Some(420));
    assert_eq!(nr(a, "clone3"), Some(435));
    assert_eq!(nr(a, "ipc"), Some(117));
}

#[test]
fn powerpc() {
    for a in [Arch::Ppc64le, Arch::Ppc64, Arch::Ppc] {
        assert_eq!(nr(a, "getpid"), Some(20), "{a}");
        assert_eq!(nr(a, "socketcall"), Some(102), "{a}");
        assert_eq!(nr(a, "ipc"), Some(117), "{a}");
        assert_eq!(nr(a, "sync_file_range2"), Some(308), "{a}");
        assert_eq!(nr(a, "swapcontext"), Some(249), "{a}");
    }
}

/// `include/uapi/linux/audit.h`, as the kernel defines them.
#[test]
fn audit_arch_values() {
    let expected = [
        (Arch::X86_64, 0xc000_003e),
        (Arch::X32, 0xc000_003e),
        (Arch::X86, 0x4000_0003),
        (Arch::Aarch64, 0xc000_00b7),
        (Arch::Arm, 0x4000_0028),
        (Arch::Riscv64, 0xc000_00f3),
        (Arch::S390x, 0x8000_0016),
        (Arch::S390, 0x0000_0016),
        (Arch::Ppc64le, 0xc000_0015),
        (Arch::Ppc64, 0x8000_0015),
        (Arch::Ppc, 0x0000_0014),
        (Arch::Mips, 0x0000_0008),
        (Arch::Mipsel, 0x4000_0008),
        (Arch::Mips64, 0x8000_0008),
        (Arch::Mips64el, 0xc000_0008),
        (Arch::Mips64n32, 0xa000_0008),
        (Arch::Mipsel64n32, 0xe000_0008),
        (Arch::Loongarch64, 0xc000_0102),
    ];
    assert_eq!(expected.len(), Arch::all().len());
    for (arch, value) in expected {
        assert_eq!(arch.audit_arch(), value, "{arch}");
        // __AUDIT_ARCH_LE is bit 30 of the value.
        assert_eq!(arch.little_endian(), value & 0x4000_0000 != 0, "{arch}");
    }
}

#[test]
fn widths_follow_libseccomp() {
    let narrow = [
        Arch::X86,
        Arch::X32,
        Arch::Arm,
        Arch::S390,
        Arch::Ppc,
        Arch::Mips,
        Arch::Mipsel,
        Arch::Mips64n32,
        Arch::Mipsel64n32,
    ];
    for &a in Arch::all() {
        let want = if narrow.contains(&a) {
            ArgWidth::Bits32
        } else {
            ArgWidth::Bits64
        };
        assert_eq!(a.width(), want, "{a}");
    }
}

#[test]
fn tables_are_sorted_and_unique() {
    for &a in Arch::all() {
        let t = a.table();
        assert!(t.len() > 300, "{a}: {} rows", t.len());
        assert!(t.windows(2).all(|w| w[0].1 < w[1].1), "{a}: numbers");
        let mut names: Vec<&str> = t.iter().map(|r| r.0).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), t.len(), "{a}: names");
        for &(name, n) in t {
            assert_eq!(a.syscall_nr(name), Some(n), "{a} {name}");
            assert_eq!(a.syscall_name(n), Some(name), "{a} {n}");
        }
        assert_eq!(a.max_nr(), t[t.len() - 1].1);
        assert!(a.source().contains("syscalls crate 0.8.1"), "{a}");
        assert!(a.source().contains("Linux 6.18"), "{a}");
    }
}

#[test]
fn names_round_trip() {
    for (i, &a) in Arch::all().iter().enumerate() {
        assert_eq!(a as usize, i);
        assert_eq!(Arch::from_name(a.name()), Some(a));
        assert_eq!(Arch::from_name(a.scmp_name()), Some(a));
        assert_eq!(Arch::from_scmp(a.scmp_name()), Some(a));
        assert_eq!(a.name().parse::<Arch>(), Ok(a));
        assert_eq!(a.to_string(), a.name());
    }
}

#[test]
fn docker_and_go_names() {
    let cases = [
        ("amd64", Arch::X86_64),
        ("386", Arch::X86),
        ("x86", Arch::X86),
        ("i386", Arch::X86),
        ("i686", Arch::X86),
        ("arm64", Arch::Aarch64),
        ("arm", Arch::Arm),
        ("armv7l", Arch::Arm),
        ("ppc64le", Arch::Ppc64le),
        ("ppc64", Arch::Ppc64),
        ("ppc", Arch::Ppc),
        ("s390x", Arch::S390x),
        ("s390", Arch::S390),
        ("riscv64", Arch::Riscv64),
        ("mips", Arch::Mips),
        ("mipsle", Arch::Mipsel),
        ("mipsel", Arch::Mipsel),
        ("mips64", Arch::Mips64),
        ("mips64le", Arch::Mips64el),
        ("mipsel64", Arch::Mips64el),
        ("mips64n32", Arch::Mips64n32),
        ("mips64p32", Arch::Mips64n32),
        ("mips64p32le", Arch::Mipsel64n32),
        ("mips3l64n32", Arch::Mipsel64n32),
        ("mipsel64n32", Arch::Mipsel64n32),
        ("loong64", Arch::Loongarch64),
        ("loongarch64", Arch::Loongarch64),
        ("x32", Arch::X32),
        ("AMD64", Arch::X86_64),
        ("scmp_arch_x86_64", Arch::X86_64),
    ];
    for (name, arch) in cases {
        assert_eq!(Arch::from_name(name), Some(arch), "{name}");
    }
    assert_eq!(Arch::from_name("sparc64"), None);
    assert_eq!(Arch::from_name(""), None);
}

#[test]
fn scmp_names_are_strict() {
    assert_eq!(Arch::from_scmp("SCMP_ARCH_X86_64"), Some(Arch::X86_64));
    assert_eq!(Arch::from_scmp("SCMP_ARCH_MIPSEL64"), Some(Arch::Mips64el));
    assert_eq!(
        Arch::from_scmp("SCMP_ARCH_MIPSEL64N32"),
        Some(Arch::Mipsel64n32)
    );
    assert_eq!(
        Arch::from_scmp("SCMP_ARCH_LOONGARCH64"),
        Some(Arch::Loongarch64)
    );
    assert_eq!(Arch::from_scmp("scmp_arch_x86_64"), None);
    assert_eq!(Arch::from_scmp("x86_64"), None);
    assert_eq!(Arch::from_scmp("amd64"), None);
    assert_eq!(Arch::from_scmp("SCMP_ARCH_PARISC"), None);
}

#[test]
fn parse_errors_say_why() {
    assert_eq!(
        Arch::parse("SCMP_ARCH_PARISC"),
        Err(ArchError::NoTable {
            name: "SCMP_ARCH_PARISC".into()
        })
    );
    let e = Arch::parse("m68k").unwrap_err();
    assert_eq!(e.to_string(), "arch m68k: no syscall table");
    let e = Arch::parse("vax").unwrap_err();
    assert!(matches!(e, ArchError::Unknown { .. }));
    let msg = e.to_string();
    assert!(
        msg.starts_with("unknown arch `vax` (known: x86_64, x32, x86, aarch64,"),
        "{msg}"
    );
    assert!(msg.ends_with("mipsel64n32, loongarch64)"), "{msg}");
}

#[test]
fn native_matches_the_build_target() {
    let native = Arch::native();
    if cfg!(all(target_arch = "x86_64", target_pointer_width = "64")) {
        assert_eq!(native, Some(Arch::X86_64));
    } else if cfg!(all(target_arch = "aarch64", target_endian = "little")) {
        assert_eq!(native, Some(Arch::Aarch64));
    } else {
        eprintln!("native arch on this target: {native:?}");
    }
}

#[test]
fn socketcall_routes() {
    let via = |a: Arch, name: &str| a.multiplexed(name);
    assert_eq!(
        via(Arch::X86, "socket"),
        Some(Multiplexed {
            via_nr: 102,
            call: 1
        })
    );
    assert_eq!(
        via(Arch::X86, "accept4"),
        Some(Multiplexed {
            via_nr: 102,
            call: 18
        })
    );
    assert_eq!(
        via(Arch::X86, "send"),
        Some(Multiplexed {
            via_nr: 102,
            call: 9
        })
    );
    assert_eq!(nr(Arch::X86, "send"), None);
    assert_eq!(
        via(Arch::Mipsel, "sendmmsg"),
        Some(Multiplexed {
            via_nr: 4102,
            call: 20
        })
    );
    assert_eq!(
        via(Arch::S390x, "connect"),
        Some(Multiplexed {
            via_nr: 102,
            call: 3
        })
    );
    assert_eq!(via(Arch::X86, "read"), None);
    for a in [
        Arch::X86_64,
        Arch::X32,
        Arch::Arm,
        Arch::Aarch64,
        Arch::Mips64,
        Arch::Mips64n32,
        Arch::Riscv64,
        Arch::Loongarch64,
    ] {
        assert_eq!(via(a, "socket"), None, "{a}");
        assert_eq!(via(a, "semop"), None, "{a}");
    }
}

#[test]
fn ipc_routes() {
    let cases = [
        ("semop", 1),
        ("semget", 2),
        ("semctl", 3),
        ("semtimedop", 4),
        ("msgsnd", 11),
        ("msgrcv", 12),
        ("msgget", 13),
        ("msgctl", 14),
        ("shmat", 21),
        ("shmdt", 22),
        ("shmget", 23),
        ("shmctl", 24),
    ];
    assert_eq!(IPC_CALLS, cases);
    for a in [
        Arch::X86,
        Arch::S390,
        Arch::S390x,
        Arch::Ppc,
        Arch::Ppc64,
        Arch::Ppc64le,
    ] {
        for (name, call) in cases {
            assert_eq!(
                a.multiplexed(name),
                Some(Multiplexed { via_nr: 117, call }),
                "{a} {name}"
            );
        }
    }
    assert_eq!(
        Arch::Mips.multiplexed("shmctl"),
        Some(Multiplexed {
            via_nr: 4117,
            call: 24
        })
    );
}

#[test]
fn socketcall_numbers() {
    assert_eq!(SOCKETCALL_CALLS.len(), 20);
    for (i, (_, call)) in SOCKETCALL_CALLS.iter().enumerate() {
        assert_eq!(*call as usize, i + 1);
    }
    assert_eq!(SOCKETCALL_CALLS[0], ("socket", 1));
    assert_eq!(SOCKETCALL_CALLS[19], ("sendmmsg", 20));
}

#[test]
fn arch_from_seccomp_data() {
    assert_eq!(Arch::from_audit(0xc000_003e, 39), Some(Arch::X86_64));
    assert_eq!(Arch::from_audit(0xc000_003e, 0x4000_0027), Some(Arch::X32));
    assert_eq!(Arch::from_audit(0x4000_0003, 20), Some(Arch::X86));
    assert_eq!(Arch::from_audit(0xc000_0015, 20), Some(Arch::Ppc64le));
    assert_eq!(Arch::from_audit(0x8000_0015, 20), Some(Arch::Ppc64));
    assert_eq!(Arch::from_audit(0xe000_0008, 6038), Some(Arch::Mipsel64n32));
    assert_eq!(Arch::from_audit(0x0000_0028, 20), None);
    for &a in Arch::all() {
        let nr = a.syscall_nr("exit").unwrap_or(a.max_nr());
        assert_eq!(Arch::from_audit(a.audit_arch(), nr), Some(a), "{a}");
    }
}

#[test]
fn known_anywhere() {
    assert!(Arch::known_anywhere("read"));
    assert!(Arch::known_anywhere("set_tls"));
    assert!(Arch::known_anywhere("sync_file_range2"));
    assert!(Arch::known_anywhere("s390_runtime_instr"));
    assert!(!Arch::known_anywhere("fstatat"));
    assert!(!Arch::known_anywhere("not_a_syscall"));
    assert!(!Arch::known_anywhere(""));
}
