//! Differential test against seccompiler 0.5: Firecracker's x86_64 filters
//! compiled by seccompiler and by sysfence must return the same action for
//! every syscall number up to past the table, −1, x32 numbers, with the
//! boundary values of every argument condition.
//!
//! Listed exception: numbers with bit 30 set (x32). seccompiler's program
//! compares `nr` against x86_64 numbers only and so sends every x32 number
//! to its default action — for an allow-by-default filter that lets an x32
//! syscall through. sysfence follows the policy as the front end reads it
//! for these numbers. Every difference must be such a number, and the test
//! prints how many there were.

use sysfence_cbpf::program::Program;
use sysfence_cbpf::{Insn, SeccompData, interp};
use sysfence_compile::{Config, compile};
use sysfence_profile::arch::Arch;
use sysfence_profile::eval::boundary_values;
use sysfence_profile::{LoadOptions, load};

use sysfence_abi::arch::AUDIT_ARCH_X86_64 as X86_64;
use sysfence_abi::arch::X32_SYSCALL_BIT as X32_BIT;

fn seccompiler_programs(text: &[u8]) -> Vec<(String, Program)> {
    let map = seccompiler::compile_from_json(text, seccompiler::TargetArch::x86_64)
        .expect("seccompiler compiles");
    let mut out: Vec<(String, Program)> = map
        .into_iter()
        .map(|(name, bpf)| {
            let insns: Vec<Insn> = bpf
                .iter()
                .map(|f| Insn::new(f.code, f.jt, f.jf, f.k))
                .collect();
            (
                name,
                Program::new(&insns).expect("seccompiler's program validates"),
            )
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[test]
fn firecracker_filters_agree_with_seccompiler_except_x32() {
    let Some(text) = sysfence_testkit::shared::read(
        "corpus/third-party/firecracker/x86_64-unknown-linux-musl.json",
    ) else {
        return;
    };
    let max = Arch::X86_64.max_nr() + 64;
    let numbers: Vec<u32> = (0..=max)
        .chain((0..=max).map(|n| n | X32_BIT))
        .chain([u32::MAX])
        .collect();
    for (name, theirs) in seccompiler_programs(&text) {
        let opts = LoadOptions {
            filter: Some(name.clone()),
            ..LoadOptions::default()
        };
        let policy = load(&text, &opts)
            .expect("front end loads the filter")
            .policy;
        let ours =
            compile(&policy, &Config::new().arches(vec![Arch::X86_64])).expect("sysfence compiles");
        let (mut runs, mut x32_differences) = (0usize, 0usize);
        for &nr in &numbers {
            let mut vectors = vec![[0u64; 6]];
            let ap = policy.arch(X86_64).expect("x86_64 in the policy");
            for c in ap
                .rules
                .get(&nr)
                .into_iter()
                .flatten()
                .flat_map(|r| &r.conds)
            {
                for v in boundary_values(c, ap.width) {
                    let mut args = [0u64; 6];
                    args[c.arg.get()] = v;
                    vectors.push(args);
                }
            }
            for args in vectors {
                let d = SeccompData {
                    args,
                    ..SeccompData::new(X86_64, nr)
                };
                let (a, b) = (
                    interp::run(&theirs, &d).raw,
                    interp::run(ours.program(), &d).raw,
                );
                runs += 1;
                if a != b {
                    assert!(
                        nr & X32_BIT != 0 && nr != u32::MAX,
                        "{name}: nr {nr:#x} args {args:x?}: seccompiler {a:#x}, sysfence {b:#x}"
                    );
                    x32_differences += 1;
                }
            }
        }
        eprintln!(
            "{name}: {runs} inputs, {x32_differences} x32 differences (listed exception), sysfence {} vs seccompiler {} instructions",
            ours.program().len(),
            theirs.len()
        );
        assert!(runs > 1000);
    }
}
