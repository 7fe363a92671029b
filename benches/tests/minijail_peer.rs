//! Every crosvm policy, on each of its three arches, compiled by sysfence
//! (`tree` and `weighted`) and by minijail's own compiler (`linear` and
//! `bst`): the four programs must be one function of `seccomp_data`, and
//! that function the policy's meaning as sysfence reads it, decided
//! over the whole input space (every arch, syscall number, argument word and
//! instruction pointer) by building their sysfence-exact decision diagrams in
//! one store and finding one node. A difference fails the test with its
//! regions, each marked as on the policy's arch or on foreign arches only
//! (where minijail's own arch check and bad-arch action would show), and an
//! input of each replayed in the interpreter; docs/profiles.md explains why
//! there is none. A cheap second opinion runs the programs in sysfence's
//! interpreter on every syscall number of the arch and past it (x32 numbers
//! included) and on foreign arches.
//!
//!
//! The same comparison runs on random policies
//! (`sysfence_testkit::random_minijail`) against minijail's x86_64
//! constants: where minijail refuses a policy, sysfence must refuse it too,
//! and where minijail compiles one, sysfence must read it and its programs
//! must be minijail's function. sysfence's program of such a policy is then
//! decompiled into a minijail policy, and minijail's program of that must
//! be the same function again.
//!
//! Needs `python3` and the shared corpus (`$SYSFENCE_SHARED` or `../shared`);
//! without them the tests are skipped, except under `CI=true`, where they fail.
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::Path;

use proptest::test_runner::{Config as RunConfig, TestRunner};

use sysfence_benches::peers::minijail::{Minijail, stage};
use sysfence_cbpf::data::AUDIT_ARCH_X86_64;
use sysfence_cbpf::interp::{self, ShiftMode};
use sysfence_cbpf::program::Program;
use sysfence_cbpf::{Endian, SeccompData};
use sysfence_compile::{Config, Layout, Weights, compile};
use sysfence_exact::decompile::prove::decompile;
use sysfence_exact::decompile::render::OutFormat;
use sysfence_exact::diff::{self, Region};
use sysfence_exact::store::{Node, Store};
use sysfence_exact::subject::Subject;
use sysfence_exact::{policy, program, witness};
use sysfence_profile::ir::{ArchPolicy, Policy};
use sysfence_profile::{LoadOptions, load_file};
use sysfence_testkit::random_minijail;

const ARCHES: [&str; 3] = ["x86_64", "aarch64", "riscv64"];
const FOREIGN: [u32; 4] = [0x4000_0003, AUDIT_ARCH_X86_64, 0xc000_00b7, 0xc000_00f3];
/// Nodes one comparison may build (crosvm's largest pair needs far fewer).
const BUDGET: usize = 4_000_000;
/// Differing regions shown when a comparison fails.
const SHOWN: usize = 20;
/// minijail's strategies.
const STRATEGIES: [&str; 2] = ["linear", "bst"];
/// Random policies per run.
const RANDOM_CASES: u32 = 1000;
/// Nodes a random policy's decompilation may build (a plan of thousands of
/// argument cubes is left out, as `crates/exact/tests/decompile.rs` does).
const DECOMPILE_BUDGET: usize = 300_000;

fn peer() -> Option<(std::path::PathBuf, Minijail)> {
    let tools = sysfence_testkit::shared::require("peers/minijail/tools")?;
    let shared = tools.ancestors().nth(3)?.to_path_buf();
    match Minijail::find(&shared) {
        Ok(m) => Some((shared, m)),
        Err(e) => {
            sysfence_testkit::shared::missing(&format!("the minijail peer ({e})"));
            None
        }
    }
}

