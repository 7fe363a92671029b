//! 32-bit (`dword`) and 64-bit (`qword`) argument conditions against the
//! real seccompiler 0.5: one probe filter with `eq ne gt ge lt le` of both
//! widths and a two-argument `dword` `gt`/`lt` rule. sysfence's program must
//! decide as seccompiler's does on every number and boundary argument, and
//! be no longer, with no longer a worst path (both counted by the
//! interpreter over the same inputs).

use sysfence_cbpf::data::AUDIT_ARCH_X86_64 as X86_64;
use sysfence_cbpf::program::Program;
use sysfence_cbpf::{Insn, SeccompData, interp};
use sysfence_compile::{Config, compile};
use sysfence_profile::arch::Arch;
use sysfence_profile::eval::boundary_values;
use sysfence_profile::ir::{ArgWidth, Policy};
use sysfence_profile::{LoadOptions, load};

/// One entry per (width, operator), then the two-argument rule.
fn probe_json() -> String {
    let names = [
        "read", "write", "open", "close", "stat", "fstat", "lstat", "poll", "lseek", "mmap",
        "mprotect", "munmap",
    ];
    let mut entries = Vec::new();
    let mut i = 0;
    for (ty, val) in [("qword", 0x1_0000_0005u64), ("dword", 1000)] {
        for op in ["eq", "ne", "gt", "ge", "lt", "le"] {
            entries.push(format!(
                r#"{{"syscall": "{}", "args": [{{"index": 0, "type": "{ty}", "op": "{op}", "val": {val}}}]}}"#,
                names[i]
            ));
            i += 1;
        }
    }
    entries.push(
        r#"{"syscall": "brk", "args": [
            {"index": 0, "type": "dword", "op": "gt", "val": 5},
            {"index": 1, "type": "dword", "op": "lt", "val": 100}]}"#
            .to_string(),
    );
    format!(
        r#"{{"probe": {{"mismatch_action": {{"errno": 1}}, "match_action": "allow", "filter": [{}]}}}}"#,
        entries.join(",\n")
    )
}

fn seccompiler_program(text: &str) -> Program {
    let map = seccompiler::compile_from_json(text.as_bytes(), seccompiler::TargetArch::x86_64)
        .expect("seccompiler compiles the probe");
    let insns: Vec<Insn> = map["probe"]
        .iter()
        .map(|f| Insn::new(f.code, f.jt, f.jf, f.k))
        .collect();
    Program::new(&insns).expect("seccompiler's program validates")
}

/// Every number 0..=20 with each argument at every boundary value.
fn inputs(policy: &Policy) -> Vec<SeccompData> {
    let ap = policy.arch(X86_64).expect("x86_64");
    let mut out = Vec::new();
    for nr in 0..=20u32 {
        let mut values: Vec<u64> = vec![0, u64::MAX];
        for c in ap.rules.values().flatten().flat_map(|r| &r.conds) {
            values.extend(boundary_values(c, ap.width));
        }
        values.sort_unstable();
        values.dedup();
        for &a in &values {
            for &b in &values {
                out.push(SeccompData {
                    args: [a, b, 0, 0, 0, 0],
                    ..SeccompData::new(X86_64, nr)
                });
            }
        }
    }
    out
}

#[test]
fn dword_and_qword_probe_is_no_longer_than_seccompiler() {
    let text = probe_json();
    let opts = LoadOptions::default();
    let policy = load(text.as_bytes(), &opts).expect("probe loads").policy;
    let ap = policy.arch(X86_64).expect("x86_64");
    let low_words = ap
        .rules
        .values()
        .flatten()
        .flat_map(|r| &r.conds)
        .filter(|c| c.width == ArgWidth::Bits32)
        .count();
    assert_eq!(
        low_words, 8,
        "every dword condition stays one low-word condition"
    );
    let ours = compile(&policy, &Config::new().arches(vec![Arch::X86_64]))
        .expect("sysfence compiles the probe")
        .into_program();
    let theirs = seccompiler_program(&text);
    let (mut worst_ours, mut worst_theirs) = (0, 0);
    for data in inputs(&policy) {
        let (a, b) = (interp::run(&ours, &data), interp::run(&theirs, &data));
        assert_eq!(a.raw, b.raw, "nr {} args {:x?}", data.nr, &data.args[..2]);
        worst_ours = worst_ours.max(a.insns);
        worst_theirs = worst_theirs.max(b.insns);
    }
    println!(
        "probe: sysfence {} insns, worst {worst_ours}; seccompiler {} insns, worst {worst_theirs}",
        ours.len(),
        theirs.len()
    );
    assert!(
        ours.len() <= theirs.len(),
        "{} > {}",
        ours.len(),
        theirs.len()
    );
    assert!(worst_ours <= worst_theirs, "{worst_ours} > {worst_theirs}");
}
