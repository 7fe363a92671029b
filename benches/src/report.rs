//! One benchmark run: build every program, count, and render tables.
//!
//! In: the [`Case`]s and [`Mix`]es. Out: [`Results`] (serializable to JSON)
//! holding, per case, each compiler's deterministic figures, the weighted
//! means per mix next to the lower bounds, the instruction count of each
//! kernel-time probe, and, when asked, the kernel timings; plus
//! [`Results::markdown`], the tables `docs/benchmarks.md` shows.
//!
//! A compiler that fails on a case is recorded in [`CaseResult::errors`] and
//! left out of that case's tables; nothing here panics on a peer's failure.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;
use sysfence_cbpf::data::SeccompData;
use sysfence_cbpf::interp::run;
use sysfence_compile::Weights;
use sysfence_linux::kernel_time::{Config as KernelConfig, Report};

use crate::bounds::{Bounds, bounds};
use crate::count::{Figures, measure, weighted};
use crate::kernel::time_case;
use crate::mixes::Mix;
use crate::peers::{Built, Compiler, PeerError, seccompiler, sysfence};
use crate::set::Case;
use crate::timing::compile_times;

/// Everything one run measured.
#[derive(Clone, Debug, Serialize)]
pub struct Results {
    /// Mix names, in column order.
    pub mixes: Vec<String>,
    /// One entry per case.
    pub cases: Vec<CaseResult>,
}

/// The figures of one case.
#[derive(Clone, Debug, Serialize)]
pub struct CaseResult {
    /// The case's name.
    pub name: String,
    /// Where the profile came from.
    pub source: String,
    /// Deterministic figures per compiler (weighted: compiled for the uniform mix).
    pub programs: Vec<ProgramResult>,
    /// Mean instructions per syscall per (mix, compiler).
    pub weighted: Vec<WeightedResult>,
    /// Lower bounds per mix.
    pub bounds: Vec<BoundResult>,
    /// Instructions for each kernel-time probe per compiler.
    pub probes: Vec<ProbeResult>,
    /// Median wall time of one compile, per compiler, in microseconds.
    pub compile_us: Vec<(String, f64)>,
    /// Real kernel time, when measured.
    pub kernel: Option<KernelResult>,
    /// Compilers that failed.
    pub errors: Vec<String>,
}

/// One compiler's program for one case.
#[derive(Clone, Debug, Serialize)]
pub struct ProgramResult {
    /// Compiler label.
    pub compiler: String,
    /// Instructions in the program.
    pub length: usize,
    /// Mean instructions over allowed numbers.
    pub allowed_mean: f64,
    /// Mean instructions over denied numbers.
    pub denied_mean: f64,
    /// Worst case over allowed numbers.
    pub worst_allowed: u32,
    /// Worst case over all numbers.
    pub worst: u32,
    /// Always-allowed numbers the kernel cache serves.
    pub cached: usize,
    /// Always-allowed numbers in the policy.
    pub always_allowed: usize,
    /// Numbers whose verdict differs from the policy.
    pub disagreements: Vec<u32>,
    /// What the compiler could not express.
    pub notes: Vec<String>,
    /// Instructions per number, `0..=table_max` (for charts).
    #[serde(skip)]
    pub per_nr: Vec<u32>,
}

/// Mean instructions per syscall of one mix under one compiler.
#[derive(Clone, Debug, Serialize)]
pub struct WeightedResult {
    /// Mix name.
    pub mix: String,
    /// Compiler label.
    pub compiler: String,
    /// Program length (the weighted layout differs per mix).
    pub length: usize,
    /// Filter run on every call.
    pub every_call: f64,
    /// Calls the kernel cache serves cost 0.
    pub cache_aware: f64,
}

/// The lower bounds of one mix.
#[derive(Clone, Debug, Serialize)]
pub struct BoundResult {
    /// Mix name.
    pub mix: String,
    /// The bounds.
    #[serde(flatten)]
    pub bounds: Bounds,
}

