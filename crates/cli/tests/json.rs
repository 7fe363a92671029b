//! `--json` outputs: one schema test per verb (the field names and types
//! documented in `docs/guide.md` stay stable).

mod support;

use serde_json::Value;
use support::{SYSFENCE, has_seccomp, is_root, repo, temp_dir, write};

/// Parses stdout as JSON and checks the object's keys are exactly `keys`.
fn object(args: &[&str], keys: &[&str]) -> Value {
    let r = SYSFENCE.exec(args);
    assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {}", r.stdout));
    assert_keys(&v, keys);
    v
}

fn assert_keys(v: &Value, keys: &[&str]) {
    let mut got: Vec<&str> = v
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    got.sort_unstable();
    let mut want = keys.to_vec();
    want.sort_unstable();
    assert_eq!(got, want, "{v:#}");
}

#[test]
fn lint_json() {
    let v = object(
        &[
            "lint",
            "--json",
            &repo("corpus/profiles/allow-list.json"),
            "--host-arch",
            "amd64",
        ],
        &[
            "file",
            "format",
            "loader",
            "host_arch",
            "arches",
            "unconfined",
            "syscall_numbers_with_rules",
            "warnings",
            "notes",
            "diagnostics",
        ],
    );
    assert_eq!(v["format"], "docker");
    assert_eq!(v["loader"], "runc");
    assert_eq!(v["unconfined"], false);
    let d = &v["diagnostics"][0];
    assert_keys(d, &["severity", "message", "origin", "related"]);
    assert_keys(&d["origin"], &["file", "line", "column", "path"]);
    assert!(d["origin"]["line"].is_u64());
}

#[test]
fn check_json() {
    let v = object(
        &["check", "--json", &repo("corpus/profiles/no-chmod.json")],
        &["inputs", "proved", "instructions", "arches"],
    );
    let a = &v["arches"][0];
    assert_keys(
        a,
        &[
            "name",
            "audit_arch",
            "allowed",
            "errno",
            "killed",
            "other",
            "arg_checked",
            "cached",
        ],
    );
    assert_eq!(a["name"], "x86_64");
    assert!(v["inputs"].as_u64() > Some(0));
    assert_eq!(v["proved"], true);
}

/// The fields of `explain --json`.
const EXPLAIN_KEYS: &[&str] = &[
    "arch",
    "audit_arch",
    "syscall",
    "nr",
    "args",
    "action",
    "decided_by",
    "rule",
    "origin",
];

#[test]
fn explain_json() {
    let v = object(
        &[
            "explain",
            "--json",
            &repo("corpus/profiles/no-chmod.json"),
            "--arch",
            "x86_64",
            "chmod",
        ],
        EXPLAIN_KEYS,
    );
    assert_eq!(v["action"], "ERRNO(1)");
    assert_eq!(v["decided_by"], "default");
    assert_eq!(v["nr"], 90);
    let v = object(
        &[
            "explain",
            "--json",
            &repo("corpus/profiles/no-chmod.json"),
            "--arch",
            "x86_64",
            "read",
        ],
        EXPLAIN_KEYS,
    );
    assert_eq!(v["decided_by"], "rule");
    assert_keys(&v["origin"], &["file", "line", "column", "path"]);
}

#[test]
fn emu_json() {
    let prog = repo("corpus/programs/x86_64-allow-list.bpf");
    let v = object(
        &["emu", "--json", &prog, "--arch", "x86_64", "getpid"],
        &["action", "raw", "insns"],
    );
    assert!(v["raw"].is_u64() && v["insns"].is_u64());
    let r = support::SYSFENCE.run_in(
        &["emu", "--json", &prog, "--batch"],
        b"x86_64 getpid\nx86_64 0 1 2\n",
        None,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines: Vec<Value> = r
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("one object per line"))
        .collect();
    assert_eq!(lines.len(), 2);
    assert_keys(&lines[1], &["action", "raw", "insns"]);
}

#[test]
fn dump_json() {
    let dir = temp_dir("json-dump");
    let raw = dir.join("p.bpf").display().to_string();
    let asm = repo("corpus/programs/x86_64-allow-list.bpf");
    assert_eq!(SYSFENCE.exec(&["asm", &asm, "-o", &raw]).code, 0);
    let v = object(&["dump", "--json", &raw], &["pid", "arch", "filters"]);
    assert_eq!(v["pid"], Value::Null);
    assert_eq!(v["arch"], "x86_64", "taken from the program's arch check");
    assert_keys(&v["filters"][0], &["index", "length", "insns"]);
    assert_eq!(
        v["filters"][0]["insns"][0].as_array().map(Vec::len),
        Some(4)
    );
}

