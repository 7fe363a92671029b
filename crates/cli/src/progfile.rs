//! Reading a cBPF program from a file: raw bytes or `bpf_asm` text.
//!
//! Shared by `validate` and `emu`. `auto` reads the input as text when it is
//! UTF-8 without a NUL byte: every instruction of a valid raw program holds a
//! NUL (the high byte of its 16-bit code), so no valid raw program looks like
//! text. Profiles (JSON or YAML) are told apart by [`looks_like_profile`].

use sysfence_cbpf::asm::{AsmOptions, assemble, is_mnemonic};
use sysfence_cbpf::data::arch_endian;
use sysfence_cbpf::insn::{Endian, Insn, decode};

use crate::builtin_syscalls::ArchChoice;
use crate::failure::Failure;

/// How to read a program input.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Text if it looks like text, raw otherwise.
    Auto,
    /// Raw `struct sock_filter` array, native byte order.
    Raw,
    /// `bpf_asm` text.
    Asm,
}

/// Whether `bytes` should be read as text: UTF-8 without a NUL byte.
pub fn looks_like_text(bytes: &[u8]) -> bool {
    !bytes.contains(&0) && std::str::from_utf8(bytes).is_ok()
}

/// Whether a file's name says it holds a profile (`.policy`, `.json`,
/// `.yaml`, `.yml`), whatever its bytes are.
pub fn has_profile_name(path: &std::path::Path) -> bool {
    path.extension()
        .is_some_and(|e| ["policy", "json", "yaml", "yml"].iter().any(|x| e == *x))
}

/// Whether a text input is a profile rather than assembly: a minijail
/// policy by its `.policy` name, as the profile reader detects it (its
/// `name: filter` lines read like `bpf_asm` labels), and a `.json`, `.yaml`
/// or `.yml` file by its name too (so a malformed one gets the profile
/// reader's message, not an assembler's); JSON starts with `{`,
/// Inspektor Gadget output with a `//` line, YAML documents with `---`,
/// `apiVersion:` or `kind:`. None of these can start a `bpf_asm` program
/// but the last two, which are also labels: `kind: ret #0` is a program.
/// They start a profile only when what follows the colon cannot follow a
/// label ([`goes_on_as_assembly`]).
pub fn looks_like_profile(path: &std::path::Path, bytes: &[u8]) -> bool {
    if has_profile_name(path) {
        return true;
    }
    let text = String::from_utf8_lossy(bytes);
    let start = text.trim_start();
    if let Some(value) = ["apiVersion:", "kind:"]
        .iter()
        .find_map(|key| start.strip_prefix(key))
    {
        return !goes_on_as_assembly(value);
    }
    start.starts_with('{') || start.starts_with("//") || start.starts_with("---")
}

/// Whether `rest`, the text after a leading `name:`, goes on as `bpf_asm`
/// goes on after a label: with an instruction (a mnemonic), a directive
/// (`.insn`, `.arch`) or another label, on the same line or a later one.
/// The values of a profile's `kind:` and `apiVersion:` (`SeccompProfile`,
/// `security-profiles-operator.x-k8s.io/v1beta1`) are none of these.
fn goes_on_as_assembly(rest: &str) -> bool {
    let rest = rest.trim_start();
    let word_len = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    let (word, after) = rest.split_at(word_len);
    rest.starts_with('.') || is_mnemonic(word) || (!word.is_empty() && after.starts_with(':'))
}

/// Reads a program in the given format; `arch` names syscalls and picks the
/// `.lo`/`.hi` word order for assembly.
pub fn read_program(
    name: &str,
    bytes: &[u8],
    format: Format,
    arch: &ArchChoice,
) -> Result<Vec<Insn>, Failure> {
    if bytes.is_empty() {
        return Err(Failure::input(format!("{name}: empty input")));
    }
    match format {
        Format::Raw => read_raw(name, bytes),
        Format::Asm => read_asm(name, bytes, arch),
        // No raw program lacks a NUL byte: anything without one is text
        // (and non-UTF-8 "text" is an error that says so).
        Format::Auto if !bytes.contains(&0) => read_asm(name, bytes, arch),
        Format::Auto => read_raw(name, bytes),
    }
}

/// Decodes raw bytes in native byte order.
fn read_raw(name: &str, bytes: &[u8]) -> Result<Vec<Insn>, Failure> {
    decode(bytes, Endian::NATIVE).map_err(|e| Failure::input(format!("{name}: {e}")))
}

/// Assembles text with the syscall table of `arch`.
fn read_asm(name: &str, bytes: &[u8], arch: &ArchChoice) -> Result<Vec<Insn>, Failure> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        Failure::input(format!("{name}: not UTF-8 text (byte {})", e.valid_up_to()))
    })?;
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

/// The arch a program checks for itself: the constant of the first
/// `jeq`/`jset`-free comparison (`jeq #K`) right after `ld [4]` (the
/// `seccomp_data.arch` load) that names an arch with a syscall table.
/// `None` for a program that checks no known arch.
pub fn checked_arch(insns: &[Insn]) -> Option<u32> {
    const LD_W_ABS: u16 = 0x20;
    const JEQ_K: u16 = 0x15;
    insns.windows(2).find_map(|pair| {
        let (ld, jeq) = (pair[0], pair[1]);
        let is_arch_check =
            ld.code == LD_W_ABS && ld.k == sysfence_cbpf::data::OFFSET_ARCH && jeq.code == JEQ_K;
        (is_arch_check && sysfence_profile::Arch::from_audit(jeq.k, 0).is_some()).then_some(jeq.k)
    })
}
