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
