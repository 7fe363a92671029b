//! One module per verb.
pub mod asm;
pub mod check;
pub mod compile;
pub mod cost;
pub mod disasm;
pub mod emu;
pub mod syscalls;
pub mod validate;
pub mod context;
pub mod explain;
pub mod lint;
pub mod dump;
pub mod record;
pub mod run;
pub mod status;
