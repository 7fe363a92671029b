//! The layout of `struct sock_filter` (`include/uapi/linux/filter.h`):
//! `{ u16 code; u8 jt; u8 jf; u32 k; }`, 8 bytes, 4-aligned.
//!
//! `sysfence-cbpf` asserts at compile time that its instruction type has
//! exactly this layout, because `sysfence-linux` hands slices of it to the
//! kernel as `sock_filter` arrays.

/// `sizeof(struct sock_filter)`.
pub const SOCK_FILTER_SIZE: usize = 8;
/// `_Alignof(struct sock_filter)` (that of its `u32 k`).
pub const SOCK_FILTER_ALIGN: usize = 4;
/// Byte offset of `code`.
pub const OFFSET_CODE: usize = 0;
/// Byte offset of `jt`.
pub const OFFSET_JT: usize = 2;
/// Byte offset of `jf`.
pub const OFFSET_JF: usize = 3;
/// Byte offset of `k`.
pub const OFFSET_K: usize = 4;
