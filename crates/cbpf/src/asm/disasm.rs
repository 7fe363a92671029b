//! Prints any instruction slice as `bpf_asm` text or as C-like pseudo-code.
//!
//! Input: arbitrary [`Insn`]s; nothing is validated and nothing can fail.
//! Output: one line per instruction (plus label lines in [`Style::Asm`]).
//!
//! [`Style::Asm`] must assemble back to the same bytes, so every instruction
//! is printed either in its table spelling — mnemonic from
//! [`OpInfo::mnemonic`], operand from [`OpInfo::operand`] — or, when that
//! spelling would lose bytes, as `.insn code, jt, jf, k` (see
//! [`raw_reason`]). Jump targets get generated labels `L<pc>`.
//!
//! Comments come from a small forward data-flow pass ([`analyse`]): because
//! classic BPF jumps only go forward, visiting instructions in order sees
//! every predecessor before its successor, so one pass gives, for each pc,
//! which `seccomp_data` word A holds on every path and which arch the
//! program has established (`jeq #AUDIT_ARCH_…` on the arch word). Syscall
//! names are printed only where that arch is the one the resolver belongs
//! to ([`DisasmOptions::arch`]).

use core::fmt::Write as _;

use crate::action::Action;
use crate::data::{OFFSET_ARCH, OFFSET_NR, arch_endian, audit_arch_name};
use crate::insn::{Endian, Insn};
use crate::opcode::{Class, OpInfo, Opcode, Operand};

use super::{ALIASES, DisasmOptions, Field, Style};

/// Prints `insns` in the chosen [`Style`].
///
/// With [`Style::Asm`], `assemble(&disassemble(x, o), _) == x` for every `x`
/// and every `o`.
pub fn disassemble(insns: &[Insn], opts: &DisasmOptions) -> String {
    let facts = analyse(insns, opts);
    match opts.style {
        Style::Asm => asm_text(insns, &facts, opts),
        Style::C => c_text(insns, &facts, opts),
    }
}

/// What the program is known to hold before one instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Facts {
    /// The byte offset of the `seccomp_data` word A holds, on every path.
    a: Option<u32>,
    /// The arch value, assumed from the options or established by a test.
    arch: Option<u32>,
}

impl Facts {
    const UNKNOWN: Facts = Facts {
        a: None,
        arch: None,
    };

    fn join(self, other: Facts) -> Facts {
        let same = |x: Option<u32>, y: Option<u32>| if x == y { x } else { None };
        Facts {
            a: same(self.a, other.a),
            arch: same(self.arch, other.arch),
        }
    }
}

/// The facts before each instruction (see the module docs).
fn analyse(insns: &[Insn], opts: &DisasmOptions) -> Vec<Facts> {
    let n = insns.len();
    let mut incoming: Vec<Option<Facts>> = vec![None; n];
    if let Some(first) = incoming.first_mut() {
        *first = Some(Facts {
            a: None,
            arch: opts.arch,
        });
    }
    let mut out = Vec::with_capacity(n);
    for (pc, insn) in insns.iter().enumerate() {
        let here = incoming[pc].unwrap_or(Facts::UNKNOWN);
        out.push(here);
        for (to, facts) in successors(pc, insn, here) {
            if let Some(slot) = incoming.get_mut(to) {
                *slot = Some(slot.map_or(facts, |f| f.join(facts)));
            }
        }
    }
    out
}

/// Where control goes after `insn` ([`Insn::successors`]: the jt edge
/// before the jf edge), and what holds there.
fn successors(pc: usize, insn: &Insn, mut f: Facts) -> impl Iterator<Item = (usize, Facts)> {
    match insn.info() {
        None => f.a = None,
        Some(info) => match info.class {
            Class::Ld => f.a = (info.opcode == Opcode::LdAbsW).then_some(insn.k),
            Class::Alu => f.a = None,
            Class::Misc if info.opcode == Opcode::Txa => f.a = None,
            _ => {}
        },
    }
    let (mut taken, mut not_taken) = (f, f);
    if insn.opcode() == Some(Opcode::JeqK) && f.a == Some(OFFSET_ARCH) {
        taken.arch = Some(insn.k);
        if f.arch == Some(insn.k) {
            not_taken.arch = None;
        }
    }
    insn.successors(pc).zip([taken, not_taken])
}

