//! `SCMP_ARCH_NATIVE` in the containers dialect, and crun's handling of
//! syscall names no table knows (`run.oci.seccomp_fail_unknown_syscall`).

use sysfence_profile::ir::Action;
use sysfence_profile::{
    Arch, Format, HostContext, LoadOptions, Loaded, ProfileError, Runtime, Severity, load,
};
use sysfence_testkit::fixtures::x86_64_action;

fn try_load(
    text: &str,
    format: Format,
    host_arch: Arch,
    runtime: Runtime,
) -> Result<Loaded, ProfileError> {
    let opts = LoadOptions {
        format: Some(format),
        context: HostContext {
            host_arch,
            runtime,
            ..HostContext::default()
        },
        file_name: "p.json".into(),
        ..LoadOptions::default()
    };
    load(text.as_bytes(), &opts)
}

fn load_ok(text: &str, format: Format, host_arch: Arch, runtime: Runtime) -> Loaded {
    try_load(text, format, host_arch, runtime).unwrap_or_else(|e| panic!("{e}"))
}

fn x86_64_call(l: &Loaded, name: &str) -> Action {
    x86_64_action(&l.policy, name, [0; 6])
}

const NATIVE_ONLY: &str = r#"{"defaultAction": "SCMP_ACT_ERRNO",
  "architectures": ["SCMP_ARCH_NATIVE"],
  "syscalls": [{"names": ["getpid"], "action": "SCMP_ACT_ALLOW"}]}"#;

const NATIVE_AND_X86: &str = r#"{"defaultAction": "SCMP_ACT_ERRNO",
  "architectures": ["SCMP_ARCH_X86", "SCMP_ARCH_NATIVE"],
  "syscalls": [{"names": ["getpid"], "action": "SCMP_ACT_ALLOW"}]}"#;

/// container-libs passes `SCMP_ARCH_NATIVE` to the runtime as written (in
/// `architectures` and in an `archMap` entry), and runc and crun refuse it,
/// as they do for Docker.
#[test]
fn containers_pass_native_arch_to_the_runtime_which_refuses_it() {
    let in_map = r#"{"defaultAction": "SCMP_ACT_ERRNO",
      "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_NATIVE", "SCMP_ARCH_X32"]}],
      "syscalls": [{"names": ["getpid"], "action": "SCMP_ACT_ALLOW"}]}"#;
    for runtime in [Runtime::Runc, Runtime::Crun] {
        for text in [NATIVE_ONLY, NATIVE_AND_X86, in_map] {
            let e = try_load(text, Format::Containers, Arch::X86_64, runtime)
                .expect_err("the runtime refuses SCMP_ARCH_NATIVE");
            assert!(e.to_string().contains("unknown arch"), "{runtime:?}: {e}");
        }
    }
}

const KNOWN_ARCHES: &str = "(known: x86_64, x32, x86, aarch64, arm, riscv64, s390x, s390, ppc64le, ppc64, ppc, mips, mipsel, mips64, mips64el, mips64n32, mipsel64n32, loongarch64)";

#[test]
fn docker_and_oci_pass_native_arch_to_the_runtime_which_refuses_it() {
    for format in [Format::Docker, Format::Oci, Format::Containerd] {
        let e = try_load(NATIVE_ONLY, format, Arch::X86_64, Runtime::Runc)
            .expect_err("runc has no SCMP_ARCH_NATIVE");
        assert_eq!(
            e.to_string(),
            format!(
                "p.json:2:21: $.architectures[0]: unknown arch `SCMP_ARCH_NATIVE` {KNOWN_ARCHES}"
            ),
            "{format}"
        );
        let e = try_load(NATIVE_ONLY, format, Arch::X86_64, Runtime::Crun)
            .expect_err("crun resolves `native`, which libseccomp does not know");
        assert_eq!(
            e.to_string(),
            format!("p.json:2:21: $.architectures[0]: unknown arch `native` {KNOWN_ARCHES}"),
            "{format}"
        );
    }
}

fn config_json(annotations: &str) -> String {
    format!(
        r#"{{"ociVersion": "1.2.0", "annotations": {annotations},
  "linux": {{"seccomp": {{"defaultAction": "SCMP_ACT_ERRNO",
    "syscalls": [{{"names": ["no_such_call", "getpid"], "action": "SCMP_ACT_ALLOW"}}]}}}}}}"#
    )
}

fn unknown_name_warnings(l: &Loaded) -> Vec<String> {
    l.warnings
        .iter()
        .filter(|w| w.severity == Severity::Warning && w.message.contains("no_such_call"))
        .map(|w| format!("{}:{} {}", w.origin.line, w.origin.column, w.message))
        .collect()
}

#[test]
fn crun_skips_unknown_names_by_default() {
    for annotations in [
        "{}",
        r#"{"run.oci.seccomp_fail_unknown_syscall": "0"}"#,
        r#"{"Run.oci.seccomp_fail_unknown_syscall": "1"}"#,
        r#"{"run.oci.seccomp_fail_unknown_syscall": 1}"#,
        "null",
    ] {
        let text = config_json(annotations);
        let l = load_ok(&text, Format::Oci, Arch::X86_64, Runtime::Crun);
        assert_eq!(
            unknown_name_warnings(&l),
            vec!["3:29 unknown syscall \"no_such_call\" ignored".to_string()],
            "{annotations}"
        );
        assert_eq!(x86_64_call(&l, "getpid"), Action::Allow);
    }
}

#[test]
fn crun_annotation_makes_unknown_names_errors() {
    for value in ["1", "true", "", "yes"] {
        let text = config_json(&format!(
            r#"{{"run.oci.seccomp_fail_unknown_syscall": "{value}"}}"#
        ));
        let e = try_load(&text, Format::Oci, Arch::X86_64, Runtime::Crun)
            .expect_err("the annotation is set");
        assert_eq!(
            e.to_string(),
            "p.json:3:29: $.linux.seccomp.syscalls[0].names[0]: unknown syscall \"no_such_call\"",
            "{value:?}"
        );
    }
    let text = config_json(
        r#"{"run.oci.seccomp_fail_unknown_syscall": "0", "run.oci.seccomp_fail_unknown_syscall": "1"}"#,
    );
    assert!(try_load(&text, Format::Oci, Arch::X86_64, Runtime::Crun).is_err());
}

#[test]
fn runc_ignores_the_crun_annotation() {
    let text = config_json(r#"{"run.oci.seccomp_fail_unknown_syscall": "1"}"#);
    let l = load_ok(&text, Format::Oci, Arch::X86_64, Runtime::Runc);
    assert_eq!(
        unknown_name_warnings(&l),
        vec!["3:29 unknown syscall \"no_such_call\" ignored".to_string()]
    );
}

#[test]
fn crun_raw_bpf_annotation_is_reported() {
    let text = config_json(r#"{"run.oci.seccomp_bpf_data": "IAAAAAQAAAA="}"#);
    let l = load_ok(&text, Format::Oci, Arch::X86_64, Runtime::Crun);
    let w: Vec<String> = l
        .warnings
        .iter()
        .filter(|w| w.message.contains("raw BPF"))
        .map(|w| format!("{} {}", w.origin.path, w.message))
        .collect();
    assert_eq!(
        w,
        vec![
            "$.annotations[\"run.oci.seccomp_bpf_data\"] crun loads this raw BPF instead of linux.seccomp; sysfence does not decode it and shows linux.seccomp"
                .to_string()
        ]
    );
    let l = load_ok(&text, Format::Oci, Arch::X86_64, Runtime::Runc);
    assert!(l.warnings.iter().all(|w| !w.message.contains("raw BPF")));
}
