//! The example profiles in `corpus/profiles/` load and mean what
//! `docs/profiles.md` says they mean.

use std::path::{Path, PathBuf};

use sysfence_profile::eval::{Call, eval};
use sysfence_profile::ir::Action;
use sysfence_profile::{Arch, Format, LoadOptions, Loaded, load};
use sysfence_testkit::fixtures::x86_64_action;

use sysfence_abi::arch::AUDIT_ARCH_X86_64 as X86_64;

fn example(name: &str, filter: Option<&str>) -> Loaded {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../corpus/profiles");
    let text = std::fs::read(dir.join(name)).expect("example exists");
    let opts = LoadOptions {
        file_name: name.into(),
        filter: filter.map(str::to_string),
        base_dir: Some(Path::new(&dir).to_path_buf()),
        ..LoadOptions::default()
    };
    load(&text, &opts).unwrap_or_else(|e| panic!("{e}"))
}

fn call(l: &Loaded, name: &str, args: [u64; 6]) -> Action {
    x86_64_action(&l.policy, name, args)
}

#[test]
fn allow_list() {
    let l = example("allow-list.json", None);
    assert_eq!(l.format, Format::Docker);
    assert_eq!(l.native_arches, vec![Arch::X86_64, Arch::X86, Arch::X32]);
    let warnings: Vec<&str> = l.warnings.iter().map(|w| w.message.as_str()).collect();
    assert_eq!(warnings.len(), 3, "{warnings:?}");
    assert!(
        warnings[0].starts_with("socket on x86: through socketcall(1) libseccomp replaces arg0"),
        "{warnings:?}"
    );
    let socketcall = Arch::X86.syscall_nr("socketcall").expect("socketcall");
    let via = Call {
        arch: 0x4000_0003,
        nr: socketcall,
        args: [1, 0, 0, 0, 0, 0],
        instruction_pointer: 0,
    };
    assert_eq!(
        eval(&l.policy, &via).0,
        Action::Allow,
        "any family through socketcall(SYS_SOCKET)"
    );
    assert_eq!(call(&l, "read", [0; 6]), Action::Allow);
    assert_eq!(call(&l, "socket", [10, 0, 0, 0, 0, 0]), Action::Allow);
    assert_eq!(call(&l, "socket", [16, 0, 0, 0, 0, 0]), Action::Errno(1));
    assert_eq!(call(&l, "mprotect", [0, 0, 3, 0, 0, 0]), Action::Allow);
    assert_eq!(call(&l, "mprotect", [0, 0, 7, 0, 0, 0]), Action::Errno(1));
    assert_eq!(call(&l, "clone3", [0; 6]), Action::Errno(38));
    assert_eq!(call(&l, "execve", [0; 6]), Action::Errno(1));
}

#[test]
fn deny_list() {
    let l = example("deny-list.json", None);
    assert_eq!(call(&l, "mount", [0; 6]), Action::Errno(1));
    assert_eq!(call(&l, "ptrace", [0; 6]), Action::KillProcess);
    assert_eq!(call(&l, "personality", [0; 6]), Action::Allow);
    assert_eq!(
        call(&l, "personality", [8, 0, 0, 0, 0, 0]),
        Action::Errno(1)
    );
    assert_eq!(call(&l, "read", [0; 6]), Action::Allow);
    let x32 = Call {
        arch: X86_64,
        nr: 0x4000_0000 | 165,
        ..Call::default()
    };
    assert_eq!(
        eval(&l.policy, &x32).0,
        Action::KillThread,
        "libseccomp's x32 guard"
    );
}

#[test]
fn worker_seccompiler() {
    let l = example("worker.seccompiler.json", None);
    assert_eq!(call(&l, "write", [1, 0, 0, 0, 0, 0]), Action::Allow);
    assert_eq!(
        call(&l, "write", [0xffff_ffff_0000_0002, 0, 0, 0, 0, 0]),
        Action::Allow
    );
    assert_eq!(call(&l, "write", [3, 0, 0, 0, 0, 0]), Action::KillProcess);
    assert_eq!(call(&l, "read", [9; 6]), Action::Allow);
}

#[test]
fn spo_with_base() {
    let l = example("app.spo.yaml", Some("app"));
    assert_eq!(call(&l, "read", [0; 6]), Action::Allow, "from the base");
    assert_eq!(call(&l, "openat", [0; 6]), Action::Allow);
    assert_eq!(call(&l, "clone3", [0; 6]), Action::Errno(38));
    assert_eq!(call(&l, "execve", [0; 6]), Action::Errno(1));
}
