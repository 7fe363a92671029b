//! The syscall tables against the names of moby's `default.json`, with the
//! facts written down in `profile-formats.md` §8.3 and §14: every name is
//! known somewhere, and the largest number per arch (runc's ENOSYS cut-off)
//! is 466 (`removexattrat`) on the 64-bit generic arches, 547 | bit 30
//! (`pwritev2`) on x32 and 0xf0005 (`set_tls`) on arm.
//!
//! Reads `../shared/corpus/third-party/moby/default.json`; skips with a
//! message when the shared corpus is absent.

use std::collections::BTreeSet;

use sysfence_profile::arch::Arch;

/// Every string inside a `"names": [...]` array, and every `"name": "..."`.
fn profile_names(json: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = json;
    while let Some(at) = rest.find("\"names\"") {
        rest = &rest[at + 7..];
        let (Some(open), Some(close)) = (rest.find('['), rest.find(']')) else {
            break;
        };
        let list = &rest[open + 1..close];
        names.extend(list.split('"').skip(1).step_by(2).map(str::to_string));
        rest = &rest[close..];
    }
    names
}

fn corpus() -> Option<String> {
    sysfence_testkit::shared::read_string("corpus/third-party/moby/default.json")
}

fn max_nr(arch: Arch, names: &BTreeSet<String>) -> Option<(u32, &str)> {
    names
        .iter()
        .filter_map(|n| arch.syscall_nr(n).map(|nr| (nr, n.as_str())))
        .max()
}

#[test]
fn default_profile_names_are_known() {
    let Some(json) = corpus() else { return };
    let names = profile_names(&json);
    assert_eq!(names.len(), 426, "distinct names in default.json");
    let unknown: Vec<&String> = names
        .iter()
        .filter(|n| Arch::all().iter().all(|a| a.syscall_nr(n).is_none()))
        .collect();
    assert!(unknown.is_empty(), "names no table knows: {unknown:?}");
}

#[test]
fn default_profile_cut_offs() {
    let Some(json) = corpus() else { return };
    let names = profile_names(&json);
    for arch in [
        Arch::X86_64,
        Arch::X86,
        Arch::Aarch64,
        Arch::S390x,
        Arch::Riscv64,
        Arch::Ppc64,
    ] {
        assert_eq!(max_nr(arch, &names), Some((466, "removexattrat")), "{arch}");
    }
    assert_eq!(
        max_nr(Arch::X32, &names),
        Some((0x4000_0000 | 547, "pwritev2"))
    );
    assert_eq!(max_nr(Arch::Arm, &names), Some((0xf0005, "set_tls")));
}

/// The names of `default.json` that x86_64 does not have: 32-bit-only
/// calls, other arches' private calls and the multiplexers.
const NOT_ON_X86_64: [&str; 75] = [
    "_llseek",
    "_newselect",
    "arm_fadvise64_64",
    "arm_sync_file_range",
    "breakpoint",
    "cacheflush",
    "chown32",
    "clock_adjtime64",
    "clock_getres_time64",
    "clock_gettime64",
    "clock_nanosleep_time64",
    "clock_settime64",
    "fadvise64_64",
    "fchown32",
    "fcntl64",
    "fstat64",
    "fstatat64",
    "fstatfs64",
    "ftruncate64",
    "futex_time64",
    "getegid32",
    "geteuid32",
    "getgid32",
    "getgroups32",
    "getresgid32",
    "getresuid32",
    "getuid32",
    "io_pgetevents_time64",
    "ipc",
    "lchown32",
    "lstat64",
    "mmap2",
    "mq_timedreceive_time64",
    "mq_timedsend_time64",
    "ppoll_time64",
    "pselect6_time64",
    "recv",
    "recvmmsg_time64",
    "riscv_flush_icache",
    "riscv_hwprobe",
    "rt_sigtimedwait_time64",
    "s390_pci_mmio_read",
    "s390_pci_mmio_write",
    "s390_runtime_instr",
    "sched_rr_get_interval_time64",
    "semtimedop_time64",
    "send",
    "sendfile64",
    "set_tls",
    "setfsgid32",
    "setfsuid32",
    "setgid32",
    "setgroups32",
    "setregid32",
    "setresgid32",
    "setresuid32",
    "setreuid32",
    "setuid32",
    "sigprocmask",
    "sigreturn",
    "socketcall",
    "stat64",
    "statfs64",
    "stime",
    "swapcontext",
    "sync_file_range2",
    "timer_gettime64",
    "timer_settime64",
    "timerfd_gettime64",
    "timerfd_settime64",
    "truncate64",
    "ugetrlimit",
    "umount",
    "utimensat_time64",
    "waitpid",
];

#[test]
fn x86_64_knows_the_rest() {
    let Some(json) = corpus() else { return };
    let names = profile_names(&json);
    let missing: Vec<&str> = names
        .iter()
        .map(String::as_str)
        .filter(|n| Arch::X86_64.syscall_nr(n).is_none())
        .collect();
    assert_eq!(missing, NOT_ON_X86_64);
    assert_eq!(names.len() - missing.len(), 351);
    // Spot numbers from syscall_64.tbl among the names the file does use.
    for (name, nr) in [
        ("uretprobe", 335),
        ("mseal", 462),
        ("clone3", 435),
        ("kcmp", 312),
    ] {
        assert!(names.contains(name), "{name}");
        assert_eq!(Arch::X86_64.syscall_nr(name), Some(nr), "{name}");
    }
}
