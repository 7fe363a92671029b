//! Raw instructions: `struct sock_filter` and its 8-byte encoding.
//!
//! An [`Insn`] is whatever 8 bytes someone handed us: nothing here checks that
//! the code is a real opcode or that jumps land inside the program (that is
//! the validator's job). Unused fields (`jt`/`jf` of a non-jump, `k` of `tax`)
//! are kept exactly as given, because the kernel keeps them too and hands them
//! back through `PTRACE_SECCOMP_GET_FILTER`.

use core::fmt;

use crate::limits::SOCK_FILTER_SIZE;
use crate::opcode::{Class, OpInfo, Opcode, Operand};

/// One classic BPF instruction, `struct sock_filter { u16 code; u8 jt; u8 jf; u32 k; }`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[repr(C)]
pub struct Insn {
    /// The opcode (`code`).
    pub code: u16,
    /// Jump offset when the condition holds.
    pub jt: u8,
    /// Jump offset when the condition fails.
    pub jf: u8,
    /// The generic operand.
    pub k: u32,
}

pub use sysfence_abi::Endian;

// `sysfence-linux` hands `&[Insn]` to the kernel as `struct sock_filter`
// arrays and reads dumped filters back into `Insn` buffers: pin the layout.
const _: () = {
    use core::mem::{align_of, offset_of, size_of};
    use sysfence_abi::filter as f;
    assert!(size_of::<Insn>() == f::SOCK_FILTER_SIZE);
    assert!(align_of::<Insn>() == f::SOCK_FILTER_ALIGN);
    assert!(offset_of!(Insn, code) == f::OFFSET_CODE);
    assert!(offset_of!(Insn, jt) == f::OFFSET_JT);
    assert!(offset_of!(Insn, jf) == f::OFFSET_JF);
    assert!(offset_of!(Insn, k) == f::OFFSET_K);
};

impl Insn {
    /// Builds an instruction from its four fields.
    pub const fn new(code: u16, jt: u8, jf: u8, k: u32) -> Insn {
        Insn { code, jt, jf, k }
    }

    /// Builds an instruction of a known opcode.
    pub const fn op(op: Opcode, jt: u8, jf: u8, k: u32) -> Insn {
        Insn {
            code: op as u16,
            jt,
            jf,
            k,
        }
    }

    /// The opcode, if `code` is one of the 49 Linux accepts.
    pub fn opcode(&self) -> Option<Opcode> {
        Opcode::from_code(self.code)
    }

    /// Where control may go after this instruction at `pc`, read from the
    /// opcode table: nowhere after a `ret`, `pc + 1 + k` after `ja`,
    /// `pc + 1 + jt` then `pc + 1 + jf` after a conditional jump, else
    /// `pc + 1` (also for a code that is no opcode). Nothing here checks that
    /// a successor lies inside the program (the validator does).
    pub fn successors(&self, pc: usize) -> impl Iterator<Item = usize> {
        let next = pc.saturating_add(1);
        let pair = match self.info().map(|i| (i.class, i.operand)) {
            Some((Class::Ret, _)) => [None, None],
            Some((_, Operand::Jump)) => [Some(next.saturating_add(self.k as usize)), None],
            Some((_, op)) if op.is_conditional() => [
                Some(next + usize::from(self.jt)),
                Some(next + usize::from(self.jf)),
            ],
            _ => [Some(next), None],
        };
        pair.into_iter().flatten()
    }

    /// The table row, if `code` is one of the 49 Linux accepts.
    pub fn info(&self) -> Option<&'static OpInfo> {
        Opcode::info_for(self.code)
    }

    /// Decodes 8 bytes in the given byte order.
    pub fn from_bytes(b: [u8; SOCK_FILTER_SIZE], endian: Endian) -> Insn {
        Insn {
            code: endian.u16([b[0], b[1]]),
            jt: b[2],
            jf: b[3],
            k: endian.u32([b[4], b[5], b[6], b[7]]),
        }
    }

    /// Encodes to 8 bytes in the given byte order.
    pub fn to_bytes(&self, endian: Endian) -> [u8; SOCK_FILTER_SIZE] {
        let c = endian.u16_bytes(self.code);
        let k = endian.u32_bytes(self.k);
        [c[0], c[1], self.jt, self.jf, k[0], k[1], k[2], k[3]]
    }
}

impl fmt::Display for Insn {
    /// `{ code, jt, jf, k }` in the C initialiser style.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{{ {:#06x}, {:3}, {:3}, {:#010x} }}",
            self.code, self.jt, self.jf, self.k
        )
    }
}

/// Why a byte buffer is not an array of `struct sock_filter`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawError {
    len: usize,
}

impl RawError {
    /// The length of the rejected buffer in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the rejected buffer was empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl fmt::Display for RawError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.len == 0 {
            write!(
                f,
                "empty program: a raw filter needs at least one 8-byte instruction"
            )
        } else {
            write!(
                f,
                "raw program length {} is not a multiple of 8 (struct sock_filter); {} trailing byte(s) at offset {}",
                self.len,
                self.len % SOCK_FILTER_SIZE,
                self.len - self.len % SOCK_FILTER_SIZE
            )
        }
    }
}

impl core::error::Error for RawError {}

/// Decodes a raw array of `struct sock_filter`. The length must be a non-zero
/// multiple of 8; nothing else is checked.
pub fn decode(bytes: &[u8], endian: Endian) -> Result<Vec<Insn>, RawError> {
    if bytes.is_empty() || !bytes.len().is_multiple_of(SOCK_FILTER_SIZE) {
        return Err(RawError { len: bytes.len() });
    }
    Ok(bytes
        .chunks_exact(SOCK_FILTER_SIZE)
        .map(|c| Insn::from_bytes(c.try_into().expect("chunks_exact yields 8 bytes"), endian))
        .collect())
}

/// Encodes instructions as a raw array of `struct sock_filter`.
pub fn encode(insns: &[Insn], endian: Endian) -> Vec<u8> {
    insns.iter().flat_map(|i| i.to_bytes(endian)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn successors_follow_the_opcode_table() {
        let succ = |i: Insn, pc| i.successors(pc).collect::<Vec<_>>();
        assert_eq!(succ(Insn::op(Opcode::RetK, 0, 0, 0), 3), []);
        assert_eq!(succ(Insn::op(Opcode::Ja, 9, 9, 5), 3), [9]);
        assert_eq!(succ(Insn::op(Opcode::JeqX, 1, 2, 0), 3), [5, 6]);
        assert_eq!(succ(Insn::op(Opcode::LdAbsW, 7, 7, 4), 3), [4]);
        assert_eq!(succ(Insn::new(0xffff, 7, 7, 4), 3), [4]);
    }

    #[test]
    fn raw_round_trip_keeps_junk_fields() {
        let insns = [
            Insn::new(0x80, 5, 6, 0x1234),
            Insn::new(0x06, 0xff, 0xee, 0x7fff_0000),
        ];
        for endian in [Endian::Little, Endian::Big] {
            let bytes = encode(&insns, endian);
            assert_eq!(bytes.len(), 16);
            assert_eq!(decode(&bytes, endian).unwrap(), insns);
        }
        assert_eq!(
            encode(&insns[..1], Endian::Little),
            [0x80, 0, 5, 6, 0x34, 0x12, 0, 0]
        );
    }

    #[test]
    fn bad_lengths_are_rejected() {
        assert!(decode(&[], Endian::Little).unwrap_err().is_empty());
        let err = decode(&[0; 12], Endian::Little).unwrap_err();
        assert_eq!(err.len(), 12);
        assert!(err.to_string().contains("not a multiple of 8"));
    }
}
