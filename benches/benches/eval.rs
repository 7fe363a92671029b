//! Interpreter time per evaluation of each compiler's program, on a
//! deterministic stream of 4,096 syscalls drawn from the nginx mix (allowed
//! arguments from the witness search), for Docker's default profile and
//! Firecracker's vCPU filter. Criterion's throughput is in evaluations, so
//! `elem/s` reads as evaluations per second; sysfence weighted is compiled
//! for the same mix.
//!
//! Without the shared corpus the bench prints why and does nothing.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput};
use sysfence_benches::mixes::{Mix, load_dir};
use sysfence_benches::peers::Compiler;
use sysfence_benches::report::build;
use sysfence_benches::set::{Case, docker, firecracker, shared_dir};
use sysfence_benches::witness::allowed_args;
use sysfence_cbpf::data::SeccompData;
use sysfence_cbpf::interp::run;

const STREAM: usize = 4096;

/// `STREAM` calls whose numbers follow `mix`, in a fixed pseudo-random order.
fn stream(case: &Case, mix: &Mix) -> Vec<SeccompData> {
    let ap = case.arch_policy();
    let counts = mix.counts(ap.audit_arch);
    let total: u64 = counts.values().sum();
    let mut calls = Vec::with_capacity(STREAM);
    for (&nr, &count) in &counts {
        let n = (count as u128 * STREAM as u128 / u128::from(total.max(1))) as usize;
        let mut data = SeccompData::new(ap.audit_arch, nr);
        data.args = allowed_args(ap, nr).unwrap_or([0; 6]);
        calls.extend(std::iter::repeat_n(data, n.max(1)));
    }
    // Fisher–Yates with a fixed LCG, so every run sees the same order.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for i in (1..calls.len()).rev() {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        calls.swap(i, (state >> 33) as usize % (i + 1));
    }
    calls
}

fn main() {
    let Some(shared) = shared_dir() else {
        eprintln!("eval bench skipped: no shared corpus (../shared or $SYSFENCE_SHARED)");
        return;
    };
    let (cases, mixes) = match (
        docker(&shared),
        firecracker(&shared, "vcpu"),
        load_dir(&shared.join("corpus/workloads")),
    ) {
        (Ok(d), Ok(v), Ok(m)) => (vec![d, v], m),
        _ => {
            eprintln!("eval bench skipped: the corpus did not load");
            return;
        }
    };
    let Some(nginx) = mixes.iter().find(|m| m.name() == "nginx") else {
        eprintln!("eval bench skipped: no nginx mix");
        return;
    };
    let mut c = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    for case in &cases {
        let calls = stream(case, nginx);
        let mut group = c.benchmark_group(format!("eval/{}/nginx", case.name));
        group.throughput(Throughput::Elements(calls.len() as u64));
        for &compiler in Compiler::available() {
            let Ok(built) = build(case, compiler, Some(nginx.weights())) else {
                continue;
            };
            group.bench_function(compiler.label(), |b| {
                b.iter(|| {
                    calls
                        .iter()
                        .map(|d| run(&built.program, black_box(d)).raw)
                        .fold(0u32, u32::wrapping_add)
                })
            });
        }
        group.finish();
    }
    c.final_summary();
}
