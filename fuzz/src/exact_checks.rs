//! What the `diagram_run` fuzz target checks: the exact engine's diagram of
//! a generated program against the interpreter.
//!
//! Input layout as for `valid_run` ([`crate::checks`]): 8 bytes seed
//! `generate::valid_program`, the next byte bounds its length, the rest is
//! a `seccomp_data`. Compiled into the fuzz crate and, through a `#[path]`
//! module, into `sysfence-exact`'s `fuzz_regressions` test.

use sysfence_cbpf::interp::{ShiftMode, run};
use sysfence_cbpf::program::Program;
use sysfence_exact::program::diagram;
use sysfence_exact::store::Store;
use sysfence_exact::witness::words_from;

/// The nodes one build may make; past it the input proves nothing. Most
/// generated programs of a few hundred instructions (ALU work on input
/// words) go past any budget, and a build spends its time up to the
/// budget before it gives up: with 300,000 nodes, 282 of 400 generated
/// programs went past it and took 99 % of the time, 88 ms each in a
/// release build. With 30,000, 111 of those 400 programs are checked
/// instead of 118 (the rest need 30,000 to 194,000 nodes) and the whole
/// run takes 1.6 s instead of 25 s: fifteen times as many checked
/// programs per second of fuzzing.
const BUDGET: usize = 30_000;

/// A generated program's diagram (when it fits the budget) keeps the
/// variable order and agrees with the interpreter on the given input and on
/// that input with each word of it replaced by each constant of the program
/// (the values its comparisons split at).
pub fn diagram_run(bytes: &[u8]) {
    let insns = crate::checks::seeded_program(bytes);
    let Ok(prog) = Program::new(&insns) else {
        panic!("generated program rejected: {insns:?}");
    };
    let mut s = Store::new(BUDGET);
    let Ok(root) = diagram(&mut s, &prog, ShiftMode::Mask31) else {
        return;
    };
    assert!(s.is_ordered(root), "unordered diagram for {insns:?}");
    let data = crate::checks::data_from_bytes(bytes.get(9..).unwrap_or(&[]));
    let mut inputs = vec![data];
    for k in insns.iter().map(|i| i.k) {
        for word in 0..16 {
            let mut words = words_from(&data);
            words[word] = k;
            inputs.push(sysfence_exact::witness::data_of(&words));
        }
    }
    for d in inputs {
        let want = run(&prog, &d).raw;
        let got = s.eval(root, &words_from(&d));
        assert_eq!(got, want, "{insns:?} on {d:?}");
    }
}
