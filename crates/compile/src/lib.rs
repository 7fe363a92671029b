//! sysfence-compile.
