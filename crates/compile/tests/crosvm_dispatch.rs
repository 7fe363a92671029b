//! The number dispatch on crosvm's `x86_64/common_device.policy` weighted
//! by its own `common_device.frequency`, argument conditions left out
//! (every listed name allowed, x86_64 only): sysfence `weighted` against
//! the optimal alphabetic tree and the entropy bound over the same
//! intervals. The weighted layout (height-limited, with `jeq` probe chains
//! inside the tree and peels of hot numbers in front) must go below the
//! unlimited optimal alphabetic tree, stay above the entropy bound and below
//! the balanced tree, and be no longer than the balanced tree.
//!
//! Needs `../shared` (or `$SYSFENCE_SHARED`); fails without it when `CI=true`.

use sysfence_compile::{Config, Layout, Weights, compile, cost};
use sysfence_profile::arch::Arch;
use sysfence_profile::{LoadOptions, load};

/// `name: value` lines of a minijail file, comments and directives left out.
fn pairs(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('@'))
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect()
}

#[test]
fn weighted_dispatch_is_below_the_optimal_alphabetic_tree() {
    let Some(shared) = sysfence_testkit::shared::dir() else {
        return;
    };
    let dir = shared.join("corpus/third-party/crosvm/x86_64");
    let policy_text = std::fs::read_to_string(dir.join("common_device.policy")).unwrap();
    let freq_text = std::fs::read_to_string(dir.join("common_device.frequency")).unwrap();
    let names: Vec<String> = pairs(&policy_text)
        .into_iter()
        .map(|(n, _)| n)
        .filter(|n| Arch::X86_64.syscall_nr(n).is_some())
        .collect();
    let entries: Vec<String> = names
        .iter()
        .map(|n| format!(r#"{{"syscall": "{n}"}}"#))
        .collect();
    let json = format!(
        r#"{{"main": {{"mismatch_action": "kill_process", "match_action": "allow", "filter": [{}]}}}}"#,
        entries.join(",")
    );
    let policy = load(json.as_bytes(), &LoadOptions::default())
        .unwrap()
        .policy;
    let counts: Vec<(String, u64)> = pairs(&freq_text)
        .into_iter()
        .filter_map(|(n, c)| Some((n, c.parse().ok()?)))
        .collect();
    let weights = Weights::from_pairs(counts);
    let mix = vec![("common_device".to_string(), weights.clone())];
    let mut means = Vec::new();
    for layout in [Layout::Tree, Layout::Weighted] {
        let config = Config::new()
            .arches(vec![Arch::X86_64])
            .layout(layout)
            .weights(weights.clone());
        let program = compile(&policy, &config).unwrap().into_program();
        let c = cost::measure(&policy, &program, &[0xc000_003e], &mix);
        let m = &c.arches[0].mixes[0];
        println!(
            "{}: length {}, mean {:.3}, optimal alphabetic tree {:.3}, entropy bound {:.3}",
            layout.name(),
            program.len(),
            m.mean,
            m.optimal_tree,
            m.entropy_bound
        );
        means.push((m.mean, m.optimal_tree, m.entropy_bound, program.len()));
    }
    let (weighted, optimal, entropy, length) = means[1];
    assert!(weighted >= entropy);
    assert!(weighted < means[0].0);
    assert!(length <= means[0].3);
    assert!(weighted < optimal, "{weighted:.3} >= {optimal:.3}");
}
