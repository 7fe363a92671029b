//! The `bpf_asm` assembler, the disassembler, and C / Rust array emitters.
//!
//! # What goes in, what comes out
//!
//! [`assemble`] turns text in the syntax of the kernel's `bpf_asm`
//! (`tools/bpf/bpf_exp.l`, `bpf_exp.y`) plus a few seccomp conveniences into
//! raw [`Insn`]s. [`disassemble`] turns **any** slice of [`Insn`]s — valid,
//! invalid, with junk in unused fields or codes no kernel accepts — into text,
//! either `bpf_asm` text ([`Style::Asm`]) or C-like pseudo-code for reading
//! ([`Style::C`]). [`to_c_array`], [`to_rust_array`] and [`to_bytecode_line`]
//! print a program for other tools.
//!
//! The pipeline is `text --lexer--> tokens --parser--> statements (instructions
//! whose jump targets are still label names) --assemble--> [Insn]`:
//!
//! * `lexer.rs` cuts text into tokens with line and column, drops comments
//!   and evaluates numbers;
//! * `parser.rs` reads one statement per line, resolves symbolic operands
//!   (fields, actions, arch names, syscall names) and finds each opcode in
//!   [`crate::opcode::TABLE`] by mnemonic and operand shape;
//! * `assemble.rs` resolves labels and inserts far-jump veneers;
//! * `disasm.rs` prints, `emit.rs` writes arrays.
//!
//! Neither side lists opcodes: both read [`crate::opcode::TABLE`] through
//! [`Opcode::find`](crate::opcode::Opcode::find) and
//! [`OpInfo`](crate::opcode::OpInfo). The only mnemonic lists here are the
//! `bpf_asm` aliases (`ALIASES`), which are spellings, not opcodes, and the
//! operator spellings of the C style.
//!
//! # Example
//!
//! ```
//! use sysfence_cbpf::asm::{AsmOptions, DisasmOptions, Style, assemble, disassemble};
//!
//! let text = "ld [arch]\njne #AUDIT_ARCH_X86_64, kill\nret #ALLOW\nkill: ret #KILL_PROCESS\n";
//! let insns = assemble(text, &AsmOptions::new())?;
//! let asm = disassemble(&insns, &DisasmOptions::new());
//! assert_eq!(
//!     asm,
//!     "        ld [4]                   ; arch\n\
//!     \x20       jne #0xc000003e, L3      ; AUDIT_ARCH_X86_64\n\
//!     \x20       ret #0x7fff0000          ; ALLOW\n\
//!     L3:     ret #0x80000000          ; KILL_PROCESS\n"
//! );
//! assert_eq!(assemble(&asm, &AsmOptions::new())?, insns);
//! let c = disassemble(&insns, &DisasmOptions::new().style(Style::C));
//! assert_eq!(c.lines().nth(1), Some("0001: if (A != 0xc000003e) goto 0003   // AUDIT_ARCH_X86_64"));
//! # Ok::<(), sysfence_cbpf::asm::AsmError>(())
//! ```
//!
//! # Round trips are the contract
//!
//! For every `x: &[Insn]` and every option set, `assemble(disassemble(x))`
//! gives back exactly `x`, and disassembling that again gives identical text.
//! An instruction that cannot be written in `bpf_asm` syntax without losing
//! bytes — an unknown code, a non-zero field the opcode ignores (`jt` of
//! `ld`, `k` of `tax`), a jump whose target lies past the end — is printed as
//! the raw directive `.insn code, jt, jf, k`, with a comment saying why.
//!
//! # What is not checked
//!
//! The assembler checks syntax, names and jump distances, nothing else: it
//! happily assembles `lsh #40`, `ld M[99]`, `mod x`, `ldh [3]` or a program
//! without a final `ret`. Run the validator on the result to learn whether
//! the kernel would load it.
//!
//! # Syntax
//!
//! One statement per line: any number of `label:` definitions, then an
//! instruction or a directive. Comments are `; …` to the end of the line,
//! `/* … */` anywhere, and lines whose first non-blank character is `#`.
//!
//! * **Mnemonics** (case-insensitive): every mnemonic of the opcode table —
//!   `ld ldh ldb ldx ldxb st stx add sub mul div mod and or xor lsh rsh neg
//!   ja jeq jgt jge jset ret tax txa` — plus the aliases `ldi` (`ld #k`),
//!   `ldxi` (`ldx #k`), `ldx 4*([k]&0xf)` (= `ldxb`), `jmp` (`ja`), and the
//!   negated jumps `jne`/`jneq` (JEQ), `jlt` (JGE), `jle` (JGT), which take
//!   one label and encode it as `jf` with `jt = 0`, as `bpf_asm` does.
//! * **Operands**: `#k` (or a bare number), `[k]`, `[x + k]` (also `[%x+k]`),
//!   `M[k]`, `len` (or `#len`), `4*([k]&0xf)`, `x` / `%x`, `a` / `%a`.
//!   Conditional jumps take `#k` or `x`, then one or two labels; a missing
//!   false label means "fall through" (`jf = 0`).
//! * **Numbers**: `0x1f`, `0b101`, `017` (octal), `42`, and `-1`
//!   (two's complement, so `ret #-1` is `0xffffffff`). Values must fit in 32
//!   bits; negative values down to `-0x80000000`.
//! * **Labels**: `[A-Za-z_][A-Za-z0-9_]*` of any length (one character is
//!   fine), case-sensitive. Jumps only go forward; a backward or undefined
//!   label is an error. A label may stand after the last instruction (it
//!   then names the address one past the end).
//! * **`seccomp_data` fields** inside `[…]`: `nr`, `arch`,
//!   `instruction_pointer.lo`, `instruction_pointer.hi` (or `ip.lo`, `ip.hi`), `args[i].lo`,
//!   `args[i].hi` (`i` in 0..=5). The word order of the 64-bit fields follows
//!   the byte order: little-endian unless [`AsmOptions::endian`] or a
//!   `.arch` directive for a big-endian arch says otherwise.
//! * **Named immediates** after `#`: actions in upper case (`ALLOW`, `LOG`,
//!   `KILL_PROCESS`, `KILL_THREAD`, `KILL`, `USER_NOTIF`, `ERRNO(n)`,
//!   `TRAP(n)`, `TRACE(n)`), arch values (`AUDIT_ARCH_X86_64`), and syscall
//!   names (`__NR_getpid` or `getpid`) looked up through the
//!   [`SyscallResolver`] given in [`AsmOptions::syscalls`]. Action names are
//!   matched in upper case only, so `#KILL` is an action and `#kill` the
//!   syscall.
//! * **Directives**: `.insn code, jt, jf, k` emits those four fields
//!   verbatim (any code, any junk); `.arch NAME` or `.arch 0xc000003e` sets
//!   the byte order used for the field names that follow. The `.arch`
//!   directive does not choose a syscall table: names always go through the
//!   one resolver given.
//!
//! Not supported from `bpf_asm`: the socket-filter extensions (`ld proto`,
//! `ld #rand`, …), which seccomp rejects anyway, and `ret x`, whose code
//! 0x0e is not a classic opcode (write `.insn 0x0e, 0, 0, 0`).
//!
//! # Far conditional jumps: veneers
//!
//! `jt` and `jf` are 8-bit, so a conditional jump reaches at most 255
//! instructions ahead; `ja` has a 32-bit `k`. When a conditional edge is
//! farther (and [`AsmOptions::veneers`] is on, the default), the assembler
//! inserts a `ja target` right after the conditional jump and points the far
//! edge at it; the near edge keeps pointing where it did, now skipping the
//! veneer. If both edges are far, two veneers follow, the `jt` one first.
//!
//! Inserting a veneer moves everything after it, which can push another
//! edge out of range, so layout (in the shared label buffer,
//! [`crate::buffer`]) re-measures after every insertion until no edge is
//! out of range. Veneers are only ever added, and each conditional gets at
//! most two, so the loop ends. Invariant on return: every
//! near edge's distance is at most 255, every far edge lands on its own
//! veneer, and every veneer jumps to its edge's label. A `.insn` jump's
//! literal offsets cannot follow a moved target, so inserting a veneer
//! inside the span of a literal jump is an error. With veneers off, a far
//! edge is an error that names the distance.

