//! Go-compatible decoding and the differences between the dialects.

use sysfence_profile::eval::{Call, eval};
use sysfence_profile::ir::Action;
use sysfence_profile::{Arch, Format, HostContext, LoadOptions, Loaded, Runtime, load};
use sysfence_testkit::fixtures::x86_64_action;

use sysfence_abi::arch::AUDIT_ARCH_X86_64 as X86_64;

fn load_as(text: &str, format: Option<Format>, ctx: HostContext) -> Loaded {
    let opts = LoadOptions {
        format,
        context: ctx,
        file_name: "p.json".into(),
        ..LoadOptions::default()
    };
    load(text.as_bytes(), &opts).unwrap_or_else(|e| panic!("{e}"))
}

fn call(l: &Loaded, name: &str, args: [u64; 6]) -> Action {
    x86_64_action(&l.policy, name, args)
}

#[test]
fn keys_are_case_insensitive() {
    let text = r#"{"DEFAULTACTION": "SCMP_ACT_ERRNO",
        "Syscalls": [{"NAMES": ["read", "exit_group"], "Action": "SCMP_ACT_ALLOW", "bogus": 1}]}"#;
    let l = load_as(text, None, HostContext::default());
    assert_eq!(call(&l, "read", [0; 6]), Action::Allow);
    assert_eq!(call(&l, "write", [0; 6]), Action::Errno(1));
    let msgs: Vec<&str> = l.warnings.iter().map(|w| w.message.as_str()).collect();
    assert!(msgs.contains(&"unknown key \"bogus\" ignored"), "{msgs:?}");
}

/// Go merges a repeated key's value into the first one (objects field by
/// field, arrays element by element), so no "last one wins" reading is
/// right: Docker keeps both `includes` below (caps and arches) and drops
/// the rule without CAP_SYS_ADMIN. Every Go-read format refuses them.
#[test]
fn repeated_keys_are_refused_in_every_go_format() {
    let rule = r#"{"names":["mount"],"action":"SCMP_ACT_ALLOW","includes":{"caps":["CAP_SYS_ADMIN"]},"includes":{"arches":["amd64"]}}"#;
    let profile = format!(r#"{{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{rule}]}}"#);
    for format in [Format::Docker, Format::Containers] {
        let e = load(profile.as_bytes(), &options(Some(format))).expect_err("refused");
        assert_eq!(e.origin().path, "$.syscalls[0].includes", "{e}");
        assert_eq!((e.origin().line, e.origin().column), (1, 130), "{e}");
    }
    let cases = [
        (
            None,
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[],"syscalls":[]}"#,
            "$.syscalls",
        ),
        (
            Some(Format::Containerd),
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"Names":["mount"],"action":"SCMP_ACT_ALLOW"}]}"#,
            "$.syscalls[0].Names",
        ),
        (
            Some(Format::Oci),
            r#"{"linux":{"seccomp":{"defaultAction":"SCMP_ACT_ERRNO"},"seccomp":{"defaultAction":"SCMP_ACT_ALLOW"}}}"#,
            "$.linux.seccomp",
        ),
        (
            Some(Format::Oci),
            r#"{"linux":{"seccomp":{"defaultAction":"SCMP_ACT_ERRNO"}},"linux":{}}"#,
            "$.linux",
        ),
        (
            None,
            r#"{"defaultAction":"SCMP_ACT_ERRNO","defaultAction":"SCMP_ACT_ALLOW"}"#,
            "$.defaultAction",
        ),
    ];
    for (format, text, path) in cases {
        let e = load(text.as_bytes(), &options(format)).expect_err(text);
        assert_eq!(e.origin().path, path, "{e}");
        assert!(e.message().contains("sets field"), "{e}");
    }
}

/// runc passes names to libseccomp as C strings: `"ptrace\u0000"` is
/// `ptrace` there, so its ERRNO rule applies; it must not pass as an
/// unknown name (which would leave ptrace allowed).
#[test]
fn a_name_with_nul_is_refused() {
    let text = r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["ptrace\u0000"],"action":"SCMP_ACT_ERRNO"}]}"#;
    for format in [None, Some(Format::Containerd), Some(Format::Containers)] {
        let e = load(text.as_bytes(), &options(format)).expect_err("refused");
        assert_eq!(e.origin().path, "$.syscalls[0].names[0]", "{e}");
        assert!(e.message().contains(r#""ptrace\0" contains NUL"#), "{e}");
    }
}

/// Names are shown with control characters escaped, so a name cannot
/// forge a line of `lint` output.
#[test]
fn names_in_warnings_cannot_forge_lines() {
    let text = r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["x\u001b[2K\r\nerror: forged"],"action":"SCMP_ACT_ALLOW"}]}"#;
    let l = load_as(text, None, HostContext::default());
    let w = l
        .warnings
        .iter()
        .find(|w| w.message.contains("forged"))
        .expect("warned");
    assert_eq!(
        w.message,
        r#"unknown syscall "x\u{1b}[2K\r\nerror: forged" ignored"#
    );
    assert_eq!(w.render(text).lines().count(), 3);
}

