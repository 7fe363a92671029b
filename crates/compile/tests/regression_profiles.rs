//! Replays `corpus/regressions/profiles/cases.txt` (format in that folder's
//! README): each profile must be refused, warned about, or compiled into a
//! program that returns the listed action. seccompiler files are compiled
//! by the real `seccompiler` crate as well, which must agree on every input
//! listed for the file and on every number up to past the table.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use sysfence_cbpf::data::AUDIT_ARCH_X86_64 as X86_64;
use sysfence_cbpf::program::Program;
use sysfence_cbpf::{Insn, SeccompData, interp};
use sysfence_compile::{Config, compile};
use sysfence_profile::arch::Arch;
use sysfence_profile::ir::Action;
use sysfence_profile::{Format, LoadOptions, Loaded, Runtime, Severity, load};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../corpus/regressions/profiles")
}

struct Case {
    file: String,
    options: String,
    opts: LoadOptions,
    arches: Vec<Arch>,
    expect: String,
}

fn cases() -> Vec<Case> {
    let text = std::fs::read_to_string(dir().join("cases.txt")).expect("cases.txt is present");
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let parts: Vec<&str> = l.splitn(3, " | ").collect();
            assert_eq!(parts.len(), 3, "bad line: {l}");
            let mut opts = LoadOptions {
                file_name: parts[0].to_string(),
                ..LoadOptions::default()
            };
            let mut arches = Vec::new();
            for o in parts[1].split_whitespace().filter(|o| *o != "-") {
                match o.split_once('=') {
                    Some(("format", f)) => opts.format = Format::from_name(f),
                    Some(("runtime", r)) => opts.context.runtime = Runtime::from_name(r).unwrap(),
                    Some(("arch", a)) => arches.push(Arch::from_name(a).unwrap()),
                    _ => panic!("bad option {o} in: {l}"),
                }
            }
            if !arches.is_empty() {
                opts.context.arches = Some(arches.clone());
            }
            Case {
                file: parts[0].to_string(),
                options: parts[1].to_string(),
                opts,
                arches,
                expect: parts[2].to_string(),
            }
        })
        .collect()
}

fn number(s: &str) -> u64 {
    match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).unwrap(),
        None => s.parse().unwrap(),
    }
}

/// `NR ARGS -> ACTION` as seccomp data and the raw action.
fn call(expect: &str) -> (SeccompData, u32) {
    let (input, action) = expect.split_once(" -> ").expect("NR ARGS -> ACTION");
    let (nr, args) = input.split_once(' ').expect("NR ARGS");
    let mut data = SeccompData::new(X86_64, number(nr) as u32);
    if args != "-" {
        for (i, a) in args.split(',').enumerate() {
            data.args[i] = number(a);
        }
    }
    (data, raw(action))
}

fn raw(action: &str) -> u32 {
    let data = |s: &str| -> u16 {
        let inner = s.split_once('(').unwrap().1.trim_end_matches(')');
        inner.parse().unwrap()
    };
    match action {
        "ALLOW" => Action::Allow,
        "TRAP" => Action::Trap(0),
        "KILL_THREAD" => Action::KillThread,
        "KILL_PROCESS" => Action::KillProcess,
        "LOG" => Action::Log,
        a if a.starts_with("ERRNO(") => Action::Errno(data(a)),
        a => panic!("unknown action {a}"),
    }
    .to_raw()
}

fn seccompiler(text: &[u8]) -> Program {
    let map = seccompiler::compile_from_json(text, seccompiler::TargetArch::x86_64)
        .expect("seccompiler compiles");
    let bpf = map.into_values().next().expect("one filter");
    let insns: Vec<Insn> = bpf
        .iter()
        .map(|f| Insn::new(f.code, f.jt, f.jf, f.k))
        .collect();
    Program::new(&insns).expect("seccompiler's program validates")
}

/// A profile loaded and compiled under one set of options.
struct Built {
    text: Vec<u8>,
    loaded: Result<Loaded, String>,
    program: Result<Program, String>,
}

