//! The generated syscall tables, one module per table (see each file's
//! header for its source). Several arches share a table: ppc64 and ppc64le,
//! and each MIPS ABI in both byte orders.

pub(crate) mod aarch64;
pub(crate) mod arm;
pub(crate) mod loongarch64;
pub(crate) mod mips_n32;
pub(crate) mod mips_n64;
pub(crate) mod mips_o32;
pub(crate) mod ppc;
pub(crate) mod ppc64;
pub(crate) mod riscv64;
pub(crate) mod s390;
pub(crate) mod s390x;
pub(crate) mod x32;
pub(crate) mod x86;
pub(crate) mod x86_64;