#[test]
fn every_crosvm_policy_agrees_with_minijail() {
    let Some((shared, peer)) = peer() else { return };
    let mut compared = 0usize;
    for arch in ARCHES {
        let src = shared.join("corpus/third-party/crosvm").join(arch);
        let staged = stage(&src, arch).expect("stage the policies");
        let names = policies(&src);
        let jobs: Vec<(String, String)> = names
            .iter()
            .flat_map(|n| STRATEGIES.map(|s| (n.clone(), s.to_string())))
            .collect();
        let mut outputs = peer
            .compile_many(&staged, &jobs)
            .expect("the peer runs")
            .into_iter();
        for name in &names {
            let what = format!("{arch}/{name}");
            let theirs = STRATEGIES.map(|strategy| {
                let raw = outputs
                    .next()
                    .expect("one answer per job")
                    .unwrap_or_else(|e| panic!("{what} ({strategy}): minijail refused: {e}"));
                let p =
                    Program::from_raw(&raw, Endian::Little).expect("minijail's program validates");
                (format!("minijail {strategy}"), p)
            });
            let (read, ours) = sysfence_programs(&src.join(name), &what);
            let ap = read.arches()[0].clone();
            let all: Vec<(String, Program)> = ours.into_iter().chain(theirs).collect();
            same_everywhere(&read, &all, &what);
            sample_numbers(&ap, &all, &what);
            compared += 1;
        }
        let _ = std::fs::remove_dir_all(&staged);
    }
    assert_eq!(compared, 97, "crosvm's 97 policies");
    eprintln!(
        "{compared} policies: four programs each, one function over every input, the policy's meaning"
    );
}

#[test]
fn random_policies_agree_with_minijail() {
    let Some((shared, peer)) = peer() else { return };
    let dir = std::env::temp_dir().join(format!("sysfence-minijail-random-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch folder");
    let constants = shared.join("corpus/third-party/crosvm/x86_64/constants.json");
    std::fs::copy(constants, dir.join("constants.json")).expect("constants.json");
    let worker = RefCell::new(peer.worker(&dir).expect("the peer runs"));
    let counts = RefCell::new(BTreeMap::<&str, usize>::new());
    let mut runner = TestRunner::new(RunConfig {
        cases: RANDOM_CASES,
        failure_persistence: None,
        max_shrink_iters: 256,
        ..RunConfig::default()
    });
    let result = runner.run(&random_minijail::policy(), |policy| {
        let path = dir.join("random.policy");
        std::fs::write(&path, &policy.text).expect("write the policy");
        let included = dir.join(random_minijail::INCLUDED);
        std::fs::write(included, &policy.included).expect("write the included file");
        let text = format!(
            "{}# {}:\n{}",
            policy.text,
            random_minijail::INCLUDED,
            policy.included
        );
        let theirs: Vec<Result<Vec<u8>, String>> = STRATEGIES
            .iter()
            .map(|s| worker.borrow_mut().compile("random.policy", s))
            .collect::<Result<_, _>>()
            .expect("the peer runs");
        let outcome = compare_random(&path, &theirs, &text);
        *counts.borrow_mut().entry(outcome).or_insert(0) += 1;
        if outcome == "compiled by both" {
            let decompiled = decompiled_through_minijail(&path, &mut worker.borrow_mut(), &text);
            *counts.borrow_mut().entry(decompiled).or_insert(0) += 1;
        }
        Ok(())
    });
    let _ = std::fs::remove_dir_all(&dir);
    if let Err(e) = result {
        panic!("{e}");
    }
    let counts = counts.into_inner();
    eprintln!("{RANDOM_CASES} random policies: {counts:?}");
    let compiled = counts.get("compiled by both").copied().unwrap_or(0);
    assert!(
        compiled * 3 >= RANDOM_CASES as usize,
        "too few compiled: {counts:?}"
    );
    // About two in three of those are written (the rest need more rules
    // than minijail's compiler takes for one syscall).
    let decompiled = counts
        .get("decompiled, and minijail's program of it the same function")
        .copied()
        .unwrap_or(0);
    assert!(decompiled * 2 >= compiled, "too few decompiled: {counts:?}");
}

/// One random policy: both refuse it, or both compile it to one function.
/// A program of minijail's that the kernel would not load (`arg6` reads
/// past `seccomp_data`) counts as minijail refusing the policy; sysfence
/// refuses `arg6` even in a filter minijail drops (docs/profiles.md).
fn compare_random(path: &Path, theirs: &[Result<Vec<u8>, String>], text: &str) -> &'static str {
    let theirs: Vec<Result<Program, String>> = theirs
        .iter()
        .map(|raw| {
            let raw = raw.as_ref().map_err(Clone::clone)?;
            Program::from_raw(raw, Endian::Little).map_err(|e| format!("the kernel refuses: {e}"))
        })
        .collect();
    let ours = load_file(path, &LoadOptions::default());
    match (&theirs[..], &ours) {
        ([Err(_), Err(_)], Err(_)) => "refused by both",
        ([Ok(_), Ok(_)], Ok(_)) => {
            let (read, mut all) = sysfence_programs(path, text);
            let named = STRATEGIES.iter().zip(theirs);
            all.extend(named.map(|(s, p)| (format!("minijail {s}"), p.expect("compiled"))));
            same_everywhere(&read, &all, text);
            sample_numbers(&read.arches()[0], &all, text);
            "compiled by both"
        }
        (_, Err(e)) if e.to_string().contains("seccomp_data has six arguments") => {
            "arg6, refused by sysfence"
        }
        (_, Err(e)) => panic!("{text}\nsysfence refuses what minijail compiles: {e}"),
        ([Err(e), _] | [_, Err(e)], Ok(_)) => {
            panic!("{text}\nsysfence reads what minijail refuses ({e})")
        }
        _ => unreachable!("two strategies"),
    }
}

