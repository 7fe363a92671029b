//! `struct seccomp_data` (`include/uapi/linux/seccomp.h`) and its layout.
//!
//! The kernel fills `seccomp_data` in native byte order
//! (`populate_seccomp_data`), so a 64-bit field's low word sits at the lower
//! offset on little-endian machines and at the higher one on big-endian
//! machines. Which order applies is read from the arch value's
//! `__AUDIT_ARCH_LE` bit ([`arch_endian`]).
//!
//! In: a syscall (arch, number, instruction pointer, six arguments). Out: the
//! 64 bytes or the 32-bit words a filter loads. Not checked: whether an
//! offset is one a filter may load (the validator checks that).

use crate::arch::{Endian, arch_endian};

/// Size in bytes of `struct seccomp_data`; also what `ld len` loads under seccomp.
pub const SECCOMP_DATA_SIZE: u32 = 64;
/// Byte offset of `nr`.
pub const OFFSET_NR: u32 = 0;
/// Byte offset of `arch`.
pub const OFFSET_ARCH: u32 = 4;
/// Byte offset of `instruction_pointer`.
pub const OFFSET_IP: u32 = 8;
/// Byte offset of `args[0]`; `args[i]` starts at `OFFSET_ARGS + 8 * i`.
pub const OFFSET_ARGS: u32 = 16;
/// Number of syscall arguments.
pub const ARG_COUNT: usize = 6;

/// One 32-bit half of a 64-bit field, by significance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Half {
    /// Bits 0..32.
    Lo,
    /// Bits 32..64.
    Hi,
}

/// Byte offset of one half of the 64-bit field that starts at `base`: the
/// high word comes second on little-endian, first on big-endian.
pub const fn u64_word_offset(base: u32, half: Half, endian: Endian) -> u32 {
    match (half, endian) {
        (Half::Lo, Endian::Little) | (Half::Hi, Endian::Big) => base,
        _ => base + 4,
    }
}

/// Byte offset of the 64-bit field `args[index]` (`index` < 6).
pub const fn arg_offset(index: usize) -> u32 {
    OFFSET_ARGS + 8 * index as u32
}

/// Byte offset of one half of `args[index]` under `endian` (`index` < 6).
pub const fn arg_word_offset(index: usize, half: Half, endian: Endian) -> u32 {
    u64_word_offset(arg_offset(index), half, endian)
}

/// Byte offset of one half of `instruction_pointer` under `endian`.
pub const fn ip_word_offset(half: Half, endian: Endian) -> u32 {
    u64_word_offset(OFFSET_IP, half, endian)
}

/// `struct seccomp_data`: what a filter sees of one syscall.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct SeccompData {
    /// The syscall number (the low 32 bits of the register that holds it).
    pub nr: u32,
    /// The AUDIT_ARCH value of the calling convention.
    pub arch: u32,
    /// The address after the syscall instruction.
    pub instruction_pointer: u64,
    /// The six syscall arguments, as full 64-bit register values.
    pub args: [u64; ARG_COUNT],
}

impl SeccompData {
    /// A syscall with the given arch and number and zero IP and arguments.
    pub const fn new(arch: u32, nr: u32) -> SeccompData {
        SeccompData {
            nr,
            arch,
            instruction_pointer: 0,
            args: [0; ARG_COUNT],
        }
    }

    /// The 64 bytes as the kernel lays them out for this arch value.
    pub fn to_bytes(&self) -> [u8; SECCOMP_DATA_SIZE as usize] {
        let mut out = [0u8; SECCOMP_DATA_SIZE as usize];
        for (at, chunk) in out.chunks_exact_mut(4).enumerate() {
            let word = self.word(4 * at as u32);
            chunk.copy_from_slice(&arch_endian(self.arch).u32_bytes(word));
        }
        out
    }

    /// The 32-bit word `ld [offset]` loads; `offset` must be 4-aligned and
    /// below 64 (the validator guarantees it for seccomp programs), else 0.
    #[inline]
    pub fn word(&self, offset: u32) -> u32 {
        let endian = arch_endian(self.arch);
        let half = |base: u32, v: u64| {
            if offset == u64_word_offset(base, Half::Lo, endian) {
                v as u32
            } else {
                (v >> 32) as u32
            }
        };
        match offset {
            OFFSET_NR => self.nr,
            OFFSET_ARCH => self.arch,
            8 | 12 => half(OFFSET_IP, self.instruction_pointer),
            16..=63 => {
                let i = ((offset - OFFSET_ARGS) / 8) as usize;
                half(OFFSET_ARGS + 8 * i as u32, self.args[i])
            }
            _ => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::{AUDIT_ARCH_S390X, AUDIT_ARCH_X86_64};

    #[test]
    fn word_matches_byte_layout_both_endians() {
        for arch in [AUDIT_ARCH_X86_64, AUDIT_ARCH_S390X] {
            let d = SeccompData {
                nr: 0x1122_3344,
                arch,
                instruction_pointer: 0xaaaa_bbbb_cccc_dddd,
                args: [1, 0x2_0000_0003, 4, 5, 6, 0xffff_ffff_0000_0007],
            };
            let bytes = d.to_bytes();
            let e = arch_endian(arch);
            assert_eq!(e.u32(bytes[0..4].try_into().unwrap()), 0x1122_3344);
            let lo = arg_word_offset(1, Half::Lo, e) as usize;
            let hi = arg_word_offset(1, Half::Hi, e) as usize;
            assert_eq!(e.u32(bytes[lo..lo + 4].try_into().unwrap()), 3);
            assert_eq!(e.u32(bytes[hi..hi + 4].try_into().unwrap()), 2);
            let ip = ip_word_offset(Half::Hi, e) as usize;
            assert_eq!(e.u32(bytes[ip..ip + 4].try_into().unwrap()), 0xaaaa_bbbb);
        }
        let le = SeccompData {
            args: [0x2_0000_0003, 0, 0, 0, 0, 0],
            ..SeccompData::new(AUDIT_ARCH_X86_64, 0)
        };
        assert_eq!(le.word(16), 3);
        assert_eq!(le.word(20), 2);
        let be = SeccompData {
            arch: AUDIT_ARCH_S390X,
            ..le
        };
        assert_eq!(be.word(16), 2);
        assert_eq!(be.word(20), 3);
    }

    #[test]
    fn arg_words_follow_byte_order() {
        assert_eq!(arg_word_offset(1, Half::Lo, Endian::Little), 24);
        assert_eq!(arg_word_offset(1, Half::Hi, Endian::Little), 28);
        assert_eq!(arg_word_offset(1, Half::Lo, Endian::Big), 28);
        assert_eq!(arg_word_offset(5, Half::Hi, Endian::Big), 56);
    }
}
