//! Every profile of the shared corpus compiles under every layout and passes
//! the check (which runs inside `compile`), for every arch it names.

use std::path::Path;

use sysfence_compile::{Config, Layout, compile};
use sysfence_profile::{LoadOptions, load};

/// Filters to load from one file: seccompiler files hold one per thread.
fn filters(text: &str) -> Vec<Option<String>> {
    let threads: Vec<Option<String>> = ["vmm", "api", "vcpu"]
        .iter()
        .filter(|t| text.contains(&format!("\"{t}\"")))
        .map(|t| Some(t.to_string()))
        .collect();
    if threads.is_empty() {
        vec![None]
    } else {
        threads
    }
}

#[test]
fn every_corpus_profile_compiles_and_checks() {
    let Some(dir) = sysfence_testkit::shared::require("corpus/third-party") else {
        return;
    };
    let paths = sysfence_testkit::shared::files(&dir, &["json", "yaml", "yml"], &[]);
    let mut compiled = 0;
    for path in &paths {
        let text = std::fs::read(path).unwrap();
        for filter in filters(&String::from_utf8_lossy(&text)) {
            let opts = LoadOptions {
                file_name: path.display().to_string(),
                base_dir: path.parent().map(Path::to_path_buf),
                filter: filter.clone(),
                ..LoadOptions::default()
            };
            let loaded = match load(&text, &opts) {
                Ok(l) => l,
                Err(e) => {
                    eprintln!(
                        "skipped {} {filter:?}: the front end refuses it: {e}",
                        path.display()
                    );
                    continue;
                }
            };
            for layout in Layout::ALL {
                let result = compile(&loaded.policy, &Config::new().layout(layout));
                let c = result
                    .unwrap_or_else(|e| panic!("{} {filter:?} {layout:?}: {e}", path.display()));
                let report = c.check_report().unwrap();
                assert_eq!(report.arches().len(), loaded.policy.arches().len());
                compiled += 1;
            }
        }
    }
    eprintln!("{compiled} (profile, layout) pairs compiled and checked");
    assert!(compiled >= 3 * 20, "only {compiled} pairs");
}
