//! Shared helpers of the assembler tests: a tiny x86_64 syscall table and
//! the corpus programs.

#![allow(dead_code)]

use std::path::PathBuf;

use sysfence_cbpf::asm::SyscallResolver;

/// AUDIT_ARCH_X86_64.
pub use sysfence_cbpf::abi::arch::AUDIT_ARCH_X86_64 as X86_64;

/// A handful of x86_64 syscall numbers (`arch/x86/entry/syscalls/syscall_64.tbl`).
pub struct TinyX86_64;

const NAMES: &[(&str, u32)] = &[
    ("read", 0),
    ("write", 1),
    ("close", 3),
    ("getpid", 39),
    ("exit", 60),
    ("kill", 62),
    ("exit_group", 231),
];

impl SyscallResolver for TinyX86_64 {
    fn number(&self, name: &str) -> Option<u32> {
        NAMES.iter().find(|(n, _)| *n == name).map(|&(_, nr)| nr)
    }

    fn name(&self, nr: u32) -> Option<&str> {
        NAMES.iter().find(|(_, v)| *v == nr).map(|&(n, _)| n)
    }
}

/// `corpus/programs` of the repository.
pub fn programs_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../corpus/programs")
}

/// Every `*.bpf` program of the corpus, sorted by file name.
pub fn programs() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = std::fs::read_dir(programs_dir())
        .expect("corpus/programs exists")
        .map(|e| e.expect("readable directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "bpf"))
        .map(|p| {
            let name = p
                .file_stem()
                .expect("file name")
                .to_string_lossy()
                .into_owned();
            (name, std::fs::read_to_string(&p).expect("readable program"))
        })
        .collect();
    out.sort();
    out
}
