//! Differential property test: random Docker profiles through runc's
//! conversion and the real libseccomp, against sysfence (feature
//! `libseccomp`; `cargo test --release -p sysfence-benches --features
//! libseccomp --test libseccomp_runc`).
//!
//! In: random Docker/OCI profiles (`sysfence_testkit::random_profile`):
//! every default and rule action, `errnoRet`/`defaultErrnoRet`, the x86
//! family's `architectures` lists, names libseccomp 2.5.4 knows (plus one it
//! does not and one no release knows), several rules per name, conditions
//! with every operator on any argument, values across both 32-bit words.
//!
//! * libseccomp's side: `peers::runc` builds the filter from the JSON text
//!   alone as runc does (its ENOSYS stub included), in the `runc-libseccomp`
//!   child with a time limit.
//! * sysfence's side: the same text through `load` and `compile` (the calls
//!   the CLI makes) with runc, `--libseccomp 2.5.4` and an x86_64 host.
//!
//! Out: the two programs are compared over **every** input with
//! `sysfence_exact` (their decision diagrams; each differing region's sample
//! replayed through the interpreter). A difference must be explained by a
//! known libseccomp 2.5.4 defect that sysfence warned about for that
//! syscall: GHSA-4q85-33p6-j5g6 (whose warning's example call must get, from
//! libseccomp's program, the action the warning predicts) or the stale
//! accumulator. A libseccomp that does not answer within the limit must be
//! one sysfence refuses as never finishing; a profile one side refuses must
//! be refused by the other. Anything else fails, printing the profile and
//! the input.
//!
//! `--arch` narrowing is checked the same way: the profile with x86_64, x32
//! and x86, read by sysfence narrowed to x86_64, x86_64+x32 or x86 (as
//! `--arch` reads it), against libseccomp's filter built with only those
//! arches (and runc's stub for them); a profile refused on an arch left out
//! must be built by both.
//!
//! A sample of the programs also runs through the live kernel
//! (`sysfence_linux::oracle`, where root and seccomp allow it).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config as RunConfig, TestCaseError, TestRunner};
use sysfence_benches::peers::runc::{
    self,
    worker::{Reply, Worker},
};
use sysfence_cbpf::SeccompData;
use sysfence_cbpf::data::AUDIT_ARCH_X86_64;
use sysfence_cbpf::interp::{self, ShiftMode};
use sysfence_cbpf::program::Program;
use sysfence_compile::{Config, compile};
use sysfence_exact::store::Store;
use sysfence_exact::{diff, program, witness};
use sysfence_linux::oracle::Oracle;
use sysfence_profile::Diagnostic;
use sysfence_profile::arch::Arch;
use sysfence_profile::{HostContext, Libseccomp, LoadOptions, Loaded, Runtime, load};
use sysfence_testkit::insn::assert_kernel_agrees;
use sysfence_testkit::random_profile::{MERGE_SHAPE, Profile, Shape, Values, profile};

/// Profiles per run of the main test.
const CASES: u32 = 10_000;
/// Profiles per narrowing.
const NARROW_CASES: u32 = 1_000;
/// Profiles replayed through the live kernel.
const KERNEL_SAMPLE: usize = 100;
/// How long libseccomp may take for one profile.
const LIMIT: Duration = Duration::from_secs(2);
/// Diagram nodes allowed per comparison.
const BUDGET: usize = 1 << 21;
/// The names rules use: low and high x86_64 numbers (`read` is 0, so a
/// profile naming only it gets no stub check; `process_mrelease` is 448),
/// calls x86 also reaches through `socketcall`, names upstream 2.5.4 does
/// not know (`fchmodat2`) and no 2.5.x knows (`uretprobe`), and one no
/// release knows.
const NAMES: &[&str] = &[
    "read",
    "write",
    "close",
    "ioctl",
    "futex",
    "openat",
    "clone",
    "socket",
    "connect",
    "mmap",
    "personality",
    "process_mrelease",
    "fchmodat2",
    "uretprobe",
    "not_a_syscall",
];
const SHAPE: Shape = Shape {
    names: NAMES,
    max_rules: 6,
    max_args: 3,
    values: Values::Wide,
};
/// Profiles per run of the merge-shape test.
const MERGE_CASES: u32 = 3_000;

