//! `sysfence decompile PROG [--format docker|oci|seccompiler|minijail] [--constants FILE] [-o OUT]`:
//! any filter → a profile whose compiled meaning is proven equal to it.
//!
//! In: a raw or assembly program (a dump, libseccomp's or seccompiler's
//! output), `pid:N` (the process's stack of filters, combined as the
//! kernel combines them) or a profile (read with the default context).
//! The profile is written from the filter's decision diagram
//! (`sysfence_exact::decompile`), loaded back as the runtime would load it
//! and proven equal to the filter before it is printed. The context in
//! which the proof holds (crun, so no ENOSYS stub, unless only runc's stub
//! explains the filter; the host arch) goes to standard error as the
//! flags under which `sysfence equiv PROFILE PROG` holds too.
//!
//! Exit status: 0 proven and written; 1 the filter says what the format
//! cannot (each loss listed, and an input where the nearest profile
//! differs, replayed); 2 bad input, or undecided within the budget.

use std::path::PathBuf;

use sysfence_exact::compare::DEFAULT_BUDGET;
use sysfence_exact::decompile::prove::{DecompileError, decompile_with};
use sysfence_exact::decompile::render::OutFormat;
use sysfence_exact::witness::Named;
use sysfence_profile::minijail::constants::{self, ArchTable};

use crate::cmd::context::ContextArgs;
use crate::cmd::equiv::action;
use crate::failure::{Failure, Outcome};
use crate::io::write_output;
use crate::operand;

/// Output formats.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Docker/moby `seccomp.json`.
    Docker,
    /// An OCI `config.json` with `linux.seccomp`.
    Oci,
    /// seccompiler JSON (one category, `main`).
    Seccompiler,
    /// A minijail policy (one arch; read it with that arch's `constants.json`).
    Minijail,
}

/// Arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The filter: raw or assembly program, `pid:N`, or a profile.
    prog: String,
    /// The profile format to write.
    #[arg(long, value_enum, default_value = "docker")]
    format: Format,
    /// Write here instead of standard output.
    #[arg(short = 'o', long = "output")]
    output: Option<PathBuf>,
    /// minijail: the arch's `constants.json` the policy will be compiled
    /// with, which the proof reads it with (default: sysfence's own table
    /// of the arch, the kernel's names and numbers).
    #[arg(long)]
    constants: Option<PathBuf>,
    /// Node budget of the decision diagrams.
    #[arg(long, default_value_t = DEFAULT_BUDGET, value_parser = crate::cmd::equiv::budget)]
    budget: usize,
}

/// Runs the verb.
pub fn run(args: Args) -> Outcome {
    let subject = operand::read(&args.prog, &ContextArgs::default())?;
    let format = match args.format {
        Format::Docker => OutFormat::Docker,
        Format::Oci => OutFormat::Oci,
        Format::Seccompiler => OutFormat::Seccompiler,
        Format::Minijail => OutFormat::Minijail,
    };
    let table = match &args.constants {
        Some(path) => Some(read_constants(path)?),
        None => None,
    };
    let shown = args.constants.as_ref().map(|p| p.display().to_string());
    let constants = table.as_ref().zip(shown.as_deref());
    match decompile_with(&subject, format, args.budget, constants) {
        Ok(d) => {
            write_output(args.output.as_ref(), d.text.as_bytes())?;
            eprintln!(
                "sysfence: proven equal to {} when read with: {}",
                args.prog, d.flags
            );
            Ok(0)
        }
        Err(DecompileError::NotExpressible { lost, witness, .. }) => {
            let mut msg = format!("{}: not expressible as {}", args.prog, format.noun());
            for l in &lost {
                msg.push_str(&format!("\n  lost: {l}"));
            }
            if lost.is_empty() {
                msg.push_str(if witness.is_some() {
                    "\n  lost: nothing sysfence can name, but the proof found an input \
                     where the nearest profile and the filter differ"
                } else {
                    "\n  lost: no profile could be planned for the filter"
                });
            }
            if let Some(w) = witness {
                msg.push_str(&format!(
                    "\n  the nearest profile differs at {}: profile {}, filter {}",
                    Named(&w.data),
                    action(w.a),
                    action(w.b)
                ));
            }
            Err(Failure::negative(msg))
        }
        Err(e) => Err(Failure::input(format!("{}: {e}", args.prog))),
    }
}

/// A minijail `constants.json` (bad input is a located error, exit 2).
fn read_constants(path: &std::path::Path) -> Result<ArchTable, Failure> {
    let shown = path.display().to_string();
    let bytes = crate::io::read_input(Some(path))?;
    constants::parse(&bytes, &shown).map_err(|e| Failure::input(e.to_string()))
}