/// Whether a field the opcode ignores is non-zero.
fn has_junk(insn: &Insn, info: &OpInfo) -> bool {
    (!info.operand.is_conditional() && (insn.jt | insn.jf) != 0)
        || (!info.operand.uses_k() && insn.k != 0)
}

/// The jump targets `insn` prints as labels in [`Style::Asm`] (absolute pcs).
fn label_targets(pc: usize, insn: &Insn, info: &OpInfo) -> Vec<u64> {
    let next = pc as u64 + 1;
    match info.operand {
        Operand::Jump => vec![next + u64::from(insn.k)],
        Operand::CondK | Operand::CondX => cond_spelling(info, insn)
            .1
            .iter()
            .flatten()
            .map(|&o| next + u64::from(o))
            .collect(),
        _ => Vec::new(),
    }
}

/// Why `insn` must be printed as `.insn` to keep its bytes, if it must.
fn raw_reason(pc: usize, insn: &Insn, n: usize) -> Option<&'static str> {
    let Some(info) = insn.info() else {
        return Some("not a classic BPF opcode");
    };
    if has_junk(insn, info) {
        return Some("unused fields are not zero");
    }
    if label_targets(pc, insn, info).iter().any(|&t| t > n as u64) {
        return Some("jump target past the end");
    }
    None
}

/// The mnemonic and the offsets a conditional jump is written with: `jf`
/// is left out when 0; a negated alias (`jne`, `jlt`, `jle`) is used when
/// only `jf` is non-zero.
fn cond_spelling(info: &OpInfo, insn: &Insn) -> (&'static str, [Option<u8>; 2]) {
    let negated = ALIASES
        .iter()
        .find(|a| a.negated && a.mnemonic == info.mnemonic);
    match (insn.jt, insn.jf, negated) {
        (jt, 0, _) => (info.mnemonic, [Some(jt), None]),
        (0, jf, Some(alias)) => (alias.name, [Some(jf), None]),
        (jt, jf, _) => (info.mnemonic, [Some(jt), Some(jf)]),
    }
}

/// A number as the disassembler writes it: decimal below 4096, else hex.
fn num(k: u32) -> String {
    if k < 4096 {
        k.to_string()
    } else {
        format!("{k:#x}")
    }
}

/// The byte order used to name `seccomp_data` words at this point.
fn endian(facts: &Facts, opts: &DisasmOptions) -> Endian {
    facts.arch.or(opts.arch).map_or(Endian::Little, arch_endian)
}

/// The name of the constant a conditional jump compares against, if known:
/// an AUDIT_ARCH value when A holds `arch`, a syscall name when A holds `nr`
/// and the path's arch is the resolver's.
fn constant_note(
    insn: &Insn,
    info: &OpInfo,
    facts: &Facts,
    opts: &DisasmOptions,
) -> Option<String> {
    if info.operand != Operand::CondK {
        return None;
    }
    match facts.a? {
        OFFSET_ARCH => audit_arch_name(insn.k).map(|n| format!("AUDIT_ARCH_{n}")),
        OFFSET_NR
            if info.opcode != Opcode::JsetK && opts.arch.is_some() && facts.arch == opts.arch =>
        {
            opts.syscalls?.name(insn.k).map(str::to_string)
        }
        _ => None,
    }
}

// ---------------------------------------------------------------- Style::Asm

fn asm_text(insns: &[Insn], facts: &[Facts], opts: &DisasmOptions) -> String {
    let n = insns.len();
    let mut labelled = vec![false; n + 1];
    for (pc, insn) in insns.iter().enumerate() {
        if let (None, Some(info)) = (raw_reason(pc, insn, n), insn.info()) {
            for t in label_targets(pc, insn, info) {
                labelled[t as usize] = true;
            }
        }
    }
    let mut out = String::new();
    for (pc, insn) in insns.iter().enumerate() {
        let label = if labelled[pc] {
            format!("L{pc}:")
        } else {
            String::new()
        };
        let (text, note) = asm_line(pc, insn, &facts[pc], opts, n);
        match note {
            Some(note) => writeln!(out, "{label:<7} {text:<24} ; {note}"),
            None => writeln!(out, "{label:<7} {text}"),
        }
        .ok();
        trim_line_end(&mut out);
    }
    if labelled[n] {
        writeln!(out, "L{n}:").ok();
    }
    out
}

