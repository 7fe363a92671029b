//! The operands of `equiv`, `diff` and `refines`: a profile in any format
//! (read with the shared context flags), a raw or assembly program, or
//! `pid:N` for the filter stack of a live process (every thread's; a process
//! whose threads hold different stacks is refused).
//!
//! A file is read once, with the size cap every verb reads with
//! ([`crate::io::read_input`]); `-` reads standard input.
//!
//! In: the operand text and the context flags. Out: a
//! [`sysfence_exact::subject::Subject`]. A profile is told from a program as
//! `validate` and `emu` do it ([`crate::progfile::looks_like_profile`]).

use std::path::Path;

use sysfence_cbpf::interp::ShiftMode;
use sysfence_cbpf::program::Program;
use sysfence_exact::subject::Subject;
use sysfence_linux::dump::dump_process;

use crate::builtin_syscalls::parse_arch;
use crate::cmd::context::ContextArgs;
use crate::failure::Failure;
use crate::io::read_input;
use crate::progfile::{Format, looks_like_profile, read_program};

/// Reads one operand.
pub fn read(text: &str, context: &ContextArgs) -> Result<Subject, Failure> {
    if let Some(pid) = text.strip_prefix("pid:") {
        return live(pid);
    }
    let path = Path::new(text);
    let bytes = read_input(Some(path))?;
    if looks_like_profile(path, &bytes) {
        let (loaded, _) = context.load_read(path, &bytes)?;
        return Ok(Subject::Policy(loaded.policy));
    }
    let arch = parse_arch("x86_64")?;
    let insns = read_program(text, &bytes, Format::Auto, &arch)?;
    let prog = Program::new(&insns).map_err(|e| Failure::input(format!("{text}: {e}")))?;
    Ok(Subject::Program(prog, ShiftMode::Mask31))
}

/// The filter stack of a live process, newest first: the one every thread
/// holds (a process whose threads differ is refused).
fn live(pid: &str) -> Result<Subject, Failure> {
    let pid: i32 = pid
        .parse()
        .map_err(|_| Failure::input(format!("pid:{pid}: not a process id")))?;
    let arch = crate::restart::arch_of(pid);
    let filters = dump_process(pid).map_err(|e| Failure::input(format!("pid:{pid}: {e}")))?;
    let mut progs = Vec::new();
    for (i, insns) in filters.iter().enumerate().rev() {
        let p = Program::new(insns)
            .map_err(|e| Failure::input(format!("pid:{pid}: filter {i}: {e}")))?;
        progs.push(p);
    }
    let oldest_first: Vec<Program> = progs.iter().rev().cloned().collect();
    crate::restart::warn_if_denied(pid, arch, &oldest_first);
    Ok(Subject::Stack(progs, ShiftMode::Mask31))
}