mod assemble;
mod disasm;
mod emit;
mod lexer;
mod parser;

use core::fmt;

use crate::data::{Half, OFFSET_ARCH, OFFSET_NR, arg_word_offset, ip_word_offset};
use crate::insn::{Endian, Insn};
use crate::opcode::Operand;

pub use disasm::disassemble;
pub use emit::{to_bytecode_line, to_c_array, to_rust_array};

/// Maps syscall names to numbers and back, for one architecture.
///
/// The assembler uses [`number`](SyscallResolver::number) for `#getpid` and
/// `#__NR_getpid`; the disassembler uses [`name`](SyscallResolver::name) for
/// comments. The resolver belongs to the arch given in
/// [`DisasmOptions::arch`]; `sysfence-cbpf` itself ships no tables.
pub trait SyscallResolver {
    /// The number of a syscall name (without any `__NR_` prefix).
    fn number(&self, name: &str) -> Option<u32>;
    /// The name of a syscall number.
    fn name(&self, nr: u32) -> Option<&str>;
}

/// How [`assemble`] reads names and handles far jumps.
#[derive(Clone, Copy)]
pub struct AsmOptions<'a> {
    syscalls: Option<&'a dyn SyscallResolver>,
    veneers: bool,
    endian: Endian,
}

impl fmt::Debug for AsmOptions<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsmOptions")
            .field("syscalls", &self.syscalls.is_some())
            .field("veneers", &self.veneers)
            .field("endian", &self.endian)
            .finish()
    }
}