/// Instructions one probe runs under one compiler.
#[derive(Clone, Debug, Serialize)]
pub struct ProbeResult {
    /// Probe label.
    pub probe: String,
    /// Compiler label.
    pub compiler: String,
    /// Instructions executed.
    pub insns: u32,
}

/// Kernel timings of one case.
#[derive(Clone, Debug, Serialize)]
pub struct KernelResult {
    /// Kernel release.
    pub kernel: String,
    /// `bpf_jit_enable`.
    pub bpf_jit_enable: String,
    /// `spec_store_bypass` mitigation state.
    pub spec_store_bypass: String,
    /// The run's noise: median relative spread of the rows.
    pub noise: f64,
    /// One row per (subject, probe).
    pub rows: Vec<KernelRow>,
}

/// One kernel timing.
#[derive(Clone, Debug, Serialize)]
pub struct KernelRow {
    /// "no filter" or a compiler label.
    pub subject: String,
    /// Probe label.
    pub probe: String,
    /// Nanoseconds per call.
    pub ns: f64,
    /// Ratio to the unfiltered call.
    pub ratio: f64,
    /// Relative spread over the rounds.
    pub spread: f64,
}

/// What to measure beyond the deterministic figures.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// Time real syscalls (Linux).
    pub kernel: Option<KernelConfig>,
    /// Compiles per compiler for the wall-time column (0: skip).
    pub compile_runs: u32,
}

/// Builds one compiler's program for a case.
pub fn build(
    case: &Case,
    compiler: Compiler,
    weights: Option<&Weights>,
) -> Result<Built, PeerError> {
    match compiler {
        Compiler::SysfenceLinear | Compiler::SysfenceTree | Compiler::SysfenceWeighted => {
            sysfence::build(&case.policy, compiler, weights)
        }
        Compiler::Seccompiler => match &case.seccompiler_json {
            Some((text, filter)) => seccompiler::from_json(text, filter, case.arch.audit_arch()),
            None => seccompiler::from_policy(case.arch_policy()),
        },
        #[cfg(feature = "libseccomp")]
        Compiler::LibseccompLinear => crate::peers::libseccomp::compile(
            case.arch_policy(),
            case.policy.bad_arch(),
            crate::peers::libseccomp::Layout::Linear,
        ),
        #[cfg(feature = "libseccomp")]
        Compiler::LibseccompTree => crate::peers::libseccomp::compile(
            case.arch_policy(),
            case.policy.bad_arch(),
            crate::peers::libseccomp::Layout::Tree,
        ),
        #[cfg(not(feature = "libseccomp"))]
        Compiler::LibseccompLinear | Compiler::LibseccompTree => Err(PeerError::new(
            compiler,
            "built without the libseccomp feature",
        )),
    }
}

/// The mix made of a case's probe syscalls, one call each: what the kernel
/// timing loop runs, so what a weighted layout for that loop is given.
pub fn probe_mix(case: &Case) -> Weights {
    Weights::from_pairs(
        case.probes
            .iter()
            .filter_map(|p| case.arch.syscall_name(p.nr as u32))
            .map(|name| (name, 1u64)),
    )
}

