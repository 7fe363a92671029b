//! `sysfence syscalls`: the table printout, lookups and arch errors.

use sysfence_testkit::Cli;
use sysfence_testkit::cli::{stderr, stdout};

const SYSFENCE: Cli = Cli::new(env!("CARGO_BIN_EXE_sysfence"));

#[test]
fn x86_64_table() {
    let o = SYSFENCE.run(&["syscalls", "--arch", "x86_64"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some(
            "# x86_64 (SCMP_ARCH_X86_64) audit 0xc000003e little-endian 64-bit arguments, \
             383 syscalls, max 469"
        )
    );
    let source = lines.next().unwrap_or_default();
    assert!(
        source.starts_with("# source: syscalls crate 0.8.1 (Linux 6.18)"),
        "{source}"
    );
    assert_eq!(lines.next(), Some("0 read"));
    assert!(text.contains("\n39 getpid\n"));
    assert!(text.contains("\n231 exit_group\n"));
    assert!(text.contains("\n435 clone3\n"));
    assert!(text.ends_with("469 file_setattr\n"));
    assert!(!text.contains("socketcall"));
}

#[test]
fn docker_names_and_multiplexed_notes() {
    let o = SYSFENCE.run(&["syscalls", "--arch", "386"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.starts_with("# x86 (SCMP_ARCH_X86) audit 0x40000003 little-endian 32-bit"));
    assert!(text.contains("\n20 getpid\n"));
    assert!(text.contains("\n102 socketcall\n"));
    assert!(text.contains("\n359 socket\t# also socketcall(102) call 1\n"));
    assert!(text.contains("\n117 ipc\n"));
    assert!(text.contains("\n393 semget\t# also ipc(117) call 2\n"));
    assert!(text.contains("# semop: only ipc(117) call 1\n"));
    assert!(text.contains("# send: only socketcall(102) call 9\n"));
}

#[test]
fn x32_and_arm_numbers() {
    let o = SYSFENCE.run(&[
        "syscalls",
        "--arch",
        "SCMP_ARCH_X32",
        "read",
        "rt_sigaction",
        "0x40000027",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "1073741824 read\n1073742336 rt_sigaction\n1073741863 getpid\n"
    );
    let o = SYSFENCE.run(&[
        "syscalls",
        "--arch",
        "arm",
        "set_tls",
        "sync_file_range2",
        "983041",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "983045 set_tls\n341 arm_sync_file_range\n983041 breakpoint\n"
    );
}

#[test]
fn missing_syscall_is_a_no() {
    let o = SYSFENCE.run(&["syscalls", "--arch", "aarch64", "getpid", "open"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stdout(&o), "172 getpid\n");
    assert_eq!(stderr(&o), "sysfence: aarch64: no syscall `open`\n");
}

#[test]
fn unknown_arch_lists_the_known_ones() {
    let o = SYSFENCE.run(&["syscalls", "--arch", "vax"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stdout(&o), "");
    let err = stderr(&o);
    assert!(
        err.starts_with("sysfence: unknown arch `vax` (known: x86_64, x32, x86, aarch64, arm,"),
        "{err}"
    );
    assert!(
        err.contains("mips64n32, mipsel64n32, loongarch64)"),
        "{err}"
    );
}

#[test]
fn arch_without_table() {
    let o = SYSFENCE.run(&["syscalls", "--arch", "SCMP_ARCH_PARISC"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        "sysfence: arch SCMP_ARCH_PARISC: no syscall table\n"
    );
}

#[test]
fn every_arch_prints() {
    for arch in [
        "x86_64",
        "x32",
        "x86",
        "aarch64",
        "arm",
        "riscv64",
        "s390x",
        "s390",
        "ppc64le",
        "ppc64",
        "ppc",
        "mips",
        "mipsel",
        "mips64",
        "mips64el",
        "mips64n32",
        "mipsel64n32",
        "loongarch64",
    ] {
        let o = SYSFENCE.run(&["syscalls", "--arch", arch]);
        assert_eq!(o.status.code(), Some(0), "{arch}: {}", stderr(&o));
        let text = stdout(&o);
        assert!(text.starts_with(&format!("# {arch} (SCMP_ARCH_")), "{arch}");
        let rows = text.lines().filter(|l| !l.starts_with('#')).count();
        assert!(rows > 300, "{arch}: {rows} rows");
    }
}
