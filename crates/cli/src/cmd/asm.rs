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
//! A `--name` that is not an identifier of the output's language (C or
//! Rust, keywords excluded) is refused, exit 2, before anything is written.

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
    let name = args.name.as_deref();
    let out = match args.format {
        Format::Raw => encode(&insns, Endian::NATIVE),
        Format::C => to_c_array(&insns, array_name(name, &C)?).into_bytes(),
        Format::Rust => to_rust_array(&insns, array_name(name, &RUST)?).into_bytes(),
        Format::BpfAsm => to_bytecode_line(&insns).into_bytes(),
    };
    write_output(args.output.as_ref(), &out)?;
    Ok(0)
}

/// A language an array is written in, for the name it is given.
struct Language {
    /// The language's name, for messages.
    name: &'static str,
    /// The array's name when `--name` is not given.
    default: &'static str,
    /// Identifiers that are reserved: keywords, and Rust's `_`.
    reserved: &'static [&'static str],
}

/// C, keywords up to C23 included.
#[rustfmt::skip]
const C: Language = Language {
    name: "C",
    default: "filter",
    reserved: &[
        "alignas", "alignof", "auto", "bool", "break", "case", "char", "const",
        "constexpr", "continue", "default", "do", "double", "else", "enum",
        "extern", "false", "float", "for", "goto", "if", "inline", "int", "long",
        "nullptr", "register", "restrict", "return", "short", "signed", "sizeof",
        "static", "static_assert", "struct", "switch", "thread_local", "true",
        "typedef", "typeof", "typeof_unqual", "union", "unsigned", "void",
        "volatile", "while", "_Alignas", "_Alignof", "_Atomic", "_BitInt",
        "_Bool", "_Complex", "_Decimal128", "_Decimal32", "_Decimal64",
        "_Generic", "_Imaginary", "_Noreturn", "_Static_assert", "_Thread_local",
    ],
};

/// Rust, strict and reserved keywords of the 2024 edition.
#[rustfmt::skip]
const RUST: Language = Language {
    name: "Rust",
    default: "FILTER",
    reserved: &[
        "_", "abstract", "as", "async", "await", "become", "box", "break",
        "const", "continue", "crate", "do", "dyn", "else", "enum", "extern",
        "false", "final", "fn", "for", "gen", "if", "impl", "in", "let", "loop",
        "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
        "return", "self", "Self", "static", "struct", "super", "trait", "true",
        "try", "type", "typeof", "unsafe", "unsized", "use", "virtual", "where",
        "while", "yield",
    ],
};

/// The `--name` of an array (or the language's default), refused unless
/// it is an identifier of the language: ASCII letters, digits and `_`, not
/// starting with a digit, and not reserved.
fn array_name<'a>(name: Option<&'a str>, language: &Language) -> Result<&'a str, Failure> {
    let Some(name) = name else {
        return Ok(language.default);
    };
    let mut chars = name.chars();
    let starts_well = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if !starts_well || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(Failure::input(format!(
            "--name: {name:?} is not a {} identifier (ASCII letters, digits and `_`, \
             not starting with a digit)",
            language.name
        )));
    }
    if language.reserved.contains(&name) {
        return Err(Failure::input(format!(
            "--name: {name:?} is reserved in {}, it cannot name the array",
            language.name
        )));
    }
    Ok(name)
}