fn options(format: Option<Format>) -> LoadOptions {
    LoadOptions {
        format,
        file_name: "p.json".into(),
        ..LoadOptions::default()
    }
}

#[test]
fn null_means_absent() {
    let text = r#"{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": null, "architectures": null,
        "syscalls": [{"names": ["read", "exit_group"], "action": "SCMP_ACT_ALLOW", "args": null, "includes": {"minKernel": null}}]}"#;
    let l = load_as(text, None, HostContext::default());
    assert_eq!(call(&l, "read", [7; 6]), Action::Allow);
    assert_eq!(call(&l, "write", [0; 6]), Action::Errno(1));
}

#[test]
fn empty_seccomp_object_is_unconfined_for_runc_and_an_error_for_crun() {
    let l = load_as("{}", None, HostContext::default());
    assert!(l.policy.arches().is_empty());
    assert_eq!(l.policy.bad_arch(), Action::Allow);
    let opts = LoadOptions {
        context: HostContext {
            runtime: Runtime::Crun,
            ..HostContext::default()
        },
        ..LoadOptions::default()
    };
    assert!(load(b"{}", &opts).is_err());
}

/// crun reads config.json itself, with a parser that matches keys
/// exactly, and what it does with a key it does not know is not
/// established: `Linux` (or `DefaultAction` inside `seccomp`) is refused
/// under crun, where runc's Go reading folds the case.
#[test]
fn crun_reads_config_json_keys_exactly() {
    let text = r#"{"ociVersion": "1.2.0", "Linux": {"seccomp": {"defaultAction": "SCMP_ACT_ERRNO",
        "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}}}"#;
    let runc = load_as(text, Some(Format::Oci), HostContext::default());
    assert_eq!(call(&runc, "write", [0; 6]), Action::Errno(1));
    let crun = LoadOptions {
        format: Some(Format::Oci),
        context: HostContext {
            runtime: Runtime::Crun,
            ..HostContext::default()
        },
        ..LoadOptions::default()
    };
    let e = load(text.as_bytes(), &crun).unwrap_err();
    assert!(
        e.to_string()
            .contains("crun matches config.json's keys exactly"),
        "{e}"
    );
    let inner = text
        .replace("\"Linux\"", "\"linux\"")
        .replace("defaultAction", "DefaultAction");
    let e = load(inner.as_bytes(), &crun).unwrap_err();
    assert!(e.to_string().contains("is not `defaultAction`"), "{e}");
    let exact = text.replace("\"Linux\"", "\"linux\"");
    let l = load(exact.as_bytes(), &crun).unwrap();
    assert_eq!(call(&l, "write", [0; 6]), Action::Errno(1));
}

#[test]
fn config_json_without_seccomp_is_unconfined() {
    let l = load_as(
        r#"{"ociVersion": "1.2.0", "linux": {"namespaces": []}}"#,
        None,
        HostContext::default(),
    );
    assert_eq!(l.format, Format::Oci);
    assert!(l.policy.arches().is_empty());
    let text = r#"{"ociVersion": "1.2.0", "linux": {"seccomp": {"defaultAction": "SCMP_ACT_ERRNO",
        "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}}}"#;
    let l = load_as(text, None, HostContext::default());
    assert_eq!(call(&l, "read", [0; 6]), Action::Allow);
}

#[test]
fn podman_errno_names_override_numbers() {
    let text = r#"{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1, "defaultErrno": "ENOSYS",
        "syscalls": [{"names": ["mount"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1, "errno": "EACCES"},
                     {"names": ["read"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "99.0"}}]}"#;
    let l = load_as(text, None, HostContext::default());
    assert_eq!(l.format, Format::Containers);
    assert_eq!(call(&l, "write", [0; 6]), Action::Errno(38));
    assert_eq!(call(&l, "mount", [0; 6]), Action::Errno(13));
    assert_eq!(
        call(&l, "read", [0; 6]),
        Action::Allow,
        "no minKernel in the containers dialect"
    );
    let docker = load_as(text, Some(Format::Docker), HostContext::default());
    assert_eq!(call(&docker, "write", [0; 6]), Action::Errno(1));
    assert_eq!(
        call(&docker, "read", [0; 6]),
        Action::Errno(1),
        "Docker honours minKernel"
    );
}

