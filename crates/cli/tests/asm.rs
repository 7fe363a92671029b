//! `sysfence asm` and `sysfence disasm`, run as a binary: the round trip
//! through files and pipes, the output formats, and the exit status and
//! `FILE:LINE:COLUMN` of errors.

use std::path::{Path, PathBuf};
use sysfence_cbpf::data::AUDIT_ARCH_X86_64;
use sysfence_testkit::Cli;

const SYSFENCE: Cli = Cli::new(env!("CARGO_BIN_EXE_sysfence"));

fn ok(args: &[&str], stdin: &[u8]) -> Vec<u8> {
    let out = SYSFENCE.run_with_stdin(args, stdin);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn program(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../corpus/programs")
        .join(name)
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sysfence-cli-asm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join(name)
}

#[test]
fn asm_disasm_asm_gives_identical_bytes_for_every_corpus_program() {
    let mut seen = 0;
    for entry in std::fs::read_dir(program("")).expect("corpus/programs") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "bpf") {
            continue;
        }
        let p = path.to_str().expect("utf-8 path");
        let raw = ok(&["asm", p], b"");
        assert_eq!(raw.len() % 8, 0, "{p}");
        for style_args in [
            &["disasm", "-"][..],
            &["disasm", "--arch", "x86_64", "-"][..],
        ] {
            let text = ok(style_args, &raw);
            assert_eq!(
                ok(&["asm", "-"], &text),
                raw,
                "{p}\n{}",
                String::from_utf8_lossy(&text)
            );
        }
        seen += 1;
    }
    assert!(seen >= 5, "{seen} programs");
}

#[test]
fn the_kernel_example_in_every_format() {
    let p = program("x86_64-allow-list.bpf");
    let p = p.to_str().expect("utf-8 path");
    let raw = ok(&["asm", p], b"");
    assert_eq!(raw.len(), 72);
    let mut jne = 0x15u16.to_ne_bytes().to_vec();
    jne.extend([0, 6]);
    jne.extend(AUDIT_ARCH_X86_64.to_ne_bytes());
    assert_eq!(&raw[8..16], &jne[..], "native byte order");
    assert_eq!(
        String::from_utf8(ok(&["asm", "--format", "bpf_asm", p], b"")).unwrap(),
        "9,32 0 0 4,21 0 6 3221225534,32 0 0 0,53 4 0 1073741824,21 2 0 39,21 1 0 231,6 0 0 327681,6 0 0 2147418112,6 0 0 2147483648,\n"
    );
    let c = String::from_utf8(ok(&["asm", "--format", "c", "--name", "allow", p], b"")).unwrap();
    assert!(
        c.starts_with("struct sock_filter allow[] = {\n    { 0x20, 0, 0, 0x00000004 },\n"),
        "{c}"
    );
    let rust = String::from_utf8(ok(&["asm", "--format", "rust", p], b"")).unwrap();
    assert!(
        rust.starts_with(
            "pub const FILTER: [(u16, u8, u8, u32); 9] = [\n    (0x20, 0, 0, 0x00000004),\n"
        ),
        "{rust}"
    );
}

#[test]
fn array_names_must_be_identifiers_of_the_language() {
    let p = program("x86_64-allow-list.bpf");
    let p = p.to_str().unwrap();
    let refused = [
        ("c", "1bad;", "is not a C identifier"),
        ("c", "", "is not a C identifier"),
        ("c", "int", "is reserved in C"),
        ("rust", "x y", "is not a Rust identifier"),
        ("rust", "naïve", "is not a Rust identifier"),
        ("rust", "fn", "is reserved in Rust"),
    ];
    for (format, name, why) in refused {
        let r = sysfence_testkit::cli::Run::from(
            SYSFENCE.run(&["asm", "--format", format, "--name", name, p]),
        );
        r.assert_fails(2, &["--name: ", why], &format!("{format} {name:?}"));
        assert!(r.stdout.is_empty(), "{}", r.stdout);
    }
    let c = String::from_utf8(ok(&["asm", "--format", "c", "--name", "_f1", p], b"")).unwrap();
    assert!(c.starts_with("struct sock_filter _f1[] = {"), "{c}");
    let rust = ok(&["asm", "--format", "rust", "--name", "int", p], b"");
    assert!(rust.starts_with(b"pub const int: "));
}

