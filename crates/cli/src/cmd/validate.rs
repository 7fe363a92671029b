//! `sysfence validate`: would `seccomp(SECCOMP_SET_MODE_FILTER)` load this?
//!
//! In: a program (a file or `-` for standard input), either raw
//! `struct sock_filter` bytes in native byte order or `bpf_asm` text in the
//! syntax of [`sysfence_cbpf::asm`]. `--format auto` (the default) reads the
//! input as text when it is UTF-8 without NUL bytes; every valid raw program
//! has a NUL byte (the high byte of each 16-bit code is 0), so it is never
//! mistaken for text. `--format raw` or `--format asm` decides explicitly.
//!
//! Out: `ok: N instructions` and exit 0 when the kernel would accept the
//! program; otherwise the first broken rule as `pc P: <what> (<rule>)` and
//! exit 1. Input that is not a program at all (empty, truncated raw bytes,
//! an assembly error) is a one-line error with exit 2.
//!
//! What is checked is exactly [`sysfence_cbpf::validate::validate`]; the
//! stacked-filter budget and the caller's privileges are not.

use std::path::PathBuf;

use sysfence_cbpf::validate::validate;

use crate::builtin_syscalls::parse_arch;
use crate::failure::{Failure, Outcome};
use crate::io::{display_name, read_input};
use crate::progfile::{Format, read_program};

/// Arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Program file, raw or assembly; `-` or nothing reads standard input.
    input: Option<PathBuf>,
    /// How to read the input.
    #[arg(long, value_enum, default_value_t = Format::Auto)]
    format: Format,
    /// Arch for syscall names and the `.lo`/`.hi` word order in assembly (a
    /// name or a hex AUDIT_ARCH value).
    #[arg(long, default_value = "x86_64")]
    arch: String,
}

/// Runs the verb.
pub fn run(args: Args) -> Outcome {
    let name = display_name(args.input.as_deref());
    let bytes = read_input(args.input.as_deref())?;
    let arch = parse_arch(&args.arch)?;
    let insns = read_program(&name, &bytes, args.format, &arch)?;
    match validate(&insns) {
        Ok(prog) => {
            println!("ok: {} instructions", prog.len());
            Ok(0)
        }
        Err(e) => Err(Failure::negative(e)),
    }
}