/// The warning codes of the known defects.
const GHSA: &str = "libseccomp-ghsa-4q85";
const STALE: &str = "libseccomp-stale-accumulator";
/// How a GHSA warning without an example says its search gave up.
const GAVE_UP: &str = "the search for a call its filter decides otherwise stopped";

/// How one profile came out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome {
    Same,
    BothRefuse,
    Loop,
    Ghsa,
    Stale,
}

fn worker() -> Worker {
    Worker::spawn(env!("CARGO_BIN_EXE_runc-libseccomp")).expect("the runc-libseccomp worker")
}

/// The release whose table the linked libseccomp carries. Debian 12's
/// 2.5.4 package (`2.5.4-1+deb12u1`) has 2.5.5's table (it knows
/// `fchmodat2`), and 2.5.5 merges as 2.5.4 does, defects included.
fn release() -> Libseccomp {
    if runc::resolves("fchmodat2") {
        Libseccomp::V2_5_5
    } else {
        Libseccomp::V2_5_4
    }
}

/// sysfence's reading, narrowed to `arches` when given (as `--arch` does).
fn options(arches: Option<&[Arch]>) -> LoadOptions {
    LoadOptions {
        file_name: "random.json".into(),
        context: HostContext {
            host_arch: Arch::X86_64,
            runtime: Runtime::Runc,
            libseccomp: release(),
            enosys_stub: true,
            arches: arches.map(<[Arch]>::to_vec),
            ..HostContext::default()
        },
        ..LoadOptions::default()
    }
}

/// sysfence's program, with the load's warnings; or its refusal.
fn ours(text: &str, arches: Option<&[Arch]>) -> Result<(Program, Loaded), String> {
    let loaded = load(text.as_bytes(), &options(arches)).map_err(|e| e.to_string())?;
    let mut config = Config::new();
    if let Some(a) = arches {
        config = config.arches(a.to_vec());
    }
    let program = compile(&loaded.policy, &config)
        .map_err(|e| e.to_string())?
        .into_program();
    Ok((program, loaded))
}

/// One input where the programs differ.
struct Witness {
    data: SeccompData,
    theirs: u32,
    ours: u32,
}

/// Every region where the two programs differ, one replayed sample each;
/// `Err` when the diagrams exceed the budget.
fn differences(theirs: &Program, ours: &Program) -> Result<Vec<Witness>, String> {
    let mut s = Store::new(BUDGET);
    let over = |_| "over the diagram budget".to_string();
    let a = program::diagram(&mut s, theirs, ShiftMode::Mask31).map_err(over)?;
    let b = program::diagram(&mut s, ours, ShiftMode::Mask31).map_err(over)?;
    if a == b {
        return Ok(Vec::new());
    }
    let (regions, _) = diff::regions(&s, a, b, 64);
    Ok(regions
        .iter()
        .map(|r| {
            let data = witness::data_of(&r.sample());
            Witness {
                data,
                theirs: interp::run(theirs, &data).raw,
                ours: interp::run(ours, &data).raw,
            }
        })
        .collect())
}

/// `NAME on ARCH: ...` of a defect warning.
fn subject(w: &Diagnostic) -> Option<(&str, Option<Arch>)> {
    let (head, _) = w.message.split_once(": ")?;
    let (name, arch) = head.split_once(" on ")?;
    let arch = arch.split('+').next().and_then(|a| Arch::parse(a).ok());
    Some((name, arch))
}

/// Whether `w` speaks of the syscall the input calls.
fn names_input(w: &Diagnostic, d: &SeccompData) -> bool {
    let Some((name, _)) = subject(w) else {
        return false;
    };
    Arch::all()
        .iter()
        .any(|a| a.audit_arch() == d.arch && a.syscall_nr(name) == Some(d.nr))
}

