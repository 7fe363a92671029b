//! `sysfence cost PROFILE`: what the compiled program costs per syscall,
//! for each layout and each syscall mix, next to the bounds.
//!
//! For each layout (all three unless `--layout` is given; the weighted one
//! is compiled once per mix, for that mix) it prints the program length and,
//! per arch: worst and mean instructions over always-allowed, denied and
//! argument-checked numbers, the share of numbers the kernel cache serves,
//! and per mix the weighted mean (and the same with the calls the cache
//! serves costing nothing) beside the entropy bound and the optimal
//! alphabetic tree. `--cache-aware` compiles the weighted layout for the
//! calls the cache does not serve. `--json` prints the same as JSON lines.
//! Exit status: 0, 1 when a compile fails its check, 2 for bad input.

use std::path::PathBuf;

use sysfence_compile::cost::{ProgramCost, measure};
use sysfence_compile::{Config, Layout, Weights, compile};

use crate::cmd::compile::{
    failure, parse_arches, profile_weights, read_weights, warn_without_cache,
};
use crate::cmd::context::ContextArgs;
use crate::failure::{Failure, Outcome};

/// Arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The profile (`-` for standard input).
    profile: PathBuf,
    /// Build the filter the runtime would build with only this arch
    /// (repeat; default: every arch of the profile).
    #[arg(long = "arch", value_name = "ARCH")]
    arches: Vec<String>,
    /// A syscall mix (repeat).
    #[arg(long, value_name = "FILE")]
    weights: Vec<PathBuf>,
    /// Compile the weighted layout for the calls that run the filter on a
    /// kernel with the action cache (Linux 5.11+), leaving out the calls
    /// the profile always allows.
    #[arg(long)]
    cache_aware: bool,
    /// A layout to measure (repeat; default: all).
    #[arg(long, value_name = "LAYOUT")]
    layout: Vec<String>,
    /// JSON lines instead of text.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    context: ContextArgs,
}

/// Runs the verb.
pub fn run(args: Args) -> Outcome {
    let loaded = crate::cmd::compile::load(&args.context, &args.arches, &args.profile)?;
    let mut mixes: Vec<(String, Weights)> = args
        .weights
        .iter()
        .map(|p| Ok((mix_name(p), read_weights(p)?)))
        .collect::<Result<_, Failure>>()?;
    if let (true, Some(w)) = (mixes.is_empty(), profile_weights(&loaded)) {
        mixes.push(("@frequency".to_string(), w));
    }
    let layouts = layouts(&args.layout)?;
    let mut base = Config::new().cache_aware(args.cache_aware);
    warn_without_cache(&args.context, &base)?;
    if !args.arches.is_empty() {
        base = base.arches(parse_arches(&args.arches)?);
    }
    let policy = &loaded.policy;
    let _progress = sysfence_linux::progress::Progress::start("compiling every layout");
    for layout in layouts {
        let weightings: Vec<Option<&(String, Weights)>> =
            if layout == Layout::Weighted && !mixes.is_empty() {
                mixes.iter().map(Some).collect()
            } else {
                vec![None]
            };
        for w in weightings {
            let mut config = base.clone().layout(layout);
            if let Some((_, weights)) = w {
                config = config.weights(weights.clone());
            }
            let compiled = compile(policy, &config).map_err(failure)?;
            let cost = measure(
                compiled.policy(),
                compiled.program(),
                compiled.order(),
                &mixes,
            );
            let label = match w {
                Some((name, _)) => format!("{}:{name}", layout.name()),
                None => layout.name().to_string(),
            };
            print(&label, &cost, args.json);
        }
    }
    Ok(0)
}

fn mix_name(p: &std::path::Path) -> String {
    let file = p
        .file_name()
        .map_or_else(String::new, |f| f.to_string_lossy().into_owned());
    file.split('.').next().unwrap_or(&file).to_string()
}

fn layouts(names: &[String]) -> Result<Vec<Layout>, Failure> {
    if names.is_empty() {
        return Ok(Layout::ALL.to_vec());
    }
    names
        .iter()
        .map(|n| {
            Layout::from_name(n)
                .ok_or_else(|| Failure::input(format!("--layout: unknown layout \"{n}\"")))
        })
        .collect()
}

fn print(label: &str, c: &ProgramCost, json: bool) {
    for a in &c.arches {
        let mixes: Vec<String> = a
            .mixes
            .iter()
            .map(|m| {
                if json {
                    format!(
                        "{{\"mix\": \"{}\", \"calls\": {}, \"mean\": {:.3}, \"cache_aware\": {:.3}, \"entropy_bound\": {:.3}, \"optimal_tree\": {:.3}}}",
                        m.name, m.calls, m.mean, m.cache_aware, m.entropy_bound, m.optimal_tree
                    )
                } else {
                    format!(
                        "{} {:.2} (cache-aware {:.2}, entropy {:.2}, optimal {:.2})",
                        m.name, m.mean, m.cache_aware, m.entropy_bound, m.optimal_tree
                    )
                }
            })
            .collect();
        if json {
            println!(
                "{{\"layout\": \"{label}\", \"length\": {}, \"arch\": \"{}\", \"intervals\": {}, \
                 \"allowed\": {{\"count\": {}, \"worst\": {}, \"mean\": {:.3}}}, \
                 \"denied\": {{\"count\": {}, \"worst\": {}, \"mean\": {:.3}}}, \
                 \"arg_checked\": {{\"count\": {}, \"worst\": {}, \"mean\": {:.3}}}, \
                 \"cached_share\": {:.4}, \"mixes\": [{}]}}",
                c.length,
                a.name,
                a.intervals,
                a.allowed.count,
                a.allowed.worst,
                a.allowed.mean,
                a.denied.count,
                a.denied.worst,
                a.denied.mean,
                a.arg_checked.count,
                a.arg_checked.worst,
                a.arg_checked.mean,
                a.cached_share,
                mixes.join(", ")
            );
        } else {
            println!(
                "{label:<16} {:>5} insns  {:<12} {:>3} intervals  allowed worst {:>3} mean {:>6.2}  denied worst {:>3} mean {:>6.2}  \
                 args worst {:>3}  cached {:>5.1}%  {}",
                c.length,
                a.name,
                a.intervals,
                a.allowed.worst,
                a.allowed.mean,
                a.denied.worst,
                a.denied.mean,
                a.arg_checked.worst,
                a.cached_share * 100.0,
                mixes.join("; ")
            );
        }
    }
}
