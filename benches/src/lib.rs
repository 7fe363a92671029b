//! sysfence-benches: filter evaluation cost, side by side with seccompiler
//! and libseccomp.
//!
//! In: real profiles ([`set`]) and real syscall mixes ([`mixes`]). Each
//! profile is compiled by every compiler in [`peers`]; each program is run by
//! sysfence's interpreter on every syscall number ([`count`], with arguments
//! from [`witness`]), giving instructions per syscall, program length and the
//! share of numbers the kernel's action cache serves; [`bounds`] gives the
//! lower bounds; [`kernel`] times real syscalls under each filter and
//! [`timing`] times the compiles, the compilers taking turns. Out: tables
//! ([`report`]), JSON, and SVG charts ([`charts`]).
//!
//! The criterion benches (`benches/compile.rs`, `benches/eval.rs`) and the
//! `sysfence-bench` binary are thin users of this library; those that time
//! compiles first make the heap steady ([`heap`]).

pub mod bounds;
pub mod charts;
pub mod count;
pub mod crosvm;
pub mod heap;
pub mod kernel;
pub mod mixes;
pub mod peers;
pub mod report;
pub mod set;
pub mod targets;
pub mod timing;
pub mod witness;
