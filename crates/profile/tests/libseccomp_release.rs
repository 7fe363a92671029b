//! `HostContext::libseccomp`: the release runc and crun link decides which
//! names resolve, and runc's ENOSYS threshold is the largest number that
//! release resolves.

use sysfence_profile::eval::{Call, eval};
use sysfence_profile::ir::Action;
use sysfence_profile::{Arch, HostContext, Libseccomp, LoadOptions, Loaded, ProfileError, load};

const X86_64: u32 = 0xc000_003e;

fn load_with(text: &str, release: Libseccomp) -> Result<Loaded, ProfileError> {
    let opts = LoadOptions {
        file_name: "p.json".into(),
        context: HostContext {
            libseccomp: release,
            ..HostContext::default()
        },
        ..LoadOptions::default()
    };
    load(text.as_bytes(), &opts)
}

fn call(l: &Loaded, name: &str) -> Action {
    let nr = Arch::X86_64.syscall_nr(name).expect("x86_64 name");
    let c = Call {
        arch: X86_64,
        nr,
        args: [0; 6],
        instruction_pointer: 0,
    };
    eval(&l.policy, &c).0
}

const NEW_NAMES: &str = r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
  {"names":["read","fchmodat2","cachestat"],"action":"SCMP_ACT_ALLOW"}]}"#;

#[test]
fn names_a_release_does_not_know_are_skipped_with_a_warning() {
    let old = load_with(NEW_NAMES, Libseccomp::V2_5_4).unwrap();
    let unknown: Vec<&str> = old
        .warnings
        .iter()
        .map(|w| w.message.as_str())
        .filter(|m| m.starts_with("unknown syscall"))
        .collect();
    assert_eq!(
        unknown,
        [
            "unknown syscall \"fchmodat2\" ignored",
            "unknown syscall \"cachestat\" ignored"
        ]
    );
    assert_eq!(call(&old, "read"), Action::Allow);
    let new = load_with(NEW_NAMES, Libseccomp::V2_6_1).unwrap();
    assert!(
        new.warnings
            .iter()
            .all(|w| !w.message.starts_with("unknown"))
    );
    assert_eq!(call(&new, "fchmodat2"), Action::Allow);
}

#[test]
fn the_enosys_threshold_is_the_largest_resolvable_number() {
    // 2.5.4 resolves neither new name: the largest resolvable number is
    // read's 0, so everything above gets ENOSYS; 2.6.1 resolves cachestat
    // (451) and fchmodat2 (452), so numbers up to 452 get the default.
    let old = load_with(NEW_NAMES, Libseccomp::V2_5_4).unwrap();
    assert_eq!(call(&old, "write"), Action::Errno(38));
    assert_eq!(call(&old, "fchmodat2"), Action::Errno(38));
    let new = load_with(NEW_NAMES, Libseccomp::V2_6_1).unwrap();
    assert_eq!(call(&new, "write"), Action::Errno(1));
    assert_eq!(call(&new, "uretprobe"), Action::Errno(1));
    assert_eq!(call(&new, "fchmodat2"), Action::Allow);
    let above = Arch::X86_64.syscall_nr("fchmodat2").unwrap() + 1;
    let c = Call {
        arch: X86_64,
        nr: above,
        args: [0; 6],
        instruction_pointer: 0,
    };
    assert_eq!(eval(&new.policy, &c).0, Action::Errno(38));
}

#[test]
fn each_release_knows_its_own_table() {
    let r = |v: Libseccomp, a: Arch, n: &str| v.syscall_nr(a, n);
    assert_eq!(r(Libseccomp::V2_5_4, Arch::X86_64, "uretprobe"), None);
    assert_eq!(
        r(Libseccomp::V2_5_4, Arch::X86_64, "process_mrelease"),
        Some(448)
    );
    assert_eq!(r(Libseccomp::V2_5_5, Arch::X86_64, "cachestat"), Some(451));
    assert_eq!(r(Libseccomp::V2_5_5, Arch::X86_64, "mseal"), None);
    assert_eq!(r(Libseccomp::V2_6_1, Arch::X86_64, "listns"), Some(470));
    assert_eq!(
        r(Libseccomp::V2_6_1, Arch::X32, "listns"),
        Some(470 | 0x4000_0000)
    );
    assert_eq!(r(Libseccomp::V2_5_4, Arch::Mips, "read"), Some(4003));
    assert!(!Libseccomp::V2_5_6.supports(Arch::Loongarch64));
    assert!(Libseccomp::V2_6_0.supports(Arch::Loongarch64));
    assert!(Libseccomp::V2_5_4.knows("socketcall"));
    assert!(!Libseccomp::V2_5_4.knows("riscv_hwprobe"));
    assert_eq!(Libseccomp::from_name("v2.5.4"), Some(Libseccomp::V2_5_4));
    assert_eq!(Libseccomp::from_name("2.4.0"), None);
    assert_eq!(Libseccomp::default(), Libseccomp::V2_6_1);
}

#[test]
fn an_arch_the_release_lacks_is_refused() {
    let text = r#"{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_LOONGARCH64"],
      "syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW"}]}"#;
    let e = load_with(text, Libseccomp::V2_5_4).unwrap_err();
    assert!(
        e.message().contains("libseccomp 2.5.4 does not know arch"),
        "{e}"
    );
    assert!(load_with(text, Libseccomp::V2_6_0).is_ok());
}
