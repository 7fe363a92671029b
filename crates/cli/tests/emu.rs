//! `sysfence emu` end to end: single calls, traces, batches and bad input.

use sysfence_testkit::Cli;
use sysfence_testkit::cli::stdout;
use sysfence_testkit::host::{temp_dir, write};

const SYSFENCE: Cli = Cli::new(env!("CARGO_BIN_EXE_sysfence"));

const ALLOW_LIST: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../corpus/programs/x86_64-allow-list.bpf"
);

#[test]
fn single_calls_by_name_and_number() {
    let o = SYSFENCE.run_with_stdin(
        &["emu", ALLOW_LIST, "--arch", "x86_64", "getpid"],
        "".as_bytes(),
    );
    assert_eq!(
        (o.status.code(), stdout(&o).as_str()),
        (Some(0), "ALLOW 0x7fff0000 6\n")
    );
    let o = SYSFENCE.run_with_stdin(&["emu", ALLOW_LIST, "--arch", "x86_64", "0"], "".as_bytes());
    assert_eq!(stdout(&o), "ERRNO(1) 0x00050001 7\n");
    let o = SYSFENCE.run_with_stdin(
        &["emu", ALLOW_LIST, "--arch", "x86_64", "-1"],
        "".as_bytes(),
    );
    assert_eq!(stdout(&o), "KILL_PROCESS 0x80000000 5\n");
    let o = SYSFENCE.run_with_stdin(
        &["emu", ALLOW_LIST, "--arch", "i386", "getpid"],
        "".as_bytes(),
    );
    assert_eq!(stdout(&o), "KILL_PROCESS 0x80000000 3\n");
}

#[test]
fn trace_lists_each_step_with_registers() {
    let o = SYSFENCE.run_with_stdin(
        &[
            "emu",
            ALLOW_LIST,
            "--arch",
            "x86_64",
            "0x40000027",
            "--trace",
        ],
        "".as_bytes(),
    );
    let text = stdout(&o);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 7, "{text}");
    assert!(lines[0].starts_with("# engine:"));
    assert!(
        lines[4].starts_with("A=0x40000027 X=0x00000000  0003:"),
        "{}",
        lines[4]
    );
    assert_eq!(lines[6], "KILL_PROCESS 0x80000000 5");
}

#[test]
fn batch_answers_every_line_in_order() {
    let input = "x86_64 39\n# a comment\n\ni386 1\n0xc000003e 231 1 2 3 4 5 6\nx86_64 0\n";
    let o = SYSFENCE.run_with_stdin(&["emu", ALLOW_LIST, "--batch"], input.as_bytes());
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        stdout(&o),
        "ALLOW 0x7fff0000 6\nKILL_PROCESS 0x80000000 3\nALLOW 0x7fff0000 7\nERRNO(1) 0x00050001 7\n"
    );
}

/// `--ip` holds for every line of a batch, as for a single call: a program
/// that returns bits of the instruction pointer answers alike both ways.
#[test]
fn batch_lines_take_the_instruction_pointer() {
    let dir = temp_dir("emu-ip");
    let prog = write(&dir, "ip.asm", "ld [8]\nand #0xfff\nor #0x50000\nret a\n");
    let single = SYSFENCE.exec(&["emu", &prog, "--arch", "x86_64", "--ip", "0x4012ae", "39"]);
    assert_eq!(single.stdout.split(' ').next(), Some("ERRNO(686)"));
    let batch = SYSFENCE.run_with_stdin(
        &["emu", &prog, "--ip", "0x4012ae", "--batch"],
        b"x86_64 39\n",
    );
    assert_eq!(stdout(&batch), "ERRNO(686) 0x000502ae 4\n");
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    for (args, stdin, needle) in [
        (
            vec!["emu", ALLOW_LIST, "--arch", "x86_64", "nosuch"],
            "",
            "unknown syscall `nosuch`",
        ),
        (
            vec!["emu", ALLOW_LIST, "--arch", "vax", "1"],
            "",
            "unknown arch",
        ),
        (
            vec!["emu", ALLOW_LIST, "--arch", "x86_64", "1", "0xzz"],
            "",
            "bad number `0xzz`",
        ),
        (
            vec!["emu", ALLOW_LIST, "--batch"],
            "x86_64 1\nx86_64 banana\n",
            "<stdin>:2: bad syscall number",
        ),
        (
            vec!["emu", "/nonexistent/prog", "--arch", "x86_64", "1"],
            "",
            "/nonexistent/prog",
        ),
    ] {
        let o = SYSFENCE.run_with_stdin(&args, stdin.as_bytes());
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    }
}

#[test]
fn truncated_raw_program_is_rejected() {
    let dir = std::env::temp_dir().join(format!("sysfence-emu-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("short.bin");
    std::fs::write(&path, [0x06, 0, 0, 0, 0, 0, 0xff, 0x7f, 0x06]).unwrap();
    let o = SYSFENCE.run_with_stdin(
        &["emu", path.to_str().unwrap(), "--arch", "x86_64", "1"],
        "".as_bytes(),
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("not a multiple of 8"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
