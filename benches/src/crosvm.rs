//! crosvm's minijail policies: sysfence against minijail's own compiler.
//!
//! In: the shared corpus's `crosvm/x86_64` folder. Every `*_device*.policy`
//! is compiled by sysfence (`weighted`, weighted by the policy's own
//! `@frequency` counts when it has them, else by a uniform mix over the
//! syscalls it lists), once more `weighted` for the calls the kernel's
//! action cache does not serve ([`CACHE_AWARE`]), and by minijail (`bst`
//! and `linear`, one Python process each), and by sysfence's `tree` layout
//! as a second reference.
//! Each program runs in sysfence's interpreter; each call of
//! the mix gets the arguments the policy allows, the cost of a call being
//! the mean over its allowed alternatives (one per ALLOW rule), so neither
//! compiler's test order picks the alternative. Out: per program the
//! weighted mean, the same with the calls the kernel's action cache serves
//! costing nothing (the cache-aware mean: on Linux 5.11 and later those
//! calls run no instruction of the filter), the worst allowed path, the
//! length, the numbers the cache serves, and the compile time (the fastest of
//! [`RUNS`] runs, each compiler measured in the same run of the binary;
//! sysfence's counts reading the policy, its includes and `constants.json`,
//! as the Python process does), with
//! sysfence's compile time over each minijail process's per policy and a
//! [`summary`] over every policy.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use sysfence_cbpf::interp::{self, cache};
use sysfence_cbpf::program::Program;
use sysfence_cbpf::{Endian, Insn, SeccompData};
use sysfence_compile::{Config, Layout, Weights, compile};
use sysfence_profile::ir::ArchPolicy;
use sysfence_profile::{LoadOptions, load_file};

use crate::peers::minijail::{Minijail, stage};
use crate::witness::allowed_alternatives;

/// Compile runs per program; the fastest counts (the machine may be busy).
pub const RUNS: usize = 3;

/// sysfence's weighted layout compiled for the calls the kernel's action
/// cache does not serve ([`Config::cache_aware`]).
pub const CACHE_AWARE: &str = "sysfence weighted, cache-aware";

/// One program's figures.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Figures {
    /// Who compiled it.
    pub compiler: String,
    /// Instructions per call, weighted by the mix.
    pub mean: f64,
    /// The mean split into the prologue (up to and including `ld [0]`),
    /// the number dispatch (up to the first argument load), the argument
    /// checks and the `ret`.
    pub split: [f64; 4],
    /// The longest path of an allowed call.
    pub worst: u32,
    /// Program length.
    pub length: usize,
    /// Syscall numbers the kernel's action cache serves.
    pub cached: usize,
    /// Instructions per call on a kernel with the action cache (5.11 and
    /// later), weighted by the mix: a call the cache serves runs no
    /// instruction of the filter.
    pub cache_aware: f64,
    /// Compile time, the fastest of [`RUNS`] runs.
    pub compile: Duration,
}

/// One policy's row.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Row {
    /// The policy's file name.
    pub policy: String,
    /// `@frequency` or `uniform`.
    pub mix: String,
    /// sysfence weighted, sysfence tree, minijail bst, minijail linear.
    pub programs: Vec<Figures>,
}

impl Row {
    /// The figures of one compiler.
    pub fn of(&self, compiler: &str) -> Option<&Figures> {
        self.programs.iter().find(|f| f.compiler == compiler)
    }

    /// `a`'s compile time over `b`'s.
    pub fn compile_ratio(&self, a: &str, b: &str) -> Option<f64> {
        let (a, b) = (self.of(a)?, self.of(b)?);
        Some(a.compile.as_secs_f64() / b.compile.as_secs_f64().max(1e-9))
    }
}

/// Measures every x86_64 device policy (and `common_device.policy`).
pub fn run(shared: &Path) -> Result<Vec<Row>, String> {
    let peer = Minijail::find(shared)?;
    let src = shared.join("corpus/third-party/crosvm/x86_64");
    let staged = stage(&src, "bench").map_err(|e| e.to_string())?;
    let mut names: Vec<String> = std::fs::read_dir(&src)
        .map_err(|e| e.to_string())?
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| {
            n.ends_with(".policy") && (n.contains("_device") || n == "common_device.policy")
        })
        .collect();
    names.sort();
    let rows = names.iter().map(|n| row(&peer, &src, &staged, n)).collect();
    let _ = std::fs::remove_dir_all(&staged);
    rows
}