/// Removes blanks before the last newline (lines without a comment).
fn trim_line_end(out: &mut String) {
    out.pop();
    out.truncate(out.trim_end().len());
    out.push('\n');
}

/// One instruction in `bpf_asm` syntax, and its comment.
fn asm_line(
    pc: usize,
    insn: &Insn,
    facts: &Facts,
    opts: &DisasmOptions,
    n: usize,
) -> (String, Option<String>) {
    let raw = format!(
        ".insn {:#04x}, {}, {}, {:#x}",
        insn.code, insn.jt, insn.jf, insn.k
    );
    let Some(info) = insn.info() else {
        return (raw, raw_reason(pc, insn, n).map(str::to_string));
    };
    if let Some(why) = raw_reason(pc, insn, n) {
        return (raw, Some(format!("{}: {why}", info.mnemonic)));
    }
    let target = |off: u8| format!("L{}", pc + 1 + usize::from(off));
    let text = match info.operand {
        Operand::None => info.mnemonic.to_string(),
        Operand::Imm if info.class == Class::Ret => format!("ret #{:#010x}", insn.k),
        Operand::Imm => format!("{} #{}", info.mnemonic, num(insn.k)),
        Operand::Abs => format!("{} [{}]", info.mnemonic, num(insn.k)),
        Operand::Ind => format!("{} [x + {}]", info.mnemonic, num(insn.k)),
        Operand::Mem => format!("{} M[{}]", info.mnemonic, num(insn.k)),
        Operand::Len => format!("{} len", info.mnemonic),
        Operand::Msh => format!("{} 4*([{}]&0xf)", info.mnemonic, num(insn.k)),
        Operand::X => format!("{} x", info.mnemonic),
        Operand::A => format!("{} a", info.mnemonic),
        Operand::Jump => format!("{} L{}", info.mnemonic, pc as u64 + 1 + u64::from(insn.k)),
        Operand::CondK | Operand::CondX => {
            let (mnemonic, offsets) = cond_spelling(info, insn);
            let value = if info.operand == Operand::CondK {
                format!("#{}", num(insn.k))
            } else {
                "x".into()
            };
            let labels: Vec<String> = offsets.iter().flatten().map(|&o| target(o)).collect();
            format!("{mnemonic} {value}, {}", labels.join(", "))
        }
    };
    (text, asm_note(insn, info, facts, opts))
}

fn asm_note(insn: &Insn, info: &OpInfo, facts: &Facts, opts: &DisasmOptions) -> Option<String> {
    match info.opcode {
        Opcode::LdAbsW => Field::at(insn.k, endian(facts, opts)).map(|f| f.to_string()),
        Opcode::RetK => Some(Action::from_raw(insn.k).to_string()),
        _ => constant_note(insn, info, facts, opts),
    }
}

// ------------------------------------------------------------------ Style::C

fn c_text(insns: &[Insn], facts: &[Facts], opts: &DisasmOptions) -> String {
    let mut out = String::new();
    for (pc, insn) in insns.iter().enumerate() {
        let (text, note) = match insn.info() {
            None => (
                format!(
                    "invalid code {:#06x} (jt {}, jf {}, k {:#010x})",
                    insn.code, insn.jt, insn.jf, insn.k
                ),
                None,
            ),
            Some(info) => (
                c_statement(pc, insn, info, &facts[pc], opts),
                c_note(insn, info, &facts[pc], opts),
            ),
        };
        match note {
            Some(note) => writeln!(out, "{pc:04}: {text:<32} // {note}"),
            None => writeln!(out, "{pc:04}: {text}"),
        }
        .ok();
    }
    out
}

