//! Syscall names for the assembler and disassembler, and the `--arch`
//! spellings the two verbs accept.
//!
//! `sysfence-cbpf` ships no syscall tables: it asks a
//! [`SyscallResolver`]. This module answers from the generated per-arch
//! tables of `sysfence-profile` ([`Arch::syscall_nr`], [`Arch::syscall_name`]),
//! so `#getpid` and the `; getpid` comments use the same numbers the
//! compiler does.

use sysfence_cbpf::asm::SyscallResolver;
use sysfence_cbpf::data::audit_arch_by_name;
use sysfence_profile::arch::Arch;

use crate::failure::Failure;

/// The syscall table of one arch.
#[derive(Clone, Copy, Debug)]
pub struct ArchSyscalls(pub Arch);

impl SyscallResolver for ArchSyscalls {
    fn number(&self, name: &str) -> Option<u32> {
        self.0.syscall_nr(name)
    }

    fn name(&self, nr: u32) -> Option<&str> {
        self.0.syscall_name(nr)
    }
}

/// An `--arch` value: the AUDIT_ARCH value and, when sysfence has one, the
/// syscall table.
#[derive(Clone, Copy, Debug)]
pub struct ArchChoice {
    /// The `seccomp_data.arch` value.
    pub audit: u32,
    /// The syscall table, if the arch has one here.
    pub syscalls: Option<ArchSyscalls>,
}

/// Reads `--arch`: any name [`Arch::from_name`] knows (`x86_64`, `amd64`,
/// `i386`, `aarch64`, `SCMP_ARCH_ARM`, ...), an `AUDIT_ARCH_*` name, or an
/// AUDIT_ARCH value in hex (`0xc000003e`).
pub fn parse_arch(text: &str) -> Result<ArchChoice, Failure> {
    if let Some(hex) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        let audit = u32::from_str_radix(hex, 16).map_err(|_| {
            Failure::input(format!(
                "bad AUDIT_ARCH value `{text}`: expected 32-bit hex"
            ))
        })?;
        let table = Arch::all()
            .iter()
            .copied()
            .find(|a| a.audit_arch() == audit);
        return Ok(ArchChoice {
            audit,
            syscalls: table.map(ArchSyscalls),
        });
    }
    match Arch::parse(text) {
        Ok(arch) => Ok(ArchChoice {
            audit: arch.audit_arch(),
            syscalls: Some(ArchSyscalls(arch)),
        }),
        Err(e) => audit_arch_by_name(text)
            .map(|audit| ArchChoice {
                audit,
                syscalls: None,
            })
            .ok_or_else(|| Failure::input(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_hex_values() {
        let x = parse_arch("x86_64").unwrap();
        assert_eq!(x.audit, 0xc000_003e);
        let r = x.syscalls.unwrap();
        assert_eq!(
            (r.number("getpid"), r.name(231)),
            (Some(39), Some("exit_group"))
        );
        assert_eq!(parse_arch("i386").unwrap().audit, 0x4000_0003);
        assert_eq!(
            parse_arch("aarch64")
                .unwrap()
                .syscalls
                .unwrap()
                .number("getpid"),
            Some(172)
        );
        let hex = parse_arch("0xc000003e").unwrap();
        assert_eq!(hex.syscalls.unwrap().name(39), Some("getpid"));
        let untabled = parse_arch("0x12345678").unwrap();
        assert!(untabled.syscalls.is_none());
        assert!(parse_arch("vax").is_err());
        assert!(parse_arch("0xzz").is_err());
    }
}