/// Podman reads an errno string with `strconv.ParseUint(s, 10, 32)` and
/// else as a name: digits only, up to 2^32-1. `"+5"` is no number there.
#[test]
fn podman_errno_numbers_are_what_parseuint_takes() {
    let profile = |errno: &str| {
        format!(
            r#"{{"defaultAction":"SCMP_ACT_ALLOW","defaultErrno":"{errno}","syscalls":[{{"names":["mount"],"action":"SCMP_ACT_ERRNO","errno":"{errno}"}}]}}"#
        )
    };
    let ok = load_as(&profile("0005"), None, HostContext::default());
    assert_eq!(call(&ok, "mount", [0; 6]), Action::Errno(5));
    for bad in ["+5", "-5", " 5", "5 ", "1_0", "4294967296", ""] {
        let text = profile(bad);
        let opts = options(Some(Format::Containers));
        if bad.is_empty() {
            // An empty string is no errno string: the numeric field decides.
            assert!(load(text.as_bytes(), &opts).is_ok());
            continue;
        }
        let e = load(text.as_bytes(), &opts).expect_err(bad);
        assert_eq!(e.message(), format!("unknown errno {bad}"), "{e}");
    }
}

/// The names are container-libs' table (`errnoArch`), no more: EINTR is
/// not in it, ESTALE is. On a MIPS host the runtime takes the host's own
/// numbers, which sysfence does not hold past the common base: refused.
#[test]
fn podman_errno_names_are_container_libs_table() {
    let profile = |errno: &str| {
        format!(
            r#"{{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{{"names":["mount"],"action":"SCMP_ACT_ERRNO","errno":"{errno}"}}]}}"#
        )
    };
    let opts = options(Some(Format::Containers));
    for (name, value) in [
        ("ESTALE", 116),
        ("EDQUOT", 122),
        ("ENOTRECOVERABLE", 131),
        ("EREMOTE", 66),
    ] {
        let l = load(profile(name).as_bytes(), &opts).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(call(&l, "mount", [0; 6]), Action::Errno(value), "{name}");
    }
    for name in ["EINTR", "EWOULDBLOCK", "ENODATA", "ETIME"] {
        let e = load(profile(name).as_bytes(), &opts).expect_err(name);
        assert_eq!(e.message(), format!("unknown errno {name}"));
    }
    let mips = LoadOptions {
        context: HostContext {
            host_arch: Arch::Mips64el,
            ..HostContext::default()
        },
        ..options(Some(Format::Containers))
    };
    let e = load(profile("ECONNREFUSED").as_bytes(), &mips).expect_err("MIPS numbers differ");
    assert!(e.message().contains("give the number"), "{e}");
    assert!(
        load(profile("EACCES").as_bytes(), &mips).is_ok(),
        "13 on every arch"
    );
}

/// container-libs returns "no filter" for a profile without a default
/// action and without rules before it reads any other key.
#[test]
fn podman_without_default_action_or_rules_reads_nothing_else() {
    let opts = options(Some(Format::Containers));
    for text in [
        r#"{"defaultErrno":"EBOGUS","syscalls":[]}"#,
        r#"{"architectures":["SCMP_ARCH_X86"],"archMap":[{"architecture":"SCMP_ARCH_X86_64"}]}"#,
    ] {
        let l = load(text.as_bytes(), &opts).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert!(l.policy.arches().is_empty(), "{text}");
    }
    let docker = load(
        r#"{"architectures":["SCMP_ARCH_X86"],"archMap":[{"architecture":"SCMP_ARCH_X86_64"}]}"#
            .as_bytes(),
        &options(Some(Format::Docker)),
    );
    assert!(docker.is_err(), "moby checks the arches first");
}

/// serde_json takes a unit variant as a one-key map to `null`, and
/// seccompiler compares the two actions before cutting their data to 16
/// bits: `{"errno": 1}` and `{"errno": 65537}` differ there.
#[test]
fn seccompiler_reads_actions_as_serde_does() {
    let unit = r#"{"t": {"mismatch_action": {"kill_process": null}, "match_action": "allow",
        "filter": [{"syscall": "read", "args": [{"index": 0, "type": {"dword": null}, "op": {"eq": null}, "val": 1}]}]}}"#;
    let l = load_as(unit, None, HostContext::default());
    assert_eq!(call(&l, "read", [1, 0, 0, 0, 0, 0]), Action::Allow);
    assert_eq!(call(&l, "read", [2, 0, 0, 0, 0, 0]), Action::KillProcess);
    let cut = r#"{"t": {"mismatch_action": {"errno": 1}, "match_action": {"errno": 65537}, "filter": [{"syscall": "read"}]}}"#;
    let l = load_as(cut, None, HostContext::default());
    assert_eq!(call(&l, "read", [0; 6]), Action::Errno(1));
    assert_eq!(call(&l, "write", [0; 6]), Action::Errno(1));
    let same = r#"{"t": {"mismatch_action": "allow", "match_action": {"allow": null}, "filter": [{"syscall": "read"}]}}"#;
    let e = load(same.as_bytes(), &options(None)).expect_err("identical");
    assert!(e.message().contains("identical"), "{e}");
}