#[test]
fn disasm_names_syscalls_for_the_arch_and_writes_c_style() {
    let raw = ok(
        &["asm", program("x86_64-allow-list.bpf").to_str().unwrap()],
        b"",
    );
    let text = String::from_utf8(ok(&["disasm", "--arch", "x86_64", "-"], &raw)).unwrap();
    assert!(
        text.contains("        jeq #39, L7              ; getpid\n"),
        "{text}"
    );
    assert!(
        text.contains("        ret #0x00050001          ; ERRNO(1)\n"),
        "{text}"
    );
    let hex = String::from_utf8(ok(&["disasm", "--arch", "0xc000003e", "-"], &raw)).unwrap();
    assert_eq!(hex, text);
    // Another arch: no x86_64 names.
    let arm = String::from_utf8(ok(&["disasm", "--arch", "aarch64", "-"], &raw)).unwrap();
    assert!(!arm.contains("getpid"), "{arm}");
    let c = String::from_utf8(ok(
        &["disasm", "--style", "c", "--arch", "x86_64", "-"],
        &raw,
    ))
    .unwrap();
    assert!(c.contains("0003: if (A >= 0x40000000) goto 0008\n"), "{c}");
    assert!(c.contains("0006: return ERRNO(1)\n"), "{c}");
}

#[test]
fn asm_writes_to_a_file_with_o() {
    let out = scratch("allow.raw");
    let p = program("x86_64-allow-list.bpf");
    ok(
        &["asm", p.to_str().unwrap(), "-o", out.to_str().unwrap()],
        b"",
    );
    assert_eq!(
        std::fs::read(&out).unwrap(),
        ok(&["asm", p.to_str().unwrap()], b"")
    );
}

#[test]
fn syscall_names_resolve_for_the_chosen_arch() {
    let raw = ok(&["asm", "-"], b"ld #getpid\n");
    assert_eq!(&raw[4..8], &39u32.to_ne_bytes());
    let raw = ok(&["asm", "--arch", "aarch64", "-"], b"ld #__NR_getpid\n");
    assert_eq!(&raw[4..8], &172u32.to_ne_bytes());
}

#[test]
fn a_bad_mnemonic_exits_2_with_file_line_and_column() {
    let out = SYSFENCE.run_with_stdin(&["asm", "-"], b"ld [0]\n\n   lda #1\n");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "sysfence: <stdin>:3:4: unknown mnemonic `lda`\n"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn bad_inputs_exit_2_with_one_line() {
    let cases: [(&[&str], &[u8], &str); 5] = [
        (
            &["asm", "-"],
            b"ja nowhere\n",
            "sysfence: <stdin>:1:4: undefined label `nowhere`\n",
        ),
        (
            &["asm", "-"],
            b"ld \xff\n",
            "sysfence: <stdin>: not UTF-8 text (byte 3)\n",
        ),
        (&["asm", "--arch", "vax", "-"], b"ret #0\n", ""),
        (
            &["disasm", "-"],
            &[0u8; 12],
            "sysfence: <stdin>: raw program length 12 is not a multiple of 8",
        ),
        (
            &["disasm", "--arch", "0xzz", "-"],
            &[6, 0, 0, 0, 0, 0, 0, 0],
            "sysfence: bad AUDIT_ARCH value `0xzz`",
        ),
    ];
    for (args, stdin, want) in cases {
        let out = SYSFENCE.run_with_stdin(args, stdin);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.starts_with(want), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    }
    let out = SYSFENCE.run_with_stdin(&["disasm", "-"], b"");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn junk_and_invalid_codes_survive_the_cli_round_trip() {
    let raw: Vec<u8> = [
        [0x80u8, 0, 5, 6, 0x34, 0x12, 0, 0],
        [0x0e, 0, 0, 0, 0, 0, 0, 0],
        [0x34, 0x12, 1, 2, 3, 0, 0, 0],
    ]
    .iter()
    .flat_map(|i| {
        // Fields as native-endian u16 code and u32 k.
        let code = u16::from_le_bytes([i[0], i[1]]).to_ne_bytes();
        let k = u32::from_le_bytes([i[4], i[5], i[6], i[7]]).to_ne_bytes();
        [code[0], code[1], i[2], i[3], k[0], k[1], k[2], k[3]]
    })
    .collect();
    let text = ok(&["disasm", "-"], &raw);
    assert_eq!(
        ok(&["asm", "-"], &text),
        raw,
        "{}",
        String::from_utf8_lossy(&text)
    );
}