/// The example call of a GHSA warning and the outcome it predicts for
/// libseccomp's filter: `for args (..) its filter gives X where ...`.
fn ghsa_example(w: &Diagnostic) -> Option<(SeccompData, String)> {
    let (name, arch) = subject(w)?;
    let arch = arch?;
    let (_, rest) = w.message.split_once("for args (")?;
    let (args, rest) = rest.split_once(") its filter gives ")?;
    let (gives, _) = rest.split_once(" where the profile gives ")?;
    let mut d = SeccompData::new(arch.audit_arch(), arch.syscall_nr(name)?);
    for (slot, a) in d.args.iter_mut().zip(args.split(", ")) {
        *slot = u64::from_str_radix(a.trim_start_matches("0x"), 16).ok()?;
    }
    Some((d, gives.to_string()))
}

/// Checks every GHSA warning's example against libseccomp's program. The
/// example's outcome is the one of libseccomp's merged tree; where sysfence
/// also warns that the code generated for that syscall can test a stale
/// argument word, the program may give another, as the warning says. A
/// warning whose search gave up has no example (it says so; the profile
/// crate's own property test requires the search to answer). Every
/// difference must still be one sysfence warned about ([`explain`]).
fn check_examples(loaded: &Loaded, theirs: &Program) -> Result<(), String> {
    let with_example = |w: &&Diagnostic| !w.message.contains(GAVE_UP);
    for w in loaded
        .warnings
        .iter()
        .filter(|w| w.code == Some(GHSA))
        .filter(with_example)
    {
        let (d, gives) = ghsa_example(w).ok_or_else(|| format!("unreadable: {}", w.message))?;
        let stale = |x: &&Diagnostic| x.code == Some(STALE) && names_input(x, &d);
        if loaded.warnings.iter().any(|x| stale(&x)) {
            if !w.message.contains("may give yet another action") {
                return Err(format!("GHSA warning beside a stale one: {}", w.message));
            }
            continue;
        }
        let got = interp::run(theirs, &d).action.to_string();
        let default = loaded.policy.arch(d.arch).map(|a| a.default.to_string());
        let expected = if gives == "the default action" {
            default.unwrap_or_default()
        } else {
            gives
        };
        if got != expected {
            return Err(format!(
                "GHSA example {d:x?}: libseccomp gives {got}, the warning says {expected}: {}",
                w.message
            ));
        }
    }
    Ok(())
}

/// The known defect that explains a difference, if sysfence warned of it.
fn explain(loaded: &Loaded, w: &Witness) -> Option<Outcome> {
    let warned = |code| {
        loaded
            .warnings
            .iter()
            .any(|x| x.code == Some(code) && names_input(x, &w.data))
    };
    if warned(GHSA) {
        Some(Outcome::Ghsa)
    } else if warned(STALE) {
        Some(Outcome::Stale)
    } else {
        None
    }
}

/// Compares one profile's two programs; `Err` is an unexplained result.
fn compare(
    worker: &mut Worker,
    text: &str,
    narrow: Option<(&[String], &[Arch])>,
) -> Result<(Outcome, Option<(Program, Program)>), String> {
    let ours = ours(text, narrow.map(|n| n.1));
    let mut reply = worker
        .convert(text, narrow.map(|n| n.0), LIMIT)
        .map_err(|e| e.to_string())?;
    if reply == Reply::Timeout && ours.is_ok() {
        // A loaded machine, not a loop? Ask once more with a long limit.
        reply = worker
            .convert(text, narrow.map(|n| n.0), 10 * LIMIT)
            .map_err(|e| e.to_string())?;
    }
    let (insns, (prog, loaded)) = match (reply, ours) {
        (Reply::Timeout, Err(e)) if e.contains("never finishes") => {
            return Ok((Outcome::Loop, None));
        }
        (Reply::Refused(_), Err(_)) => return Ok((Outcome::BothRefuse, None)),
        (Reply::Program(insns), Ok(ours)) => (insns, ours),
        (theirs, ours) => {
            let ours = ours.map(|_| "a program");
            return Err(format!("libseccomp: {theirs:?}\nsysfence: {ours:?}"));
        }
    };
    let theirs = Program::new(&insns).map_err(|e| format!("runc's program: {e}"))?;
    if narrow.is_none() {
        check_examples(&loaded, &theirs)?;
    }
    let mut outcome = Outcome::Same;
    for w in differences(&theirs, &prog)? {
        let why = explain(&loaded, &w).ok_or_else(|| {
            format!(
                "{:x?}: libseccomp {:#x}, sysfence {:#x}; warnings: {:?}",
                w.data,
                w.theirs,
                w.ours,
                loaded
                    .warnings
                    .iter()
                    .map(|w| &w.message)
                    .collect::<Vec<_>>()
            )
        })?;
        outcome = outcome.max(why);
    }
    Ok((outcome, Some((theirs, prog))))
}