impl Default for AsmOptions<'_> {
    fn default() -> Self {
        AsmOptions::new()
    }
}

impl<'a> AsmOptions<'a> {
    /// No syscall names, veneers on, little-endian field layout.
    pub fn new() -> AsmOptions<'a> {
        AsmOptions {
            syscalls: None,
            veneers: true,
            endian: Endian::Little,
        }
    }

    /// The table that resolves `#getpid` / `#__NR_getpid`.
    pub fn syscalls(mut self, resolver: &'a dyn SyscallResolver) -> AsmOptions<'a> {
        self.syscalls = Some(resolver);
        self
    }

    /// Whether a conditional jump farther than 255 instructions gets a `ja`
    /// veneer (`true`, the default) or is an error (`false`).
    pub fn veneers(mut self, on: bool) -> AsmOptions<'a> {
        self.veneers = on;
        self
    }

    /// The `seccomp_data` byte order used for `.lo` / `.hi` field names until
    /// a `.arch` directive changes it (default little-endian).
    pub fn endian(mut self, endian: Endian) -> AsmOptions<'a> {
        self.endian = endian;
        self
    }

    /// Whether veneers are on.
    pub fn get_veneers(&self) -> bool {
        self.veneers
    }

    /// The initial field byte order.
    pub fn get_endian(&self) -> Endian {
        self.endian
    }
}

/// Assembles `bpf_asm` text (see the [module docs](self) for the syntax).
///
/// Only syntax, names and jump distances are checked; the result may still
/// be a program the kernel rejects.
pub fn assemble(text: &str, opts: &AsmOptions) -> Result<Vec<Insn>, AsmError> {
    let source = parser::parse(text, opts)?;
    assemble::link(&source, opts)
}

