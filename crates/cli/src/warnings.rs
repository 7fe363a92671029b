//! Profile warnings on every verb that reads a profile, as a compiler
//! prints them.
//!
//! In: the diagnostics of a loaded profile, its source text and the flags
//! `--quiet` and `--deny-warnings`. Out: on standard error, each warning
//! with its source excerpt (the first [`SHOWN`]; past that a summary line
//! with the count), then `Ok` — or, under `--deny-warnings` with at least
//! one warning, a [`Failure`] with exit status 1. Notes are not printed
//! here (`sysfence lint --notes` lists them). `--quiet` prints nothing but
//! does not change the exit status.

use sysfence_profile::{Diagnostic, Severity};

use crate::failure::Failure;

/// How many warnings are printed in full before the summary line.
pub const SHOWN: usize = 10;

/// The warning flags every profile verb takes.
#[derive(clap::Args, Debug, Clone, Copy, Default)]
pub struct WarnArgs {
    /// Print no profile warnings.
    #[arg(long)]
    pub quiet: bool,
    /// Treat profile warnings as errors: exit status 1 before anything runs.
    #[arg(long)]
    pub deny_warnings: bool,
}

/// Prints the warnings of `diags` and applies `--deny-warnings`.
pub fn report(
    diags: &[Diagnostic],
    source: &str,
    name: &str,
    flags: WarnArgs,
) -> Result<(), Failure> {
    let warnings: Vec<&Diagnostic> = diags
        .iter()
        .filter(|d| d.severity == Severity::Warning)
        .collect();
    if !flags.quiet {
        eprint!("{}", render(&warnings, source, name));
    }
    if flags.deny_warnings && !warnings.is_empty() {
        return Err(Failure::negative(format!(
            "{name}: {} warning(s) and --deny-warnings",
            warnings.len()
        )));
    }
    Ok(())
}

/// How many warnings (not notes) there are.
pub fn count(diags: &[Diagnostic]) -> usize {
    diags
        .iter()
        .filter(|d| d.severity == Severity::Warning)
        .count()
}

/// The text [`report`] prints: the first [`SHOWN`] warnings, then a summary.
pub fn render(warnings: &[&Diagnostic], source: &str, name: &str) -> String {
    let mut out = String::new();
    for d in warnings.iter().take(SHOWN) {
        out.push_str(&d.render(source));
    }
    if warnings.len() > SHOWN {
        out.push_str(&format!(
            "{name}: {} warnings, {SHOWN} shown (`sysfence lint` lists all; --quiet silences them)\n",
            warnings.len()
        ));
    }
    out
}
