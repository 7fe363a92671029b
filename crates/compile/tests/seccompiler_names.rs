//! Differential tests against seccompiler 0.5 on what its JSON reader
//! refuses. On each arch it targets, a filter naming one syscall must be
//! refused by sysfence's seccompiler reader exactly when seccompiler itself
//! refuses it: sysfence's tables come from a newer kernel than
//! seccompiler's, so names such as `setxattrat` must be refused as
//! seccompiler refuses them. And an error in any thread category fails the
//! whole file, whichever category is chosen.

use sysfence_profile::arch::Arch;
use sysfence_profile::{Format, HostContext, LoadOptions, load};

/// A one-category filter allowing `name`.
fn filter_naming(name: &str) -> String {
    format!(
        r#"{{"main":{{"mismatch_action":"kill_process","match_action":"allow","filter":[{{"syscall":"{name}"}}]}}}}"#
    )
}

fn sysfence_accepts(text: &str, arch: Arch) -> bool {
    let opts = LoadOptions {
        format: Some(Format::Seccompiler),
        context: HostContext {
            host_arch: arch,
            ..HostContext::default()
        },
        ..LoadOptions::default()
    };
    load(text.as_bytes(), &opts).is_ok()
}

fn seccompiler_accepts(text: &str, arch: seccompiler::TargetArch) -> bool {
    seccompiler::compile_from_json(text.as_bytes(), arch).is_ok()
}

#[test]
fn every_name_is_refused_exactly_where_seccompiler_refuses_it() {
    let arches = [
        (Arch::X86_64, seccompiler::TargetArch::x86_64),
        (Arch::Aarch64, seccompiler::TargetArch::aarch64),
        (Arch::Riscv64, seccompiler::TargetArch::riscv64),
    ];
    for (ours, theirs) in arches {
        let mut refused = Vec::new();
        let mut differences = Vec::new();
        let names = ours.table().iter().map(|&(name, _)| name);
        for name in names.chain(["nosuch", "setxattrat", "uprobe"]) {
            let text = filter_naming(name);
            let (a, b) = (
                sysfence_accepts(&text, ours),
                seccompiler_accepts(&text, theirs),
            );
            if a != b {
                differences.push(format!("{name}: sysfence {a}, seccompiler {b}"));
            }
            if !b {
                refused.push(name);
            }
        }
        assert!(differences.is_empty(), "{ours}: {differences:?}");
        assert!(refused.contains(&"setxattrat"), "{ours}: {refused:?}");
        println!("{ours}: seccompiler refuses {refused:?}");
    }
}

/// seccompiler compiles every thread category, so an error in one it is
/// not asked for still fails the file; sysfence's `--filter` must not hide
/// it.
#[test]
fn an_error_in_another_category_fails_the_file_in_both() {
    let good = r#""main":{"mismatch_action":"kill_process","match_action":"allow","filter":[{"syscall":"read"}]}"#;
    let others = [
        r#""other":{"mismatch_action":"allow","match_action":"allow","filter":[{"syscall":"read"}]}"#,
        r#""other":{"mismatch_action":"trap","match_action":"allow","filter":[{"syscall":"nosuch"}]}"#,
        r#""other":{"mismatch_action":"trap","match_action":"allow","filter":[{"syscall":"read","args":[]}]}"#,
    ];
    for other in others {
        let text = format!("{{{good},{other}}}");
        assert!(
            !seccompiler_accepts(&text, seccompiler::TargetArch::x86_64),
            "{text}"
        );
        let opts = LoadOptions {
            filter: Some("main".into()),
            format: Some(Format::Seccompiler),
            ..LoadOptions::default()
        };
        let e = load(text.as_bytes(), &opts).expect_err(&text);
        assert!(e.origin().path.starts_with("$.other"), "{e}");
    }
}