/// Whether `word` starts an instruction: a table mnemonic or an alias, in
/// any case, as [`assemble`] reads them (`ret`, `JNE`, `ldxi`).
pub fn is_mnemonic(word: &str) -> bool {
    crate::opcode::TABLE
        .iter()
        .any(|i| i.mnemonic.eq_ignore_ascii_case(word))
        || ALIASES.iter().any(|a| a.name.eq_ignore_ascii_case(word))
}

/// Which text [`disassemble`] writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Style {
    /// `bpf_asm` text with generated labels (`L7:`) and `;` comments; it
    /// assembles back to identical bytes.
    #[default]
    Asm,
    /// Numbered C-like pseudo-code for reading (`0003: if (A >= 0x40000000)
    /// goto 0008`); not meant to be assembled.
    C,
}

/// How [`disassemble`] prints.
#[derive(Clone, Copy)]
pub struct DisasmOptions<'a> {
    style: Style,
    arch: Option<u32>,
    syscalls: Option<&'a dyn SyscallResolver>,
}

impl fmt::Debug for DisasmOptions<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DisasmOptions")
            .field("style", &self.style)
            .field("arch", &self.arch)
            .field("syscalls", &self.syscalls.is_some())
            .finish()
    }
}

impl Default for DisasmOptions<'_> {
    fn default() -> Self {
        DisasmOptions::new()
    }
}

impl<'a> DisasmOptions<'a> {
    /// [`Style::Asm`], no arch, no syscall names.
    pub fn new() -> DisasmOptions<'a> {
        DisasmOptions {
            style: Style::Asm,
            arch: None,
            syscalls: None,
        }
    }

    /// The output style.
    pub fn style(mut self, style: Style) -> DisasmOptions<'a> {
        self.style = style;
        self
    }

    /// The AUDIT_ARCH value the program is assumed to run for. It picks the
    /// word order of `args[i].lo` / `.hi` in comments and, together with
    /// [`syscalls`](Self::syscalls), enables syscall names in comments on the
    /// paths where the program has not ruled this arch out.
    pub fn arch(mut self, arch: Option<u32>) -> DisasmOptions<'a> {
        self.arch = arch;
        self
    }

    /// The syscall table of [`arch`](Self::arch), for comments.
    pub fn syscalls(mut self, resolver: &'a dyn SyscallResolver) -> DisasmOptions<'a> {
        self.syscalls = Some(resolver);
        self
    }

    /// The output style.
    pub fn get_style(&self) -> Style {
        self.style
    }

    /// The assumed arch.
    pub fn get_arch(&self) -> Option<u32> {
        self.arch
    }
}

/// A place in the assembler's input: 1-based line and column (in characters).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Pos {
    pub(crate) line: u32,
    pub(crate) column: u32,
}

/// Why [`assemble`] rejected its input, and where.
///
/// `Display` prints `line 3, column 5: unknown mnemonic `lda``;
/// [`message`](AsmError::message) prints the part after the position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AsmError {
    pos: Pos,
    kind: Box<ErrorKind>,
}

/// The reasons, private so they can grow.
#[derive(Clone, Debug, PartialEq, Eq)]
enum ErrorKind {
    UnexpectedChar(char),
    UnterminatedComment,
    BadNumber {
        text: String,
        why: &'static str,
    },
    Expected {
        expected: &'static str,
        found: String,
    },
    UnknownMnemonic(String),
    BadOperand {
        mnemonic: String,
        given: &'static str,
        accepted: String,
    },
    OneLabelOnly(String),
    UnknownName(String),
    NoSyscallTable(String),
    UnknownAction(String),
    UnknownArch(String),
    UnknownField(String),
    UnknownDirective(String),
    TooLarge {
        what: &'static str,
        value: u32,
        max: u32,
    },
    MshForm,
    UndefinedLabel(String),
    DuplicateLabel {
        name: String,
        first_line: u32,
    },
    BackwardJump(String),
    JumpTooFar {
        label: String,
        distance: usize,
    },
    LiteralJumpSpansVeneer,
    TooLong(usize),
    NoInstructions,
}