fn row(peer: &Minijail, src: &Path, staged: &Path, name: &str) -> Result<Row, String> {
    let path = src.join(name);
    let loaded = load_file(&path, &LoadOptions::default()).map_err(|e| e.to_string())?;
    let ap = loaded.policy.arches()[0].clone();
    let (mix, weights) = if loaded.frequency.is_empty() {
        let names = ap
            .rules
            .keys()
            .filter_map(|nr| sysfence_profile::Arch::X86_64.syscall_name(*nr));
        ("uniform", Weights::from_pairs(names.map(|n| (n, 1u64))))
    } else {
        ("@frequency", Weights::from_pairs(loaded.frequency.clone()))
    };
    let counts = weights.for_arch(ap.audit_arch);
    let weighted = Config::new().layout(Layout::Weighted).weights(weights);
    let mut programs = Vec::new();
    let cache_aware = weighted.clone().cache_aware(true);
    for (who, config) in [
        ("sysfence weighted", weighted),
        (CACHE_AWARE, cache_aware),
        ("sysfence tree", Config::new()),
    ] {
        // Reading the policy, its includes and constants.json is timed too,
        // as the Python process does all of that.
        let (ours, took) = fastest(|| {
            let start = Instant::now();
            let loaded = load_file(&path, &LoadOptions::default()).map_err(|e| e.to_string())?;
            let program = compile(&loaded.policy, &config).map_err(|e| e.to_string())?;
            Ok((program.into_program(), start.elapsed()))
        })?;
        programs.push(figures(who, &ours, &ap, &counts, took));
    }
    for strategy in ["bst", "linear"] {
        let (bytes, took) = fastest(|| peer.compile(staged, name, strategy))?;
        let theirs = Program::from_raw(&bytes, Endian::Little).map_err(|e| e.to_string())?;
        programs.push(figures(
            &format!("minijail {strategy}"),
            &theirs,
            &ap,
            &counts,
            took,
        ));
    }
    Ok(Row {
        policy: name.to_string(),
        mix: mix.to_string(),
        programs,
    })
}

/// The result and time of the fastest of [`RUNS`] runs of `run`, which
/// times itself.
fn fastest<T>(
    mut run: impl FnMut() -> Result<(T, Duration), String>,
) -> Result<(T, Duration), String> {
    let mut best = run()?;
    for _ in 1..RUNS {
        let next = run()?;
        if next.1 < best.1 {
            best = next;
        }
    }
    Ok(best)
}

fn figures(
    who: &str,
    p: &Program,
    ap: &ArchPolicy,
    counts: &BTreeMap<u32, u64>,
    took: Duration,
) -> Figures {
    let data = |nr: u32, args: [u64; 6]| SeccompData {
        args,
        ..SeccompData::new(ap.audit_arch, nr)
    };
    let cost = |nr: u32, args: [u64; 6]| interp::run(p, &data(nr, args)).insns;
    let split_of = |nr: u32, args: [u64; 6]| {
        let mut parts = [0u32; 4];
        let mut state = 0;
        let mut tracer = |_pc: usize, insn: &Insn, _a: u32, _x: u32| {
            let (part, next) = phase_of(state, insn);
            parts[part] += 1;
            state = next;
        };
        interp::run_with(p, &data(nr, args), &interp::Config::new(), &mut tracer);
        parts.map(f64::from)
    };
    let mean_of = |nr: u32| {
        let mut alts = allowed_alternatives(ap, nr);
        if alts.is_empty() {
            alts.push([0; 6]);
        }
        let mut sum = [0f64; 4];
        for a in &alts {
            let parts = split_of(nr, *a);
            sum.iter_mut()
                .zip(parts)
                .for_each(|(s, x)| *s += x / alts.len() as f64);
        }
        sum
    };
    // Per number of the table: whether the kernel's action cache serves it.
    let served: Vec<bool> = (0..=ap.table_max)
        .map(|nr| cache::is_const_allow(p, ap.audit_arch, nr))
        .collect();
    let total: u64 = counts.values().sum();
    let mut split = [0f64; 4];
    let mut cache_aware = 0.0;
    for (nr, c) in counts {
        let parts = mean_of(*nr);
        let share = *c as f64 / total.max(1) as f64;
        split
            .iter_mut()
            .zip(parts)
            .for_each(|(s, x)| *s += x * share);
        if !served.get(*nr as usize).copied().unwrap_or(false) {
            cache_aware += parts.iter().sum::<f64>() * share;
        }
    }
    let mean = split.iter().sum();
    let worst = (0..=ap.table_max)
        .flat_map(|nr| {
            allowed_alternatives(ap, nr)
                .into_iter()
                .map(move |a| (nr, a))
        })
        .map(|(nr, a)| cost(nr, a))
        .max()
        .unwrap_or(0);
    let cached = served.iter().filter(|&&s| s).count();
    Figures {
        compiler: who.to_string(),
        mean,
        split,
        worst,
        length: p.len(),
        cached,
        cache_aware,
        compile: took,
    }
}

