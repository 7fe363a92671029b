//! SPO base profiles read from a file beside the profile: a file that is
//! not a regular file (a FIFO) is refused at `baseProfileName` instead of
//! blocking, and what the base file says wrong is located in the base file
//! and excerpted from it, not from the profile.

use std::path::Path;

use sysfence_profile::{LoadOptions, load_file};
use sysfence_testkit::host::{temp_dir, write};

const APP: &str = "apiVersion: security-profiles-operator.x-k8s.io/v1\nkind: SeccompProfile\nmetadata:\n  name: app\nspec:\n  defaultAction: SCMP_ACT_ERRNO\n  baseProfileName: zbase\n  syscalls:\n  - action: SCMP_ACT_ALLOW\n    names: [read]\n";

fn base(body: &str) -> String {
    format!(
        "apiVersion: security-profiles-operator.x-k8s.io/v1\nkind: SeccompProfile\nmetadata:\n  name: zbase\nspec:\n  defaultAction: SCMP_ACT_ERRNO\n  syscalls:\n{body}"
    )
}

fn app_in(dir: &Path) -> std::path::PathBuf {
    Path::new(&write(dir, "app.yaml", APP)).to_path_buf()
}

#[test]
fn a_fifo_beside_the_profile_is_refused() {
    let dir = temp_dir("spo-base-fifo");
    let app = app_in(&dir);
    let fifo = dir.join("zbase.yaml");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    let e = load_file(&app, &LoadOptions::default()).expect_err("refused");
    assert_eq!(e.origin().line, 7, "{e}");
    assert!(e.message().contains("not a regular file"), "{e}");
}

#[test]
fn a_base_file_that_does_not_parse_is_located_in_it() {
    let dir = temp_dir("spo-base-syntax");
    let app = app_in(&dir);
    write(
        &dir,
        "zbase.yaml",
        &base("  - action: SCMP_ACT_ALLOW\n    names: [write, \n"),
    );
    let e = load_file(&app, &LoadOptions::default()).expect_err("refused");
    assert!(e.origin().file.ends_with("zbase.yaml"), "{e}");
    assert!(
        e.render(APP).contains("names: [write,"),
        "{}",
        e.render(APP)
    );
}

#[test]
fn what_a_base_file_says_wrong_is_located_and_excerpted_there() {
    let dir = temp_dir("spo-base-where");
    let app = app_in(&dir);
    write(
        &dir,
        "zbase.yaml",
        &base("  - action: SCMP_ACT_ALLOW\n    names: [write, nosuchcall]\n"),
    );
    let l = load_file(&app, &LoadOptions::default()).expect("loads");
    let w = l
        .warnings
        .iter()
        .find(|w| w.message.contains("nosuchcall"))
        .expect("a warning");
    assert!(w.origin.file.ends_with("zbase.yaml"), "{w}");
    assert_eq!((w.origin.line, w.origin.column), (9, 20));
    assert!(
        w.render(APP).contains("names: [write, nosuchcall]"),
        "{}",
        w.render(APP)
    );
    write(
        &dir,
        "zbase.yaml",
        &base("  - action: SCMP_ACT_FOO\n    names: [write]\n"),
    );
    let e = load_file(&app, &LoadOptions::default()).expect_err("refused");
    assert!(e.origin().file.ends_with("zbase.yaml"), "{e}");
    assert!(
        e.render(APP).contains("action: SCMP_ACT_FOO"),
        "{}",
        e.render(APP)
    );
}

/// The operator gets a base profile by object name: a path is no name.
#[test]
fn a_base_name_that_is_a_path_is_refused() {
    let dir = temp_dir("spo-base-path");
    std::fs::create_dir_all(dir.join("other")).expect("mkdir");
    write(
        &dir.join("other"),
        "lib.yaml",
        &base("  - action: SCMP_ACT_ALLOW\n    names: [ptrace]\n"),
    );
    let app = APP.replace("baseProfileName: zbase", "baseProfileName: other/lib");
    let path = Path::new(&write(&dir, "app.yaml", &app)).to_path_buf();
    let e = load_file(&path, &LoadOptions::default()).expect_err("not an object name");
    assert!(e.message().contains("not a Kubernetes object name"), "{e}");
}

/// The operator merges the base's rules and the profile's by name; where
/// that could differ from the list, the profile is refused.
#[test]
fn names_the_union_could_decide_otherwise_are_refused() {
    let dir = temp_dir("spo-base-union");
    let app = app_in(&dir);
    // read: ERRNO in the base, ALLOW in the profile.
    write(
        &dir,
        "zbase.yaml",
        &base("  - action: SCMP_ACT_ERRNO\n    names: [read]\n"),
    );
    let e = load_file(&app, &LoadOptions::default()).expect_err("two actions");
    assert!(e.message().contains("read has several rules"), "{e}");
    // read with an argument condition in the base.
    write(
        &dir,
        "zbase.yaml",
        &base(
            "  - action: SCMP_ACT_ALLOW\n    names: [read]\n    args: [{index: 0, value: 1, op: SCMP_CMP_EQ}]\n",
        ),
    );
    assert!(load_file(&app, &LoadOptions::default()).is_err());
    // The same unconditional rule in both: the union is that rule.
    write(
        &dir,
        "zbase.yaml",
        &base("  - action: SCMP_ACT_ALLOW\n    names: [read, write]\n"),
    );
    assert!(load_file(&app, &LoadOptions::default()).is_ok());
}
