//! sysfence-compile: seccomp policies to classic BPF, without libseccomp,
//! checked against the policy on every compile.
//!
//! # Pipeline
//!
//! ```text
//! profile text --sysfence_profile::load--> ir::Policy
//! ir::Policy + Config --select--> Selection (arches, bad-arch action)   (select.rs)
//! Selection --build_selected--> DecisionTree              (build.rs, args.rs, layout/)
//! DecisionTree --emit_from_tree--> labelled blocks --opt passes--> veneers --> Program   (emit/, opt/)
//! Program + Selection --proof / check--> CheckReport, or the witness of a difference     (proof.rs, check.rs)
//! ```
//!
//! [`compile`] chains the stages, selecting once: the tree and the check
//! read the same [`select::Selection`], so the bad-arch action the program
//! returns and the one it is checked against are one decision.
//! [`build_tree`] (select and build in one call) and [`emit_from_tree`] let
//! a caller enter or leave anywhere; [`compile_profile`] starts from profile
//! text. Every [`compile`] runs [`check::check`] unless the [`Config`] turns it
//! off, and refuses to return a program that differs from the policy's
//! reference evaluator on any tested input, or that leaves an always-allowed
//! syscall outside the kernel's action cache.
//!
//! # The program
//!
//! `ld [4]` once and one `jeq` per arch (foreign arches get the bad-arch
//! action); per arch `ld [0]` and a search over *intervals* of syscall
//! numbers (consecutive numbers with the same decision form one interval, so
//! size follows the number of runs, not of syscalls); argument checks only at
//! the leaves, 64-bit compares split into 32-bit words, value sets searched
//! as trees. Identical tails are shared; far jumps get veneers. See
//! `docs/compiler.md` for a worked example.
//!
//! # Layouts
//!
//! [`Layout::Linear`] (a chain in profile order, for comparison),
//! [`Layout::Tree`] (balanced by interval count, the default) and
//! [`Layout::Weighted`] (optimal alphabetic tree for a syscall mix, height at
//! most the balanced tree's plus 2, hot numbers tested first when cheaper).
//!
//! # Installing
//!
//! ```no_run
//! use sysfence_compile::{Config, compile_profile};
//! use sysfence_profile::LoadOptions;
//!
//! let text = std::fs::read("default.json")?;
//! let compiled = compile_profile(&text, &LoadOptions::default(), &Config::new())?;
//! let filter: seccompiler::BpfProgram = compiled
//!     .program()
//!     .insns()
//!     .iter()
//!     .map(|i| seccompiler::sock_filter { code: i.code, jt: i.jt, jf: i.jf, k: i.k })
//!     .collect();
//! seccompiler::apply_filter(&filter)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # What is not checked
//!
//! The check runs the program on a finite set of inputs derived from the
//! policy (every number up to past the table, −1, bit-30 numbers, interval
//! boundaries, each constant's neighbours per 32-bit word); it is a strong
//! test, not a proof. The profile front end decides what the policy means.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod args;
pub mod build;
pub mod check;
pub mod cost;
pub mod emit;
mod layout;
pub mod opt;
pub mod proof;
pub mod select;
pub mod tree;
mod values;
pub mod weights;

use std::fmt;

use sysfence_cbpf::program::Program;
use sysfence_profile::ir::{Action, Policy};

pub use build::build_tree;
pub use check::{CheckReport, Mismatch};
pub use emit::{EmitStats, emit_from_tree};
pub use tree::DecisionTree;
pub use weights::Weights;

/// How the syscall-number dispatch is laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Layout {
    /// A chain of `jeq` in the profile's order.
    Linear,
    /// A search tree balanced by interval count.
    #[default]
    Tree,
    /// An optimal alphabetic tree for the configured [`Weights`].
    Weighted,
}

impl Layout {
    /// Every layout, in the order reports list them.
    pub const ALL: [Layout; 3] = [Layout::Linear, Layout::Tree, Layout::Weighted];

