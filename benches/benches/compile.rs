//! Compile time: sysfence's layouts against seccompiler and (with the
//! `libseccomp` feature) libseccomp, on every profile of the benchmark set
//! (Docker's default, Firecracker's vmm/api/vcpu filters, vmm-args). Each
//! compiler starts from what it would be handed (the loaded policy; for
//! seccompiler on Firecracker, the JSON text) and ends with a program in
//! memory (libseccomp: exported through a file). sysfence is timed with its
//! built-in check, the exact proof (the default), and with the check off;
//! the tree layout also with the sampled check instead of the proof.
//!
//! Every compile is timed on a steady heap (`sysfence_benches::heap`).
//!
//! Without the shared corpus the bench prints why and does nothing.

use std::hint::black_box;
use std::time::Duration;

use criterion::Criterion;
use sysfence_benches::mixes::{Mix, load_dir};
use sysfence_benches::peers::{Compiler, sysfence};
use sysfence_benches::report::build;
use sysfence_benches::set::{Case, all, shared_dir};
use sysfence_compile::Check;

fn cases() -> Option<(Vec<Case>, Vec<Mix>)> {
    let Some(shared) = shared_dir() else {
        eprintln!("compile bench skipped: no shared corpus (../shared or $SYSFENCE_SHARED)");
        return None;
    };
    let cases = match all(&shared) {
        Ok(cases) => cases,
        Err(e) => {
            eprintln!("compile bench skipped: {e}");
            return None;
        }
    };
    let mixes = load_dir(&shared.join("corpus/workloads")).unwrap_or_default();
    Some((cases, mixes))
}

fn main() {
    let Some((cases, mixes)) = cases() else {
        return;
    };
    sysfence_benches::heap::steady();
    let nginx = mixes.iter().find(|m| m.name() == "nginx").map(Mix::weights);
    let mut c = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    for case in &cases {
        let mut group = c.benchmark_group(format!("compile/{}", case.name));
        for &compiler in Compiler::available() {
            let weights = if compiler == Compiler::SysfenceWeighted {
                nginx
            } else {
                None
            };
            if build(case, compiler, weights).is_err() {
                eprintln!("{}: {} fails on this case; not timed", case.name, compiler);
                continue;
            }
            let Some(config) = sysfence::config(compiler, weights) else {
                group.bench_function(compiler.label(), |b| {
                    b.iter(|| black_box(build(case, compiler, weights)))
                });
                continue;
            };
            // sysfence is handed a built config, as the check-off runs are.
            group.bench_function(compiler.label(), |b| {
                b.iter(|| black_box(sysfence_compile::compile(&case.policy, &config).is_ok()))
            });
            let mut variants = vec![("check off", Check::Off)];
            if compiler == Compiler::SysfenceTree {
                variants.push(("sampled check", Check::Sampled));
            }
            for (name, check) in variants {
                let config = config.clone().check_with(check);
                let label = format!("{} ({name})", compiler.label());
                group.bench_function(label, |b| {
                    b.iter(|| black_box(sysfence_compile::compile(&case.policy, &config).is_ok()))
                });
            }
        }
        group.finish();
    }
    c.final_summary();
}
