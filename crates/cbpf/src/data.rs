//! `struct seccomp_data` and the AUDIT_ARCH values that choose its layout.
//!
//! The kernel fills `seccomp_data` in native byte order (`populate_seccomp_data`),
//! so a 64-bit field's low word sits at the lower offset on little-endian
//! machines and at the higher one on big-endian machines. Which order applies
//! is read from the arch value's `__AUDIT_ARCH_LE` bit (0x40000000).

use crate::insn::Endian;
use crate::limits::SECCOMP_DATA_SIZE;

/// `__AUDIT_ARCH_64BIT`.
pub const AUDIT_ARCH_64BIT: u32 = 0x8000_0000;
/// `__AUDIT_ARCH_LE`.
pub const AUDIT_ARCH_LE: u32 = 0x4000_0000;
/// `__AUDIT_ARCH_CONVENTION_MIPS64_N32`.
pub const AUDIT_ARCH_CONVENTION_MIPS64_N32: u32 = 0x2000_0000;

/// Byte offset of `nr`.
pub const OFFSET_NR: u32 = 0;
/// Byte offset of `arch`.
pub const OFFSET_ARCH: u32 = 4;
/// Byte offset of `instruction_pointer`.
pub const OFFSET_IP: u32 = 8;
/// Byte offset of `args[0]`; `args[i]` is at `OFFSET_ARGS + 8 * i`.
pub const OFFSET_ARGS: u32 = 16;

/// Named AUDIT_ARCH values (`include/uapi/linux/audit.h`), name first.
///
/// The names are those the assembler accepts after `AUDIT_ARCH_` and the
/// disassembler prints in comments.
pub static AUDIT_ARCHES: &[(&str, u32)] = &[
    ("X86_64", 0xc000_003e),
    ("I386", 0x4000_0003),
    ("AARCH64", 0xc000_00b7),
    ("ARM", 0x4000_0028),
    ("ARMEB", 0x0000_0028),
    ("RISCV64", 0xc000_00f3),
    ("RISCV32", 0x4000_00f3),
    ("S390X", 0x8000_0016),
    ("S390", 0x0000_0016),
    ("PPC64LE", 0xc000_0015),
    ("PPC64", 0x8000_0015),
    ("PPC", 0x0000_0014),
    ("MIPS", 0x0000_0008),
    ("MIPSEL", 0x4000_0008),
    ("MIPS64", 0x8000_0008),
    ("MIPSEL64", 0xc000_0008),
    ("MIPS64N32", 0xa000_0008),
    ("MIPSEL64N32", 0xe000_0008),
    ("LOONGARCH64", 0xc000_0102),
    ("LOONGARCH32", 0x4000_0102),
    ("M68K", 0x0000_0004),
    ("PARISC", 0x0000_000f),
    ("PARISC64", 0x8000_000f),
    ("SH", 0x4000_002a),
    ("SHEB", 0x0000_002a),
];

/// The AUDIT_ARCH value for a name (`X86_64`, `AUDIT_ARCH_X86_64`, `x86_64`).
pub fn audit_arch_by_name(name: &str) -> Option<u32> {
    let upper = name.to_ascii_uppercase();
    let bare = upper.strip_prefix("AUDIT_ARCH_").unwrap_or(&upper);
    AUDIT_ARCHES
        .iter()
        .find(|(n, _)| *n == bare)
        .map(|&(_, v)| v)
}

/// The name of an AUDIT_ARCH value, without the `AUDIT_ARCH_` prefix.
pub fn audit_arch_name(value: u32) -> Option<&'static str> {
    AUDIT_ARCHES
        .iter()
        .find(|(_, v)| *v == value)
        .map(|&(n, _)| n)
}

/// The `seccomp_data` byte order an arch value implies (its `__AUDIT_ARCH_LE` bit).
pub const fn arch_endian(arch: u32) -> Endian {
    if arch & AUDIT_ARCH_LE != 0 {
        Endian::Little
    } else {
        Endian::Big
    }
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
    pub args: [u64; 6],
}

impl SeccompData {
    /// A syscall with the given arch and number and zero IP and arguments.
    pub const fn new(arch: u32, nr: u32) -> SeccompData {
        SeccompData {
            nr,
            arch,
            instruction_pointer: 0,
            args: [0; 6],
        }
    }

    /// The 64 bytes as the kernel lays them out for this arch value.
    pub fn to_bytes(&self) -> [u8; SECCOMP_DATA_SIZE as usize] {
        let e = arch_endian(self.arch);
        let mut out = [0u8; SECCOMP_DATA_SIZE as usize];
        out[0..4].copy_from_slice(&e.u32_bytes(self.nr));
        out[4..8].copy_from_slice(&e.u32_bytes(self.arch));
        put_u64(&mut out[8..16], self.instruction_pointer, e);
        for (i, arg) in self.args.iter().enumerate() {
            let at = 16 + 8 * i;
            put_u64(&mut out[at..at + 8], *arg, e);
        }
        out
    }

    /// The 32-bit word `ld [offset]` loads; `offset` must be 4-aligned and
    /// below 64 (the validator guarantees it for seccomp programs).
    #[inline]
    pub fn word(&self, offset: u32) -> u32 {
        let big = self.arch & AUDIT_ARCH_LE == 0;
        let field = |v: u64, second_half: bool| -> u32 {
            // Little-endian: low word first. Big-endian: high word first.
            if second_half != big {
                (v >> 32) as u32
            } else {
                v as u32
            }
        };
        match offset {
            0 => self.nr,
            4 => self.arch,
            8 | 12 => field(self.instruction_pointer, offset == 12),
            16..=63 => {
                let i = ((offset - 16) / 8) as usize;
                field(self.args[i], (offset - 16) % 8 == 4)
            }
            _ => 0,
        }
    }
}

fn put_u64(dst: &mut [u8], v: u64, e: Endian) {
    let (first, second) = match e {
        Endian::Little => (v as u32, (v >> 32) as u32),
        Endian::Big => ((v >> 32) as u32, v as u32),
    };
    dst[0..4].copy_from_slice(&e.u32_bytes(first));
    dst[4..8].copy_from_slice(&e.u32_bytes(second));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_matches_byte_layout_both_endians() {
        for arch in [0xc000_003e, 0x8000_0016] {
            let d = SeccompData {
                nr: 0x1122_3344,
                arch,
                instruction_pointer: 0xaaaa_bbbb_cccc_dddd,
                args: [1, 0x2_0000_0003, 4, 5, 6, 0xffff_ffff_0000_0007],
            };
            let bytes = d.to_bytes();
            let e = arch_endian(arch);
            for off in (0..64).step_by(4) {
                let w = e.u32(bytes[off..off + 4].try_into().unwrap());
                assert_eq!(d.word(off as u32), w, "arch {arch:#x} offset {off}");
            }
        }
        let le = SeccompData {
            args: [0x2_0000_0003, 0, 0, 0, 0, 0],
            ..SeccompData::new(0xc000_003e, 0)
        };
        assert_eq!(le.word(16), 3);
        assert_eq!(le.word(20), 2);
        let be = SeccompData {
            arch: 0x8000_0016,
            ..le
        };
        assert_eq!(be.word(16), 2);
        assert_eq!(be.word(20), 3);
    }

    #[test]
    fn arch_names() {
        assert_eq!(audit_arch_by_name("AUDIT_ARCH_X86_64"), Some(0xc000_003e));
        assert_eq!(audit_arch_by_name("i386"), Some(0x4000_0003));
        assert_eq!(audit_arch_name(0xc000_00b7), Some("AARCH64"));
    }
}
