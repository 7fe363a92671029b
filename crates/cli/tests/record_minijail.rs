//! `record --emit minijail` closes the loop on a real command: record `ls`,
//! read the policy and its `.frequency` file back (the `weighted` layout
//! uses the counts through `@frequency`), and run `ls` under the policy.
//! Needs root, seccomp, an unfiltered test process and the arch's
//! `constants.json` from the shared crosvm corpus; elsewhere it prints why
//! and passes (under `CI=true` a missing corpus fails).

use sysfence_testkit::Cli;
use sysfence_testkit::cli::text;
use sysfence_testkit::host;

const SYSFENCE: Cli = Cli::new(env!("CARGO_BIN_EXE_sysfence"));

/// The native arch's `constants.json`, when the test can run here.
fn constants() -> Option<String> {
    if !host::is_root() || !host::has_seccomp() || host::is_filtered() {
        eprintln!("skipped: needs root, seccomp and an unfiltered test process");
        return None;
    }
    let arch = match std::env::consts::ARCH {
        "x86_64" => "x86_64",
        "aarch64" => "aarch64",
        "riscv64" => "riscv64",
        other => {
            eprintln!("skipped: crosvm ships no constants.json for {other}");
            return None;
        }
    };
    let path = sysfence_testkit::shared::require(&format!(
        "corpus/third-party/crosvm/{arch}/constants.json"
    ))?;
    Some(path.display().to_string())
}

#[test]
fn a_recorded_minijail_policy_compiles_weighted_and_confines_the_command() {
    let Some(constants) = constants() else { return };
    let dir = host::temp_dir("record-minijail");
    std::fs::create_dir_all(dir.join("listed")).expect("mkdir");
    std::fs::write(dir.join("listed/x"), "").expect("write");
    let listed = dir.join("listed").display().to_string();
    let policy = dir.join("ls.policy").display().to_string();
    let out = SYSFENCE.run(&[
        "record", "--emit", "minijail", "-o", &policy, "--", "ls", &listed,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));

    let text_of = |name: &str| std::fs::read_to_string(dir.join(name)).expect(name);
    let (written, frequency) = (text_of("ls.policy"), text_of("ls.frequency"));
    assert!(
        written.contains("\n@frequency ./ls.frequency\n"),
        "{written}"
    );
    assert!(written.contains("\nexecve: 1\n"), "{written}");
    let counts: Vec<(&str, u64)> = frequency
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let (name, count) = l.split_once(": ").expect("name: count");
            (name, count.parse().expect("a count"))
        })
        .collect();
    assert!(
        counts.iter().any(|&(n, c)| n == "execve" && c >= 1),
        "{frequency}"
    );

    let with = |verb: &str, rest: &[&str]| {
        let mut args = vec![verb, policy.as_str(), "--constants", constants.as_str()];
        args.extend(rest);
        SYSFENCE.run(&args)
    };
    let check = with("check", &["--layout", "weighted"]);
    assert!(check.status.success(), "{}", text(&check.stderr));
    let cost = with("cost", &["--layout", "weighted"]);
    assert!(
        text(&cost.stdout).contains("@frequency"),
        "{}",
        text(&cost.stdout)
    );
    let under = with("run", &["--", "ls", &listed]);
    assert!(under.status.success(), "{}", text(&under.stderr));
    assert_eq!(text(&under.stdout), "x\n");
    let _ = std::fs::remove_dir_all(&dir);
}
