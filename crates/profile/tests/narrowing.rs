//! Narrowing while reading (`HostContext::arches`), in every dialect: the
//! policy holds only the asked arches, a refusal on an arch nobody asked for
//! is not raised, and asking for an arch the profile's filter would not hold
//! is a located error.

use sysfence_profile::ir::Action;
use sysfence_profile::{Arch, Format, HostContext, LoadOptions, Loaded, ProfileError, load};
use sysfence_testkit::fixtures::action_of;
use sysfence_testkit::host::{temp_dir, write};

/// The rules of an OCI-family profile with x86_64, x86 and x32, refused on
/// x86 only: there `socket` is `socketcall(1)`, which the second rule
/// gives another action with the same condition (libseccomp: EEXIST).
const X86_CONFLICT: &str = r#""defaultAction": "SCMP_ACT_ERRNO",
  "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
  "syscalls": [
    {"names": ["socket", "read"], "action": "SCMP_ACT_ALLOW"},
    {"names": ["socketcall"], "action": "SCMP_ACT_KILL_PROCESS",
     "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]}
  ]"#;

/// The conflict profile in each OCI-family dialect.
fn oci_family() -> Vec<(Format, String)> {
    let json = format!("{{{X86_CONFLICT}}}");
    let spo_rules = "  defaultAction: SCMP_ACT_ERRNO\n  architectures: [SCMP_ARCH_X86_64, SCMP_ARCH_X86, SCMP_ARCH_X32]\n  syscalls:\n  - action: SCMP_ACT_ALLOW\n    names: [socket, read]\n  - action: SCMP_ACT_KILL_PROCESS\n    names: [socketcall]\n    args: [{index: 0, value: 1, op: SCMP_CMP_EQ}]\n";
    vec![
        (Format::Docker, json.clone()),
        (
            Format::Oci,
            format!(r#"{{"ociVersion": "1.2.0", "linux": {{"seccomp": {json}}}}}"#),
        ),
        (Format::Containers, json.clone()),
        (Format::Containerd, json.clone()),
        (
            Format::Spo,
            format!(
                "apiVersion: security-profiles-operator.x-k8s.io/v1beta1\nkind: SeccompProfile\nmetadata:\n  name: app\nspec:\n{spo_rules}"
            ),
        ),
        (Format::Gadget, format!("// app\n{json}")),
    ]
}

fn read(text: &str, format: Format, arches: Option<&[Arch]>) -> Result<Loaded, ProfileError> {
    let opts = LoadOptions {
        format: Some(format),
        file_name: "p".into(),
        context: HostContext {
            arches: arches.map(<[Arch]>::to_vec),
            ..HostContext::default()
        },
        ..LoadOptions::default()
    };
    load(text.as_bytes(), &opts)
}

/// The policy's entries by name.
fn names(l: &Loaded) -> Vec<&str> {
    l.policy.arches().iter().map(|a| a.name.as_str()).collect()
}

fn x86_64_call(l: &Loaded, nr: u32) -> Action {
    action_of(&l.policy, Arch::X86_64.audit_arch(), nr, [0; 6])
}

fn refusal(r: Result<Loaded, ProfileError>) -> ProfileError {
    match r {
        Ok(l) => panic!("accepted: {:?}", names(&l)),
        Err(e) => e,
    }
}

#[test]
fn oci_family_narrowing_keeps_only_the_asked_arches() {
    for (format, text) in oci_family() {
        let l =
            read(&text, format, Some(&[Arch::X86_64])).unwrap_or_else(|e| panic!("{format}: {e}"));
        assert_eq!(names(&l), ["x86_64"], "{format}");
        assert_eq!(l.native_arches, [Arch::X86_64], "{format}");
        assert_eq!(x86_64_call(&l, 41), Action::Allow, "{format}: socket");
        assert_eq!(
            x86_64_call(&l, 0x4000_0029),
            Action::KillThread,
            "{format}: x32 left out"
        );
        let both = read(&text, format, Some(&[Arch::X32, Arch::X86_64])).unwrap();
        assert_eq!(names(&both), ["x86_64+x32"], "{format}");
        assert_eq!(
            x86_64_call(&both, 0x4000_0029),
            Action::Allow,
            "{format}: x32 socket"
        );
    }
}

#[test]
fn oci_family_refusal_on_x86_is_raised_only_when_x86_is_asked_for() {
    for (format, text) in oci_family() {
        for arches in [
            None,
            Some(&[Arch::X86][..]),
            Some(&[Arch::X86_64, Arch::X86][..]),
        ] {
            let e = refusal(read(&text, format, arches));
            assert!(e.to_string().contains("socketcall on x86"), "{format}: {e}");
        }
        assert!(read(&text, format, Some(&[Arch::X32])).is_ok(), "{format}");
    }
}

#[test]
fn oci_family_arch_not_in_the_profile_is_a_located_error() {
    for (format, text) in oci_family() {
        let e = refusal(read(&text, format, Some(&[Arch::X86_64, Arch::Aarch64])));
        let msg = e.to_string();
        assert!(
            msg.contains(
                "arch aarch64 is not in this profile's filter (it holds x86_64, x86, x32)"
            ),
            "{format}: {msg}"
        );
        assert!(e.origin().line > 0, "{format}: {msg}");
        let e = refusal(read(&text, format, Some(&[])));
        assert!(e.to_string().contains("no arch asked for"), "{format}: {e}");
    }
}

/// libseccomp keeps the native arch unless removed; narrowed to a listed
/// arch alone, the native one is left out too.
#[test]
fn the_native_arch_is_kept_only_when_asked_for() {
    let text = r#"{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86"],
        "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}"#;
    let whole = read(text, Format::Docker, None).unwrap();
    assert_eq!(whole.native_arches, [Arch::X86_64, Arch::X86]);
    let x86 = read(text, Format::Docker, Some(&[Arch::X86])).unwrap();
    assert_eq!(names(&x86), ["x86"]);
    assert_eq!(x86.native_arches, [Arch::X86]);
    let e = refusal(read(text, Format::Docker, Some(&[Arch::X32])));
    assert!(e.to_string().contains("it holds x86_64, x86"), "{e}");
}

/// A filter holds one byte order (libseccomp: `-EDOM`): the other one is
/// refused as written, not when narrowed away, and a filter of the other
/// order alone is one byte order too.
#[test]
fn a_foreign_byte_order_does_not_refuse_a_filter_without_it() {
    let text = r#"{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_PPC64"],
        "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}"#;
    let e = refusal(read(text, Format::Docker, None));
    assert!(e.to_string().contains("other byte order"), "{e}");
    let l = read(text, Format::Docker, Some(&[Arch::X86_64])).unwrap();
    assert_eq!(names(&l), ["x86_64"]);
    let e = refusal(read(
        text,
        Format::Docker,
        Some(&[Arch::X86_64, Arch::Ppc64]),
    ));
    assert_eq!(e.origin().line, 1, "{e}");
    let alone = read(text, Format::Docker, Some(&[Arch::Ppc64])).unwrap();
    assert_eq!(names(&alone), ["ppc64"]);
}

#[test]
fn a_seccompiler_filter_narrows_only_to_its_own_arch() {
    let text = r#"{"main": {"mismatch_action": "trap", "match_action": "allow",
        "filter": [{"syscall": "read"}]}}"#;
    let l = read(text, Format::Seccompiler, Some(&[Arch::X86_64])).unwrap();
    assert_eq!(names(&l), ["x86_64"]);
    for other in [Arch::X32, Arch::Aarch64] {
        let e = refusal(read(
            text,
            Format::Seccompiler,
            Some(&[Arch::X86_64, other]),
        ));
        let want = format!("a seccompiler filter holds one arch, x86_64; {other} is not in it");
        assert!(e.to_string().contains(&want), "{e}");
        assert!(e.origin().line > 0);
    }
}

#[test]
fn a_minijail_policy_narrows_only_to_its_constants_arch() {
    let dir = temp_dir("narrowing-minijail");
    write(
        &dir,
        "constants.json",
        r#"{"arch_nr": 3221225534, "arch_name": "x86_64", "bits": 64,
            "syscalls": {"read": 0, "write": 1}, "constants": {}}"#,
    );
    let opts = |arches: &[Arch]| LoadOptions {
        format: Some(Format::Minijail),
        file_name: "p.policy".into(),
        base_dir: Some(dir.clone()),
        context: HostContext {
            arches: Some(arches.to_vec()),
            ..HostContext::default()
        },
        ..LoadOptions::default()
    };
    let text = b"read: 1\nwrite: 1\n";
    let l = load(text, &opts(&[Arch::X86_64])).unwrap();
    assert_eq!(names(&l), ["x86_64"]);
    let e = load(text, &opts(&[Arch::X86])).unwrap_err();
    assert!(
        e.to_string()
            .contains("holds one arch, x86_64; x86 is not in it"),
        "{e}"
    );
    assert_eq!((e.origin().file.as_str(), e.origin().line), ("p.policy", 1));
    let _ = std::fs::remove_dir_all(&dir);
}