impl AsmError {
    #[cold]
    fn new(pos: Pos, kind: ErrorKind) -> AsmError {
        AsmError {
            pos,
            kind: Box::new(kind),
        }
    }

    /// The 1-based line of the error.
    pub fn line(&self) -> u32 {
        self.pos.line
    }

    /// The 1-based column (in characters) of the error.
    pub fn column(&self) -> u32 {
        self.pos.column
    }

    /// The message without the position.
    pub fn message(&self) -> impl fmt::Display + '_ {
        &*self.kind
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ErrorKind::*;
        match self {
            UnexpectedChar(c) => write!(f, "unexpected character `{}`", c.escape_debug()),
            UnterminatedComment => f.write_str("unterminated `/*` comment"),
            BadNumber { text, why } => write!(f, "bad number `{text}`: {why}"),
            Expected { expected, found } => write!(f, "expected {expected}, found {found}"),
            UnknownMnemonic(m) => write!(f, "unknown mnemonic `{m}`"),
            BadOperand {
                mnemonic,
                given,
                accepted,
            } => {
                if *given == "no operand" {
                    write!(f, "`{mnemonic}` needs an operand: it takes {accepted}")
                } else {
                    write!(f, "`{mnemonic}` does not take {given}; it takes {accepted}")
                }
            }
            OneLabelOnly(m) => write!(f, "`{m}` takes exactly one label"),
            UnknownName(n) => write!(f, "unknown name `{n}`"),
            NoSyscallTable(n) => write!(f, "syscall name `{n}` needs a syscall table"),
            UnknownAction(a) => write!(
                f,
                "unknown action `{a}` (or its data does not fit in 16 bits)"
            ),
            UnknownArch(a) => write!(f, "unknown arch `{a}`"),
            UnknownField(n) => write!(
                f,
                "unknown seccomp_data field `{n}`; expected nr, arch, instruction_pointer.lo/.hi or args[i].lo/.hi"
            ),
            UnknownDirective(d) => {
                write!(f, "unknown directive `.{d}`; expected `.insn` or `.arch`")
            }
            TooLarge { what, value, max } => {
                write!(f, "{what} {value} is out of range (at most {max})")
            }
            MshForm => f.write_str("only `4*([k]&0xf)` is accepted"),
            UndefinedLabel(l) => write!(f, "undefined label `{l}`"),
            DuplicateLabel { name, first_line } => {
                write!(f, "label `{name}` is already defined on line {first_line}")
            }
            BackwardJump(l) => write!(
                f,
                "backward jump to `{l}`: classic BPF jumps only go forward"
            ),
            JumpTooFar { label, distance } => write!(
                f,
                "conditional jump to `{label}` is {distance} instructions away; jt/jf reach at most 255"
            ),
            LiteralJumpSpansVeneer => f.write_str(
                "a `ja` veneer would be inserted inside the span of this literal `.insn` jump",
            ),
            TooLong(n) => write!(f, "program of {n} instructions is too long to address"),
            NoInstructions => {
                f.write_str("no instructions: a program holds at least one (a `ret`)")
            }
        }
    }
}

impl fmt::Display for AsmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.pos.line, self.pos.column, self.kind
        )
    }
}

impl core::error::Error for AsmError {}

/// A `bpf_asm` spelling that is not a table mnemonic.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Alias {
    /// What the user writes.
    pub(crate) name: &'static str,
    /// The table mnemonic it stands for.
    pub(crate) mnemonic: &'static str,
    /// The only operand shape the alias accepts, if restricted.
    pub(crate) only: Option<Operand>,
    /// Whether its one label is the false target (`jt = 0`, `jf = label`).
    pub(crate) negated: bool,
}