    /// The name the command line uses.
    pub fn name(self) -> &'static str {
        match self {
            Layout::Linear => "linear",
            Layout::Tree => "tree",
            Layout::Weighted => "weighted",
        }
    }

    /// Reads a name as [`Layout::name`] prints it.
    pub fn from_name(s: &str) -> Option<Layout> {
        Layout::ALL.into_iter().find(|l| l.name() == s)
    }
}

/// Compiler settings: build with [`Config::new`] and the consuming setters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    layout: Layout,
    weights: Option<Weights>,
    cache_aware: bool,
    bad_arch: Option<Action>,
    arches: Option<Vec<sysfence_profile::arch::Arch>>,
    check: Check,
}

/// What every compile runs before it returns a program.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Check {
    /// The exact proof ([`proof::prove`]: the program's decision diagram is
    /// the policy's), then the per-number summary and kernel-cache check; the
    /// sampled check instead when the diagrams exceed the node budget.
    #[default]
    Proof,
    /// The sampled check ([`check::check_selected`]: the interpreter against
    /// the evaluator on boundary inputs), a second opinion for tests.
    Sampled,
    /// Nothing: the program is only validated.
    Off,
}

impl Default for Config {
    fn default() -> Config {
        Config::new()
    }
}

impl Config {
    /// Tree layout, no weights (every call of a mix counted), the policy's
    /// bad-arch action, every arch of the policy (the host's first), check
    /// on.
    pub fn new() -> Config {
        Config {
            layout: Layout::Tree,
            weights: None,
            cache_aware: false,
            bad_arch: None,
            arches: None,
            check: Check::Proof,
        }
    }

    /// Sets the layout.
    pub fn layout(mut self, layout: Layout) -> Config {
        self.layout = layout;
        self
    }

    /// Sets the syscall mix the weighted layout optimizes for.
    pub fn weights(mut self, weights: Weights) -> Config {
        self.weights = Some(weights);
        self
    }

    /// Counts only the calls of the mix that run the filter on a kernel
    /// with the action cache (Linux 5.11 and later): a number the policy
    /// always allows is served by the cache without running the filter
    /// (the check holds every such number of the arch's table to be a
    /// constant ALLOW for the cache), so the weighted layout spends its
    /// comparisons on the calls with argument checks and the denied ones
    /// (a mix the cache serves whole is kept as it is: every layout runs
    /// none of its calls there). The program decides the same either way;
    /// on an older kernel, or for calls of an arch the kernel does not
    /// cache (x32's), the always allowed calls may take longer paths than
    /// without it.
    pub fn cache_aware(mut self, on: bool) -> Config {
        self.cache_aware = on;
        self
    }

    /// Overrides the policy's action for foreign arches.
    pub fn bad_arch(mut self, action: Action) -> Config {
        self.bad_arch = Some(action);
        self
    }

    /// Emits only these arches' entries, in this dispatch order (see
    /// [`select`]: an entry holding x86_64 and x32 is taken whole; read
    /// the profile narrowed for one of them).
    pub fn arches(mut self, arches: Vec<sysfence_profile::arch::Arch>) -> Config {
        self.arches = Some(arches);
        self
    }

    /// Turns the check of every compile on (the default: [`Check::Proof`])
    /// or off.
    pub fn check(mut self, on: bool) -> Config {
        self.check = if on { Check::Proof } else { Check::Off };
        self
    }

    /// Sets what every compile runs to check the program.
    pub fn check_with(mut self, check: Check) -> Config {
        self.check = check;
        self
    }

    /// The layout.
    pub fn get_layout(&self) -> Layout {
        self.layout
    }

    /// The syscall mix, if any.
    pub fn get_weights(&self) -> Option<&Weights> {
        self.weights.as_ref()
    }

    /// Whether the mix counts only the calls the kernel's action cache does
    /// not serve ([`Config::cache_aware`]).
    pub fn get_cache_aware(&self) -> bool {
        self.cache_aware
    }

    /// The bad-arch override, if any.
    pub fn get_bad_arch(&self) -> Option<Action> {
        self.bad_arch
    }

