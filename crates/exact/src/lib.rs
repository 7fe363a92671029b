//! sysfence-exact: what a seccomp filter means, over every input at once.
//!
//! A filter's meaning is a function from the 512 bits of `seccomp_data` to a
//! 32-bit return value. This crate builds that function as a canonical,
//! hash-consed multi-terminal binary decision diagram ([`store`]) from
//!
//! * a validated cBPF program, symbolically, every seccomp opcode included
//!   ([`program`]),
//! * a policy IR, directly from its rules, sharing no code with the compiler
//!   ([`policy`]),
//! * a stack of filters, combined as `seccomp_run_filters` does
//!   ([`subject::stack`]).
//!
//! Two subjects built in one [`store::Store`] are equivalent iff their roots
//! are the same node. [`witness`] turns a differing path into a concrete
//! `seccomp_data` and replays it through the interpreter or the evaluator
//! before anyone sees it; [`diff`] lists every difference by arch and
//! syscall; [`compare`] decides equality and "at least as strict"; [`count`]
//! measures how much of the input space each action gets; [`decompile`]
//! writes a profile whose meaning is proven equal to a filter.
//!
//! Past the node budget every answer is "undecided within budget N", never a
//! guess. `docs/exact.md` describes the representation and its figures.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod cases;
pub mod compare;
pub mod count;
pub mod cut;
pub mod decompile;
pub mod diff;
pub mod lazy;
pub mod points;
pub mod policy;
pub mod program;
pub mod store;
pub mod subject;
pub mod witness;
pub mod word;