/// The `bpf_asm` aliases. For the negated jumps the first entry naming a
/// mnemonic is the one the disassembler prints.
pub(crate) const ALIASES: &[Alias] = &[
    Alias {
        name: "ldi",
        mnemonic: "ld",
        only: Some(Operand::Imm),
        negated: false,
    },
    Alias {
        name: "ldxi",
        mnemonic: "ldx",
        only: Some(Operand::Imm),
        negated: false,
    },
    Alias {
        name: "ldx",
        mnemonic: "ldxb",
        only: Some(Operand::Msh),
        negated: false,
    },
    Alias {
        name: "jmp",
        mnemonic: "ja",
        only: None,
        negated: false,
    },
    Alias {
        name: "jne",
        mnemonic: "jeq",
        only: None,
        negated: true,
    },
    Alias {
        name: "jneq",
        mnemonic: "jeq",
        only: None,
        negated: true,
    },
    Alias {
        name: "jlt",
        mnemonic: "jge",
        only: None,
        negated: true,
    },
    Alias {
        name: "jle",
        mnemonic: "jgt",
        only: None,
        negated: true,
    },
];

/// A named 32-bit word of `struct seccomp_data`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Field {
    Nr,
    Arch,
    Ip(Half),
    Arg(u8, Half),
}

impl Field {
    /// Every named word, for reverse lookup.
    fn all() -> impl Iterator<Item = Field> {
        let halves = [Half::Lo, Half::Hi];
        [Field::Nr, Field::Arch]
            .into_iter()
            .chain(halves.into_iter().map(Field::Ip))
            .chain((0..6u8).flat_map(move |i| halves.into_iter().map(move |h| Field::Arg(i, h))))
    }

    /// The byte offset of this word under the given byte order.
    pub(crate) fn offset(self, endian: Endian) -> u32 {
        match self {
            Field::Nr => OFFSET_NR,
            Field::Arch => OFFSET_ARCH,
            Field::Ip(h) => ip_word_offset(h, endian),
            Field::Arg(i, h) => arg_word_offset(usize::from(i), h, endian),
        }
    }

    /// The word at a byte offset, if it is one of the named ones.
    pub(crate) fn at(offset: u32, endian: Endian) -> Option<Field> {
        Field::all().find(|f| f.offset(endian) == offset)
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let half = |h: &Half| if *h == Half::Lo { "lo" } else { "hi" };
        match self {
            Field::Nr => f.write_str("nr"),
            Field::Arch => f.write_str("arch"),
            Field::Ip(h) => write!(f, "instruction_pointer.{}", half(h)),
            Field::Arg(i, h) => write!(f, "args[{i}].{}", half(h)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_without_instructions_is_refused() {
        for text in ["", "; a comment\n", "/* c */ l:\n"] {
            let e = assemble(text, &AsmOptions::new()).expect_err(text);
            assert!(e.to_string().contains("no instructions"), "{e}");
        }
    }

    #[test]
    fn fields_follow_byte_order() {
        assert_eq!(Field::Arg(1, Half::Lo).offset(Endian::Little), 24);
        assert_eq!(Field::Arg(1, Half::Hi).offset(Endian::Little), 28);
        assert_eq!(Field::Arg(1, Half::Lo).offset(Endian::Big), 28);
        assert_eq!(Field::Ip(Half::Hi).offset(Endian::Big), 8);
        assert_eq!(Field::at(60, Endian::Little), Some(Field::Arg(5, Half::Hi)));
        assert_eq!(Field::at(62, Endian::Little), None);
        for offset in (0..64).step_by(4) {
            let f = Field::at(offset, Endian::Big).expect("every aligned word is named");
            assert_eq!(f.offset(Endian::Big), offset);
        }
    }

    #[test]
    fn error_display_has_position_then_message() {
        let e = AsmError::new(
            Pos { line: 3, column: 5 },
            ErrorKind::UnknownMnemonic("lda".into()),
        );
        assert_eq!(e.to_string(), "line 3, column 5: unknown mnemonic `lda`");
        assert_eq!(e.message().to_string(), "unknown mnemonic `lda`");
        assert_eq!((e.line(), e.column()), (3, 5));
    }
}
