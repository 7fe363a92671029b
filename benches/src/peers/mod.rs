//! The compilers under comparison, each fed the same input.
//!
//! In: a [`crate::set::Case`] (a loaded policy for one arch, plus, for
//! seccompiler JSON files, the original text). Out: one [`Built`] per
//! [`Compiler`]: the raw program, validated into a [`Program`], and notes on
//! what the peer could not express.
//!
//! * [`sysfence`]: this project's compiler with its three layouts.
//! * [`seccompiler`]: rust-vmm's seccompiler 0.5, from the JSON file when
//!   the case has one, else from the policy (one match action per filter).
//! * `libseccomp` (cargo feature `libseccomp`): libseccomp's linear and
//!   binary-tree layouts, exported as BPF.
//! * `runc` (cargo feature `libseccomp`): runc's own conversion of a
//!   Docker/OCI profile's JSON into libseccomp's filter and its ENOSYS stub,
//!   the peer of the random differential test; `runc::worker` runs it in a
//!   child process with a time limit.
//!
//! Not checked here: that the programs mean the same; [`crate::count`]
//! compares each one's verdicts with the policy and reports differences.

use std::fmt;

use sysfence_cbpf::Insn;
use sysfence_cbpf::program::Program;

#[cfg(feature = "libseccomp")]
pub mod libseccomp;
pub mod low_word;
pub mod minijail;
#[cfg(feature = "libseccomp")]
pub mod runc;
pub mod seccompiler;
pub mod sysfence;

/// A compiler and layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Compiler {
    /// sysfence, `--layout linear`.
    SysfenceLinear,
    /// sysfence, `--layout tree`.
    SysfenceTree,
    /// sysfence, `--layout weighted`, weighted by the mix being measured.
    SysfenceWeighted,
    /// seccompiler 0.5.
    Seccompiler,
    /// libseccomp, `SCMP_FLTATR_CTL_OPTIMIZE` 1 (priority-sorted list).
    LibseccompLinear,
    /// libseccomp, `SCMP_FLTATR_CTL_OPTIMIZE` 2 (binary tree).
    LibseccompTree,
}

impl Compiler {
    /// Every compiler this build can run, sysfence first.
    pub fn available() -> &'static [Compiler] {
        if cfg!(feature = "libseccomp") {
            &[
                Compiler::SysfenceLinear,
                Compiler::SysfenceTree,
                Compiler::SysfenceWeighted,
                Compiler::Seccompiler,
                Compiler::LibseccompLinear,
                Compiler::LibseccompTree,
            ]
        } else {
            &[
                Compiler::SysfenceLinear,
                Compiler::SysfenceTree,
                Compiler::SysfenceWeighted,
                Compiler::Seccompiler,
            ]
        }
    }

    /// The label used in tables and JSON.
    pub fn label(self) -> &'static str {
        match self {
            Compiler::SysfenceLinear => "sysfence linear",
            Compiler::SysfenceTree => "sysfence tree",
            Compiler::SysfenceWeighted => "sysfence weighted",
            Compiler::Seccompiler => "seccompiler",
            Compiler::LibseccompLinear => "libseccomp linear",
            Compiler::LibseccompTree => "libseccomp tree",
        }
    }

    /// Whether this is one of sysfence's layouts.
    pub fn is_sysfence(self) -> bool {
        matches!(
            self,
            Compiler::SysfenceLinear | Compiler::SysfenceTree | Compiler::SysfenceWeighted
        )
    }
}

impl fmt::Display for Compiler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// One compiled program.
#[derive(Clone, Debug)]
pub struct Built {
    /// Who compiled it.
    pub compiler: Compiler,
    /// The validated program.
    pub program: Program,
    /// What the compiler could not express, one line each.
    pub notes: Vec<String>,
}

/// Why a compiler could not produce a program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerError {
    /// The compiler.
    pub compiler: Compiler,
    /// What went wrong, lower case.
    pub message: String,
}

impl PeerError {
    pub(crate) fn new(compiler: Compiler, message: impl fmt::Display) -> PeerError {
        PeerError {
            compiler,
            message: message.to_string(),
        }
    }
}

impl fmt::Display for PeerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.compiler, self.message)
    }
}

impl std::error::Error for PeerError {}

/// Validates a peer's raw output with sysfence's kernel-exact validator.
pub(crate) fn validated(
    compiler: Compiler,
    insns: &[Insn],
    notes: Vec<String>,
) -> Result<Built, PeerError> {
    let program = Program::new(insns)
        .map_err(|e| PeerError::new(compiler, format!("program rejected: {e}")))?;
    Ok(Built {
        compiler,
        program,
        notes,
    })
}