/// Measures one case.
pub fn run_case(case: &Case, mixes: &[Mix], options: &Options) -> CaseResult {
    let ap = case.arch_policy();
    let mut result = CaseResult {
        name: case.name.to_string(),
        source: case.source.clone(),
        programs: Vec::new(),
        weighted: Vec::new(),
        bounds: Vec::new(),
        probes: Vec::new(),
        compile_us: Vec::new(),
        kernel: None,
        errors: Vec::new(),
    };
    let uniform = mixes
        .iter()
        .find(|m| m.name() == "uniform")
        .map(Mix::weights);
    let mut timed: Vec<Built> = Vec::new();
    for &compiler in Compiler::available() {
        let built = match build(case, compiler, uniform) {
            Ok(b) => b,
            Err(e) => {
                result.errors.push(e.to_string());
                continue;
            }
        };
        let figures = measure(&built.program, ap);
        result.programs.push(program_result(&built, &figures));
        for mix in mixes {
            let counts = mix.counts(ap.audit_arch);
            let (length, w) = if compiler == Compiler::SysfenceWeighted {
                match build(case, compiler, Some(mix.weights())) {
                    Ok(b) => (b.program.len(), weighted(&measure(&b.program, ap), &counts)),
                    Err(e) => {
                        result.errors.push(format!("{e} (mix {})", mix.name()));
                        continue;
                    }
                }
            } else {
                (built.program.len(), weighted(&figures, &counts))
            };
            result.weighted.push(WeightedResult {
                mix: mix.name().to_string(),
                compiler: compiler.label().to_string(),
                length,
                every_call: w.every_call,
                cache_aware: w.cache_aware,
            });
        }
        let for_probes = if compiler == Compiler::SysfenceWeighted {
            build(case, compiler, Some(&probe_mix(case))).unwrap_or(built)
        } else {
            built
        };
        for probe in &case.probes {
            let mut data = SeccompData::new(ap.audit_arch, probe.nr as u32);
            data.args = probe.args;
            let insns = run(&for_probes.program, &data).insns;
            result.probes.push(ProbeResult {
                probe: probe.name.clone(),
                compiler: compiler.label().to_string(),
                insns,
            });
        }
        timed.push(for_probes);
    }
    if options.compile_runs > 0 {
        result.compile_us = compile_times(case, uniform, options.compile_runs);
    }
    let any_program = timed.first().map(|b| b.program.clone());
    for mix in mixes {
        if let Some(b) = any_program
            .as_ref()
            .and_then(|p| bounds(&case.policy, p, mix))
        {
            result.bounds.push(BoundResult {
                mix: mix.name().to_string(),
                bounds: b,
            });
        }
    }
    if let Some(config) = options.kernel {
        match time_case(case, &timed, &config) {
            Ok(report) => result.kernel = Some(kernel_result(&report)),
            Err(e) => result.errors.push(format!("kernel timing: {e}")),
        }
    }
    result
}

/// Measures every case.
pub fn run_all(cases: &[Case], mixes: &[Mix], options: &Options) -> Results {
    Results {
        mixes: mixes.iter().map(|m| m.name().to_string()).collect(),
        cases: cases.iter().map(|c| run_case(c, mixes, options)).collect(),
    }
}

fn program_result(built: &Built, f: &Figures) -> ProgramResult {
    ProgramResult {
        compiler: built.compiler.label().to_string(),
        length: f.length,
        allowed_mean: f.allowed_mean,
        denied_mean: f.denied_mean,
        worst_allowed: f.worst_allowed,
        worst: f.worst,
        cached: f.cached,
        always_allowed: f.always_allowed,
        disagreements: f.disagreements.clone(),
        notes: built.notes.clone(),
        per_nr: f.per_nr.clone(),
    }
}

fn kernel_result(report: &Report) -> KernelResult {
    KernelResult {
        kernel: report.environment.kernel.clone(),
        bpf_jit_enable: report.environment.bpf_jit_enable.clone(),
        spec_store_bypass: report.environment.spec_store_bypass.clone(),
        noise: report.noise(),
        rows: report
            .rows
            .iter()
            .map(|r| KernelRow {
                subject: report.subjects[r.subject].clone(),
                probe: report.probes[r.probe].clone(),
                ns: r.ns_per_call,
                ratio: r.ratio,
                spread: r.spread,
            })
            .collect(),
    }
}

impl CaseResult {
    /// The weighted mean of one (mix, compiler), every call.
    pub fn weighted_mean(&self, mix: &str, compiler: &str) -> Option<f64> {
        self.weighted
            .iter()
            .find(|w| w.mix == mix && w.compiler == compiler)
            .map(|w| w.every_call)
    }

