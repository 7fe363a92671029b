//! One module per verb.
pub mod asm;
pub mod disasm;
pub mod validate;
pub mod emu;
pub mod syscalls;
