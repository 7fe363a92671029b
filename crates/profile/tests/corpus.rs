//! Every real profile under `../shared/corpus/third-party/` loads, in the
//! format it is detected as, and a few facts per file hold.

use std::path::{Path, PathBuf};

use sysfence_abi::arch::AUDIT_ARCH_X86_64;
use sysfence_profile::eval::{Call, eval};
use sysfence_profile::ir::Action;
use sysfence_profile::{Arch, Format, HostContext, LoadOptions, Loaded, load};

fn corpus() -> Option<PathBuf> {
    sysfence_testkit::shared::require("corpus/third-party")
}

fn files(dir: &Path) -> Vec<PathBuf> {
    // crosvm's folders hold minijail policies and their constants tables,
    // read by the minijail tests, not JSON profiles.
    sysfence_testkit::shared::files(dir, &["json", "yaml", "yml"], &["crosvm"])
}

fn load_path(p: &Path, filter: Option<&str>) -> Loaded {
    let text = std::fs::read(p).expect("readable");
    let opts = LoadOptions {
        file_name: p.display().to_string(),
        base_dir: p.parent().map(Path::to_path_buf),
        filter: filter.map(str::to_string),
        context: HostContext::default(),
        format: None,
        ..LoadOptions::default()
    };
    load(&text, &opts).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn every_file_loads() {
    let Some(dir) = corpus() else { return };
    let all = files(&dir);
    assert!(all.len() >= 20, "{} files", all.len());
    for p in &all {
        if p.ends_with("moby-profiles/fixtures-example.json") {
            // Only exercises Go's loader: runc refuses its errnoRet 12345.
            continue;
        }
        let l = load_path(p, None);
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let want = if p.to_string_lossy().contains("firecracker") {
            Format::Seccompiler
        } else if name.ends_with(".yaml") {
            Format::Spo
        } else {
            Format::Docker
        };
        assert_eq!(l.format, want, "{}", p.display());
    }
}

#[test]
fn firecracker_categories() {
    let Some(dir) = corpus() else { return };
    let p = dir.join("firecracker/x86_64-unknown-linux-musl.json");
    for (cat, distinct) in [("vmm", 50), ("api", 31), ("vcpu", 27)] {
        let l = load_path(&p, Some(cat));
        let ap = &l.policy.arches()[0];
        assert_eq!(ap.rules.len(), distinct, "{cat}");
        assert_eq!(ap.default, Action::Trap(0));
        assert_eq!(l.policy.bad_arch(), Action::KillProcess);
        // No x32 guard: bit-30 numbers fall to the mismatch action.
        let x32_read = Call {
            arch: AUDIT_ARCH_X86_64,
            nr: 0x4000_0000,
            ..Call::default()
        };
        assert_eq!(eval(&l.policy, &x32_read).0, Action::Trap(0));
    }
    let l = load_path(&dir.join("firecracker/unimplemented.json"), None);
    assert_eq!(l.policy.arches()[0].default, Action::Allow);
}

#[test]
fn runc_test2_uses_its_errno_and_example_errno_is_refused() {
    let Some(dir) = corpus() else { return };
    let l = load_path(&dir.join("runc/seccomp_syscall_test2.json"), None);
    let ap = l.policy.arch(0xc000_003e).expect("x86_64");
    assert_eq!(ap.default, Action::Errno(6));
    let text = std::fs::read(dir.join("moby-profiles/fixtures-example.json")).expect("readable");
    let l = load(&text, &LoadOptions::default());
    // errnoRet 12345 is cut to 16 bits (12345) and is above libseccomp's 4094:
    // but the rule is `syslog` ERRNO, not equal to the default, so it fails.
    let e = l.expect_err("errno 12345 is refused");
    assert!(e.to_string().contains("errno 12345 is out of range"), "{e}");
}

#[test]
fn spo_base_profile_is_unioned() {
    let Some(dir) = corpus() else { return };
    let base =
        std::fs::read_to_string(dir.join("security-profiles-operator/baseprofile-runc.yaml"))
            .expect("readable");
    let own = "apiVersion: security-profiles-operator.x-k8s.io/v1\nkind: SeccompProfile\nmetadata:\n  name: app\nspec:\n  defaultAction: SCMP_ACT_ERRNO\n  baseProfileName: runc-v1.4.2\n  syscalls:\n  - action: SCMP_ACT_ALLOW\n    names: [read]\n";
    let text = format!("{own}{base}");
    let l = load(text.as_bytes(), &LoadOptions::default()).expect("loads");
    assert_eq!(l.format, Format::Spo);
    assert!(
        l.warnings
            .iter()
            .any(|w| w.message.contains("base profile")),
        "{:?}",
        l.warnings
    );
    let ap = l.policy.arch(0xc000_003e).expect("x86_64");
    for name in ["read", "execve", "getppid"] {
        let nr = Arch::X86_64.syscall_nr(name).expect("known");
        assert_eq!(ap.rules[&nr][0].action, Action::Allow, "{name}");
    }
    let mount = Arch::X86_64.syscall_nr("mount").expect("known");
    assert!(!ap.rules.contains_key(&mount));
}

/// The operator writes `errnoRet` with `omitempty`: a resource's
/// `errnoRet: 0` never reaches the runtime, whose default errno (EPERM)
/// the rule gets instead, with a warning.
#[test]
fn spo_errno_zero_is_left_out_as_the_operator_writes_it() {
    let text = "apiVersion: security-profiles-operator.x-k8s.io/v1\nkind: SeccompProfile\nmetadata:\n  name: z\nspec:\n  defaultAction: SCMP_ACT_ALLOW\n  syscalls:\n  - names: [getpid]\n    action: SCMP_ACT_ERRNO\n    errnoRet: 0\n  - names: [getppid]\n    action: SCMP_ACT_ERRNO\n    errnoRet: 5\n";
    let l = load(text.as_bytes(), &LoadOptions::default()).expect("loads");
    let ap = l.policy.arch(AUDIT_ARCH_X86_64).expect("x86_64");
    let action = |name| ap.rules[&Arch::X86_64.syscall_nr(name).expect("known")][0].action;
    assert_eq!(action("getpid"), Action::Errno(1));
    assert_eq!(action("getppid"), Action::Errno(5));
    let w: Vec<_> = l
        .warnings
        .iter()
        .filter(|w| w.message.contains("errnoRet 0"))
        .collect();
    assert_eq!(w.len(), 1, "{:?}", l.warnings);
    assert_eq!(w[0].origin.line, 10);
}

#[test]
fn gadget_output_with_comment_line() {
    let Some(dir) = corpus() else { return };
    let body = std::fs::read_to_string(
        dir.join("inspektor-gadget/advise_seccomp-readme-test-container.json"),
    )
    .expect("readable");
    let text = format!("// test-container\n{body}");
    let l = load(text.as_bytes(), &LoadOptions::default()).expect("loads");
    assert_eq!(l.format, Format::Gadget);
    assert!(l.warnings.iter().any(|w| w.message.contains("syscall_1f4")));
    assert_eq!(
        l.warnings
            .iter()
            .find(|w| w.message.contains("syscall_1f4"))
            .map(|w| w.origin.line),
        Some(
            body.lines()
                .position(|x| x.contains("syscall_1f4"))
                .map(|i| i as u32 + 2)
                .unwrap_or(0)
        )
    );
}
