//! sysfence-linux.
pub mod dump;
pub mod record;
pub mod status;
pub mod threads;