/// Runs `cases` random profiles; returns the outcome counts.
fn run_random(
    shape: Shape,
    cases: u32,
    narrow: Option<(&[String], &[Arch])>,
) -> BTreeMap<Outcome, usize> {
    let worker = RefCell::new(worker());
    let counts = RefCell::new(BTreeMap::new());
    let mut runner = TestRunner::new(RunConfig {
        cases,
        failure_persistence: None,
        max_shrink_iters: 64,
        ..RunConfig::default()
    });
    let strategy = profile(shape).prop_map(|mut p| {
        if narrow.is_some() {
            p.architectures = vec!["SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_X86"];
        }
        p
    });
    let result = runner.run(&strategy, |p: Profile| {
        let text = p.json();
        let (outcome, _) = compare(&mut worker.borrow_mut(), &text, narrow)
            .map_err(|e| TestCaseError::fail(format!("{text}\n{e}")))?;
        *counts.borrow_mut().entry(outcome).or_insert(0) += 1;
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let restarts = worker.borrow().restarts;
    let counts = counts.into_inner();
    eprintln!("{counts:?}, {restarts} worker restart(s)");
    counts
}

#[test]
fn random_docker_profiles_agree_with_runc_and_libseccomp() {
    let start = Instant::now();
    let counts = run_random(SHAPE, CASES, None);
    let total: usize = counts.values().sum();
    assert!(total >= CASES as usize, "{counts:?}");
    assert!(counts.get(&Outcome::Same).copied().unwrap_or(0) > total / 2);
    eprintln!("{total} profiles in {:.1?}", start.elapsed());
}

/// Rule sets built to share comparisons: libseccomp's own defects show up
/// here, and each difference must be one sysfence warned about.
#[test]
fn merge_heavy_profiles_differ_only_where_sysfence_warns() {
    let counts = run_random(MERGE_SHAPE, MERGE_CASES, None);
    assert!(counts.values().sum::<usize>() >= MERGE_CASES as usize);
}

#[test]
fn narrowed_to_x86_64_agrees_with_libseccomp_built_for_x86_64_alone() {
    run_random(
        SHAPE,
        NARROW_CASES,
        Some((&["SCMP_ARCH_X86_64".into()], &[Arch::X86_64])),
    );
}

#[test]
fn narrowed_to_x86_64_and_x32_agrees_with_libseccomp() {
    let names = ["SCMP_ARCH_X86_64".to_string(), "SCMP_ARCH_X32".into()];
    run_random(
        SHAPE,
        NARROW_CASES,
        Some((&names, &[Arch::X86_64, Arch::X32])),
    );
}

#[test]
fn narrowed_to_x86_agrees_with_libseccomp_built_for_x86_alone() {
    run_random(
        SHAPE,
        NARROW_CASES,
        Some((&["SCMP_ARCH_X86".into()], &[Arch::X86])),
    );
}

/// Docker's default-profile shape narrowed to x86_64: −1 (bit 30 set)
/// skips the stub and gets libseccomp's default action, numbers with bit
/// 30 clear above the table get ENOSYS from the stub, x32 numbers the
/// bad-arch action (issue: `--arch` narrowing is the runtime's filter).
#[test]
fn narrowing_edges_match_runc() {
    let text = r#"{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X32","SCMP_ARCH_X86"],"syscalls":[{"names":["read","write","process_mrelease"],"action":"SCMP_ACT_ALLOW"}]}"#;
    let only = ["SCMP_ARCH_X86_64".to_string()];
    let mut w = worker();
    let (outcome, programs) = compare(&mut w, text, Some((&only, &[Arch::X86_64]))).unwrap();
    assert_eq!(outcome, Outcome::Same);
    let (theirs, _) = programs.unwrap();
    let at = |nr| {
        let d = SeccompData::new(AUDIT_ARCH_X86_64, nr);
        interp::run(&theirs, &d).action.to_string()
    };
    assert_eq!(at(0xffff_ffff), "ERRNO(1)");
    assert_eq!(at(0x8000_0000), "ERRNO(38)");
    assert_eq!(at(0xbfff_ffff), "ERRNO(38)");
    assert_eq!(at(449), "ERRNO(38)");
    assert_eq!(at(448), "ALLOW");
    assert_eq!(at(0x4000_0000), "KILL_THREAD");
}

/// On x86 `socket` is `socketcall(1)`, which the second rule gives another
/// action under the same condition: libseccomp refuses the profile with
/// every arch (EEXIST), and builds it without x86; so does sysfence.
#[test]
fn a_refusal_on_x86_alone_does_not_stop_a_filter_without_x86() {
    let text = r#"{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X32","SCMP_ARCH_X86"],"syscalls":[{"names":["socket","read","write"],"action":"SCMP_ACT_ALLOW"},{"names":["socketcall"],"action":"SCMP_ACT_KILL_PROCESS","args":[{"index":0,"value":1,"valueTwo":0,"op":"SCMP_CMP_EQ"}]}]}"#;
    let mut w = worker();
    let (whole, _) = compare(&mut w, text, None).unwrap();
    assert_eq!(whole, Outcome::BothRefuse);
    let only = ["SCMP_ARCH_X86".to_string()];
    let (x86, _) = compare(&mut w, text, Some((&only, &[Arch::X86]))).unwrap();
    assert_eq!(x86, Outcome::BothRefuse);
    let only = ["SCMP_ARCH_X86_64".to_string()];
    let (outcome, programs) = compare(&mut w, text, Some((&only, &[Arch::X86_64]))).unwrap();
    assert_eq!(outcome, Outcome::Same);
    let (theirs, ours) = programs.unwrap();
    assert!(differences(&theirs, &ours).unwrap().is_empty());
    let socket = SeccompData::new(AUDIT_ARCH_X86_64, 41);
    assert_eq!(interp::run(&theirs, &socket).action.to_string(), "ALLOW");
}

/// One hand-written profile per known libseccomp 2.5.4 defect, run on the
/// real libseccomp: the outcome and sysfence's warning (or refusal).
#[test]
fn each_known_defect_reproduces_on_libseccomp() {
    let rule = |args: &str, action: &str| {
        format!(r#"{{"names":["read"],"action":"SCMP_ACT_{action}","args":[{args}]}}"#)
    };
    let arg = |i: u8, op: &str, v: u64| {
        format!(r#"{{"index":{i},"op":"SCMP_CMP_{op}","value":{v},"valueTwo":0}}"#)
    };
    let profile = |rules: &[String]| {
        format!(
            r#"{{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86_64"],"syscalls":[{}]}}"#,
            rules.join(",")
        )
    };
    let cases = [
        // GHSA-4q85-33p6-j5g6 through `<`.
        (
            profile(&[
                rule(&arg(0, "LT", 0x1_0000_0200), "ALLOW"),
                rule(&arg(0, "LT", 0x1_0000_0100), "TRAP"),
            ]),
            Outcome::Ghsa,
        ),
        // Through `!=`.
        (
            profile(&[
                rule(&arg(0, "NE", 0x1_0000_0007), "ALLOW"),
                rule(&arg(0, "NE", 0x1_0000_0005), "TRAP"),
            ]),
            Outcome::Ghsa,
        ),
        // Through a high-word node an `==` rule created.
        (
            profile(&[
                rule(&arg(0, "EQ", 0x1_0000_0007), "TRAP"),
                rule(&arg(0, "NE", 0x1_0000_0009), "ALLOW"),
                rule(&arg(0, "NE", 0x1_0000_0005), "LOG"),
            ]),
            Outcome::Ghsa,
        ),
        // The stale accumulator: after `a0 != 256` the generated code can
        // test the low word of a1 with a0's word still loaded.
        (
            profile(&[
                rule(
                    &format!("{},{}", arg(0, "NE", 256), arg(1, "EQ", 7)),
                    "ALLOW",
                ),
                rule(
                    &format!("{},{}", arg(0, "EQ", 5), arg(1, "NE", 0x1_0000_0100)),
                    "TRAP",
                ),
            ]),
            Outcome::Stale,
        ),
        // Never finishes: `a0 != 1 && a1 == 2`, then `a0 != 1 && a2 == 3`.
        (
            profile(&[
                rule(&format!("{},{}", arg(0, "NE", 1), arg(1, "EQ", 2)), "ALLOW"),
                rule(&format!("{},{}", arg(0, "NE", 1), arg(2, "EQ", 3)), "ALLOW"),
            ]),
            Outcome::Loop,
        ),
    ];
    let mut w = worker();
    for (text, expected) in cases {
        let got = compare(&mut w, &text, None).unwrap_or_else(|e| panic!("{text}\n{e}"));
        assert_eq!(got.0, expected, "{text}");
    }
    assert_eq!(w.restarts, 1, "the looping profile needs one restart");
}

/// A deterministic sample of the random profiles through the live kernel:
/// each side's program answers as the interpreter says.
#[test]
fn a_sample_agrees_with_the_kernel() {
    let oracle = match Oracle::new() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("skipped: the live-kernel oracle cannot run here: {e}");
            return;
        }
    };
    let mut w = worker();
    let mut runner = TestRunner::deterministic();
    let (mut done, mut runs) = (0, 0);
    while done < KERNEL_SAMPLE {
        let p = profile(SHAPE)
            .new_tree(&mut runner)
            .expect("a profile")
            .current();
        let Ok((_, Some((theirs, ours)))) = compare(&mut w, &p.json(), None) else {
            continue;
        };
        let inputs = kernel_inputs(&oracle, &p);
        let kernel = |insns: &[_], inputs: &[_]| oracle.run(insns, inputs);
        runs += assert_kernel_agrees([&theirs, &ours], &inputs, kernel, &p.json());
        done += 1;
    }
    eprintln!("{done} profiles, {runs} inputs: interpreter and kernel agree");
}

/// x86_64 inputs for the kernel: the named numbers with each constant on
/// its argument, a few numbers above the table and −1.
fn kernel_inputs(oracle: &Oracle, p: &Profile) -> Vec<SeccompData> {
    // The oracle cannot call `uretprobe` (335), which bypasses filters.
    let mut nrs: Vec<u32> = NAMES
        .iter()
        .filter_map(|n| Arch::X86_64.syscall_nr(n))
        .filter(|&nr| nr != 335)
        .collect();
    nrs.extend([39, 449, 0x8000_0000, 0xffff_ffff]);
    let mut out = Vec::new();
    for &nr in &nrs {
        out.push(oracle.data(nr, [0; 6]));
        for (i, v) in p.constants() {
            let mut args = [0u64; 6];
            args[usize::from(i)] = v;
            out.push(oracle.data(nr, args));
        }
    }
    out
}

#[test]
fn the_worker_answers_refuses_and_survives_a_restart() {
    let mut w = worker();
    let ok = r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW"}]}"#;
    let Reply::Program(insns) = w.convert(ok, None, LIMIT).unwrap() else {
        panic!("no program")
    };
    let prog = Program::new(&insns).unwrap();
    assert_eq!(prog.insns(), &insns[..]);
    let bad = r#"{"defaultAction":"SCMP_ACT_BOGUS","syscalls":[]}"#;
    assert!(matches!(
        w.convert(bad, None, LIMIT).unwrap(),
        Reply::Refused(_)
    ));
}
