//! `decompile` round trips: programs compiled from profiles, decompiled,
//! and proven equal (the proof is inside `decompile`).

mod support;

use std::path::PathBuf;

use sysfence_cbpf::Action;
use sysfence_cbpf::generate::{self, Rng};
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

/// A corpus profile that loads in the crun context.
struct Read {
    path: PathBuf,
    text: Vec<u8>,
    opts: LoadOptions,
    policy: Policy,
}

impl Read {
    /// The program of the profile read narrowed to `arch` (every arch of
    /// the profile when `None`).
    fn program(&self, arch: Option<Arch>) -> Subject {
        let Some(a) = arch else {
            return program(&self.policy, None);
        };
        let mut opts = self.opts.clone();
        opts.context = opts.context.with_arches(&[a]);
        let narrowed = load(&self.text, &opts).expect("loads narrowed").policy;
        program(&narrowed, arch)
    }
}

/// Every profile of the repository's corpus and of the shared one that
/// loads in the crun context.
fn corpus() -> Vec<Read> {
    let mut paths = files(&repo("corpus/profiles"), &["json", "yaml"], &[]);
    if let Some(dir) = shared::require("corpus/third-party") {
        paths.extend(files(&dir, &["json"], &["crosvm"]));
    }
    let mut out = Vec::new();
    for path in paths {
        let text = std::fs::read(&path).unwrap();
        let mut opts = crun();
        opts.file_name = path.display().to_string();
        opts.base_dir = path.parent().map(PathBuf::from);
        match load(&text, &opts) {
            Ok(l) if !l.policy.arches().is_empty() => out.push(Read {
                path,
                text,
                opts,
                policy: l.policy,
            }),
            Ok(_) => eprintln!("{}: no filter", path.display()),
            Err(e) => eprintln!("{}: does not load: {}", path.display(), e.message()),
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
    for read in &profiles {
        let (path, policy) = (&read.path, &read.policy);
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
            match round_trip(&read.program(arches), format, &what) {
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

/// A random Docker profile (any that loads under crun must decompile): a few rules on names of the x86_64 table, each
/// with an action and up to three conditions on distinct arguments, for a
/// random set of arches.
fn random_profile(rng: &mut Rng) -> String {
    let actions = [
        "\"action\":\"SCMP_ACT_ALLOW\"",
        "\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":13",
        "\"action\":\"SCMP_ACT_KILL_PROCESS\"",
        "\"action\":\"SCMP_ACT_LOG\"",
        "\"action\":\"SCMP_ACT_TRAP\"",
    ];
    let ops = ["EQ", "NE", "LT", "LE", "GE", "GT", "MASKED_EQ"];
    let table = Arch::X86_64.table();
    let arches: Vec<&str> = ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]
        .into_iter()
        .filter(|_| rng.chance(1, 3))
        .collect();
    // With a 32-bit ABI beside x86_64 (the host arch, always in the
    // filter) the values stay in the low word: one rule list cannot mean a
    // 64-bit test on x86_64 and a different low-word cut on x86; decompile
    // refuses those (docs/exact.md).
    let value = |rng: &mut Rng| {
        if arches.is_empty() {
            generate::interesting_u64(rng)
        } else {
            u64::from(generate::interesting_u32(rng))
        }
    };
    let mut rules = Vec::new();
    for _ in 0..rng.range(1, 8) {
        let name = rng.pick(table).unwrap().0;
        let mut args = Vec::new();
        let mut used = [false; 6];
        for _ in 0..rng.below(4) {
            let index = rng.below(6) as usize;
            if std::mem::replace(&mut used[index], true) {
                continue;
            }
            let op = rng.pick(&ops).unwrap();
            let (v, v2) = (value(rng), value(rng));
            args.push(format!(
                "{{\"index\":{index},\"value\":{v},\"valueTwo\":{v2},\"op\":\"SCMP_CMP_{op}\"}}"
            ));
        }
        let action = rng.pick(&actions).unwrap();
        rules.push(format!(
            "{{\"names\":[\"{name}\"],{action},\"args\":[{}]}}",
            args.join(",")
        ));
    }
    let arches: Vec<String> = arches.iter().map(|a| format!("\"{a}\"")).collect();
    let default = rng
        .pick(&actions[..2])
        .unwrap()
        .replace("\"action\"", "\"defaultAction\"")
        .replace("errnoRet", "defaultErrnoRet");
    format!(
        "{{{default},\"architectures\":[{}],\"syscalls\":[{}]}}",
        arches.join(","),
        rules.join(",")
    )
}

#[test]
fn random_docker_profiles_round_trip() {
    let mut rng = Rng::new(0xdec0);
    let (mut proven, mut failures) = (0, Vec::new());
    for i in 0..60 {
        let text = random_profile(&mut rng);
        let Ok(loaded) = load(text.as_bytes(), &crun()) else {
            continue;
        };
        let what = format!("random profile {i}: {text}");
        match round_trip(&program(&loaded.policy, None), OutFormat::Docker, &what) {
            Ok(_) => proven += 1,
            Err(e) => failures.push(e),
        }
    }
    eprintln!("{proven} random profiles decompiled and proven");
    // About half the random profiles load (the rest name an errno
    // libseccomp refuses, or rules runc skips leave nothing).
    assert!(proven >= 30, "{proven}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
