//! THE opcode table: every classic BPF opcode, defined once.
//!
//! Linux accepts exactly 49 classic opcodes (`chk_code_allowed` in
//! `net/core/filter.c`); seccomp keeps 41 of them (`seccomp_check_filter` in
//! `kernel/seccomp.c`), and the action-cache emulator (`seccomp_is_const_allow`)
//! understands a handful more narrowly. Each row below says, for one opcode:
//!
//! | column | meaning |
//! |---|---|
//! | variant | the [`Opcode`] variant |
//! | code | the exact 16-bit `code` value (the high byte is always 0) |
//! | mnemonic | the `bpf_asm` mnemonic (`ld`, `ldh`, `jeq`, ...) |
//! | operand | the [`Operand`] shape, which fixes how `k`, `jt`, `jf` are used and printed |
//! | seccomp | `true` when `seccomp_check_filter` lets it through |
//! | cache | `true` when `seccomp_is_const_allow` can step over it (for `ld [k]` only with `k` 0 or 4, for `ret #k` only with the exact ALLOW value) |
//!
//! Decoding, encoding, the validator, the interpreter, the assembler and the
//! disassembler all read this table; nothing else in the crate lists opcodes.
//! The interpreter's `match` over [`Opcode`] is the one place that gives each
//! row its run-time meaning.

/// Instruction class, the low three bits of `code` (`BPF_CLASS`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Class {
    /// `BPF_LD`: load into A.
    Ld,
    /// `BPF_LDX`: load into X.
    Ldx,
    /// `BPF_ST`: store A to scratch memory.
    St,
    /// `BPF_STX`: store X to scratch memory.
    Stx,
    /// `BPF_ALU`: arithmetic on A.
    Alu,
    /// `BPF_JMP`: jumps.
    Jmp,
    /// `BPF_RET`: return.
    Ret,
    /// `BPF_MISC`: register transfers.
    Misc,
}

/// The operand shape of an opcode: which of `jt`, `jf`, `k` carry meaning and
/// how the assembler and disassembler spell them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operand {
    /// No operand (`neg`, `tax`, `txa`); `jt`, `jf`, `k` are ignored.
    None,
    /// An immediate `#k` (loads, ALU K forms, `ret #k`).
    Imm,
    /// An absolute load `[k]`.
    Abs,
    /// An indirect load `[x + k]`.
    Ind,
    /// A scratch slot `M[k]`.
    Mem,
    /// The length keyword `len`; `k` is ignored.
    Len,
    /// The IP-header-length form `4*([k]&0xf)`.
    Msh,
    /// The X register (ALU X forms); `k` is ignored.
    X,
    /// The A register (`ret a`); `k` is ignored.
    A,
    /// An unconditional jump: target `pc + 1 + k`.
    Jump,
    /// A conditional jump against `#k`: targets `pc + 1 + jt` and `pc + 1 + jf`.
    CondK,
    /// A conditional jump against X: targets as for [`Operand::CondK`]; `k` is ignored.
    CondX,
}

impl Operand {
    /// Whether `jt` and `jf` are meaningful (conditional jumps only).
    pub const fn is_conditional(self) -> bool {
        matches!(self, Operand::CondK | Operand::CondX)
    }

    /// Whether `k` is meaningful for this shape.
    pub const fn uses_k(self) -> bool {
        matches!(
            self,
            Operand::Imm
                | Operand::Abs
                | Operand::Ind
                | Operand::Mem
                | Operand::Msh
                | Operand::Jump
                | Operand::CondK
        )
    }
}

/// Everything the table says about one opcode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct OpInfo {
    /// The opcode.
    pub opcode: Opcode,
    /// Its exact 16-bit code.
    pub code: u16,
    /// The `bpf_asm` mnemonic.
    pub mnemonic: &'static str,
    /// The class (low three bits of `code`).
    pub class: Class,
    /// How the operand is used.
    pub operand: Operand,
    /// Allowed by `seccomp_check_filter`.
    pub seccomp: bool,
    /// Understood by the action-cache emulator `seccomp_is_const_allow`.
    pub cache: bool,
}

