//! Every crosvm policy, on each of its three arches, compiled by sysfence
//! and by minijail's own compiler (`linear` and `bst`): the programs must
//! give the same action, in sysfence's interpreter, on every syscall number
//! of the arch (and past it, x32 numbers included), on foreign arches, and
//! on argument vectors built from the policy's constants (the values
//! sysfence's reading compares with, and the immediates minijail's program
//! compares each argument word with, each one off by one either way).
//!
//! Needs `python3` and the shared corpus (`$SYSFENCE_SHARED` or `../shared`);
//! without them the test is skipped, except under `CI=true`, where it fails.

use std::collections::BTreeSet;
use std::path::Path;

use sysfence_benches::peers::minijail::{Minijail, stage};
use sysfence_cbpf::interp::{self, Config as RunConfig};
use sysfence_cbpf::program::Program;
use sysfence_cbpf::{Endian, Insn, SeccompData};
use sysfence_compile::{Config, compile};
use sysfence_profile::eval::{Interesting, interesting_values};
use sysfence_profile::ir::Policy;
use sysfence_profile::{LoadOptions, load_file};

const ARCHES: [&str; 3] = ["x86_64", "aarch64", "riscv64"];
const FOREIGN: [u32; 4] = [0x4000_0003, 0xc000_003e, 0xc000_00b7, 0xc000_00f3];

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
            .flat_map(|n| ["linear", "bst"].map(|s| (n.clone(), s.to_string())))
            .collect();
        let outputs = peer.compile_many(&staged, &jobs).expect("the peer runs");
        for ((name, strategy), out) in jobs.iter().zip(outputs) {
            let theirs =
                out.unwrap_or_else(|e| panic!("{arch}/{name} {strategy}: minijail refused: {e}"));
            let theirs =
                Program::from_raw(&theirs, Endian::Little).expect("minijail's program validates");
            let policy = load_file(&src.join(name), &LoadOptions::default())
                .unwrap_or_else(|e| panic!("{arch}/{name}: {e}"))
                .policy;
            let ours = compile(&policy, &Config::new())
                .expect("sysfence compiles")
                .into_program();
            compared += agree(
                &policy,
                &ours,
                &theirs,
                &format!("{arch}/{name} ({strategy})"),
            );
        }
        let _ = std::fs::remove_dir_all(&staged);
    }
    eprintln!("{compared} calls compared");
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

/// Compares the programs on every input; returns how many calls ran.
fn agree(policy: &Policy, ours: &Program, theirs: &Program, what: &str) -> usize {
    let ap = &policy.arches()[0];
    let mut calls: Vec<SeccompData> = Vec::new();
    for nr in (0..=ap.table_max + 16).chain((0..=ap.table_max + 1).map(|n| n | 0x4000_0000)) {
        calls.push(SeccompData::new(ap.audit_arch, nr));
    }
    calls
        .extend([u32::MAX, 0x8000_0000, 0x7fff_ffff].map(|nr| SeccompData::new(ap.audit_arch, nr)));
    calls.extend(
        FOREIGN
            .iter()
            .filter(|a| **a != ap.audit_arch)
            .map(|a| SeccompData::new(*a, 0)),
    );
    for mut i in interesting_values(policy) {
        add_peer_values(&mut i, theirs);
        calls.extend(i.calls(3000).iter().map(|c| SeccompData {
            args: c.args,
            ..SeccompData::new(c.arch, c.nr)
        }));
    }
    for d in &calls {
        let (a, b) = (interp::run(ours, d), interp::run(theirs, d));
        assert_eq!(
            a.raw, b.raw,
            "{what}: nr {} arch {:#x} args {:x?}",
            d.nr, d.arch, d.args
        );
    }
    calls.len()
}

/// Adds, per argument, the values around every immediate minijail's
/// program compares that argument's words with on the paths these calls take.
fn add_peer_values(i: &mut Interesting, theirs: &Program) {
    let mut seen: [BTreeSet<u64>; 6] = Default::default();
    for c in i.calls(64) {
        let d = SeccompData {
            args: c.args,
            ..SeccompData::new(c.arch, c.nr)
        };
        let mut loaded: Option<(usize, bool)> = None;
        let mut tracer = |_pc: usize, insn: &Insn, _a: u32, _x: u32| {
            if insn.code == 0x20 && (16..64).contains(&insn.k) {
                loaded = Some((((insn.k - 16) / 8) as usize, insn.k % 8 == 4));
            } else if insn.code & 0x07 == 0x05 && insn.code != 0x05 {
                if let Some((arg, high)) = loaded {
                    for k in [insn.k, insn.k.wrapping_sub(1), insn.k.wrapping_add(1)] {
                        let k = u64::from(k);
                        seen[arg].extend(if high {
                            vec![k << 32, k << 32 | 0xffff_ffff]
                        } else {
                            vec![k, k | 0xffff_ffff_0000_0000]
                        });
                    }
                }
            } else if insn.code == 0x20 {
                loaded = None;
            }
        };
        interp::run_with(theirs, &d, &RunConfig::new(), &mut tracer);
    }
    for (vals, extra) in i.values.iter_mut().zip(seen) {
        let mut all: BTreeSet<u64> = vals.iter().copied().collect();
        all.extend(extra);
        *vals = all.into_iter().collect();
    }
}
