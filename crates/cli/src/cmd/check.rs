//! `sysfence check PROFILE`: compile, prove the program's decision diagram
//! equal to the policy's, and print what the profile does per arch.
//!
//! The summary counts the numbers `0..=table_max` of each arch (all
//! arguments zero) that are allowed, fail with an errno, kill, or get
//! another action, how many depend on arguments and how many the kernel's
//! action cache serves. Exit status: 0 when the program and the policy agree
//! on every input, 1 with the witness when they do not, 2 for bad input.
//! Past the proof's node budget the sampled check decides, and the output
//! says so.

use std::path::PathBuf;

use sysfence_compile::compile;

use crate::cmd::compile::{Selection, failure};
use crate::cmd::context::ContextArgs;
use crate::failure::Outcome;

/// Arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The profile (`-` for standard input).
    profile: PathBuf,
    #[command(flatten)]
    select: Selection,
    #[command(flatten)]
    context: ContextArgs,
    /// Print one JSON object: `inputs`, `proved`, `instructions` and `arches` (each
    /// with `name`, `audit_arch`, `allowed`, `errno`, `killed`, `other`,
    /// `arg_checked`, `cached`).
    #[arg(long)]
    json: bool,
}

/// Runs the verb.
pub fn run(args: Args) -> Outcome {
    let loaded = crate::cmd::compile::load(&args.context, &args.select.arches, &args.profile)?;
    let config = args.select.config_for(&loaded)?.check(true);
    crate::cmd::compile::warn_without_cache(&args.context, &config)?;
    let progress = sysfence_linux::progress::Progress::start("compiling and checking");
    // The library's compile proves the program equal to the policy (or,
    // past the node budget, runs the sampled check) and refuses a program
    // that differs: reaching the report means there is no difference.
    let compiled = compile(&loaded.policy, &config).map_err(failure)?;
    progress.finish();
    let Some(report) = compiled.check_report() else {
        return Ok(0);
    };
    if args.json {
        let arches: Vec<serde_json::Value> = report
            .arches()
            .iter()
            .map(|s| {
                serde_json::json!({
                    "name": s.name, "audit_arch": s.audit_arch, "allowed": s.allowed,
                    "errno": s.errno, "killed": s.killed, "other": s.other,
                    "arg_checked": s.arg_checked, "cached": s.cached,
                })
            })
            .collect();
        let value = serde_json::json!({
            "inputs": report.inputs(),
            "proved": report.proof().is_some(),
            "instructions": compiled.program().len(),
            "arches": arches,
        });
        crate::io::write_output(None, format!("{value:#}\n").as_bytes())?;
        return Ok(0);
    }
    for s in report.arches() {
        println!(
            "{}: {} allowed, {} errno, {} killed, {} other; {} argument-checked; {} served by the kernel cache",
            s.name, s.allowed, s.errno, s.killed, s.other, s.arg_checked, s.cached
        );
    }
    match report.proof() {
        Some(p) => println!(
            "proof: the program equals the policy on every input ({} instructions, {} diagram nodes)",
            compiled.program().len(),
            p.nodes
        ),
        None => println!(
            "not proved within the node budget; no difference on {} sampled inputs ({} instructions)",
            report.inputs(),
            compiled.program().len()
        ),
    }
    Ok(0)
}