fn build(c: &Case) -> Built {
    let text = std::fs::read(dir().join(&c.file)).expect("the case's file is present");
    let config = if c.arches.is_empty() {
        Config::new()
    } else {
        Config::new().arches(c.arches.clone())
    };
    let loaded = load(&text, &c.opts).map_err(|e| e.to_string());
    let program = loaded.as_ref().map_err(Clone::clone).and_then(|l| {
        compile(&l.policy, &config)
            .map(|c| c.into_program())
            .map_err(|e| e.to_string())
    });
    Built {
        text,
        loaded,
        program,
    }
}

fn run_case(c: &Case, built: &Built) -> Result<(), String> {
    let (text, loaded, compiled) = (&built.text, &built.loaded, &built.program);
    if let Some(want) = c.expect.strip_prefix("refused ") {
        return match compiled {
            Err(e) if e.contains(want) => Ok(()),
            Err(e) => Err(format!("refused with another message: {e}")),
            Ok(_) => Err("accepted".into()),
        };
    }
    let compiled = compiled.as_ref().map_err(Clone::clone)?;
    if let Some(want) = c.expect.strip_prefix("warns ") {
        let l = loaded.as_ref().map_err(Clone::clone)?;
        let found = l
            .warnings
            .iter()
            .any(|w| w.severity == Severity::Warning && w.message.contains(want));
        return found
            .then_some(())
            .ok_or_else(|| format!("no such warning among {:?}", l.warnings));
    }
    let (data, want) = call(&c.expect);
    let got = interp::run(compiled, &data).raw;
    if got != want {
        return Err(format!("got {got:#x}, want {want:#x}"));
    }
    if c.opts.format == Some(Format::Seccompiler) || c.file.starts_with("seccompiler") {
        let theirs = interp::run(&seccompiler(text), &data).raw;
        if theirs != got {
            return Err(format!("seccompiler gives {theirs:#x}, sysfence {got:#x}"));
        }
    }
    Ok(())
}

#[test]
fn every_regression_profile_has_its_expected_outcome() {
    let cases = cases();
    assert!(cases.len() >= 30, "only {} cases", cases.len());
    let mut built: HashMap<(String, String), Built> = HashMap::new();
    let mut failures = Vec::new();
    for c in &cases {
        let b = built
            .entry((c.file.clone(), c.options.clone()))
            .or_insert_with(|| build(c));
        if let Err(e) = run_case(c, b) {
            failures.push(format!("{} | {} | {}: {e}", c.file, c.options, c.expect));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every accepted seccompiler file, on every number up to past the table,
/// bit-30 numbers, −1 and the constants' neighbours, with and without
/// `--arch x86_64`: sysfence's program and seccompiler's agree.
#[test]
fn seccompiler_files_agree_with_the_crate_everywhere() {
    let mut checked = 0;
    for entry in std::fs::read_dir(dir()).expect("folder is present") {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.starts_with("seccompiler") || name.contains("empty-args") {
            continue;
        }
        let text = std::fs::read(&path).unwrap();
        let theirs = seccompiler(&text);
        let policy = load(&text, &LoadOptions::default()).unwrap().policy;
        for config in [Config::new(), Config::new().arches(vec![Arch::X86_64])] {
            let ours = compile(&policy, &config).unwrap();
            let max = Arch::X86_64.max_nr() + 64;
            let numbers = (0..=max).chain((0..=max).map(|n| n | 0x4000_0000)).chain([
                0x8000_0000,
                0xbfff_ffff,
                0xc000_0000,
                u32::MAX - 1,
                u32::MAX,
            ]);
            for nr in numbers {
                for a in [0u64, 1, 4, 5, 0xffff_ffff, 0x1_0000_0004, u64::MAX] {
                    let d = SeccompData {
                        args: [a, a, a, 0, 0, 0],
                        ..SeccompData::new(X86_64, nr)
                    };
                    let (x, y) = (
                        interp::run(&theirs, &d).raw,
                        interp::run(ours.program(), &d).raw,
                    );
                    assert_eq!(x, y, "{name}: nr {nr:#x} arg {a:#x}");
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 10_000, "{checked}");
}