    /// The program figures of one compiler.
    pub fn program(&self, compiler: &str) -> Option<&ProgramResult> {
        self.programs.iter().find(|p| p.compiler == compiler)
    }

    /// Instructions for one probe under one compiler.
    pub fn probe_insns(&self, probe: &str, compiler: &str) -> Option<u32> {
        self.probes
            .iter()
            .find(|p| p.probe == probe && p.compiler == compiler)
            .map(|p| p.insns)
    }

    /// Kernel nanoseconds for one probe under one subject.
    pub fn kernel_ns(&self, probe: &str, subject: &str) -> Option<f64> {
        self.kernel
            .as_ref()?
            .rows
            .iter()
            .find(|r| r.probe == probe && r.subject == subject)
            .map(|r| r.ns)
    }

    fn compilers(&self) -> Vec<&str> {
        self.programs.iter().map(|p| p.compiler.as_str()).collect()
    }
}

/// The distinct items, in first-seen order.
pub fn unique<'a>(items: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

/// The marker before the pinned table of a case in `docs/benchmarks.md`.
pub fn pinned_marker(case: &str) -> String {
    format!("<!-- pinned: {case} -->")
}

impl Results {
    /// The deterministic figures of one case as the pinned table the
    /// regression test reads: length, means, worst case and the weighted
    /// mean (every call) per mix, per compiler.
    pub fn pinned(&self, case: &str) -> Option<String> {
        let c = self.cases.iter().find(|c| c.name == case)?;
        let mut out = pinned_marker(case);
        out.push_str("\n\n| compiler | length | mean allowed | mean denied | worst |");
        for m in &self.mixes {
            let _ = write!(out, " {m} |");
        }
        let _ = writeln!(
            out,
            "\n|---|---|---|---|---|{}",
            "---|".repeat(self.mixes.len())
        );
        for p in &c.programs {
            let _ = write!(
                out,
                "| {} | {} | {:.2} | {:.2} | {} |",
                p.compiler, p.length, p.allowed_mean, p.denied_mean, p.worst
            );
            for m in &self.mixes {
                let _ = write!(
                    out,
                    " {} |",
                    c.weighted_mean(m, &p.compiler)
                        .map_or("–".into(), |v| format!("{v:.2}"))
                );
            }
            out.push('\n');
        }
        Some(out)
    }

    /// Every table, in Markdown.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        for case in &self.cases {
            case.markdown(&self.mixes, &mut out);
        }
        out
    }
}

impl CaseResult {
    fn markdown(&self, mixes: &[String], out: &mut String) {
        let _ = writeln!(out, "### {} ({})\n", self.name, self.source);
        self.programs_table(out);
        self.weighted_table(mixes, out, false);
        self.weighted_table(mixes, out, true);
        self.probes_table(out);
        self.kernel_table(out);
        for e in &self.errors {
            let _ = writeln!(out, "* failed: {e}");
        }
        for p in &self.programs {
            for n in &p.notes {
                let _ = writeln!(out, "* {}: {n}", p.compiler);
            }
            if !p.disagreements.is_empty() {
                let _ = writeln!(
                    out,
                    "* {}: differs from the policy on numbers {:?}",
                    p.compiler, p.disagreements
                );
            }
        }
        out.push('\n');
    }

