//! Decompile and prove: the profile text is printed only once its meaning,
//! loaded as the runtime loads it, is proven equal to the filter.
//!
//! In: a [`Subject`] (any filter), the output format and a node budget.
//! Out: [`Decompiled`] (the text and the context it means the filter in),
//! or [`DecompileError`]: not expressible (the plan's notes, and a replayed
//! witness of the difference the proof found), undecided within the
//! budget, or a replay failure.
//!
//! Contexts tried, in order (Docker and OCI): crun (no ENOSYS stub), then
//! runc with its stub, each with the plan's first arch as host arch and
//! libseccomp 2.6.1; seccompiler and minijail: their one arch (a minijail
//! policy read with that arch's table as sysfence has it). The first
//! context in which the proof holds is the answer.

use sysfence_profile::arch::Arch;
use sysfence_profile::minijail::constants::ArchTable;
use sysfence_profile::{HostContext, LoadOptions, Loaded, ProfileError, Runtime, load};

use super::render::{OutFormat, render};
use super::{Plan, plans};
use crate::compare::{Verdict, equiv};
use crate::store::{OverBudget, Store};
use crate::subject::Subject;
use crate::witness::{ReplayError, Witness};

/// A proven decompilation.
#[derive(Clone, Debug)]
pub struct Decompiled {
    /// The profile text.
    pub text: String,
    /// The context in which it means the filter.
    pub context: HostContext,
    /// The same context as `sysfence` flags.
    pub flags: String,
    /// The plan it was written from.
    pub plan: Plan,
}

/// Why no profile was printed.
#[derive(Debug, thiserror::Error)]
pub enum DecompileError {
    /// The filter says what the format cannot (the notes), shown by a
    /// witness where the proof found one.
    #[error("not expressible as {}", .format.noun())]
    NotExpressible {
        /// The output format.
        format: OutFormat,
        /// What could not be said.
        lost: Vec<String>,
        /// An input where the best profile differs from the filter.
        witness: Option<Witness>,
    },
    /// The diagrams exceed the budget.
    #[error(transparent)]
    Budget(#[from] OverBudget),
    /// The proof could not decide.
    #[error("undecided within budget {0} nodes")]
    Undecided(usize),
    /// A witness did not replay.
    #[error(transparent)]
    Replay(#[from] ReplayError),
}

/// A minijail arch table given by the user: the table and its file.
pub type Constants<'a> = (&'a ArchTable, &'a str);

/// Decompiles `subject` into `format` and proves the result (a minijail
/// policy read with the plan's arch table as sysfence has it).
pub fn decompile(
    subject: &Subject,
    format: OutFormat,
    budget: usize,
) -> Result<Decompiled, DecompileError> {
    decompile_with(subject, format, budget, None)
}

/// [`decompile`], a minijail policy read with `constants` when given (the
/// arch's `constants.json` the policy will be compiled with).
pub fn decompile_with(
    subject: &Subject,
    format: OutFormat,
    budget: usize,
    constants: Option<Constants<'_>>,
) -> Result<Decompiled, DecompileError> {
    let mut s = Store::new(budget);
    let root = subject.diagram(&mut s)?;
    let candidates = plans(&s, root, format.dialect());
    drop(s);
    let mut failed: Option<(Vec<String>, Option<Witness>)> = None;
    for p in candidates {
        match attempt(subject, p, (format, constants), budget)? {
            Ok(d) => return Ok(d),
            Err(f) => {
                failed.get_or_insert(f);
            }
        }
    }
    let (lost, witness) = failed.unwrap_or_default();
    Err(DecompileError::NotExpressible {
        format,
        lost,
        witness,
    })
}

/// What one plan gives: the proven text, or its notes and a witness.
type Attempt = Result<Decompiled, (Vec<String>, Option<Witness>)>;

/// Renders one plan and proves it in each context in turn.
fn attempt(
    subject: &Subject,
    mut p: Plan,
    (format, constants): (OutFormat, Option<Constants<'_>>),
    budget: usize,
) -> Result<Attempt, DecompileError> {
    let text = render(&mut p, format);
    if !p.unwritable.is_empty() {
        p.lost.append(&mut p.unwritable);
        return Ok(Err((p.lost, None)));
    }
    let mut witness = None;
    for (context, mut flags) in contexts(&p, format) {
        if let Some((_, file)) = constants.filter(|_| format == OutFormat::Minijail) {
            flags = format!("--format minijail --constants {file}");
        }
        let opts = LoadOptions {
            format: Some(format.profile_format()),
            context: context.clone(),
            filter: None,
            file_name: "decompiled".into(),
            base_dir: None,
            include_dir: None,
            constants: None,
        };
        let loaded = match read(&text, &opts, &p, constants.map(|c| c.0)) {
            Ok(l) => l,
            Err(e) => {
                p.lost.push(format!(
                    "{flags}: the runtime refuses the profile: {}",
                    e.message()
                ));
                continue;
            }
        };
        match equiv(&Subject::Policy(loaded.policy), subject, budget)? {
            Verdict::Yes => {
                return Ok(Ok(Decompiled {
                    text,
                    context,
                    flags,
                    plan: p,
                }));
            }
            Verdict::No(w) => {
                witness.get_or_insert(w);
            }
            Verdict::Undecided { budget, .. } => return Err(DecompileError::Undecided(budget)),
        }
    }
    Ok(Err((p.lost, witness)))
}

/// The text loaded as the runtime loads it; a minijail policy with the
/// table given, else the plan's arch table built from sysfence's syscall
/// table (the kernel's names and numbers, as minijail's generated
/// `constants.json` has them).
fn read(
    text: &str,
    opts: &LoadOptions,
    p: &Plan,
    given: Option<&ArchTable>,
) -> Result<Loaded, ProfileError> {
    if opts.format != Some(sysfence_profile::Format::Minijail) {
        return load(text.as_bytes(), opts);
    }
    let arch = p.arches.first().copied().unwrap_or(Arch::X86_64);
    let own = ArchTable::for_arch(arch);
    let table = given.unwrap_or(&own);
    sysfence_profile::minijail::load_with_table(text.as_bytes(), opts, table)
}

/// The contexts to try, with their flags.
pub fn contexts(p: &Plan, format: OutFormat) -> Vec<(HostContext, String)> {
    let host = p
        .arches
        .first()
        .copied()
        .or_else(Arch::native)
        .unwrap_or(Arch::X86_64);
    let base = HostContext {
        host_arch: host,
        ..HostContext::default()
    };
    let fmt = match format {
        OutFormat::Docker => "docker",
        OutFormat::Oci => "oci",
        OutFormat::Seccompiler => "seccompiler",
        OutFormat::Minijail => {
            let flags = format!(
                "--format minijail, with {host}'s constants.json (the kernel's syscall numbers)"
            );
            return vec![(base, flags)];
        }
    };
    if format == OutFormat::Seccompiler {
        return vec![(base, format!("--format {fmt} --host-arch {host}"))];
    }
    let crun = HostContext {
        runtime: Runtime::Crun,
        enosys_stub: false,
        ..base.clone()
    };
    vec![
        (
            crun,
            format!("--format {fmt} --runtime crun --host-arch {host}"),
        ),
        (
            base,
            format!("--format {fmt} --runtime runc --host-arch {host}"),
        ),
    ]
}
