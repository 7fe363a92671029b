//! Every bad minijail input of `corpus/bad/cases.txt` (the `mj-*` lines)
//! through the binary: `lint`, `compile` and `check` exit 2 and print the
//! case's located message (`file:line:column: what`) and a caret under it;
//! they run in `corpus/bad`, so file names print as the table has them.

use sysfence_testkit::Cli;

const SYSFENCE: Cli = Cli::new(env!("CARGO_BIN_EXE_sysfence"));

/// The issue asks for at least this many located minijail errors.
const AT_LEAST: usize = 20;

#[test]
fn every_bad_minijail_input_is_a_located_error_with_exit_2() {
    let dir = sysfence_testkit::repo("corpus/bad");
    let table = std::fs::read_to_string(dir.join("cases.txt")).expect("cases.txt");
    let cases: Vec<(&str, &str)> = table
        .lines()
        .filter(|l| l.starts_with("mj-"))
        .map(|l| {
            let mut parts = l.splitn(3, " | ");
            let file = parts.next().expect("file");
            (file, parts.nth(1).expect("message"))
        })
        .collect();
    assert!(cases.len() >= AT_LEAST, "{} minijail cases", cases.len());
    for (file, message) in cases {
        for verb in ["lint", "compile", "check"] {
            let run = SYSFENCE.run_in(&[verb, file], b"", Some(&dir));
            let err = run.stderr;
            assert_eq!(run.code, 2, "{verb} {file}: {err}");
            assert!(
                err.contains(message),
                "{verb} {file}: want {message}\n{err}"
            );
            assert!(err.contains('^'), "{verb} {file}: no caret\n{err}");
        }
    }
}