    fn programs_table(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "| compiler | length | mean allowed | mean denied | worst allowed | worst | cache serves | compile µs |\n|---|---|---|---|---|---|---|---|"
        );
        for p in &self.programs {
            let time = |name: &str| {
                self.compile_us
                    .iter()
                    .find(|(c, _)| c == name)
                    .map(|(_, t)| format!("{t:.0}"))
            };
            let mut us = time(&p.compiler).unwrap_or_else(|| "–".into());
            if let Some(off) = time(&format!("{} (check off)", p.compiler)) {
                us = format!("{us} ({off} check off)");
            }
            let _ = writeln!(
                out,
                "| {} | {} | {:.1} | {:.1} | {} | {} | {}/{} | {us} |",
                p.compiler,
                p.length,
                p.allowed_mean,
                p.denied_mean,
                p.worst_allowed,
                p.worst,
                p.cached,
                p.always_allowed
            );
        }
        out.push('\n');
    }

    fn weighted_table(&self, mixes: &[String], out: &mut String, cache_aware: bool) {
        let compilers = self.compilers();
        let what = if cache_aware {
            "cache-aware (served calls cost 0)"
        } else {
            "filter run on every call"
        };
        let _ = write!(
            out,
            "Weighted mean instructions per syscall, {what}:\n\n| mix |"
        );
        for c in &compilers {
            let _ = write!(out, " {c} |");
        }
        if !cache_aware {
            out.push_str(" optimal tree | entropy bound |");
        }
        out.push_str("\n|---|");
        let extra = if cache_aware { 0 } else { 2 };
        out.push_str(&"---|".repeat(compilers.len() + extra));
        out.push('\n');
        for mix in mixes {
            let _ = write!(out, "| {mix} |");
            for c in &compilers {
                let v = self
                    .weighted
                    .iter()
                    .find(|w| &w.mix == mix && w.compiler == *c);
                let v = v.map(|w| {
                    if cache_aware {
                        w.cache_aware
                    } else {
                        w.every_call
                    }
                });
                let _ = write!(out, " {} |", v.map_or("–".into(), |v| format!("{v:.2}")));
            }
            let bound = self
                .bounds
                .iter()
                .find(|b| &b.mix == mix)
                .filter(|_| !cache_aware);
            if let Some(b) = bound {
                let _ = write!(
                    out,
                    " {:.2} | {:.2} |",
                    b.bounds.optimal_tree, b.bounds.entropy_bound
                );
            }
            out.push('\n');
        }
        out.push('\n');
    }

    fn probes_table(&self, out: &mut String) {
        let compilers = self.compilers();
        let _ = write!(
            out,
            "Instructions for the kernel-time probes (sysfence weighted compiled for the probes' own mix):\n\n| probe |"
        );
        for c in &compilers {
            let _ = write!(out, " {c} |");
        }
        let _ = writeln!(out, "\n|---|{}", "---|".repeat(compilers.len()));
        for probe in unique(self.probes.iter().map(|p| p.probe.as_str())) {
            let _ = write!(out, "| {probe} |");
            for c in &compilers {
                let _ = write!(
                    out,
                    " {} |",
                    self.probe_insns(probe, c)
                        .map_or("–".into(), |v| v.to_string())
                );
            }
            out.push('\n');
        }
        out.push('\n');
    }

    fn kernel_table(&self, out: &mut String) {
        let Some(k) = &self.kernel else { return };
        let subjects = unique(k.rows.iter().map(|r| r.subject.as_str()));
        let probes = unique(k.rows.iter().map(|r| r.probe.as_str()));
        let _ = write!(
            out,
            "Kernel ns per call (ratio to no filter); kernel {}, bpf_jit_enable {}, run noise ±{:.1} %:\n\n| probe |",
            k.kernel,
            k.bpf_jit_enable,
            k.noise * 100.0
        );
        for s in &subjects {
            let _ = write!(out, " {s} |");
        }
        let _ = writeln!(out, "\n|---|{}", "---|".repeat(subjects.len()));
        let cell: BTreeMap<(&str, &str), &KernelRow> = k
            .rows
            .iter()
            .map(|r| ((r.probe.as_str(), r.subject.as_str()), r))
            .collect();
        for p in probes {
            let _ = write!(out, "| {p} |");
            for s in &subjects {
                let text = cell
                    .get(&(p, *s))
                    .map_or("–".into(), |r| format!("{:.1} ({:.2}×)", r.ns, r.ratio));
                let _ = write!(out, " {text} |");
            }
            out.push('\n');
        }
        out.push('\n');
    }
}
