//! The peers' programs decompile: seccompiler's output for Firecracker's
//! JSON filters and for every benchmark case, and (feature `libseccomp`)
//! libseccomp's output in both layouts for every case, each turned into a
//! profile whose meaning `decompile` proves equal to the peer's program.
//! Without the shared corpus only the repository's cases run (under
//! `CI=true` its absence fails).

use sysfence_benches::peers::{self, Built, PeerError};
use sysfence_benches::set::{self, Case};
use sysfence_cbpf::interp::ShiftMode;
use sysfence_exact::compare::DEFAULT_BUDGET;
use sysfence_exact::decompile::prove::{DecompileError, decompile};
use sysfence_exact::decompile::render::OutFormat;
use sysfence_exact::subject::Subject;

fn cases() -> Vec<Case> {
    let mut out = set::repo_only().0;
    match sysfence_testkit::shared::require("corpus/third-party") {
        Some(_) => {
            let shared = set::shared_dir().expect("shared corpus");
            out.extend(set::all(&shared).expect("the benchmark set loads"));
        }
        None => eprintln!("skipped: the shared corpus's cases"),
    }
    out
}

/// Decompiles a peer's program into `format`; the error says what failed.
/// A policy the peer cannot translate is skipped with a note, and so is a
/// seccompiler program (built from numbers) that lets through a syscall
/// seccompiler's JSON cannot name: its tables stop at an older kernel, so
/// no seccompiler JSON means that program, and `decompile` must say so.
fn proven(built: Result<Built, PeerError>, format: OutFormat, what: &str) -> Result<(), String> {
    let built = match built {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{what}: not compiled by the peer: {e:?}");
            return Ok(());
        }
    };
    let subject = Subject::Program(built.program, ShiftMode::Mask31);
    match decompile(&subject, format, DEFAULT_BUDGET) {
        Ok(_) => Ok(()),
        Err(DecompileError::NotExpressible { lost, .. })
            if format == OutFormat::Seccompiler
                && lost.iter().any(|l| l.contains("invalid syscall name")) =>
        {
            eprintln!("{what}: names a syscall seccompiler's JSON cannot: refused, as it must be");
            Ok(())
        }
        Err(e) => Err(format!("{what}: {e:?}")),
    }
}

#[test]
fn seccompiler_programs_decompile() {
    let mut failures = Vec::new();
    let mut done = 0;
    for case in cases() {
        if let Some((text, filter)) = &case.seccompiler_json {
            let built = peers::seccompiler::from_json(text, filter, set::X86_64);
            let what = format!("{} (seccompiler JSON)", case.name);
            failures.extend(proven(built, OutFormat::Seccompiler, &what).err());
            done += 1;
        }
        let built = peers::seccompiler::from_policy(case.arch_policy());
        let what = format!("{} (seccompiler from the policy)", case.name);
        failures.extend(proven(built, OutFormat::Seccompiler, &what).err());
        done += 1;
    }
    eprintln!("{done} seccompiler programs decompiled: each proven, or refused as noted above");
    assert!(done > 0);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[cfg(feature = "libseccomp")]
#[test]
fn libseccomp_programs_decompile() {
    use peers::libseccomp::{Layout, compile};
    let mut failures = Vec::new();
    let (mut done, mut refused) = (0, 0);
    for case in cases() {
        for layout in [Layout::Linear, Layout::Tree] {
            let built = compile(case.arch_policy(), case.policy.bad_arch(), layout);
            let what = format!("{} (libseccomp {layout:?})", case.name);
            // A filter that kills foreign arches (seccompiler's cases) and,
            // through libseccomp's x32 guard, x32 numbers on x86_64 is no
            // profile: Docker and OCI give foreign arches KILL_THREAD,
            // seccompiler has no guard. decompile must refuse it and say why.
            let format = if case.policy.bad_arch() == sysfence_cbpf::Action::KillProcess {
                OutFormat::Seccompiler
            } else {
                OutFormat::Docker
            };
            match proven(built, format, &what) {
                Ok(()) => done += 1,
                Err(e) if format == OutFormat::Seccompiler && e.contains("x32 guard") => {
                    refused += 1
                }
                Err(e) => failures.push(e),
            }
        }
    }
    eprintln!(
        "{done} libseccomp programs decompiled and proven, {refused} refused for the x32 guard"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
