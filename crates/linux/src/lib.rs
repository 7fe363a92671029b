//! sysfence-linux.
