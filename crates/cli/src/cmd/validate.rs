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

use sysfence_cbpf::asm::{AsmOptions, assemble};
use sysfence_cbpf::data::arch_endian;
use sysfence_cbpf::insn::{Endian, Insn, decode};
use sysfence_cbpf::validate::validate;

use crate::builtin_syscalls::parse_arch;
use crate::failure::{Failure, Outcome};
use crate::io::{display_name, read_input};

/// How to read the input.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Text if it looks like text, raw otherwise.
    Auto,
    /// Raw `struct sock_filter` array, native byte order.
    Raw,
    /// `bpf_asm` text.
    Asm,
}

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
    if bytes.is_empty() {
        return Err(Failure::input(format!("{name}: empty input")));
    }
    let insns = match args.format {
        Format::Raw => read_raw(&name, &bytes)?,
        Format::Asm => read_asm(&name, &bytes, &args.arch)?,
        Format::Auto if looks_like_text(&bytes) => read_asm(&name, &bytes, &args.arch)?,
        Format::Auto => read_raw(&name, &bytes)?,
    };
    match validate(&insns) {
        Ok(prog) => {
            println!("ok: {} instructions", prog.len());
            Ok(0)
        }
        Err(e) => Err(Failure::negative(e)),
    }
}

/// Whether `bytes` should be read as assembly: UTF-8 without a NUL byte.
/// Every instruction of a valid raw program holds a NUL (the high byte of
/// its 16-bit code), so no valid raw program looks like text.
fn looks_like_text(bytes: &[u8]) -> bool {
    !bytes.contains(&0) && std::str::from_utf8(bytes).is_ok()
}

/// Decodes raw bytes in native byte order.
fn read_raw(name: &str, bytes: &[u8]) -> Result<Vec<Insn>, Failure> {
    decode(bytes, Endian::NATIVE).map_err(|e| Failure::input(format!("{name}: {e}")))
}

/// Assembles text with the syscall table of `arch`.
fn read_asm(name: &str, bytes: &[u8], arch: &str) -> Result<Vec<Insn>, Failure> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        Failure::input(format!("{name}: not UTF-8 text (byte {})", e.valid_up_to()))
    })?;
    let arch = parse_arch(arch)?;
    let mut opts = AsmOptions::new().endian(arch_endian(arch.audit));
    if let Some(table) = &arch.syscalls {
        opts = opts.syscalls(table);
    }
    assemble(text, &opts).map_err(|e| {
        Failure::input(format!(
            "{name}:{}:{}: {}",
            e.line(),
            e.column(),
            e.message()
        ))
    })
}
