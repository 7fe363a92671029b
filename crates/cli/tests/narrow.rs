//! `--arch` builds the filter the runtime would build with only those
//! arches, while the profile is read: a refusal on an arch not asked for
//! does not refuse it; an arch the profile lacks is exit 2 with the place.

mod support;

use support::{Run, SYSFENCE, repo};

/// Refused by libseccomp on x86 only (`socket` is `socketcall(1)` there).
const CONFLICT: &str = "corpus/regressions/profiles/x86-socketcall-conflict.json";

fn compile(extra: &[&str]) -> Run {
    let p = repo(CONFLICT);
    let mut args = vec!["compile", p.as_str(), "--host-arch", "x86_64"];
    args.extend_from_slice(extra);
    let r = SYSFENCE.exec(&args);
    assert!(!r.stderr.contains("panicked"), "{args:?}: {}", r.stderr);
    r
}

#[test]
fn the_whole_profile_and_x86_are_refused_with_the_place() {
    for extra in [
        &[][..],
        &["--arch", "x86"],
        &["--arch", "x86_64", "--arch", "x86"],
    ] {
        let r = compile(&[extra, &["--emit", "json"]].concat());
        let needles = [
            "x86-socketcall-conflict.json:6:16",
            "socketcall on x86: libseccomp refuses this KILL_PROCESS rule (EEXIST)",
        ];
        r.assert_fails(2, &needles, &format!("{extra:?}"));
        assert!(r.stdout.is_empty(), "{extra:?}: {}", r.stdout);
    }
}

#[test]
fn narrowed_to_x86_64_the_filter_is_built() {
    let r = compile(&["--arch", "x86_64", "--emit", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains(r#""name": "x86_64""#), "{}", r.stdout);
    assert!(!r.stdout.contains("x86_64+x32"), "{}", r.stdout);
    assert!(
        r.stderr.contains("instructions for x86_64;"),
        "{}",
        r.stderr
    );
    let both = compile(&["--arch", "x86_64", "--arch", "x32", "--emit", "json"]);
    assert_eq!(both.code, 0, "{}", both.stderr);
    assert!(
        both.stdout.contains(r#""name": "x86_64+x32""#),
        "{}",
        both.stdout
    );
}

#[test]
fn check_and_cost_narrow_the_same_way() {
    let p = repo(CONFLICT);
    for verb in ["check", "cost"] {
        let whole = SYSFENCE.exec(&[verb, &p, "--host-arch", "x86_64"]);
        assert_eq!(whole.code, 2, "{verb}: {}", whole.stderr);
        let r = SYSFENCE.exec(&[verb, &p, "--host-arch", "x86_64", "--arch", "x86_64"]);
        assert_eq!(r.code, 0, "{verb}: {}", r.stderr);
        assert!(r.stdout.contains("x86_64"), "{verb}: {}", r.stdout);
        assert!(!r.stdout.contains("x86 "), "{verb}: {}", r.stdout);
    }
}

#[test]
fn an_arch_the_profile_lacks_or_no_arch_at_all_is_exit_2() {
    let needles = [
        "x86-socketcall-conflict.json:3:21",
        "arch aarch64 is not in this profile's filter (it holds x86_64, x86, x32)",
    ];
    compile(&["--arch", "aarch64"]).assert_fails(2, &needles, "aarch64");
    compile(&["--arch", "pdp11"]).assert_fails(2, &["--arch: unknown arch"], "pdp11");
}

#[test]
fn a_seccompiler_file_on_standard_input_is_built_for_its_one_arch() {
    let text = br#"{"main": {"mismatch_action": "trap", "match_action": "allow", "filter": [{"syscall": "read"}]}}"#;
    let r = SYSFENCE.run_in(
        &["compile", "-", "--arch", "aarch64", "--emit", "json"],
        text,
        None,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains(r#""name": "aarch64""#), "{}", r.stdout);
    let r = SYSFENCE.run_in(
        &["compile", "-", "--host-arch", "x86_64", "--arch", "aarch64"],
        text,
        None,
    );
    let needle = "a seccompiler filter holds one arch, x86_64; aarch64 is not in it";
    r.assert_fails(2, &[needle], "seccompiler");
}
