//! sysfence-cbpf: classic BPF exactly as Linux runs it for seccomp.
//!
//! This crate is the instruction-set layer of sysfence. It knows nothing of
//! profiles or syscall names beyond what a caller hands it.
//!
//! * [`opcode`]: THE opcode table; every other module derives from it.
//! * [`insn`]: raw `struct sock_filter` values and their 8-byte encoding.
//! * [`limits`]: every kernel limit.
//! * [`validate`]: the kernel's load-time checks, in the kernel's order,
//!   producing a [`program::Program`], the only thing the interpreter runs.
//! * [`interp`]: the kernel-exact interpreter and the action-cache model.
//! * [`action`]: return values, actions and stacking (re-exported from
//!   [`sysfence_abi`], which owns every kernel fact; also as [`abi`]).
//! * [`data`]: `struct seccomp_data` and AUDIT_ARCH values (from [`sysfence_abi`]).
//! * [`buffer`]: labels, deadlines and far-jump veneers, shared by the
//!   assembler and the compiler's emitter.
//! * [`asm`]: the `bpf_asm` assembler and the disassembler.
//!
//! Data flows `text --asm--> [Insn] --validate--> Program --interp(SeccompData)--> Outcome`,
//! and `Program --disasm--> text` back.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod action;
pub mod asm;
pub mod buffer;
pub mod data;
pub mod generate;
pub mod insn;
pub mod interp;
pub mod limits;
pub mod opcode;
pub mod program;
pub mod validate;

pub use sysfence_abi as abi;

pub use action::Action;
pub use data::SeccompData;
pub use insn::{Endian, Insn};
pub use opcode::Opcode;
