//! `decompile` round trips: programs compiled from profiles, decompiled,
//! and proven equal (the proof is inside `decompile`).

mod support;

use std::path::PathBuf;

use sysfence_cbpf::Action;
use sysfence_cbpf::interp::ShiftMode;
use sysfence_compile::{Config, compile};
use sysfence_exact::compare::DEFAULT_BUDGET;
use sysfence_exact::decompile::prove::{DecompileError, decompile};
use sysfence_exact::decompile::render::OutFormat;
use sysfence_exact::subject::Subject;
use sysfence_profile::arch::Arch;
use sysfence_profile::ir::Policy;
use sysfence_profile::{HostContext, LoadOptions, Runtime, load};
use sysfence_testkit::shared::{self, files, repo};

fn round_trip(subject: &Subject, format: OutFormat, what: &str) -> Result<String, String> {
    match decompile(subject, format, DEFAULT_BUDGET) {
        Ok(d) => Ok(format!("{}\n{}", d.flags, d.text)),
        Err(DecompileError::NotExpressible { lost, witness, .. }) => Err(format!(
            "{what}: not expressible: {lost:#?}\nwitness {witness:?}"
        )),
        Err(e) => Err(format!("{what}: {e}")),
    }
}

/// The context the round trips read profiles in: crun, so no ENOSYS stub.
fn crun() -> LoadOptions {
    LoadOptions {
        context: HostContext {
            host_arch: Arch::X86_64,
            runtime: Runtime::Crun,
            enosys_stub: false,
            ..HostContext::default()
        },
        ..LoadOptions::default()
    }
}

/// Every profile of the repository's corpus and of the shared one that
/// loads in the crun context, with its path.
fn corpus() -> Vec<(PathBuf, Policy)> {
    let mut paths = files(&repo("corpus/profiles"), &["json", "yaml"], &[]);
    if let Some(dir) = shared::require("corpus/third-party") {
        paths.extend(files(&dir, &["json"], &["crosvm"]));
    }
    let mut out = Vec::new();
    for p in paths {
        let text = std::fs::read(&p).unwrap();
        let mut opts = crun();
        opts.file_name = p.display().to_string();
        opts.base_dir = p.parent().map(PathBuf::from);
        match load(&text, &opts) {
            Ok(l) if !l.policy.arches().is_empty() => out.push((p, l.policy)),
            Ok(_) => eprintln!("{}: no filter", p.display()),
            Err(e) => eprintln!("{}: does not load: {}", p.display(), e.message()),
        }
    }
    out
}

/// The program of `policy` for `arches` (all of the policy's when `None`).
fn program(policy: &Policy, arches: Option<Arch>) -> Subject {
    let config = arches.map_or(Config::new(), |a| Config::new().arches(vec![a]));
    let prog = compile(policy, &config).unwrap().into_program();
    Subject::Program(prog, ShiftMode::Mask31)
}

#[test]
fn every_corpus_profile_round_trips_in_every_arch() {
    let profiles = corpus();
    assert!(profiles.len() >= 8, "{} profiles", profiles.len());
    let mut failures = Vec::new();
    let mut proven = 0;
    for (path, policy) in &profiles {
        let format = if policy.bad_arch() == Action::KillProcess {
            OutFormat::Seccompiler
        } else {
            OutFormat::Docker
        };
        let mut selections = vec![None];
        selections.extend(
            policy
                .arches()
                .iter()
                .filter_map(|a| Arch::from_audit(a.audit_arch, 0))
                .map(Some),
        );
        if format == OutFormat::Seccompiler {
            selections.truncate(1);
        }
        for arches in selections {
            let what = format!("{} ({arches:?})", path.display());
            match round_trip(&program(policy, arches), format, &what) {
                Ok(_) => proven += 1,
                Err(e) => failures.push(e),
            }
        }
    }
    eprintln!("{proven} programs decompiled and proven equal");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn docker_default_under_runc_decompiles_with_the_stub() {
    let Some(policy) = support::docker_default() else {
        return;
    };
    let subject = program(&policy, None);
    let text = round_trip(&subject, OutFormat::Docker, "docker default (runc)").unwrap();
    assert!(
        text.starts_with("--format docker --runtime runc "),
        "{text}"
    );
}
