//! A validated seccomp program: the only thing the interpreter runs.
//!
//! In: raw instructions ([`Program::new`]) or raw bytes
//! ([`Program::from_raw`]). Out: a [`Program`] that the kernel would load,
//! or the reason it would not. A `Program` can only be made by the validator
//! ([`crate::validate::validate`]), so holding one proves every check of
//! `bpf_check_classic`, `check_load_and_stores` and `seccomp_check_filter`
//! passed: every opcode is one of the 41 seccomp codes, every jump lands
//! inside the program, the last instruction returns, scratch memory is written
//! before it is read and `ld [k]` reads an aligned word of `seccomp_data`.
//!
//! The original instructions are kept exactly as given, junk in unused fields
//! included, as the kernel keeps them for `PTRACE_SECCOMP_GET_FILTER` and for
//! its action-cache emulator. Beside them the program holds a pre-decoded copy
//! (typed opcodes, in a table padded to a power of two) that the interpreter
//! walks without decoding again.

use core::fmt;

use crate::insn::{self, Endian, Insn, RawError};
use crate::opcode::Opcode;
use crate::validate::{self, ValidateError};

/// A program `seccomp(SECCOMP_SET_MODE_FILTER)` accepts. Immutable.
///
/// Equality and hashing look at the instructions only; the pre-decoded
/// table follows from them.
#[derive(Clone)]
pub struct Program {
    /// The instructions as given.
    insns: Box<[Insn]>,
    /// `insns` pre-decoded, same order, padded to a power of two.
    table: Table,
}

impl PartialEq for Program {
    fn eq(&self, other: &Program) -> bool {
        self.insns == other.insns
    }
}

impl Eq for Program {}

impl core::hash::Hash for Program {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.insns.hash(state);
    }
}

/// The pre-decoded instructions in a table of a fixed power-of-two size,
/// the smallest of 64, 256, 1024 and 4096 that holds the program. Entries
/// past the end are [`Op::PAD`] (`ret #0`), never reached: validated jumps
/// land inside the program and its last instruction returns.
///
/// The fixed size is what lets the interpreter index with `pc % N`, which
/// the compiler knows to be in bounds, so the dispatch needs no bounds check
/// (and this crate no `unsafe`). A small program costs 576 bytes of table.
#[derive(Clone, Debug)]
pub(crate) enum Table {
    /// Up to 64 instructions.
    S64(Box<Tab<64>>),
    /// Up to 256 instructions.
    S256(Box<Tab<256>>),
    /// Up to 1024 instructions.
    S1024(Box<Tab<1024>>),
    /// Up to 4096 instructions (`BPF_MAXINSNS`).
    S4096(Box<Tab<4096>>),
}

/// `N` pre-decoded instructions and, beside them, which of each one's jump
/// offsets are non-zero.
///
/// `moves[i]` repeats what `jt != 0` and `jf != 0` say as separate bits
/// ([`Op::JT_MOVES`], [`Op::JF_MOVES`]) so that the interpreter can branch on
/// them: a conditional jump whose taken side is the next instruction then
/// advances by a constant, and the processor can run ahead instead of
/// waiting for the offset to be loaded. Keeping the bits in their own array
/// keeps [`Op`] at eight bytes.
#[derive(Clone, Debug)]
pub(crate) struct Tab<const N: usize> {
    /// The instructions, then padding.
    pub(crate) ops: [Op; N],
    /// The moves bits of `ops[i]`.
    pub(crate) moves: [u8; N],
}

impl Table {
    /// `ops` padded into the smallest table that holds them (at most 4096,
    /// which validation guarantees; longer input is cut to 4096).
    fn new(ops: &[Op]) -> Table {
        match ops.len() {
            0..=64 => Table::S64(padded(ops)),
            65..=256 => Table::S256(padded(ops)),
            257..=1024 => Table::S1024(padded(ops)),
            _ => Table::S4096(padded(ops)),
        }
    }

    /// All entries, padding included.
    fn as_slice(&self) -> &[Op] {
        match self {
            Table::S64(t) => &t.ops[..],
            Table::S256(t) => &t.ops[..],
            Table::S1024(t) => &t.ops[..],
            Table::S4096(t) => &t.ops[..],
        }
    }
}

/// A table of `N` entries starting with `ops`, the rest [`Op::PAD`].
fn padded<const N: usize>(ops: &[Op]) -> Box<Tab<N>> {
    let mut table = Box::new(Tab {
        ops: [Op::PAD; N],
        moves: [0; N],
    });
    for (i, op) in ops.iter().take(N).enumerate() {
        table.ops[i] = *op;
        table.moves[i] = op.moves();
    }
    table
}