    /// The selected arches, if restricted.
    pub fn get_arches(&self) -> Option<&[sysfence_profile::arch::Arch]> {
        self.arches.as_deref()
    }

    /// Whether every compile is checked.
    pub fn get_check(&self) -> bool {
        self.check != Check::Off
    }

    /// What every compile runs to check the program.
    pub fn get_check_with(&self) -> Check {
        self.check
    }
}

/// A compiled, validated (and unless turned off, checked) program.
#[derive(Clone, Debug)]
pub struct Compiled<'p> {
    program: Program,
    tree: DecisionTree,
    emit: EmitStats,
    check: Option<CheckReport>,
    selection: select::Selection<'p>,
}

impl Compiled<'_> {
    /// The policy the program implements (narrowed by `--arch`).
    pub fn policy(&self) -> &Policy {
        self.selection.policy()
    }

    /// The entries of the policy the program dispatches, in order.
    pub fn selection_entries(&self) -> Vec<&sysfence_profile::ir::ArchPolicy> {
        self.selection.entries().collect()
    }

    /// The AUDIT_ARCH values the program dispatches, in order.
    pub fn order(&self) -> &[u32] {
        self.selection.order()
    }

    /// The selection the program was built and checked from (its policy,
    /// dispatch order and bad-arch action).
    pub fn selection(&self) -> &select::Selection<'_> {
        &self.selection
    }

    /// The program.
    pub fn program(&self) -> &Program {
        &self.program
    }

    /// The decision DAG it came from (per-arch intervals in [`DecisionTree::arches`]).
    pub fn tree(&self) -> &DecisionTree {
        &self.tree
    }

    /// Figures from emission.
    pub fn emit_stats(&self) -> EmitStats {
        self.emit
    }

    /// The check's per-arch summary, when the check ran.
    pub fn check_report(&self) -> Option<&CheckReport> {
        self.check.as_ref()
    }

    /// The program alone, dropping the tree and the figures.
    pub fn into_program(self) -> Program {
        self.program
    }
}

/// Compiles a policy: [`select::select`] once (the arches and the bad-arch
/// action), then the tree, emission and the configured [`Check`], all of
/// that one selection.
pub fn compile<'p>(policy: &'p Policy, config: &Config) -> Result<Compiled<'p>, CompileError> {
    let selection = select::select(policy, config)?;
    let tree = build::build_selected(&selection, config)?;
    let (program, emit) = emit_from_tree(&tree)?;
    let check = run_check(&selection, &program, config.check)?;
    Ok(Compiled {
        program,
        tree,
        emit,
        check,
        selection,
    })
}

/// Runs `mode` on a program compiled from `selection`; `None` when it is
/// [`Check::Off`].
fn run_check(
    selection: &select::Selection<'_>,
    program: &Program,
    mode: Check,
) -> Result<Option<CheckReport>, CompileError> {
    let report = match mode {
        Check::Off => return Ok(None),
        Check::Sampled => check::check_selected(selection, program),
        Check::Proof => {
            let entries: Vec<_> = selection.entries().collect();
            match proof::prove(&entries, selection.bad_arch(), program)? {
                Ok(proved) => check::summarize(selection, program, Some(proved)),
                Err(proof::Unproved { .. }) => check::check_selected(selection, program),
            }
        }
    };
    report.map(Some).map_err(CompileError::mismatch)
}

/// Loads profile text with the profile front end, then [`compile`]s it.
pub fn compile_profile(
    text: &[u8],
    options: &sysfence_profile::LoadOptions,
    config: &Config,
) -> Result<Compiled<'static>, CompileError> {
    let loaded = sysfence_profile::load(text, options).map_err(CompileError::profile)?;
    let c = compile(&loaded.policy, config)?;
    Ok(Compiled {
        program: c.program,
        tree: c.tree,
        emit: c.emit,
        check: c.check,
        selection: c.selection.into_owned(),
    })
}

