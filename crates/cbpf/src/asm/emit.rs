//! Writes a program as source code for other tools: a C array of
//! `struct sock_filter`, a Rust array, or the one-line `bpf_asm` bytecode.
//!
//! Input: any instructions (nothing is checked). Output: text ending in a
//! newline. Every field is written as a number, so junk in unused fields
//! and unknown codes survive. The array name is inserted as given: pass a
//! valid identifier.

use core::fmt::Write as _;

use crate::insn::Insn;

/// A C initialiser, one instruction per line:
///
/// ```text
/// struct sock_filter filter[] = {
///     { 0x20, 0, 0, 0x00000004 },
///     { 0x06, 0, 0, 0x7fff0000 },
/// };
/// ```
pub fn to_c_array(insns: &[Insn], name: &str) -> String {
    let mut out = format!("struct sock_filter {name}[] = {{\n");
    for i in insns {
        writeln!(
            out,
            "    {{ {:#04x}, {}, {}, {:#010x} }},",
            i.code, i.jt, i.jf, i.k
        )
        .ok();
    }
    out.push_str("};\n");
    out
}

/// A Rust constant of `(code, jt, jf, k)` tuples — the fields of
/// `struct sock_filter` in order, independent of byte order:
///
/// ```text
/// pub const FILTER: [(u16, u8, u8, u32); 2] = [
///     (0x20, 0, 0, 0x00000004),
///     (0x06, 0, 0, 0x7fff0000),
/// ];
/// ```
pub fn to_rust_array(insns: &[Insn], name: &str) -> String {
    let mut out = format!(
        "pub const {name}: [(u16, u8, u8, u32); {}] = [\n",
        insns.len()
    );
    for i in insns {
        writeln!(
            out,
            "    ({:#04x}, {}, {}, {:#010x}),",
            i.code, i.jt, i.jf, i.k
        )
        .ok();
    }
    out.push_str("];\n");
    out
}

/// The kernel `bpf_asm` default output: `N,code jt jf k,…,` in decimal with
/// a trailing comma, the format `xt_bpf`, `tc` and `bpf_dbg` read.
pub fn to_bytecode_line(insns: &[Insn]) -> String {
    let mut out = format!("{},", insns.len());
    for i in insns {
        write!(out, "{} {} {} {},", i.code, i.jt, i.jf, i.k).ok();
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROG: [Insn; 2] = [Insn::new(0x20, 0, 0, 4), Insn::new(0x15, 0, 6, 0xc000_003e)];

    #[test]
    fn c_array() {
        assert_eq!(
            to_c_array(&PROG, "filter"),
            "struct sock_filter filter[] = {\n    { 0x20, 0, 0, 0x00000004 },\n    { 0x15, 0, 6, 0xc000003e },\n};\n"
        );
    }

    #[test]
    fn rust_array() {
        assert_eq!(
            to_rust_array(&PROG, "FILTER"),
            "pub const FILTER: [(u16, u8, u8, u32); 2] = [\n    (0x20, 0, 0, 0x00000004),\n    (0x15, 0, 6, 0xc000003e),\n];\n"
        );
    }

    #[test]
    fn bytecode_line_matches_bpf_asm() {
        assert_eq!(to_bytecode_line(&PROG), "2,32 0 0 4,21 0 6 3221225534,\n");
    }
}
