//! Compile times, with the compilers taking turns.
//!
//! In: a [`Case`], its uniform mix and a run count. Out: each compiler's
//! median wall time of one compile in microseconds: sysfence's layouts with
//! their check and with it off, every peer with its export.
//!
//! Round `k` times every subject before round `k + 1` starts. These are
//! shared machines: a burst of load from another tenant lasts milliseconds,
//! longer than a block of one compiler's runs, so timed one compiler after
//! the other, a burst lands on one of them and moves a ratio the targets
//! read. Taking turns spreads it over all of them alike. Each turn compiles
//! three times untimed before the timed compile, so what is timed is a
//! compile with its code and tables in cache, as in a block of runs (and in
//! criterion), not one that first evicts the previous compiler's (one
//! untimed compile was not enough: sysfence's `vmm` tree still took 114 µs
//! against 93 µs in a block, three bring it to 100 µs).

use std::time::Instant;

use sysfence_compile::Weights;

use crate::peers::{Compiler, sysfence};
use crate::report::build;
use crate::set::Case;

/// Untimed compiles before each timed one.
const WARM: usize = 3;

/// One timed compile: its label and the call, which says whether it built.
type Subject<'a> = (String, Box<dyn FnMut() -> bool + 'a>);

/// Median microseconds per compile of every compiler that builds `case`,
/// in [`Compiler::available`] order, each sysfence layout followed by its
/// `(check off)` figure.
pub fn compile_times(case: &Case, uniform: Option<&Weights>, runs: u32) -> Vec<(String, f64)> {
    let mut subjects: Vec<Subject<'_>> = Compiler::available()
        .iter()
        .flat_map(|&compiler| subjects_of(case, compiler, uniform))
        .collect();
    // The first call warms each subject up and drops one that fails.
    subjects.retain_mut(|(_, compile)| compile());
    let mut samples = vec![Vec::with_capacity(runs as usize); subjects.len()];
    for _ in 0..runs {
        for ((_, compile), times) in subjects.iter_mut().zip(&mut samples) {
            for _ in 0..WARM {
                std::hint::black_box(compile());
            }
            let t = Instant::now();
            std::hint::black_box(compile());
            times.push(t.elapsed().as_secs_f64() * 1e6);
        }
    }
    subjects
        .into_iter()
        .zip(samples)
        .map(|((label, _), times)| (label, median(times)))
        .collect()
}

/// `compiler`'s subjects: a sysfence layout is handed a built config (the
/// mix resolved by the compile, not cloned into a new config on every run)
/// and timed with its check and without; a peer builds and exports.
fn subjects_of<'a>(
    case: &'a Case,
    compiler: Compiler,
    uniform: Option<&'a Weights>,
) -> Vec<Subject<'a>> {
    let label = compiler.label().to_string();
    let Some(config) = sysfence::config(compiler, uniform) else {
        let build = move || build(case, compiler, uniform).is_ok();
        return vec![(label, Box::new(build))];
    };
    let unchecked = config.clone().check(false);
    vec![
        (
            label.clone(),
            Box::new(move || sysfence_compile::compile(&case.policy, &config).is_ok()),
        ),
        (
            format!("{label} (check off)"),
            Box::new(move || sysfence_compile::compile(&case.policy, &unchecked).is_ok()),
        ),
    ]
}

fn median(mut times: Vec<f64>) -> f64 {
    times.sort_by(f64::total_cmp);
    times.get(times.len() / 2).copied().unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::set::vmm_args;

    #[test]
    fn every_compiler_is_timed_in_order_with_sysfence_check_off_beside_it() {
        let case = vmm_args().expect("vmm-args loads");
        let times = compile_times(&case, None, 3);
        let labels: Vec<&str> = times.iter().map(|(l, _)| l.as_str()).collect();
        let mut want = Vec::new();
        for &c in Compiler::available() {
            want.push(c.label().to_string());
            if c.is_sysfence() {
                want.push(format!("{} (check off)", c.label()));
            }
        }
        assert_eq!(labels, want);
        assert!(times.iter().all(|(_, us)| *us > 0.0), "{times:?}");
    }

    #[test]
    fn median_takes_the_middle_sample() {
        assert_eq!(median(vec![5.0, 1.0, 9.0]), 5.0);
        assert_eq!(median(Vec::new()), 0.0);
    }
}
