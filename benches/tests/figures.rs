//! The deterministic figures of Docker's default profile may only improve.
//!
//! `docs/benchmarks.md` holds, after the `<!-- pinned: docker-default -->`
//! marker, a table of program length, mean instructions over allowed and
//! denied numbers, worst case and the weighted mean per mix, per compiler.
//! This test recomputes those figures for sysfence's layouts and fails when
//! any of them is above the documented value (rounding allowance 0.005), so a
//! regression fails CI until the doc is regenerated with
//! `cargo run --release -p sysfence-benches --bin sysfence-bench`. Peers'
//! rows are documentation only. Without the shared corpus the test prints
//! why and passes, except under `CI=true`, where it fails.

use sysfence_benches::mixes::{Mix, load_dir};
use sysfence_benches::peers::Compiler;
use sysfence_benches::report::{Options, pinned_marker, run_case};
use sysfence_benches::set::{docker, repo_dir};
use sysfence_profile::Arch;

/// One documented row: compiler and the numbers after it, by column name.
type Row = (String, Vec<(String, f64)>);

fn documented(doc: &str) -> Result<Vec<Row>, String> {
    let marker = pinned_marker("docker-default");
    let start = doc
        .find(&marker)
        .ok_or("no pinned table for docker-default in docs/benchmarks.md")?;
    let mut lines = doc[start + marker.len()..]
        .lines()
        .skip_while(|l| l.trim().is_empty());
    let header: Vec<String> = cells(lines.next().ok_or("pinned table has no header")?);
    let mut rows = Vec::new();
    for line in lines.skip(1).take_while(|l| l.starts_with('|')) {
        let c = cells(line);
        let values = header
            .iter()
            .zip(&c)
            .skip(1)
            .filter_map(|(h, v)| v.parse::<f64>().ok().map(|v| (h.clone(), v)))
            .collect();
        rows.push((c[0].clone(), values));
    }
    Ok(rows)
}

fn cells(line: &str) -> Vec<String> {
    line.trim()
        .trim_matches('|')
        .split('|')
        .map(|c| c.trim().to_string())
        .collect()
}

#[test]
fn docker_figures_stay_at_or_below_the_documented_ones() {
    let Some(shared) = sysfence_testkit::shared::dir() else {
        return;
    };
    let doc = std::fs::read_to_string(repo_dir().join("docs/benchmarks.md"))
        .expect("docs/benchmarks.md is readable");
    let rows = documented(&doc).expect("the pinned table parses");
    let case = docker(&shared).expect("Docker's profile loads");
    let mut mixes = load_dir(&shared.join("corpus/workloads")).expect("the mixes load");
    mixes.push(Mix::uniform(Arch::X86_64));
    let result = run_case(&case, &mixes, &Options::default());
    assert!(
        result.errors.iter().all(|e| !e.starts_with("sysfence")),
        "{:?}",
        result.errors
    );
    let mut checked = 0;
    for compiler in [
        Compiler::SysfenceLinear,
        Compiler::SysfenceTree,
        Compiler::SysfenceWeighted,
    ] {
        let label = compiler.label();
        let (_, doc_values) = rows
            .iter()
            .find(|(c, _)| c == label)
            .unwrap_or_else(|| panic!("no documented row for {label}"));
        let p = result
            .program(label)
            .expect("sysfence compiled the profile");
        for (column, limit) in doc_values {
            let now = match column.as_str() {
                "length" => p.length as f64,
                "mean allowed" => p.allowed_mean,
                "mean denied" => p.denied_mean,
                "worst" => f64::from(p.worst),
                mix => result
                    .weighted_mean(mix, label)
                    .unwrap_or_else(|| panic!("no mix {mix} measured")),
            };
            assert!(
                now <= limit + 0.005,
                "{label}, {column}: {now:.3} is above the documented {limit}"
            );
            checked += 1;
        }
    }
    assert_eq!(
        checked,
        3 * (4 + mixes.len()),
        "every documented sysfence figure was checked"
    );
}