/// Which part of the program `insn` runs in, and the part after it, given
/// the part before it: 0 prologue (through `ld [0]`), 1 number dispatch
/// (until an argument word is loaded), 2 argument checks, 3 `ret`.
fn phase_of(state: usize, insn: &Insn) -> (usize, usize) {
    const LD_ABS_W: u16 = 0x20;
    const RET_CLASS: u16 = 0x06;
    let loads = |k: bool| insn.code == LD_ABS_W && k;
    if insn.code & 0x07 == RET_CLASS {
        (3, state)
    } else if state == 0 {
        (0, if loads(insn.k == 0) { 1 } else { 0 })
    } else if loads(insn.k >= 16) {
        (2, 2)
    } else {
        (state, state)
    }
}

/// The rows as a Markdown table; each sysfence row also gives its compile
/// time over minijail `bst`'s and `linear`'s (each a Python process).
pub fn markdown(rows: &[Row]) -> String {
    let mut out = String::from(
        "| policy | mix | compiler | mean | prologue + dispatch + arguments + ret | cache-aware mean | worst allowed | length | cached numbers | compile | ÷ minijail bst | ÷ minijail linear |\n|---|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in rows {
        for f in &r.programs {
            let ratio = |peer: &str| match f.compiler.starts_with("sysfence") {
                true => r
                    .compile_ratio(&f.compiler, peer)
                    .map_or(String::new(), |x| format!("{x:.3}×")),
                false => String::new(),
            };
            out.push_str(&format!(
                "| {} | {} | {} | {:.2} | {:.2} + {:.2} + {:.2} + {:.2} | {:.2} | {} | {} | {} | {:.1} ms | {} | {} |\n",
                r.policy,
                r.mix,
                f.compiler,
                f.mean,
                f.split[0],
                f.split[1],
                f.split[2],
                f.split[3],
                f.cache_aware,
                f.worst,
                f.length,
                f.cached,
                f.compile.as_secs_f64() * 1e3,
                ratio("minijail bst"),
                ratio("minijail linear"),
            ));
        }
    }
    out.push('\n');
    out.push_str(&summary(rows));
    out
}

/// sysfence weighted against minijail `bst` over every policy: the largest
/// ratios of mean, worst allowed path, length and compile time (compile also
/// against `linear`, minijail's faster process), the policies where
/// minijail `bst` is better on mean, worst or length, and the largest
/// ratios of the cache-aware means (of `weighted` and of its cache-aware
/// layout).
pub fn summary(rows: &[Row]) -> String {
    const OURS: &str = "sysfence weighted";
    const BST: &str = "minijail bst";
    let ratio = |r: &Row, f: &dyn Fn(&Figures) -> f64| Some(f(r.of(OURS)?) / f(r.of(BST)?));
    let max = |f: &dyn Fn(&Row) -> Option<f64>| rows.iter().filter_map(f).fold(0.0, f64::max);
    let mean = max(&|r| ratio(r, &|f| f.mean));
    let worst = max(&|r| ratio(r, &|f| f64::from(f.worst)));
    let length = max(&|r| ratio(r, &|f| f.length as f64));
    let compile_bst = max(&|r| r.compile_ratio(OURS, BST));
    let compile_linear = max(&|r| r.compile_ratio(OURS, "minijail linear"));
    let compile_tree = max(&|r| r.compile_ratio("sysfence tree", BST));
    let cached =
        |ours: &'static str| max(&move |r| Some(r.of(ours)?.cache_aware / r.of(BST)?.cache_aware));
    let (cached_ours, cached_aware) = (cached(OURS), cached(CACHE_AWARE));
    let worse: Vec<&str> = rows
        .iter()
        .filter(|r| {
            let (Some(a), Some(b)) = (r.of(OURS), r.of(BST)) else {
                return false;
            };
            a.mean > b.mean || a.worst > b.worst || a.length > b.length
        })
        .map(|r| r.policy.as_str())
        .collect();
    format!(
        "Over {} policies, {OURS} against {BST}: mean at most {mean:.3}×, worst allowed path at most {worst:.3}×, length at most {length:.3}×; compile time at most {compile_bst:.4}× minijail bst's process ({compile_linear:.4}× minijail linear's; sysfence tree {compile_tree:.4}× bst's). minijail bst better on mean, worst or length: {}. With the kernel's action cache (a call it serves runs no instruction): {OURS} at most {cached_ours:.3}× minijail bst, {CACHE_AWARE} at most {cached_aware:.3}×.\n",
        rows.len(),
        if worse.is_empty() {
            "none".to_string()
        } else {
            worse.join(", ")
        }
    )
}
