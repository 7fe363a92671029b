//! Shared helpers for the sysfence benchmarks.
