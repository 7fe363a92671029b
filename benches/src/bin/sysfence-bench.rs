//! `sysfence-bench [--json] [--svg DIR] [--kernel] [--compile-runs N]`: the
//! side-by-side tables of filter evaluation cost. `--crosvm` prints instead
//! the table of crosvm's minijail policies against minijail's compiler
//! (with `--svg DIR`, its chart as `DIR/crosvm.svg`).
//!
//! Reads the shared corpus (`../shared` next to the repository, or
//! `$SYSFENCE_SHARED`) and `corpus/profiles/`, compiles every profile with
//! every compiler this build has (`--features libseccomp` adds libseccomp),
//! and prints Markdown tables (or, with `--json`, one JSON document). `--svg
//! DIR` writes the charts; `--kernel` also times real syscalls under each
//! filter (Linux). Without the shared corpus it runs on what the repository
//! has — the profiles of `corpus/profiles/` and the mixes of
//! `corpus/traces/` (`*strace-c.txt`, and `*.weights` files written by
//! `sysfence record --weights`) — and says on standard error what it left
//! out. Exit status 2 on bad arguments or an unreadable input. Compiles are
//! timed on a steady heap (`sysfence_benches::heap`), `--compile-runs N`
//! rounds (default 15) with the compilers taking turns
//! (`sysfence_benches::timing`).

use std::path::PathBuf;
use std::process::ExitCode;

use sysfence_benches::charts::{crosvm_bars, per_nr_lines, weighted_bars};
use sysfence_benches::mixes::{Mix, load_dir};
use sysfence_benches::report::{Options, Results, run_all};
use sysfence_benches::set::{Case, all, repo_dir, repo_only, shared_dir};
use sysfence_benches::targets;
use sysfence_linux::kernel_time::Config as KernelConfig;
use sysfence_linux::progress::Progress;
use sysfence_profile::Arch;

/// Cases that also get the per-number chart.
const PER_NR_CHARTS: [&str; 2] = ["docker-default", "firecracker-vcpu"];

struct Args {
    json: bool,
    svg: Option<PathBuf>,
    kernel: bool,
    compile_runs: u32,
    crosvm: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        json: false,
        svg: None,
        kernel: false,
        compile_runs: 15,
        crosvm: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--json" => args.json = true,
            "--kernel" => args.kernel = true,
            "--crosvm" => args.crosvm = true,
            "--svg" => args.svg = Some(it.next().ok_or("--svg needs a directory")?.into()),
            "--compile-runs" => {
                let n = it.next().ok_or("--compile-runs needs a number")?;
                args.compile_runs = n
                    .parse()
                    .map_err(|_| format!("--compile-runs: not a number: {n:?}"))?;
            }
            "-h" | "--help" => {
                return Err(
                    "usage: sysfence-bench [--json] [--svg DIR] [--kernel] [--compile-runs N] [--crosvm]"
                        .into(),
                );
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(args)
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sysfence-bench: {e}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<(), String> {
    let args = parse_args()?;
    sysfence_benches::heap::steady();
    if args.crosvm {
        let shared = shared_dir().ok_or(
            "--crosvm needs the shared corpus: set SYSFENCE_SHARED or place it at ../shared",
        )?;
        // minijail is an optional peer: without python3 the table is skipped.
        let progress = Progress::start("compiling crosvm's policies with sysfence and minijail");
        let rows = sysfence_benches::crosvm::run(&shared);
        progress.finish();
        match rows {
            Ok(rows) => {
                print!("{}", sysfence_benches::crosvm::markdown(&rows));
                if let Some(dir) = &args.svg {
                    write_svg(dir, "crosvm.svg", crosvm_bars(&rows))?;
                }
            }
            Err(e) => println!("crosvm table skipped: {e}"),
        }
        return Ok(());
    }
    let (cases, mut mixes) = inputs()?;
    mixes.push(Mix::uniform(Arch::X86_64));
    let options = Options {
        kernel: args.kernel.then(KernelConfig::default),
        compile_runs: args.compile_runs,
    };
    let progress = Progress::start("compiling and measuring every profile with every compiler");
    let results = run_all(&cases, &mixes, &options);
    progress.finish();
    let checked = targets::check(&results);
    if args.json {
        let doc = serde_json::json!({ "results": results, "targets": checked });
        println!(
            "{}",
            serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?
        );
    } else {
        print!("{}", results.markdown());
        println!("### Targets\n\n{}", targets::markdown(&checked));
        if let Some(pinned) = results.pinned("docker-default") {
            println!("### Pinned figures\n\n{pinned}");
        }
    }
    if let Some(dir) = &args.svg {
        write_charts(&results, dir)?;
    }
    Ok(())
}

/// The cases and mixes: the shared corpus's when it is there, else the
/// repository's own, with what was left out on standard error.
fn inputs() -> Result<(Vec<Case>, Vec<Mix>), String> {
    if let Some(shared) = shared_dir() {
        let cases = all(&shared).map_err(|e| e.to_string())?;
        let mixes = load_dir(&shared.join("corpus/workloads")).map_err(|e| e.to_string())?;
        return Ok((cases, mixes));
    }
    let (cases, left_out) = repo_only();
    let mixes = load_dir(&repo_dir().join("corpus/traces")).map_err(|e| e.to_string())?;
    eprintln!(
        "sysfence-bench: no shared corpus (set SYSFENCE_SHARED or place it at ../shared): \
         left out Docker's default profile, Firecracker's vmm/api/vcpu filters and the \
         workload mixes of corpus/workloads; measuring {} profiles of corpus/profiles and \
         {} mixes of corpus/traces",
        cases.len(),
        mixes.len()
    );
    for why in left_out {
        eprintln!("sysfence-bench: left out {why}");
    }
    Ok((cases, mixes))
}

fn write_charts(results: &Results, dir: &std::path::Path) -> Result<(), String> {
    for case in &results.cases {
        let name = format!("weighted-{}.svg", case.name);
        write_svg(dir, &name, weighted_bars(case, &results.mixes))?;
        if PER_NR_CHARTS.contains(&case.name.as_str()) {
            write_svg(
                dir,
                &format!("per-nr-{}.svg", case.name),
                per_nr_lines(case),
            )?;
        }
    }
    Ok(())
}

/// Writes one chart into `dir` (made if missing).
fn write_svg(
    dir: &std::path::Path,
    name: &str,
    svg: Result<String, sysfence_benches::charts::ChartError>,
) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let path = dir.join(name);
    std::fs::write(&path, svg.map_err(|e| e.to_string())?)
        .map_err(|e| format!("{}: {e}", path.display()))
}
