//! The targets, checked against one run's [`Results`].
//!
//! In: results (with kernel timings and compile times when they were
//! measured). Out: one [`Target`] per check with the measured value, the
//! goal and whether it is met; a check whose inputs were not measured (no
//! libseccomp feature, no `--kernel`) is reported as not measured.

use std::fmt::Write as _;

use serde::Serialize;

use crate::report::{CaseResult, Results, unique};

const SYSFENCE: &str = "sysfence weighted";
const LIB_TREE: &str = "libseccomp tree";
const PEERS: [&str; 3] = ["seccompiler", "libseccomp linear", "libseccomp tree"];

/// One checked target.
#[derive(Clone, Debug, Serialize)]
pub struct Target {
    /// What is compared.
    pub what: String,
    /// The measured ratio or value, as text.
    pub measured: String,
    /// The goal, as text.
    pub goal: String,
    /// `None` when not measured.
    pub met: Option<bool>,
}

/// Every target the run can judge.
pub fn check(results: &Results) -> Vec<Target> {
    let mut out = Vec::new();
    if let Some(docker) = results.cases.iter().find(|c| c.name == "docker-default") {
        for mix in &results.mixes {
            let r = ratio(
                docker.weighted_mean(mix, SYSFENCE),
                docker.weighted_mean(mix, LIB_TREE),
            );
            out.push(target(
                format!("docker, {mix}: weighted mean, sysfence weighted / libseccomp tree"),
                r,
                0.5,
            ));
        }
        kernel_targets(docker, &mut out);
        out.push(target(
            "docker: compile time, sysfence tree (check off) / libseccomp tree (with export)"
                .into(),
            ratio(
                compile_us(docker, "sysfence tree (check off)"),
                compile_us(docker, LIB_TREE),
            ),
            0.5,
        ));
    }
    for case in results.cases.iter().filter(|c| !c.compile_us.is_empty()) {
        out.push(target(
            format!(
                "{}: compile time, sysfence tree (with its check) / libseccomp tree (with export)",
                case.name
            ),
            ratio(
                compile_us(case, "sysfence tree"),
                compile_us(case, LIB_TREE),
            ),
            0.5,
        ));
        out.push(weighted_compile_target(case));
    }
    if let Some(vcpu) = results.cases.iter().find(|c| c.name == "firecracker-vcpu") {
        let probe = "ioctl(-1, KVM_RUN)";
        out.push(target(
            "firecracker vcpu: ioctl(KVM_RUN) instructions, sysfence weighted / seccompiler".into(),
            ratio(
                vcpu.probe_insns(probe, SYSFENCE).map(f64::from),
                vcpu.probe_insns(probe, "seccompiler").map(f64::from),
            ),
            0.3,
        ));
        let overhead = |subject: &str| {
            Some(vcpu.kernel_ns(probe, subject)? - vcpu.kernel_ns(probe, "no filter")?)
        };
        if vcpu.kernel.is_some() {
            out.push(target(
                "firecracker vcpu: ioctl(KVM_RUN) kernel overhead over no filter, sysfence weighted / seccompiler".into(),
                ratio(overhead(SYSFENCE), overhead("seccompiler")),
                0.3,
            ));
        }
    }
    out
}

/// The median compile time of `compiler` on `case`, if it was measured.
fn compile_us(case: &CaseResult, compiler: &str) -> Option<f64> {
    case.compile_us
        .iter()
        .find(|(n, _)| n == compiler)
        .map(|(_, t)| *t)
}

/// `weighted` compiles in at most twice `tree`'s time (both with the check).
fn weighted_compile_target(case: &CaseResult) -> Target {
    target(
        format!(
            "{}: compile time, sysfence weighted (uniform mix) / sysfence tree, both with the check",
            case.name
        ),
        ratio(
            compile_us(case, SYSFENCE),
            compile_us(case, "sysfence tree"),
        ),
        2.0,
    )
}

fn kernel_targets(docker: &CaseResult, out: &mut Vec<Target>) {
    let Some(k) = &docker.kernel else {
        out.push(Target {
            what: "docker: real-kernel targets".into(),
            measured: "not measured (run with --kernel)".into(),
            goal: String::new(),
            met: None,
        });
        return;
    };
    let Some(arg_probe) = k.rows.first().map(|r| r.probe.clone()) else {
        return;
    };
    let overhead = |subject: &str, probe: &str| {
        Some(docker.kernel_ns(probe, subject)? - docker.kernel_ns(probe, "no filter")?)
    };
    out.push(target(
        format!("docker, {arg_probe}: kernel overhead over no filter, sysfence weighted / libseccomp tree"),
        ratio(overhead(SYSFENCE, &arg_probe), overhead(LIB_TREE, &arg_probe)),
        0.7,
    ));
    for probe in unique(k.rows.iter().map(|r| r.probe.as_str())) {
        let best_peer = PEERS
            .iter()
            .filter_map(|p| docker.kernel_ns(probe, p))
            .fold(f64::INFINITY, f64::min);
        let mine = docker.kernel_ns(probe, SYSFENCE);
        let limit = 1.0 + k.noise;
        let r = mine
            .filter(|_| best_peer.is_finite())
            .map(|m| m / best_peer);
        out.push(target(
            format!(
                "docker, {probe}: kernel ns, sysfence weighted / best peer (limit 1 + noise {:.3})",
                k.noise
            ),
            r,
            limit,
        ));
    }
}

fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    }
}

fn target(what: String, r: Option<f64>, goal: f64) -> Target {
    Target {
        what,
        measured: r.map_or("not measured".into(), |r| format!("{r:.3}")),
        goal: format!("≤ {goal:.3}"),
        met: r.map(|r| r <= goal),
    }
}

/// The targets as a Markdown table.
pub fn markdown(targets: &[Target]) -> String {
    let mut out = String::from("| target | measured | goal | met |\n|---|---|---|---|\n");
    for t in targets {
        let met = match t.met {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "–",
        };
        let _ = writeln!(out, "| {} | {} | {} | {met} |", t.what, t.measured, t.goal);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::WeightedResult;

    fn weighted(compiler: &str, v: f64) -> WeightedResult {
        WeightedResult {
            mix: "nginx".into(),
            compiler: compiler.into(),
            length: 1,
            every_call: v,
            cache_aware: 0.0,
        }
    }

    #[test]
    fn weighted_target_is_a_ratio_to_libseccomp_tree() {
        let docker = CaseResult {
            name: "docker-default".into(),
            source: String::new(),
            programs: vec![],
            weighted: vec![weighted(SYSFENCE, 6.0), weighted(LIB_TREE, 14.0)],
            bounds: vec![],
            probes: vec![],
            compile_us: vec![("sysfence tree".into(), 3.0), (LIB_TREE.into(), 4.0)],
            kernel: None,
            errors: vec![],
        };
        let results = Results {
            mixes: vec!["nginx".into()],
            cases: vec![docker],
        };
        let t = check(&results);
        assert_eq!(t[0].measured, "0.429");
        assert_eq!(t[0].met, Some(true));
        assert_eq!(t[1].met, None, "no kernel timings");
        assert_eq!((t[2].measured.as_str(), t[2].met), ("not measured", None));
        let tree = &t[3];
        assert!(
            tree.what
                .starts_with("docker-default: compile time, sysfence tree (with")
        );
        assert_eq!((tree.measured.as_str(), tree.met), ("0.750", Some(false)));
        assert_eq!((t[4].measured.as_str(), t[4].met), ("not measured", None));
        assert!(markdown(&t).contains("| **no** |"));
    }
}
