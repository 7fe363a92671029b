//! `sysfence lint PROFILE [context flags]`: every warning (and, with
//! `--notes`, every note) about a profile, with source excerpts, then a
//! one-line summary of what the runtime would enforce.
//!
//! Exit status: 0 when the profile loads (warnings or not), 2 on an error
//! (printed with its excerpt).

use std::path::PathBuf;

use sysfence_profile::{Format, Severity};

use crate::cmd::context::ContextArgs;
use crate::failure::Outcome;

/// Arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The profile (`-` for standard input).
    profile: PathBuf,
    /// Also print notes (rules left out on this host, redundant rules, ...).
    #[arg(long)]
    notes: bool,
    #[command(flatten)]
    context: ContextArgs,
}

/// Runs the verb.
pub fn run(args: Args) -> Outcome {
    let (loaded, source) = args.context.load_silently(&args.profile)?;
    let mut out = String::new();
    let (mut warnings, mut notes) = (0, 0);
    for d in &loaded.warnings {
        match d.severity {
            Severity::Warning => warnings += 1,
            Severity::Note => notes += 1,
        }
        if d.severity == Severity::Warning || args.notes {
            out.push_str(&d.render(&source));
        }
    }
    let arches: Vec<String> = loaded
        .policy
        .arches()
        .iter()
        .map(|a| a.name.clone())
        .collect();
    let numbers: usize = loaded.policy.arches().iter().map(|a| a.rules.len()).sum();
    let ctx = args.context.host_context()?;
    let loader = match loaded.format {
        Format::Seccompiler => "seccompiler".to_string(),
        _ => ctx.runtime.name().to_string(),
    };
    out.push_str(&format!(
        "{}: {} profile for {loader} on {}: {} ({} syscall numbers with rules); {warnings} warning(s), {notes} note(s)\n",
        crate::io::display_name(Some(&args.profile)),
        loaded.format,
        ctx.host_arch,
        if arches.is_empty() { "no filter (unconfined)".to_string() } else { arches.join(", ") },
        numbers,
    ));
    crate::io::write_output(None, out.as_bytes())?;
    Ok(0)
}
