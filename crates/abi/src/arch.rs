//! `AUDIT_ARCH_*` values (`include/uapi/linux/audit.h`), the byte order they
//! imply, and the x32 bit of syscall numbers.
//!
//! In: an arch value or name. Out: its name, value, [`Endian`]. Not checked:
//! whether the running kernel supports an arch; the table lists what the
//! header names.

/// `__AUDIT_ARCH_64BIT`.
pub const AUDIT_ARCH_64BIT: u32 = 0x8000_0000;
/// `__AUDIT_ARCH_LE`.
pub const AUDIT_ARCH_LE: u32 = 0x4000_0000;
/// `__AUDIT_ARCH_CONVENTION_MIPS64_N32`.
pub const AUDIT_ARCH_CONVENTION_MIPS64_N32: u32 = 0x2000_0000;

/// Bit 30 of the syscall number: the x32 ABI marker (`__X32_SYSCALL_BIT`).
/// x32 reports [`AUDIT_ARCH_X86_64`]; only this bit tells it apart.
pub const X32_SYSCALL_BIT: u32 = 0x4000_0000;

macro_rules! audit_arches {
    ($($konst:ident = $name:literal $value:literal,)*) => {
        $(
            #[doc = concat!("`AUDIT_ARCH_", $name, "`.")]
            pub const $konst: u32 = $value;
        )*

        /// Named AUDIT_ARCH values, name first (without the `AUDIT_ARCH_`
        /// prefix, as the assembler accepts them and the disassembler prints
        /// them).
        pub static AUDIT_ARCHES: &[(&str, u32)] = &[$(($name, $value)),*];
    };
}

audit_arches! {
    AUDIT_ARCH_X86_64 = "X86_64" 0xc000_003e,
    AUDIT_ARCH_I386 = "I386" 0x4000_0003,
    AUDIT_ARCH_AARCH64 = "AARCH64" 0xc000_00b7,
    AUDIT_ARCH_ARM = "ARM" 0x4000_0028,
    AUDIT_ARCH_ARMEB = "ARMEB" 0x0000_0028,
    AUDIT_ARCH_RISCV64 = "RISCV64" 0xc000_00f3,
    AUDIT_ARCH_RISCV32 = "RISCV32" 0x4000_00f3,
    AUDIT_ARCH_S390X = "S390X" 0x8000_0016,
    AUDIT_ARCH_S390 = "S390" 0x0000_0016,
    AUDIT_ARCH_PPC64LE = "PPC64LE" 0xc000_0015,
    AUDIT_ARCH_PPC64 = "PPC64" 0x8000_0015,
    AUDIT_ARCH_PPC = "PPC" 0x0000_0014,
    AUDIT_ARCH_MIPS = "MIPS" 0x0000_0008,
    AUDIT_ARCH_MIPSEL = "MIPSEL" 0x4000_0008,
    AUDIT_ARCH_MIPS64 = "MIPS64" 0x8000_0008,
    AUDIT_ARCH_MIPSEL64 = "MIPSEL64" 0xc000_0008,
    AUDIT_ARCH_MIPS64N32 = "MIPS64N32" 0xa000_0008,
    AUDIT_ARCH_MIPSEL64N32 = "MIPSEL64N32" 0xe000_0008,
    AUDIT_ARCH_LOONGARCH64 = "LOONGARCH64" 0xc000_0102,
    AUDIT_ARCH_LOONGARCH32 = "LOONGARCH32" 0x4000_0102,
    AUDIT_ARCH_M68K = "M68K" 0x0000_0004,
    AUDIT_ARCH_PARISC = "PARISC" 0x0000_000f,
    AUDIT_ARCH_PARISC64 = "PARISC64" 0x8000_000f,
    AUDIT_ARCH_SH = "SH" 0x4000_002a,
    AUDIT_ARCH_SHEB = "SHEB" 0x0000_002a,
}

/// The AUDIT_ARCH value for a name (`X86_64`, `AUDIT_ARCH_X86_64`, `x86_64`).
pub fn audit_arch_by_name(name: &str) -> Option<u32> {
    let bare = match name.get(..11) {
        Some(head) if head.eq_ignore_ascii_case("AUDIT_ARCH_") => &name[11..],
        _ => name,
    };
    AUDIT_ARCHES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(bare))
        .map(|&(_, v)| v)
}

/// The name of an AUDIT_ARCH value, without the `AUDIT_ARCH_` prefix.
pub fn audit_arch_name(value: u32) -> Option<&'static str> {
    AUDIT_ARCHES
        .iter()
        .find(|(_, v)| *v == value)
        .map(|&(n, _)| n)
}

/// Byte order of a raw program or of a `seccomp_data` layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Endian {
    /// Least significant byte first (x86, arm, riscv, ppc64le, mipsel, loongarch).
    Little,
    /// Most significant byte first (s390x, ppc64, ppc, mips).
    Big,
}

impl Endian {
    /// The byte order of the machine this code runs on.
    pub const NATIVE: Endian = if cfg!(target_endian = "big") {
        Endian::Big
    } else {
        Endian::Little
    };

    /// Reads a u16 in this byte order.
    pub const fn u16(self, b: [u8; 2]) -> u16 {
        match self {
            Endian::Little => u16::from_le_bytes(b),
            Endian::Big => u16::from_be_bytes(b),
        }
    }

    /// Reads a u32 in this byte order.
    pub const fn u32(self, b: [u8; 4]) -> u32 {
        match self {
            Endian::Little => u32::from_le_bytes(b),
            Endian::Big => u32::from_be_bytes(b),
        }
    }

    /// Writes a u16 in this byte order.
    pub const fn u16_bytes(self, v: u16) -> [u8; 2] {
        match self {
            Endian::Little => v.to_le_bytes(),
            Endian::Big => v.to_be_bytes(),
        }
    }

    /// Writes a u32 in this byte order.
    pub const fn u32_bytes(self, v: u32) -> [u8; 4] {
        match self {
            Endian::Little => v.to_le_bytes(),
            Endian::Big => v.to_be_bytes(),
        }
    }
}

/// The `seccomp_data` byte order an arch value implies (its `__AUDIT_ARCH_LE` bit).
pub const fn arch_endian(arch: u32) -> Endian {
    if arch & AUDIT_ARCH_LE != 0 {
        Endian::Little
    } else {
        Endian::Big
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arch_names() {
        assert_eq!(
            audit_arch_by_name("AUDIT_ARCH_X86_64"),
            Some(AUDIT_ARCH_X86_64)
        );
        assert_eq!(audit_arch_by_name("audit_arch_x86_64"), Some(0xc000_003e));
        assert_eq!(audit_arch_by_name("i386"), Some(0x4000_0003));
        assert_eq!(audit_arch_by_name("AUDIT_ARCH_"), None);
        assert_eq!(audit_arch_name(0xc000_00b7), Some("AARCH64"));
    }

    #[test]
    fn flag_bits_agree_with_the_values() {
        for &(name, v) in AUDIT_ARCHES {
            let wide = name.contains("64") || name == "S390X";
            assert_eq!(v & AUDIT_ARCH_64BIT != 0, wide, "{name}");
        }
        assert_eq!(arch_endian(AUDIT_ARCH_S390X), Endian::Big);
        assert_eq!(arch_endian(AUDIT_ARCH_MIPSEL64N32), Endian::Little);
        assert_ne!(AUDIT_ARCH_MIPS64N32 & AUDIT_ARCH_CONVENTION_MIPS64_N32, 0);
    }
}
