//! Seccomp return values, actions and the stacking rule.
//!
//! The facts live in [`sysfence_abi::action`]; this module keeps the path
//! `sysfence_cbpf::action` for the instruction-set side.

pub use sysfence_abi::action::*;
