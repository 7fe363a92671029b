//! `sysfence lint PROFILE [context flags]`: every warning (and, with
//! `--notes`, every note) about a profile, with source excerpts, then a
//! one-line summary of what the runtime would enforce.
//!
//! `--quiet` prints the summary line alone. `--json` prints one object instead: `file`, `format`, `loader`,
//! `host_arch`, `arches`, `unconfined`, `syscall_numbers_with_rules`,
//! `warnings`, `notes` and `diagnostics` (each with `severity`, `message`,
//! `origin` {`file`, `line`, `column`, `path`} and `related`).
//!
//! Exit status: 0 when the profile loads (warnings or not; 1 with
//! `--deny-warnings` and a warning), 2 on an error (printed with its
//! excerpt).

use std::path::PathBuf;

use sysfence_profile::ir::Origin;
use sysfence_profile::{Diagnostic, Format, Severity};

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
    /// Print one JSON object instead (see `docs/guide.md` for the fields).
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    context: ContextArgs,
}

/// Runs the verb.
pub fn run(args: Args) -> Outcome {
    let (loaded, source) = args.context.load_silently(&args.profile)?;
    let ctx = args.context.host_context()?;
    let loader = match loaded.format {
        // Formats with their own loader; the others are a container
        // runtime's to load.
        Format::Seccompiler => "seccompiler".to_string(),
        Format::Minijail => "minijail".to_string(),
        _ => ctx.runtime.name().to_string(),
    };
    let name = crate::io::display_name(Some(&args.profile));
    let arches: Vec<String> = loaded
        .policy
        .arches()
        .iter()
        .map(|a| a.name.clone())
        .collect();
    let numbers: usize = loaded.policy.arches().iter().map(|a| a.rules.len()).sum();
    let warnings = crate::warnings::count(&loaded.warnings);
    let notes = loaded.warnings.len() - warnings;
    let out = if args.json {
        let diags: Vec<serde_json::Value> = loaded.warnings.iter().map(diagnostic).collect();
        let value = serde_json::json!({
            "file": name,
            "format": loaded.format.to_string(),
            "loader": loader,
            "host_arch": ctx.host_arch.name(),
            "arches": arches,
            "unconfined": arches.is_empty(),
            "syscall_numbers_with_rules": numbers,
            "warnings": warnings,
            "notes": notes,
            "diagnostics": diags,
        });
        format!("{value:#}\n")
    } else {
        let mut out = String::new();
        for d in &loaded.warnings {
            let shown = d.severity == Severity::Warning || args.notes;
            if shown && !args.context.warn.quiet {
                out.push_str(&d.render(&source));
            }
        }
        let what = if arches.is_empty() {
            "no filter (unconfined)".to_string()
        } else {
            arches.join(", ")
        };
        out.push_str(&format!(
            "{name}: {} profile for {loader} on {}: {what} ({numbers} syscall numbers with rules); {warnings} warning(s), {notes} note(s)\n",
            loaded.format, ctx.host_arch,
        ));
        out
    };
    crate::io::write_output(None, out.as_bytes())?;
    Ok(if args.context.warn.deny_warnings && warnings > 0 {
        1
    } else {
        0
    })
}

/// One diagnostic as JSON.
fn diagnostic(d: &Diagnostic) -> serde_json::Value {
    let origin = |o: &Origin| serde_json::json!({"file": o.file, "line": o.line, "column": o.column, "path": o.path});
    serde_json::json!({
        "severity": d.severity.to_string(),
        "message": d.message,
        "origin": origin(&d.origin),
        "related": d.related.as_ref().map(origin),
    })
}