#[test]
fn containerd_loses_singular_name_rules() {
    let text = r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"name": "read", "action": "SCMP_ACT_ALLOW"}]}"#;
    let docker = load_as(text, None, HostContext::default());
    assert_eq!(call(&docker, "read", [0; 6]), Action::Allow);
    let cd = load_as(text, Some(Format::Containerd), HostContext::default());
    assert_eq!(call(&cd, "read", [0; 6]), Action::Errno(1));
    assert!(
        cd.warnings
            .iter()
            .any(|w| w.message.contains("key \"name\" ignored"))
    );
}

#[test]
fn errno_on_allow_is_ignored_by_runc_and_errno_is_cut_to_16_bits() {
    let text = r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "errnoRet": 5},
        {"names": ["mount"], "action": "SCMP_ACT_ERRNO", "errnoRet": 65537}]}"#;
    let l = load_as(text, None, HostContext::default());
    assert_eq!(call(&l, "read", [0; 6]), Action::Allow);
    assert_eq!(call(&l, "mount", [0; 6]), Action::Errno(1));
    assert!(
        l.warnings
            .iter()
            .any(|w| w.message == "errno 5 is ignored for SCMP_ACT_ALLOW (runc)")
    );
    assert!(
        l.warnings
            .iter()
            .any(|w| w.message == "errno 65537 is cut to 16 bits: 1")
    );
}

#[test]
fn unknown_syscalls_are_skipped_with_a_warning() {
    let text = r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["syscall_1f4", "read"], "action": "SCMP_ACT_ALLOW"}]}"#;
    let l = load_as(text, None, HostContext::default());
    assert_eq!(call(&l, "read", [0; 6]), Action::Allow);
    let w = &l.warnings[0];
    assert_eq!(w.message, "unknown syscall \"syscall_1f4\" ignored");
    assert_eq!(
        (w.origin.line, w.origin.column, w.origin.path.as_str()),
        (1, 61, "$.syscalls[0].names[0]")
    );
}

#[test]
fn seccompiler_meaning() {
    let text = r#"{"main": {"default_action": "trap", "filter_action": "allow", "filter": [
        {"syscall": "getpid"},
        {"syscall": "getpid", "args": [{"index": 0, "type": "dword", "op": "eq", "val": 5}]},
        {"syscall": "ioctl", "args": [{"index": 1, "type": "dword", "op": "eq", "val": 44672}]},
        {"syscall": "mmap", "args": [{"index": 2, "type": "qword", "op": {"masked_eq": 4}, "val": 0}]}
    ]}}"#;
    let l = load_as(text, None, HostContext::default());
    assert_eq!(l.format, Format::Seccompiler);
    assert_eq!(
        call(&l, "getpid", [0; 6]),
        Action::Trap(0),
        "the bare entry is lost"
    );
    assert_eq!(call(&l, "getpid", [5, 0, 0, 0, 0, 0]), Action::Allow);
    assert_eq!(
        call(&l, "ioctl", [0, 0xffff_ffff_0000_ae80, 0, 0, 0, 0]),
        Action::Allow,
        "dword ignores the high word"
    );
    assert_eq!(call(&l, "mmap", [0, 0, 4, 0, 0, 0]), Action::Trap(0));
    assert_eq!(call(&l, "mmap", [0, 0, 3, 0, 0, 0]), Action::Allow);
    assert_eq!(call(&l, "read", [0; 6]), Action::Trap(0));
    assert!(
        l.warnings
            .iter()
            .any(|w| w.message.contains("without args is lost"))
    );
    let deny = r#"{"t": {"mismatch_action": "allow", "match_action": {"errno": 70000}, "filter": [{"syscall": "getpid"}]}}"#;
    let l = load_as(deny, None, HostContext::default());
    assert_eq!(
        call(&l, "getpid", [0; 6]),
        Action::Errno(4464),
        "70000 cut to 16 bits"
    );
    let x32_getpid = Call {
        arch: X86_64,
        nr: 0x4000_0000 | 39,
        ..Call::default()
    };
    assert_eq!(
        eval(&l.policy, &x32_getpid).0,
        Action::Allow,
        "seccompiler's x32 bypass, modelled faithfully"
    );
    assert_eq!(
        eval(
            &l.policy,
            &Call {
                arch: 0x4000_0003,
                ..Call::default()
            }
        )
        .0,
        Action::KillProcess
    );
}

