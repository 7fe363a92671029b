//! A steady heap for timing compiles, as a long-running process has.
//!
//! glibc's malloc hands the free top of its heap back to the kernel once it
//! exceeds the trim threshold (128 KiB at start). A compile frees a few
//! hundred KiB of tables when it ends (the proof's store, the optimizer's
//! facts), so a harness that compiles in a loop can pay, on every compile,
//! for shrinking the heap and faulting the same pages in again: in one run
//! of Firecracker's `vmm` filter the tree compile took 160 µs in a loop
//! after other cases and 131 µs with trimming off, and which case hit it
//! moved with the order of the cases and with unrelated allocations.
//!
//! [`steady`] allocates and frees one 16 MiB block. glibc serves a block
//! that large by `mmap` and, when it is freed, raises its dynamic `mmap`
//! threshold to the block's size and the trim threshold to twice that, so
//! the compiles' tables stay in the heap between compiles. Every compiler
//! timed in the same process gets the same heap. Other allocators ignore it.

use std::hint::black_box;

/// Bytes of the block [`steady`] allocates and frees: above glibc's initial
/// `mmap` threshold, below the largest it adopts (32 MiB on 64-bit).
const BLOCK: usize = 16 << 20;

/// Raises glibc's trim threshold for the rest of the process (see the
/// module docs). Call once before timing.
pub fn steady() {
    let block: Vec<u8> = Vec::with_capacity(BLOCK);
    drop(black_box(block));
}
