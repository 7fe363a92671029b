//! `sysfence asm`: assemble `bpf_asm` text.
//!
//! In: assembly text (a file or `-` for standard input) in the syntax of
//! [`sysfence_cbpf::asm`]; `--arch` (default x86_64) picks the syscall table
//! for `#getpid` and the word order of `args[i].lo` / `.hi`.
//! Out: the program as raw `struct sock_filter` bytes in native byte order
//! (default), a C array, a Rust array, or the kernel `bpf_asm` one-line
//! bytecode, to `-o FILE` or standard output.
//!
//! Nothing is validated: `sysfence validate` says whether the kernel would
//! load the result. Errors print as `FILE:LINE:COLUMN: message`, exit 2.

use std::path::PathBuf;

use sysfence_cbpf::asm::{AsmOptions, assemble, to_bytecode_line, to_c_array, to_rust_array};
use sysfence_cbpf::data::arch_endian;
use sysfence_cbpf::insn::{Endian, encode};

use crate::builtin_syscalls::parse_arch;
use crate::failure::{Failure, Outcome};
use crate::io::{display_name, read_input, write_output};

/// Output formats.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Raw `struct sock_filter` array, native byte order.
    Raw,
    /// `struct sock_filter NAME[] = { ... };`
    C,
    /// `pub const NAME: [(u16, u8, u8, u32); N] = [...];` (code, jt, jf, k).
    Rust,
    /// The kernel `bpf_asm` default: `N,code jt jf k,...,`.
    #[value(name = "bpf_asm")]
    BpfAsm,
}

/// Arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Assembly file; `-` or nothing reads standard input.
    input: Option<PathBuf>,
    /// Write here instead of standard output.
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Raw)]
    format: Format,
    /// Arch for syscall names and the `.lo`/`.hi` word order (a name or a
    /// hex AUDIT_ARCH value).
    #[arg(long, default_value = "x86_64")]
    arch: String,
    /// Array name for `--format c` (default `filter`) or `rust` (default `FILTER`).
    #[arg(long)]
    name: Option<String>,
    /// Make a conditional jump farther than 255 an error instead of adding a `ja` veneer.
    #[arg(long)]
    no_veneers: bool,
}

/// Runs the verb.
pub fn run(args: Args) -> Outcome {
    let name = display_name(args.input.as_deref());
    let bytes = read_input(args.input.as_deref())?;
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        Failure::input(format!("{name}: not UTF-8 text (byte {})", e.valid_up_to()))
    })?;
    let arch = parse_arch(&args.arch)?;
    let mut opts = AsmOptions::new()
        .veneers(!args.no_veneers)
        .endian(arch_endian(arch.audit));
    if let Some(table) = &arch.syscalls {
        opts = opts.syscalls(table);
    }
    let insns = assemble(text, &opts).map_err(|e| {
        Failure::input(format!(
            "{name}:{}:{}: {}",
            e.line(),
            e.column(),
            e.message()
        ))
    })?;
    let out = match args.format {
        Format::Raw => encode(&insns, Endian::NATIVE),
        Format::C => to_c_array(&insns, args.name.as_deref().unwrap_or("filter")).into_bytes(),
        Format::Rust => {
            to_rust_array(&insns, args.name.as_deref().unwrap_or("FILTER")).into_bytes()
        }
        Format::BpfAsm => to_bytecode_line(&insns).into_bytes(),
    };
    write_output(args.output.as_ref(), &out)?;
    Ok(0)
}