#[test]
fn archmap_follows_the_host() {
    let text = r#"{"defaultAction": "SCMP_ACT_ERRNO", "archMap": [
        {"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]},
        {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]}],
        "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["arm64"]}}]}"#;
    let arm = load_as(
        text,
        None,
        HostContext {
            host_arch: Arch::Aarch64,
            ..HostContext::default()
        },
    );
    assert_eq!(arm.native_arches, vec![Arch::Aarch64, Arch::Arm]);
    let read = Arch::Arm.syscall_nr("read").expect("read");
    assert_eq!(
        eval(
            &arm.policy,
            &Call {
                arch: 0x4000_0028,
                nr: read,
                ..Call::default()
            }
        )
        .0,
        Action::Allow
    );
    let ppc = load_as(
        text,
        None,
        HostContext {
            host_arch: Arch::Ppc64le,
            ..HostContext::default()
        },
    );
    assert_eq!(ppc.native_arches, vec![Arch::Ppc64le]);
}

#[test]
fn flags_absent_versus_empty() {
    let absent = load_as(
        r#"{"defaultAction": "SCMP_ACT_ERRNO"}"#,
        None,
        HostContext::default(),
    );
    assert_eq!(absent.flags, ["SECCOMP_FILTER_FLAG_SPEC_ALLOW"]);
    let empty = r#"{"defaultAction": "SCMP_ACT_ERRNO", "flags": []}"#;
    assert_eq!(
        load_as(empty, None, HostContext::default()).flags,
        ["SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
        "Docker drops []"
    );
    assert!(
        load_as(empty, Some(Format::Oci), HostContext::default())
            .flags
            .is_empty(),
        "config.json keeps []"
    );
    let tsync = r#"{"defaultAction": "SCMP_ACT_ERRNO", "flags": ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG"]}"#;
    assert_eq!(
        load_as(tsync, None, HostContext::default()).flags,
        ["SECCOMP_FILTER_FLAG_LOG"]
    );
    let crun = HostContext {
        runtime: Runtime::Crun,
        ..HostContext::default()
    };
    assert_eq!(load_as(tsync, None, crun).flags.len(), 2);
}

#[test]
fn empty_singular_name_is_no_name() {
    let text = r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"name": "", "names": ["read", "exit_group"], "action": "SCMP_ACT_ALLOW"}]}"#;
    let l = load_as(text, None, HostContext::default());
    assert_eq!(call(&l, "read", [0; 6]), Action::Allow);
}

#[test]
fn keys_fold_like_go() {
    let text = "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"\u{17f}y\u{17f}call\u{17f}\": [{\"names\": [\"read\", \"exit_group\"], \"action\": \"SCMP_ACT_ALLOW\"}]}";
    let l = load_as(text, None, HostContext::default());
    assert_eq!(call(&l, "read", [0; 6]), Action::Allow);
}

/// runc refuses NOTIFY without a listenerPath and NOTIFY on `write`; crun
/// does neither (it takes a receiver from annotations or its environment
/// too, and loads the filter without a listener when there is none).
#[test]
fn crun_takes_notify_on_write_and_without_a_listener() {
    let text = r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["write","mkdir"],"action":"SCMP_ACT_NOTIFY"}]}"#;
    let crun = HostContext {
        runtime: Runtime::Crun,
        ..HostContext::default()
    };
    let l = load_as(text, None, crun);
    assert_eq!(call(&l, "write", [0; 6]), Action::UserNotif);
    assert_eq!(call(&l, "mkdir", [0; 6]), Action::UserNotif);
    assert!(
        l.warnings
            .iter()
            .any(|w| w.message.contains("without a listener")),
        "{:?}",
        l.warnings
    );
    let runc = load(text.as_bytes(), &LoadOptions::default()).unwrap_err();
    assert!(
        runc.to_string().contains("listenerPath is not set"),
        "{runc}"
    );
    let with_path = text.replace(
        "{\"defaultAction",
        "{\"listenerPath\":\"/run/a.sock\",\"defaultAction",
    );
    let runc = load(with_path.as_bytes(), &LoadOptions::default()).unwrap_err();
    assert!(runc.to_string().contains("write syscall"), "{runc}");
}