fn c_note(insn: &Insn, info: &OpInfo, facts: &Facts, opts: &DisasmOptions) -> Option<String> {
    if has_junk(insn, info) {
        return Some(format!(
            "unused fields: jt {}, jf {}, k {:#x}",
            insn.jt, insn.jf, insn.k
        ));
    }
    constant_note(insn, info, facts, opts)
}

/// The C-like statement for one known instruction.
fn c_statement(
    pc: usize,
    insn: &Insn,
    info: &OpInfo,
    facts: &Facts,
    opts: &DisasmOptions,
) -> String {
    let k = num(insn.k);
    let value = || {
        if info.operand == Operand::X || info.operand == Operand::CondX {
            "X".to_string()
        } else {
            num(insn.k)
        }
    };
    match info.class {
        Class::Ld | Class::Ldx => {
            let reg = if info.class == Class::Ld { "A" } else { "X" };
            format!("{reg} = {}", c_load_source(insn, info, facts, opts))
        }
        Class::St => format!("M[{k}] = A"),
        Class::Stx => format!("M[{k}] = X"),
        Class::Alu if info.opcode == Opcode::Neg => "A = -A".into(),
        Class::Alu => format!("A {}= {}", alu_operator(info.mnemonic), value()),
        Class::Jmp => c_jump(pc, insn, info, &value()),
        Class::Ret if info.operand == Operand::A => "return A".into(),
        Class::Ret => format!("return {}", Action::from_raw(insn.k)),
        Class::Misc if info.opcode == Opcode::Tax => "X = A".into(),
        Class::Misc => "A = X".into(),
    }
}

/// What a load reads, e.g. `args[0].lo`, `half[12]`, `M[3]`, `len`.
fn c_load_source(insn: &Insn, info: &OpInfo, facts: &Facts, opts: &DisasmOptions) -> String {
    // BPF_SIZE: bits 3-4 of the code.
    let width = match insn.code & 0x18 {
        0x08 => "half",
        0x10 => "byte",
        _ => "word",
    };
    let k = num(insn.k);
    match info.operand {
        Operand::Abs => match Field::at(insn.k, endian(facts, opts)) {
            Some(field) if info.opcode == Opcode::LdAbsW => field.to_string(),
            _ => format!("{width}[{k}]"),
        },
        Operand::Ind => format!("{width}[X + {k}]"),
        Operand::Mem => format!("M[{k}]"),
        Operand::Len => "len".into(),
        Operand::Msh => format!("4 * (byte[{k}] & 0xf)"),
        _ => k,
    }
}

/// The C operator of an ALU mnemonic.
fn alu_operator(mnemonic: &str) -> &'static str {
    match mnemonic {
        "add" => "+",
        "sub" => "-",
        "mul" => "*",
        "div" => "/",
        "mod" => "%",
        "and" => "&",
        "or" => "|",
        "xor" => "^",
        "lsh" => "<<",
        _ => ">>",
    }
}

/// The condition of a conditional mnemonic, as written when it holds and
/// when it fails.
fn condition(mnemonic: &str, v: &str) -> (String, String) {
    let (holds, fails) = match mnemonic {
        "jeq" => ("==", "!="),
        "jgt" => (">", "<="),
        "jge" => (">=", "<"),
        _ => return (format!("A & {v}"), format!("!(A & {v})")),
    };
    (format!("A {holds} {v}"), format!("A {fails} {v}"))
}

fn c_jump(pc: usize, insn: &Insn, info: &OpInfo, value: &str) -> String {
    let at = |off: u32| format!("{:04}", pc as u64 + 1 + u64::from(off));
    if info.operand == Operand::Jump {
        return format!("goto {}", at(insn.k));
    }
    let (holds, fails) = condition(info.mnemonic, value);
    let (jt, jf) = (u32::from(insn.jt), u32::from(insn.jf));
    match (jt, jf) {
        (t, f) if t == f => format!("goto {}", at(t)),
        (t, 0) => format!("if ({holds}) goto {}", at(t)),
        (0, f) => format!("if ({fails}) goto {}", at(f)),
        (t, f) => format!("if ({holds}) goto {} else goto {}", at(t), at(f)),
    }
}