/// Why a compile failed.
#[derive(Debug)]
pub struct CompileError {
    kind: Box<ErrorKind>,
}

#[derive(Debug)]
enum ErrorKind {
    UnknownArch(u32),
    UnknownAbi(String, String),
    SharedEntry(String, String),
    TooLarge(usize),
    Mismatch(Mismatch),
    Profile(sysfence_profile::ProfileError),
    Internal(String),
}

impl CompileError {
    #[cold]
    pub(crate) fn unknown_arch(audit_arch: u32) -> CompileError {
        CompileError {
            kind: Box::new(ErrorKind::UnknownArch(audit_arch)),
        }
    }

    #[cold]
    pub(crate) fn unknown_abi(abi: &str, entry: &str) -> CompileError {
        CompileError {
            kind: Box::new(ErrorKind::UnknownAbi(abi.to_string(), entry.to_string())),
        }
    }

    #[cold]
    pub(crate) fn shared_entry(entry: &str, left_out: &str) -> CompileError {
        CompileError {
            kind: Box::new(ErrorKind::SharedEntry(
                entry.to_string(),
                left_out.to_string(),
            )),
        }
    }

    #[cold]
    pub(crate) fn too_large(len: usize) -> CompileError {
        CompileError {
            kind: Box::new(ErrorKind::TooLarge(len)),
        }
    }

    #[cold]
    pub(crate) fn mismatch(m: Mismatch) -> CompileError {
        CompileError {
            kind: Box::new(ErrorKind::Mismatch(m)),
        }
    }

    #[cold]
    pub(crate) fn profile(e: sysfence_profile::ProfileError) -> CompileError {
        CompileError {
            kind: Box::new(ErrorKind::Profile(e)),
        }
    }

    #[cold]
    pub(crate) fn internal(what: String) -> CompileError {
        CompileError {
            kind: Box::new(ErrorKind::Internal(what)),
        }
    }

    /// The program length, when the program was too large.
    pub fn too_large_len(&self) -> Option<usize> {
        match *self.kind {
            ErrorKind::TooLarge(n) => Some(n),
            _ => None,
        }
    }

    /// Whether the profile itself was refused (bad input, not a compiler
    /// failure).
    pub fn is_profile_error(&self) -> bool {
        matches!(*self.kind, ErrorKind::Profile(_))
    }

    /// Whether the request was bad input: the profile was refused, or an
    /// arch was asked for that the policy does not have.
    pub fn is_input_error(&self) -> bool {
        matches!(
            *self.kind,
            ErrorKind::Profile(_) | ErrorKind::UnknownArch(_) | ErrorKind::SharedEntry(..)
        )
    }

    /// The witness, when the check found a difference.
    pub fn witness(&self) -> Option<&Mismatch> {
        match &*self.kind {
            ErrorKind::Mismatch(m) => Some(m),
            _ => None,
        }
    }
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.kind {
            ErrorKind::UnknownArch(a) => write!(f, "arch {a:#010x} is not in the policy"),
            ErrorKind::UnknownAbi(abi, entry) => write!(
                f,
                "arch {abi} is not in the policy (its AUDIT_ARCH entry holds {entry} only)"
            ),
            ErrorKind::SharedEntry(entry, left_out) => write!(
                f,
                "the policy's entry {entry} also holds {left_out}, which was not asked for: read the profile narrowed to the asked arches (HostContext::arches, --arch)"
            ),
            ErrorKind::TooLarge(n) => {
                write!(
                    f,
                    "program of {n} instructions exceeds the kernel limit of {}",
                    sysfence_cbpf::limits::BPF_MAXINSNS
                )
            }
            ErrorKind::Mismatch(m) => write!(f, "compiler bug, program refused: {m}"),
            ErrorKind::Profile(e) => write!(f, "{e}"),
            ErrorKind::Internal(s) => write!(f, "compiler bug: {s}"),
        }
    }
}

impl std::error::Error for CompileError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &*self.kind {
            ErrorKind::Profile(e) => Some(e),
            _ => None,
        }
    }
}
