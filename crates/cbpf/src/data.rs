//! `struct seccomp_data` and the AUDIT_ARCH values that choose its layout.
//!
//! The facts live in [`sysfence_abi::data`] and [`sysfence_abi::arch`]; this
//! module keeps the path `sysfence_cbpf::data` for the instruction-set side.

pub use sysfence_abi::arch::*;
pub use sysfence_abi::data::{
    Half, OFFSET_ARCH, OFFSET_ARGS, OFFSET_IP, OFFSET_NR, SeccompData, arg_offset, arg_word_offset,
    ip_word_offset, u64_word_offset,
};