/// One pre-decoded instruction: the typed opcode and the raw operands, in
/// eight bytes. Built only from instructions that passed validation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Op {
    /// The operand.
    pub(crate) k: u32,
    /// The opcode.
    pub(crate) op: Opcode,
    /// Conditional jump offset when true.
    pub(crate) jt: u8,
    /// Conditional jump offset when false.
    pub(crate) jf: u8,
}

impl Op {
    /// `jt` is not zero.
    pub(crate) const JT_MOVES: u8 = 1;
    /// `jf` is not zero.
    pub(crate) const JF_MOVES: u8 = 2;

    /// The padding of a [`Table`]: `ret #0`.
    pub(crate) const PAD: Op = Op {
        k: 0,
        op: Opcode::RetK,
        jt: 0,
        jf: 0,
    };

    fn new(insn: &Insn, op: Opcode) -> Op {
        Op {
            k: insn.k,
            op,
            jt: insn.jt,
            jf: insn.jf,
        }
    }

    /// [`Op::JT_MOVES`] if `jt != 0`, plus [`Op::JF_MOVES`] if `jf != 0`.
    fn moves(&self) -> u8 {
        let t = if self.jt != 0 { Op::JT_MOVES } else { 0 };
        let f = if self.jf != 0 { Op::JF_MOVES } else { 0 };
        t | f
    }

    /// The original instruction: a validated code is exactly its opcode's.
    #[inline(always)]
    pub(crate) fn insn(&self) -> Insn {
        Insn::op(self.op, self.jt, self.jf, self.k)
    }
}

impl Program {
    /// Validates `insns` as seccomp would; same as [`validate::validate`].
    pub fn new(insns: &[Insn]) -> Result<Program, ValidateError> {
        validate::validate(insns)
    }

    /// Decodes raw `struct sock_filter` bytes in the given byte order and
    /// validates them.
    pub fn from_raw(bytes: &[u8], endian: Endian) -> Result<Program, ProgramError> {
        let insns = insn::decode(bytes, endian)?;
        Ok(Program::new(&insns)?)
    }

    /// Builds the program once the validator has accepted `insns`, whose
    /// decoded opcodes are `opcodes` (same length).
    pub(crate) fn from_validated(insns: &[Insn], opcodes: &[Opcode]) -> Program {
        let ops: Vec<Op> = insns
            .iter()
            .zip(opcodes)
            .map(|(i, &op)| Op::new(i, op))
            .collect();
        Program {
            insns: insns.into(),
            table: Table::new(&ops),
        }
    }

    /// The instructions, exactly as given.
    pub fn insns(&self) -> &[Insn] {
        &self.insns
    }

    /// The number of instructions (1 to 4096; a program is never empty).
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> usize {
        self.insns.len()
    }

    /// The raw `struct sock_filter` bytes in the given byte order.
    pub fn to_bytes(&self, endian: Endian) -> Vec<u8> {
        insn::encode(&self.insns, endian)
    }

    /// The decoded opcode of every instruction, in order.
    pub fn opcodes(&self) -> impl ExactSizeIterator<Item = Opcode> + '_ {
        self.ops().iter().map(|op| op.op)
    }

    /// The pre-decoded instructions, without the padding.
    pub(crate) fn ops(&self) -> &[Op] {
        let all = self.table.as_slice();
        &all[..self.insns.len().min(all.len())]
    }

    /// The padded table, for the interpreter.
    pub(crate) fn table(&self) -> &Table {
        &self.table
    }
}

impl fmt::Debug for Program {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Program")
            .field("insns", &self.insns)
            .finish()
    }
}

/// Why raw bytes are not a program seccomp accepts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProgramError {
    /// The bytes are not an array of `struct sock_filter` (empty, or the length
    /// is not a multiple of 8).
    Raw(RawError),
    /// The instructions break a kernel rule.
    Validate(ValidateError),
}

impl From<RawError> for ProgramError {
    fn from(e: RawError) -> ProgramError {
        ProgramError::Raw(e)
    }
}

impl From<ValidateError> for ProgramError {
    fn from(e: ValidateError) -> ProgramError {
        ProgramError::Validate(e)
    }
}

impl fmt::Display for ProgramError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProgramError::Raw(e) => e.fmt(f),
            ProgramError::Validate(e) => e.fmt(f),
        }
    }
}

impl core::error::Error for ProgramError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            ProgramError::Raw(e) => Some(e),
            ProgramError::Validate(e) => Some(e),
        }
    }
}
