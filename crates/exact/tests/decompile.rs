//! `decompile` round trips: programs compiled from profiles, decompiled,
//! and proven equal (the proof is inside `decompile`).

mod support;

use std::path::PathBuf;

use sysfence_cbpf::Action;
use sysfence_cbpf::generate::{self, Rng};
use sysfence_cbpf::interp::ShiftMode;
use sysfence_compile::{Config, compile};
use sysfence_exact::compare::DEFAULT_BUDGET;
use sysfence_exact::decompile::prove::{DecompileError, decompile, decompile_with};
use sysfence_exact::decompile::render::OutFormat;
use sysfence_exact::decompile::{Dialect, plans};
use sysfence_exact::store::Store;
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

/// Every crosvm policy on each of its arches, compiled by sysfence and
/// decompiled into a minijail policy, proven equal to the program (read
/// with the arch's table as sysfence has it, and with crosvm's own
/// `constants.json`).
#[test]
fn every_crosvm_policy_round_trips_as_minijail() {
    let Some(dir) = shared::require("corpus/third-party/crosvm") else {
        return;
    };
    let (mut proven, mut failures) = (0, Vec::new());
    for arch in ["x86_64", "aarch64", "riscv64"] {
        let constants_path = dir.join(arch).join("constants.json");
        let constants = std::fs::read(&constants_path).unwrap();
        let table = sysfence_profile::minijail::constants::parse(&constants, arch).unwrap();
        for path in files(&dir.join(arch), &["policy"], &[]) {
            let loaded = sysfence_profile::load_file(&path, &LoadOptions::default()).unwrap();
            let subject = program(&loaded.policy, None);
            let what = path.display().to_string();
            let own = round_trip(&subject, OutFormat::Minijail, &what);
            let theirs = decompile_with(
                &subject,
                OutFormat::Minijail,
                DEFAULT_BUDGET,
                Some((&table, "constants.json")),
            );
            match (own, theirs) {
                (Ok(_), Ok(_)) => proven += 1,
                (Err(e), _) => failures.push(e),
                (_, Err(e)) => failures.push(format!("{what} with crosvm's table: {e:?}")),
            }
        }
    }
    eprintln!("{proven} crosvm policies decompiled into minijail and proven");
    assert!(proven >= 90, "{proven}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Random minijail policies (`sysfence_testkit::random_minijail`), those
/// sysfence reads, compiled and decompiled into minijail: each proven.
#[test]
fn random_minijail_policies_round_trip() {
    use proptest::test_runner::{Config as RunConfig, RngAlgorithm, TestRng, TestRunner};
    let Some(dir) = shared::require("corpus/third-party/crosvm/x86_64") else {
        return;
    };
    let work = std::env::temp_dir().join(format!("sysfence-mj-decompile-{}", std::process::id()));
    std::fs::create_dir_all(&work).unwrap();
    let opts = LoadOptions {
        file_name: "random.policy".into(),
        base_dir: Some(work.clone()),
        constants: Some(dir.join("constants.json")),
        ..LoadOptions::default()
    };
    let config = RunConfig {
        cases: 200,
        failure_persistence: None,
        ..RunConfig::default()
    };
    let rng = TestRng::deterministic_rng(RngAlgorithm::ChaCha);
    let mut runner = TestRunner::new_with_rng(config, rng);
    // Plans of more argument cubes (a random `!=` or `&` beside another
    // makes thousands) are left out: they test the plan, not the policy
    // written from it, and outgrow the clauses minijail reads for one
    // syscall or the proof's budget.
    const MOST_ENTRIES: usize = 512;
    const BUDGET: usize = 300_000;
    let cell = || std::cell::Cell::new(0);
    let (proven, unwritten, large) = (cell(), cell(), cell());
    let result = runner.run(&sysfence_testkit::random_minijail::policy(), |policy| {
        std::fs::write(
            work.join(sysfence_testkit::random_minijail::INCLUDED),
            &policy.included,
        )
        .unwrap();
        let Ok(loaded) = load(policy.text.as_bytes(), &opts) else {
            return Ok(());
        };
        let subject = program(&loaded.policy, None);
        // A plan that already says what it cannot express (random argument
        // expressions past the regions a rule list holds) fails in every
        // format; the others must be proven.
        let mut s = Store::new(DEFAULT_BUDGET);
        let root = subject.diagram(&mut s).unwrap();
        match plans(&s, root, Dialect::Ordered).first() {
            Some(p) if p.lost.is_empty() && p.entries.len() <= MOST_ENTRIES => {}
            Some(p) if p.lost.is_empty() => {
                large.set(large.get() + 1);
                return Ok(());
            }
            _ => return Ok(()),
        }
        match decompile(&subject, OutFormat::Minijail, BUDGET) {
            Ok(_) => proven.set(proven.get() + 1),
            // A plan of thousands of argument cubes (a random `!=` or `&`
            // beside another) can outgrow the proof's budget or the
            // clauses a syscall may have: nothing is printed. A witness
            // would be a policy that means something else.
            Err(DecompileError::Undecided(_) | DecompileError::Budget(_)) => {
                unwritten.set(unwritten.get() + 1)
            }
            Err(DecompileError::NotExpressible { witness: None, .. }) => {
                unwritten.set(unwritten.get() + 1)
            }
            Err(e) => {
                let what = format!("{}\n# included:\n{}", policy.text, policy.included);
                return Err(proptest::test_runner::TestCaseError::fail(format!(
                    "{what}: {e:?}"
                )));
            }
        }
        Ok(())
    });
    let _ = std::fs::remove_dir_all(&work);
    result.unwrap();
    eprintln!(
        "{} random minijail policies decompiled and proven, {} too large to write, {} plans of over {MOST_ENTRIES} rules left out",
        proven.get(),
        unwritten.get(),
        large.get()
    );
    // Three in four policies hold no refused statement, and most plans
    // express all, in few enough clauses.
    assert!(proven.get() >= 50, "{}", proven.get());
    assert!(unwritten.get() * 5 <= proven.get(), "{}", unwritten.get());
}

/// mmap's arguments in a diagram whose paths to the default are
/// exponentially many (a random policy's `<`, `&` and `in` on five
/// arguments): the plan says it needs too many argument regions, after
/// walking only the paths that lead elsewhere (it took 21 s and 4 GB when
/// every path was walked and every range built).
#[test]
fn a_filter_of_many_default_paths_is_refused_as_too_many_regions() {
    let text = "ld [4]\n\
jeq #0xc000003e, arch\n\
ret #0\n\
arch:   ld [0]\n\
jne #9, kill\n\
ld [28]\n\
jgt #0, a0\n\
ld [24]\n\
jle #0x10000, allow\n\
a0:     ld [16]\n\
jset #0x541b, a2, a3\n\
a2:     ld [36]\n\
jgt #0, a3\n\
ld [32]\n\
jge #0x541b, a3\n\
ld [52]\n\
jgt #0x5f52aa75, a3\n\
jne #0x5f52aa75, allow\n\
ld [48]\n\
jlt #0x10d542c4, allow\n\
a3:     ld [44]\n\
jset #0xe0bd397f, a1h\n\
ld [40]\n\
jset #0xbcb3d7d1, a1h\n\
ld [56]\n\
jset #3, allow\n\
a1h:    ld [28]\n\
jne #0xffffffff, errno\n\
ld [24]\n\
jlt #0x7fffffff, errno\n\
ld [48]\n\
jset #0x9b682300, errno\n\
allow:  ret #0x7fff0000\n\
errno:  ret #0x00051000\n\
kill:   ret #0x80000000\n";
    let insns = sysfence_cbpf::asm::assemble(text, &sysfence_cbpf::asm::AsmOptions::new()).unwrap();
    let prog = sysfence_cbpf::program::Program::new(&insns).unwrap();
    let subject = Subject::Program(prog, ShiftMode::Mask31);
    match decompile(&subject, OutFormat::Docker, DEFAULT_BUDGET) {
        Err(DecompileError::NotExpressible { lost, .. }) => {
            assert!(
                lost.iter()
                    .any(|l| l == "mmap on x86_64: too many argument regions"),
                "{lost:?}"
            );
        }
        other => panic!("{:?}", other.map(|d| d.text)),
    }
}

/// minijail reads a name's lines in order: the action that needs most
/// rules is the name's last line, so `!=` is one equality and a line that
/// allows the rest (an unconditional `allow` would make minijail drop the
/// lines before it), and an `errno` for every other call is `return N`.
#[test]
fn a_minijail_name_ends_with_a_line_of_its_own() {
    use sysfence_profile::minijail::{constants::ArchTable, load_with_table};
    let table = ArchTable::for_arch(Arch::X86_64);
    let cases = [
        (
            "read: arg0 != 5\n",
            "read: arg0 == 0x5; kill-thread\nread: arg0 in 0xffffffffffffffff; allow\n",
        ),
        (
            "read: arg1 == 7 || arg1 == 9\nread: return 1\n",
            "read: arg1 == 0x7 || arg1 == 0x9; allow\nread: return 1\n",
        ),
        (
            "write: arg2 & 0xff\n",
            "write: arg2 in 0xffffffffffffff00; kill-thread\nwrite: arg0 in 0xffffffffffffffff; allow\n",
        ),
    ];
    for (policy, lines) in cases {
        let opts = LoadOptions {
            file_name: "case.policy".into(),
            ..LoadOptions::default()
        };
        let loaded = load_with_table(policy.as_bytes(), &opts, &table).unwrap();
        let text = round_trip(&program(&loaded.policy, None), OutFormat::Minijail, policy).unwrap();
        assert!(text.ends_with(lines), "{policy} gave\n{text}");
    }
}

/// The stub mark (the name below where runc's ENOSYS stub starts) is not
/// listed again when a rule already names it: the profile written for
/// `no-chmod.json`'s program loads without a warning.
#[test]
fn a_decompiled_profile_loads_without_warnings() {
    let path = repo("corpus/profiles/no-chmod.json");
    let text = std::fs::read(&path).unwrap();
    let policy = load(&text, &LoadOptions::default()).unwrap().policy;
    let d = decompile(&program(&policy, None), OutFormat::Docker, DEFAULT_BUDGET).unwrap();
    let opts = LoadOptions {
        context: d.context.clone(),
        ..LoadOptions::default()
    };
    let loaded = load(d.text.as_bytes(), &opts).unwrap();
    assert!(
        loaded.warnings.is_empty(),
        "{:?}\n{}",
        loaded.warnings,
        d.text
    );
}
