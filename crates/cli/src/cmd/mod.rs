//! One module per verb.
pub mod asm;
pub mod disasm;
pub mod emu;
pub mod syscalls;
pub mod validate;
pub mod context;
pub mod explain;
pub mod lint;