/// sysfence's program of a policy both compile, decompiled into a minijail
/// policy (`sysfence decompile --format minijail`, proven equal as sysfence
/// reads it) and that policy compiled by minijail: minijail's program must
/// be the policy's function too, so the decompiled text means to minijail
/// what the proof says. Plans too large to write, and minijail programs of
/// them too long for the kernel, count apart.
fn decompiled_through_minijail(
    path: &Path,
    worker: &mut sysfence_benches::peers::minijail::Worker,
    text: &str,
) -> &'static str {
    let (read, ours) = sysfence_programs(path, text);
    let subject = Subject::Program(ours[0].1.clone(), ShiftMode::Mask31);
    let Ok(d) = decompile(&subject, OutFormat::Minijail, DECOMPILE_BUDGET) else {
        return "not decompiled (too large)";
    };
    let out = path.with_file_name("decompiled.policy");
    std::fs::write(&out, &d.text).expect("write the decompiled policy");
    let raw = worker
        .compile("decompiled.policy", "bst")
        .expect("the peer runs")
        .unwrap_or_else(|e| panic!("{text}\ndecompiled:\n{}\nminijail refuses it: {e}", d.text));
    if raw.len() / 8 > sysfence_cbpf::limits::BPF_MAXINSNS {
        // minijail's layout of the decompiled policy can take more
        // instructions than the kernel loads, where sysfence's fits.
        return "decompiled, minijail's program of it longer than the kernel loads";
    }
    let p = Program::from_raw(&raw, Endian::Little).expect("minijail's program validates");
    let what = format!("{text}\ndecompiled:\n{}", d.text);
    same_everywhere(
        &read,
        &[("minijail of the decompiled policy".into(), p)],
        &what,
    );
    "decompiled, and minijail's program of it the same function"
}

/// sysfence's `tree` and `weighted` programs (weighted by the policy's
/// `@frequency` counts, or uniformly when it has none), and the policy read.
fn sysfence_programs(path: &Path, what: &str) -> (Policy, Vec<(String, Program)>) {
    let loaded = load_file(path, &LoadOptions::default()).unwrap_or_else(|e| panic!("{what}: {e}"));
    let weighted = Config::new()
        .layout(Layout::Weighted)
        .weights(Weights::from_pairs(loaded.frequency.clone()));
    let programs = [
        ("sysfence tree", Config::new()),
        ("sysfence weighted", weighted),
    ]
    .into_iter()
    .map(|(who, config)| {
        let p = compile(&loaded.policy, &config)
            .unwrap_or_else(|e| panic!("{what} ({who}): {e}"))
            .into_program();
        (who.to_string(), p)
    })
    .collect();
    (loaded.policy, programs)
}

