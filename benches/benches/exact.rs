//! The exact engine: the proof that Docker's compiled default profile
//! equals its policy (both diagrams built in a fresh store, then compared,
//! as every compile does), next to the compile with and without it; and `equiv` of random 200-instruction
//! programs with ALU against themselves re-built.
//!
//! Without the shared corpus the Docker part prints why and is skipped.

use std::hint::black_box;

use criterion::Criterion;
use sysfence_benches::set::{docker, shared_dir};
use sysfence_cbpf::generate::{self, Rng};
use sysfence_cbpf::interp::ShiftMode;
use sysfence_cbpf::program::Program;
use sysfence_compile::{Config, compile};
use sysfence_exact::compare::{DEFAULT_BUDGET, equiv};
use sysfence_exact::subject::Subject;

fn docker_proof(c: &mut Criterion) {
    let Some(shared) = shared_dir() else {
        eprintln!("exact bench: no shared corpus, Docker part skipped");
        return;
    };
    let policy = docker(&shared).expect("docker profile").policy;
    let off = Config::new().check(false);
    let prog = compile(&policy, &off).unwrap().into_program();
    c.bench_function("docker-default/compile (check off)", |b| {
        b.iter(|| compile(black_box(&policy), &off).unwrap())
    });
    let proof = Config::new();
    c.bench_function("docker-default/compile (proof)", |b| {
        b.iter(|| compile(black_box(&policy), &proof).unwrap())
    });
    let entries: Vec<_> = policy.arches().iter().collect();
    c.bench_function("docker-default/proof", |b| {
        b.iter(|| {
            let r = sysfence_compile::proof::prove(&entries, policy.bad_arch(), &prog);
            assert!(matches!(r, Ok(Ok(_))));
        })
    });
}

fn random_equiv(c: &mut Criterion) {
    let mut rng = Rng::new(200);
    let progs: Vec<Program> = (0..20)
        .map(|_| Program::new(&generate::valid_program(&mut rng, 200)).unwrap())
        .collect();
    let mut i = 0;
    c.bench_function("random-200/equiv", |b| {
        b.iter(|| {
            let p = &progs[i % progs.len()];
            i += 1;
            let a = Subject::Program(p.clone(), ShiftMode::Mask31);
            black_box(equiv(&a, &a, DEFAULT_BUDGET / 10).unwrap())
        })
    });
}

fn main() {
    let mut c = Criterion::default()
        .sample_size(20)
        .measurement_time(std::time::Duration::from_secs(3))
        .configure_from_args();
    docker_proof(&mut c);
    random_equiv(&mut c);
    c.final_summary();
}
