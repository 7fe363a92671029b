//! `sysfence validate` end to end: raw and assembly input, the three exit
//! statuses and their one-line messages.

use std::path::PathBuf;
use sysfence_cbpf::data::AUDIT_ARCH_X86_64;
use sysfence_testkit::Cli;

const SYSFENCE: Cli = Cli::new(env!("CARGO_BIN_EXE_sysfence"));

/// A scratch file under the system temp dir, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str, bytes: &[u8]) -> Scratch {
        let path =
            std::env::temp_dir().join(format!("sysfence-validate-{}-{name}", std::process::id()));
        std::fs::write(&path, bytes).expect("write scratch file");
        Scratch(path)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn validate_file(name: &str, bytes: &[u8]) -> (i32, String, String) {
    let file = Scratch::new(name, bytes);
    let out = SYSFENCE.run_with_stdin(
        &["validate", file.0.to_str().expect("utf-8 temp path")],
        b"",
    );
    (
        out.status.code().expect("exit status"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Native-endian `struct sock_filter` bytes.
fn raw(insns: &[(u16, u8, u8, u32)]) -> Vec<u8> {
    let mut v = Vec::new();
    for &(code, jt, jf, k) in insns {
        v.extend_from_slice(&code.to_ne_bytes());
        v.extend_from_slice(&[jt, jf]);
        v.extend_from_slice(&k.to_ne_bytes());
    }
    v
}

const ALLOW_LIST: &str = "\
/* minimal x86_64 allow-list */
        ld [4]                    ; seccomp_data.arch
        jne #0xc000003e, kill
        ld [0]                    ; seccomp_data.nr
        jge #0x40000000, kill     ; x32 numbers
        jeq #39, allow
        jeq #231, allow
        ret #0x00050001           ; ERRNO(EPERM)
allow:  ret #0x7fff0000
kill:   ret #0x80000000
";

#[test]
fn raw_program_accepted() {
    let bytes = raw(&[
        (0x20, 0, 0, 4),
        (0x15, 0, 1, AUDIT_ARCH_X86_64),
        (0x06, 0, 0, 0x7fff_0000),
        (0x06, 0, 0, 0),
    ]);
    assert_eq!(
        validate_file("ok.bin", &bytes),
        (0, "ok: 4 instructions\n".into(), String::new())
    );
}

#[test]
fn raw_program_rejected_names_pc_and_rule() {
    let bytes = raw(&[(0x00, 0, 0, 7), (0x34, 0, 0, 0), (0x16, 0, 0, 0)]);
    let (code, stdout, stderr) = validate_file("div0.bin", &bytes);
    assert_eq!((code, stdout.as_str()), (1, ""));
    assert_eq!(
        stderr,
        "sysfence: pc 1: div #0 divides by zero (division-by-zero)\n"
    );
}

#[test]
fn raw_program_too_long_is_a_rejection() {
    let bytes = raw(&vec![(0x06, 0, 0, 0x7fff_0000); 4097]);
    let (code, _, stderr) = validate_file("long.bin", &bytes);
    assert_eq!(code, 1);
    assert_eq!(
        stderr,
        "sysfence: program has 4097 instructions, seccomp accepts 1 to 4096 (length)\n"
    );
    let bytes = raw(&vec![(0x06, 0, 0, 0x7fff_0000); 4096]);
    assert_eq!(
        validate_file("max.bin", &bytes).1,
        "ok: 4096 instructions\n"
    );
}

#[test]
fn truncated_raw_input_is_bad_input() {
    let mut bytes = raw(&[(0x06, 0, 0, 0x7fff_0000)]);
    bytes.extend_from_slice(&[0, 0, 0, 0]);
    let (code, stdout, stderr) = validate_file("trunc.bin", &bytes);
    assert_eq!((code, stdout.as_str()), (2, ""));
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("not a multiple of 8"), "{stderr}");
}

#[test]
fn empty_input_is_bad_input() {
    let (code, _, stderr) = validate_file("empty.bin", b"");
    assert_eq!(code, 2);
    assert!(stderr.ends_with("empty input\n"), "{stderr}");
}

#[test]
fn assembly_accepted() {
    assert_eq!(
        validate_file("ok.bpf", ALLOW_LIST.as_bytes()),
        (0, "ok: 9 instructions\n".into(), String::new())
    );
}

#[test]
fn assembly_rejected_by_seccomp() {
    let (code, _, stderr) = validate_file("ld62.bpf", b"ld [62]\nret a\n");
    assert_eq!(code, 1);
    assert_eq!(
        stderr,
        "sysfence: pc 0: ld [62] is not an aligned word inside the 64-byte seccomp_data (0, 4, .., 60) (seccomp-data-offset)\n"
    );
    let (code, _, stderr) = validate_file("mod.bpf", b"ld #1\nmod #3\nret a\n");
    assert_eq!(code, 1);
    assert!(
        stderr.starts_with("sysfence: pc 1: code 0x0094 (mod) is not allowed"),
        "{stderr}"
    );
}

#[test]
fn assembly_syntax_error_is_bad_input() {
    let (code, _, stderr) = validate_file("bad.bpf", b"ld [4]\nfrobnicate #1\nret a\n");
    assert_eq!(code, 2);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains(":2:"), "{stderr}");
}

#[test]
fn reads_standard_input() {
    let out = SYSFENCE.run_with_stdin(&["validate", "-"], ALLOW_LIST.as_bytes());
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "ok: 9 instructions\n");
    let out = SYSFENCE.run_with_stdin(&["validate"], &raw(&[(0x16, 0, 0, 0)]));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "ok: 1 instructions\n");
}

#[test]
fn format_flag_overrides_detection() {
    // Eight printable bytes are text by default, but raw when asked.
    let (code, _, stderr) = validate_file("eight.bin", b"ret a   ");
    assert_eq!((code, stderr.as_str()), (0, ""));
    let file = Scratch::new("eight-raw.bin", b"ret a   ");
    let out = SYSFENCE.run_with_stdin(
        &[
            "validate",
            "--format",
            "raw",
            file.0.to_str().expect("utf-8"),
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("(opcode)"));
}