fn policies(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("arch folder")
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.ends_with(".policy"))
        .collect();
    v.sort();
    v
}

/// Builds every program's diagram in one store and requires one node:
/// the programs are the same function of `seccomp_data`, and that function
/// is the policy's meaning as sysfence reads it (built from the IR, not the
/// compiler: `sysfence check`'s proof). On a difference between programs,
/// lists the regions (up to [`SHOWN`]), each marked as on the policy's arch
/// or on foreign arches only, with an input of it replayed in the interpreter.
fn same_everywhere(read: &Policy, programs: &[(String, Program)], what: &str) {
    let audit_arch = read.arches()[0].audit_arch;
    let mut s = Store::new(BUDGET);
    let meaning =
        policy::diagram(&mut s, read).unwrap_or_else(|e| panic!("{what}: the policy: {e}"));
    let roots: Vec<Node> = programs
        .iter()
        .map(|(who, p)| {
            program::diagram(&mut s, p, ShiftMode::Mask31)
                .unwrap_or_else(|e| panic!("{what}: {who}'s program: {e}"))
        })
        .collect();
    assert_eq!(
        meaning, roots[0],
        "{what}: {} differs from the policy it was compiled from",
        programs[0].0
    );
    for ((who, p), root) in programs.iter().zip(&roots).skip(1) {
        if *root == roots[0] {
            continue;
        }
        let (regions, cut) = diff::regions(&s, roots[0], *root, SHOWN);
        let shown: Vec<String> = regions
            .iter()
            .map(|r| region_line(r, audit_arch, &programs[0].1, p))
            .collect();
        panic!(
            "{what}: {} and {who} differ{}:\n{}",
            programs[0].0,
            if cut { " (first regions)" } else { "" },
            shown.join("\n")
        );
    }
}

/// One differing region: where it lies, one input of it and both answers.
fn region_line(r: &Region, audit_arch: u32, a: &Program, b: &Program) -> String {
    let arch = r.words[0];
    let place = if audit_arch & arch.mask != arch.value {
        "foreign arches only"
    } else {
        "the policy's arch"
    };
    let d = witness::data_of(&r.sample());
    format!(
        "  on {place}: e.g. arch {:#x} nr {} args {:x?}: {:#x} vs {:#x} (interpreter: {:#x} vs {:#x})",
        d.arch,
        d.nr,
        d.args,
        r.a,
        r.b,
        interp::run(a, &d).raw,
        interp::run(b, &d).raw
    )
}

/// The second opinion: both programs in the interpreter on every syscall
/// number of the arch and past it (x32 numbers included), arguments zero,
/// and on foreign arches.
fn sample_numbers(ap: &ArchPolicy, programs: &[(String, Program)], what: &str) {
    let native = (0..=ap.table_max + 16)
        .chain((0..=ap.table_max + 1).map(|n| n | 0x4000_0000))
        .chain([u32::MAX, 0x8000_0000, 0x7fff_ffff])
        .map(|nr| SeccompData::new(ap.audit_arch, nr));
    let foreign = FOREIGN
        .iter()
        .filter(|a| **a != ap.audit_arch)
        .map(|a| SeccompData::new(*a, 0));
    let (first, p0) = &programs[0];
    for d in native.chain(foreign) {
        let a = interp::run(p0, &d).raw;
        for (who, p) in &programs[1..] {
            let b = interp::run(p, &d).raw;
            assert_eq!(
                a, b,
                "{what}: {first} and {who} on nr {} arch {:#x}",
                d.nr, d.arch
            );
        }
    }
}
