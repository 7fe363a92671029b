//! sysfence-profile: seccomp profiles in every dialect, read into one policy IR.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod arch;
pub mod ir;