/// The top-level fields of `status --json`.
const STATUS_KEYS: &[&str] = &[
    "pid",
    "name",
    "seccomp",
    "filter_count",
    "no_new_privs",
    "arch",
    "filters",
    "filters_error",
    "probe",
    "threads",
];

#[test]
fn status_json() {
    let v = object(&["status", "--json"], STATUS_KEYS);
    assert_eq!(v["probe"], Value::Null);
    if has_seccomp() {
        let v = object(&["status", "--json", "--probe"], STATUS_KEYS);
        let p = &v["probe"][0];
        if p.get("error").is_none() {
            assert_keys(
                p,
                &[
                    "arch",
                    "numbers",
                    "allowed_or_enosys",
                    "errno",
                    "killed_or_trapped",
                    "cannot_tell",
                ],
            );
        }
    }
}

#[test]
fn record_json() {
    let log = repo("corpus/traces/ls-strace-f.txt");
    let v = object(
        &["record", "--json", "--from-strace", &log],
        &["arches", "calls", "unnamed", "exit", "profile"],
    );
    assert_eq!(v["exit"], Value::Null);
    assert_eq!(v["profile"]["defaultAction"], "SCMP_ACT_ERRNO");
    assert!(v["calls"]["x86_64"]["execve"].as_u64() >= Some(1));
    if is_root() {
        let v = object(
            &["record", "--json", "-o", "/dev/null", "--", "true"],
            &["arches", "calls", "unnamed", "exit", "profile"],
        );
        assert_eq!(v["exit"]["code"], 0);
        assert_eq!(v["profile"], Value::Null, "the profile went to -o");
    }
}

/// Each mix reports its mean with the calls the kernel's action cache
/// serves costing nothing; `--cache-aware` compiles the weighted layout for
/// those that run the filter, which lowers that mean and raises the mean
/// over every call (`read` and `write` are always allowed, `ioctl` is
/// argument-checked).
#[test]
fn cost_cache_aware() {
    let dir = temp_dir("json-cache-aware");
    let mix = write(&dir, "mix", "read 1000\nwrite 800\nioctl 50\n");
    let profile = repo("corpus/profiles/vmm-args.json");
    let means = |extra: &[&str]| {
        let mut args = vec!["cost", "--json", "--layout", "weighted"];
        args.extend(["--weights", &mix, &profile]);
        args.extend(extra);
        let r = SYSFENCE.exec(&args);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let line = r.stdout.lines().next().expect("a line");
        let v: Value = serde_json::from_str(line).expect("an object");
        let m = &v["mixes"][0];
        let keys = [
            "mix",
            "calls",
            "mean",
            "cache_aware",
            "entropy_bound",
            "optimal_tree",
        ];
        assert_keys(m, &keys);
        (
            m["mean"].as_f64().unwrap(),
            m["cache_aware"].as_f64().unwrap(),
        )
    };
    let (mean, aware) = means(&[]);
    let (mean_for_cache, aware_for_cache) = means(&["--cache-aware"]);
    assert!(
        aware_for_cache < aware && mean_for_cache > mean,
        "cache-aware {aware} -> {aware_for_cache}, every call {mean} -> {mean_for_cache}"
    );
    // Laid out for the cache on a kernel without it: a warning, every verb.
    for (verb, kernel, warned) in [
        ("compile", "5.10", true),
        ("check", "5.10", true),
        ("cost", "4.19", true),
        ("compile", "5.11", false),
    ] {
        let args = [
            verb,
            "--layout",
            "weighted",
            "--cache-aware",
            "--weights",
            &mix,
        ];
        let r = SYSFENCE.exec(&[&args[..], &["--kernel", kernel, &profile]].concat());
        assert_eq!(r.code, 0, "{verb}: {}", r.stderr);
        let warning = format!("--cache-aware: Linux {kernel} has no action cache");
        assert_eq!(
            r.stderr.contains(&warning),
            warned,
            "{verb} {kernel}: {}",
            r.stderr
        );
    }
}

#[test]
fn cost_json() {
    let r = SYSFENCE.exec(&["cost", "--json", &repo("corpus/profiles/no-chmod.json")]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for line in r.stdout.lines() {
        let v: Value = serde_json::from_str(line).expect("one object per line");
        assert_keys(
            &v,
            &[
                "layout",
                "length",
                "arch",
                "intervals",
                "allowed",
                "denied",
                "arg_checked",
                "cached_share",
                "mixes",
            ],
        );
        assert_keys(&v["allowed"], &["count", "worst", "mean"]);
    }
}