macro_rules! define_opcodes {
    ($( $variant:ident = $code:literal, $mnem:literal, $class:ident, $operand:ident, $seccomp:literal, $cache:literal, $doc:literal; )*) => {
        /// One of the 49 classic BPF opcodes Linux accepts.
        ///
        /// The discriminant is the exact `code` value.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u16)]
        pub enum Opcode {
            $( #[doc = $doc] $variant = $code, )*
        }

        /// The whole table, in the order of the rows in the source.
        pub static TABLE: &[OpInfo] = &[
            $( OpInfo {
                opcode: Opcode::$variant,
                code: $code,
                mnemonic: $mnem,
                class: Class::$class,
                operand: Operand::$operand,
                seccomp: $seccomp,
                cache: $cache,
            }, )*
        ];
    };
}

#[rustfmt::skip]
define_opcodes! {
    // variant  = code, mnemonic, class, operand, seccomp, cache, doc;
    LdImm     = 0x00, "ld",   Ld,   Imm,   true,  false, "`ld #k`: A = k.";
    LdAbsW    = 0x20, "ld",   Ld,   Abs,   true,  true,  "`ld [k]`: A = 32-bit word at byte k of the input.";
    LdAbsH    = 0x28, "ldh",  Ld,   Abs,   false, false, "`ldh [k]`: A = 16-bit half word at byte k.";
    LdAbsB    = 0x30, "ldb",  Ld,   Abs,   false, false, "`ldb [k]`: A = byte k.";
    LdIndW    = 0x40, "ld",   Ld,   Ind,   false, false, "`ld [x + k]`: A = word at byte X + k.";
    LdIndH    = 0x48, "ldh",  Ld,   Ind,   false, false, "`ldh [x + k]`: A = half word at byte X + k.";
    LdIndB    = 0x50, "ldb",  Ld,   Ind,   false, false, "`ldb [x + k]`: A = byte X + k.";
    LdMem     = 0x60, "ld",   Ld,   Mem,   true,  false, "`ld M[k]`: A = M\\[k\\].";
    LdLen     = 0x80, "ld",   Ld,   Len,   true,  false, "`ld len`: A = input length (64 under seccomp).";
    LdxImm    = 0x01, "ldx",  Ldx,  Imm,   true,  false, "`ldx #k`: X = k.";
    LdxMem    = 0x61, "ldx",  Ldx,  Mem,   true,  false, "`ldx M[k]`: X = M\\[k\\].";
    LdxLen    = 0x81, "ldx",  Ldx,  Len,   true,  false, "`ldx len`: X = input length (64 under seccomp).";
    LdxMsh    = 0xb1, "ldxb", Ldx,  Msh,   false, false, "`ldxb 4*([k]&0xf)`: X = 4 * (byte k & 0xf).";
    St        = 0x02, "st",   St,   Mem,   true,  false, "`st M[k]`: M\\[k\\] = A.";
    Stx       = 0x03, "stx",  Stx,  Mem,   true,  false, "`stx M[k]`: M\\[k\\] = X.";
    AddK      = 0x04, "add",  Alu,  Imm,   true,  false, "`add #k`: A += k.";
    AddX      = 0x0c, "add",  Alu,  X,     true,  false, "`add x`: A += X.";
    SubK      = 0x14, "sub",  Alu,  Imm,   true,  false, "`sub #k`: A -= k.";
    SubX      = 0x1c, "sub",  Alu,  X,     true,  false, "`sub x`: A -= X.";
    MulK      = 0x24, "mul",  Alu,  Imm,   true,  false, "`mul #k`: A *= k.";
    MulX      = 0x2c, "mul",  Alu,  X,     true,  false, "`mul x`: A *= X.";
    DivK      = 0x34, "div",  Alu,  Imm,   true,  false, "`div #k`: A /= k (k != 0 checked at load).";
    DivX      = 0x3c, "div",  Alu,  X,     true,  false, "`div x`: A /= X; X = 0 makes the program return 0.";
    OrK       = 0x44, "or",   Alu,  Imm,   true,  false, "`or #k`: A |= k.";
    OrX       = 0x4c, "or",   Alu,  X,     true,  false, "`or x`: A |= X.";
    AndK      = 0x54, "and",  Alu,  Imm,   true,  true,  "`and #k`: A &= k.";
    AndX      = 0x5c, "and",  Alu,  X,     true,  false, "`and x`: A &= X.";
    LshK      = 0x64, "lsh",  Alu,  Imm,   true,  false, "`lsh #k`: A <<= k (k < 32 checked at load).";
    LshX      = 0x6c, "lsh",  Alu,  X,     true,  false, "`lsh x`: A <<= X (count masked or not, see the interpreter).";
    RshK      = 0x74, "rsh",  Alu,  Imm,   true,  false, "`rsh #k`: A >>= k (k < 32 checked at load).";
    RshX      = 0x7c, "rsh",  Alu,  X,     true,  false, "`rsh x`: A >>= X.";
    Neg       = 0x84, "neg",  Alu,  None,  true,  false, "`neg`: A = 0 - A.";
    ModK      = 0x94, "mod",  Alu,  Imm,   false, false, "`mod #k`: A %= k (not allowed in seccomp).";
    ModX      = 0x9c, "mod",  Alu,  X,     false, false, "`mod x`: A %= X (not allowed in seccomp).";
    XorK      = 0xa4, "xor",  Alu,  Imm,   true,  false, "`xor #k`: A ^= k.";
    XorX      = 0xac, "xor",  Alu,  X,     true,  false, "`xor x`: A ^= X.";
    Ja        = 0x05, "ja",   Jmp,  Jump,  true,  true,  "`ja L`: jump to pc + 1 + k.";
    JeqK      = 0x15, "jeq",  Jmp,  CondK, true,  true,  "`jeq #k, Lt, Lf`: A == k.";
    JeqX      = 0x1d, "jeq",  Jmp,  CondX, true,  false, "`jeq x, Lt, Lf`: A == X.";
    JgtK      = 0x25, "jgt",  Jmp,  CondK, true,  true,  "`jgt #k, Lt, Lf`: A > k (unsigned).";
    JgtX      = 0x2d, "jgt",  Jmp,  CondX, true,  false, "`jgt x, Lt, Lf`: A > X (unsigned).";
    JgeK      = 0x35, "jge",  Jmp,  CondK, true,  true,  "`jge #k, Lt, Lf`: A >= k (unsigned).";
    JgeX      = 0x3d, "jge",  Jmp,  CondX, true,  false, "`jge x, Lt, Lf`: A >= X (unsigned).";
    JsetK     = 0x45, "jset", Jmp,  CondK, true,  true,  "`jset #k, Lt, Lf`: (A & k) != 0.";
    JsetX     = 0x4d, "jset", Jmp,  CondX, true,  false, "`jset x, Lt, Lf`: (A & X) != 0.";
    RetK      = 0x06, "ret",  Ret,  Imm,   true,  true,  "`ret #k`: return k.";
    RetA      = 0x16, "ret",  Ret,  A,     true,  false, "`ret a`: return A.";
    Tax       = 0x07, "tax",  Misc, None,  true,  false, "`tax`: X = A.";
    Txa       = 0x87, "txa",  Misc, None,  true,  false, "`txa`: A = X.";
}

/// Number of opcodes Linux accepts in classic BPF.
pub const CLASSIC_OPCODES: usize = 49;

/// Number of opcodes `seccomp_check_filter` keeps.
pub const SECCOMP_OPCODES: usize = 41;

/// `code` → index into [`TABLE`] (or `u8::MAX`), built at compile time.
static INDEX: [u8; 256] = build_index();

const fn build_index() -> [u8; 256] {
    let mut index = [u8::MAX; 256];
    let mut i = 0;
    while i < TABLE.len() {
        index[TABLE[i].code as usize] = i as u8;
        i += 1;
    }
    index
}

impl Opcode {
    /// Decodes an exact 16-bit `code`, as `chk_code_allowed` does: any other
    /// value, including any bit in the high byte, is `None`.
    #[inline]
    pub fn from_code(code: u16) -> Option<Opcode> {
        Self::info_for(code).map(|info| info.opcode)
    }

    /// The table row for an exact 16-bit `code`.
    #[inline]
    pub fn info_for(code: u16) -> Option<&'static OpInfo> {
        if code > 0xff {
            return None;
        }
        match INDEX[code as usize] {
            u8::MAX => None,
            i => Some(&TABLE[i as usize]),
        }
    }

    /// The table row of this opcode.
    #[inline]
    pub fn info(self) -> &'static OpInfo {
        // Every variant has a row: the enum and the table come from one macro.
        &TABLE[INDEX[self as u16 as usize] as usize]
    }

    /// The exact 16-bit code.
    #[inline]
    pub const fn code(self) -> u16 {
        self as u16
    }

    /// The `bpf_asm` mnemonic.
    pub fn mnemonic(self) -> &'static str {
        self.info().mnemonic
    }

    /// The operand shape.
    pub fn operand(self) -> Operand {
        self.info().operand
    }

    /// Whether `seccomp_check_filter` allows it.
    pub fn seccomp_allowed(self) -> bool {
        self.info().seccomp
    }

    /// Every opcode, in table order.
    pub fn all() -> impl Iterator<Item = Opcode> {
        TABLE.iter().map(|info| info.opcode)
    }

    /// Finds the opcode with this mnemonic and operand shape (assembler lookup).
    pub fn find(mnemonic: &str, operand: Operand) -> Option<Opcode> {
        TABLE
            .iter()
            .find(|info| info.mnemonic.eq_ignore_ascii_case(mnemonic) && info.operand == operand)
            .map(|info| info.opcode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_has_49_classic_and_41_seccomp_codes() {
        assert_eq!(TABLE.len(), CLASSIC_OPCODES);
        assert_eq!(TABLE.iter().filter(|i| i.seccomp).count(), SECCOMP_OPCODES);
    }

    #[test]
    fn codes_are_unique_and_match_their_class_bits() {
        for (i, info) in TABLE.iter().enumerate() {
            assert_eq!(Opcode::from_code(info.code), Some(info.opcode), "row {i}");
            let class = match info.code & 7 {
                0 => Class::Ld,
                1 => Class::Ldx,
                2 => Class::St,
                3 => Class::Stx,
                4 => Class::Alu,
                5 => Class::Jmp,
                6 => Class::Ret,
                _ => Class::Misc,
            };
            assert_eq!(class, info.class, "{:?}", info.opcode);
        }
    }

    #[test]
    fn look_alikes_are_rejected() {
        for code in [0x0e, 0x10, 0x8c, 0x0106, 0x21, 0xffff] {
            assert_eq!(Opcode::from_code(code), None, "{code:#x}");
        }
        let accepted = (0..=u16::MAX)
            .filter(|&c| Opcode::from_code(c).is_some())
            .count();
        assert_eq!(accepted, CLASSIC_OPCODES);
    }
}
