//! One module per verb.
pub mod asm;
pub mod check;
pub mod compile;
pub mod context;
pub mod cost;
pub mod disasm;
pub mod dump;
pub mod emu;
pub mod explain;
pub mod lint;
pub mod record;
pub mod run;
pub mod status;
pub mod syscalls;
pub mod validate;
