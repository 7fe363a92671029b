//! `sysfence disasm`: print a raw program as text.
//!
//! In: raw `struct sock_filter` bytes in native byte order (a file or `-`
//! for standard input); the length must be a non-zero multiple of 8.
//! `--arch` names the arch the program is read for: it picks the word order
//! of `args[i].lo` / `.hi` and the syscall names in comments; without it,
//! the arch the program's own arch check names (`ld [4]; jeq #AUDIT_ARCH`).
//! Out: `bpf_asm` text that `sysfence asm` turns back into the same bytes
//! (`--style asm`, the default), or numbered C-like pseudo-code
//! (`--style c`). Any bytes disassemble; nothing is validated.

use std::path::PathBuf;

use sysfence_cbpf::asm::{DisasmOptions, Style, disassemble};
use sysfence_cbpf::insn::{Endian, decode};

use crate::builtin_syscalls::parse_arch;
use crate::failure::{Failure, Outcome};
use crate::io::{display_name, read_input, write_output};

/// Output styles.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum StyleArg {
    /// `bpf_asm` text that re-assembles byte for byte.
    Asm,
    /// Numbered C-like pseudo-code for reading.
    C,
}

/// Arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Raw program; `-` or nothing reads standard input.
    input: Option<PathBuf>,
    /// Arch for comments: a name (x86_64, aarch64, i386, ...) or a hex
    /// AUDIT_ARCH value.
    #[arg(long)]
    arch: Option<String>,
    /// Output style.
    #[arg(long, value_enum, default_value_t = StyleArg::Asm)]
    style: StyleArg,
}

/// Runs the verb.
pub fn run(args: Args) -> Outcome {
    let name = display_name(args.input.as_deref());
    let bytes = read_input(args.input.as_deref())?;
    let insns =
        decode(&bytes, Endian::NATIVE).map_err(|e| Failure::input(format!("{name}: {e}")))?;
    let inferred = crate::progfile::checked_arch(&insns).map(|a| format!("{a:#x}"));
    let arch = args
        .arch
        .as_deref()
        .or(inferred.as_deref())
        .map(parse_arch)
        .transpose()?;
    let style = match args.style {
        StyleArg::Asm => Style::Asm,
        StyleArg::C => Style::C,
    };
    let mut opts = DisasmOptions::new()
        .style(style)
        .arch(arch.map(|a| a.audit));
    let table = arch.and_then(|a| a.syscalls);
    if let Some(table) = &table {
        opts = opts.syscalls(table);
    }
    write_output(None, disassemble(&insns, &opts).as_bytes())?;
    Ok(0)
}
