//! The exact engine: the proof that Docker's compiled default profile
//! equals its policy (both diagrams built in a fresh store, then compared,
//! as every compile does), next to the compile with and without it; and
//! `equiv` of random programs of up to 200 instructions (ALU, scratch
//! memory, X jumps) against a one-instruction mutant, with the distribution
//! over 1,000 pairs printed first.
//!
//! Without the shared corpus the Docker part prints why and is skipped.

use std::hint::black_box;
use std::time::Instant;

use criterion::Criterion;
use sysfence_benches::set::{docker, shared_dir};
use sysfence_cbpf::generate::{self, Rng};
use sysfence_cbpf::interp::ShiftMode;
use sysfence_cbpf::program::Program;
use sysfence_compile::{Config, compile};
use sysfence_exact::compare::{DEFAULT_BUDGET, Verdict, equiv};
use sysfence_exact::subject::Subject;
use sysfence_testkit::insn::mutate;

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

/// Random programs of up to 200 instructions (ALU, scratch memory, X jumps),
/// each with a one-instruction mutant that still validates.
fn random_pairs(n: usize) -> Vec<(Program, Program)> {
    let mut rng = Rng::new(200);
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let p = Program::new(&generate::valid_program(&mut rng, 200)).unwrap();
        if let Some(m) = mutate(&mut rng, &p) {
            out.push((p, m));
        }
    }
    out
}

fn equiv_pair(p: &Program, m: &Program, budget: usize) -> Verdict {
    let a = Subject::Program(p.clone(), ShiftMode::Mask31);
    let b = Subject::Program(m.clone(), ShiftMode::Mask31);
    equiv(&a, &b, budget).unwrap()
}

/// One timed `equiv` per pair: median, mean, p90 and the undecided rate,
/// printed once (criterion gives the steady-state figure below).
fn random_distribution(pairs: &[(Program, Program)]) {
    let mut times = Vec::with_capacity(pairs.len());
    let (mut undecided, mut differ) = (0, 0);
    for (p, m) in pairs {
        let start = Instant::now();
        match equiv_pair(p, m, DEFAULT_BUDGET) {
            Verdict::Undecided { .. } => undecided += 1,
            Verdict::No(_) => differ += 1,
            Verdict::Yes => {}
        }
        times.push(start.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    let n = times.len();
    let mean = times.iter().sum::<f64>() / n as f64;
    eprintln!(
        "random-200 equiv against a mutant, {n} pairs: median {:.2} ms, mean {mean:.2} ms, \
         p90 {:.2} ms, max {:.1} ms; {differ} differ, {undecided} undecided",
        times[n / 2],
        times[n * 9 / 10],
        times[n - 1]
    );
}

fn random_equiv(c: &mut Criterion) {
    let pairs = random_pairs(1000);
    random_distribution(&pairs);
    let mut i = 0;
    c.bench_function("random-200/equiv-mutant", |b| {
        b.iter(|| {
            let (p, m) = &pairs[i % pairs.len()];
            i += 1;
            black_box(equiv_pair(p, m, DEFAULT_BUDGET))
        })
    });
}

/// `diff` of Docker's default profile compiled by sysfence (runc context,
/// x86_64) and by libseccomp (tree layout): both diagrams in a fresh store
/// and every region (`benches/tests/libseccomp_diff.rs` checks the regions).
#[cfg(feature = "libseccomp")]
fn libseccomp_diff(c: &mut Criterion) {
    use sysfence_benches::peers::libseccomp::{Layout as PeerLayout, compile as peer};
    use sysfence_exact::compare::diagrams;
    use sysfence_exact::diff::regions;
    use sysfence_exact::store::Store;
    use sysfence_profile::arch::Arch;
    use sysfence_profile::{HostContext, LoadOptions, load};
    let Some(shared) = shared_dir() else {
        return;
    };
    let text = std::fs::read(shared.join("corpus/third-party/moby/default.json")).unwrap();
    let opts = LoadOptions {
        context: HostContext::default().with_arches(&[Arch::X86_64]),
        ..LoadOptions::default()
    };
    let runc = load(&text, &opts).unwrap().policy;
    let ours = compile(&runc, &Config::new().arches(vec![Arch::X86_64]))
        .unwrap()
        .into_program();
    let plain = docker(&shared).expect("docker profile");
    let theirs = peer(
        plain.arch_policy(),
        plain.policy.bad_arch(),
        PeerLayout::Tree,
    )
    .unwrap()
    .program;
    let a = Subject::Program(ours, ShiftMode::Mask31);
    let b = Subject::Program(theirs, ShiftMode::Mask31);
    c.bench_function("docker-default/diff-libseccomp", |bench| {
        bench.iter(|| {
            let mut s = Store::new(DEFAULT_BUDGET);
            let (x, y) = diagrams(&mut s, &a, &b).unwrap();
            black_box(regions(&s, x, y, 1000))
        })
    });
}

#[cfg(not(feature = "libseccomp"))]
fn libseccomp_diff(_: &mut Criterion) {
    eprintln!("exact bench: libseccomp diff needs the `libseccomp` feature");
}

fn main() {
    let mut c = Criterion::default()
        .sample_size(20)
        .measurement_time(std::time::Duration::from_secs(3))
        .configure_from_args();
    docker_proof(&mut c);
    libseccomp_diff(&mut c);
    random_equiv(&mut c);
    c.final_summary();
}
