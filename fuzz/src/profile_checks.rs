//! What the `profile_compile` fuzz target checks: any bytes, read as a
//! profile in every format, never panic the readers; whatever loads compiles
//! without a panic, and the compiler's own check against the reference
//! evaluator never finds a difference (a difference is a compiler bug, which
//! would be a sandbox escape). A program over 4096 instructions is a clear
//! error, not a bug.

use std::time::{Duration, Instant};
use sysfence_compile::{Config, Layout, Weights, compile};

use sysfence_profile::{Format, HostContext, Libseccomp, LoadOptions, load};
use sysfence_testkit::random_profile::{Arg, OPS, Profile, Rule};

/// Reads `bytes` with format detection and with each format forced, and
/// compiles every policy that loads.
pub fn profile_compile(bytes: &[u8]) {
    let forced = Format::ALL.iter().copied().map(Some);
    for format in std::iter::once(None).chain(forced) {
        let options = LoadOptions {
            format,
            file_name: "fuzz.json".into(),
            ..Default::default()
        };
        load_and_compile(bytes, &options);
    }
}

/// The mix `weighted` is compiled for when the profile has no counts of
/// its own: calls profiles always allow and calls they check.
const MIX: [(&str, u64); 5] = [
    ("read", 1000),
    ("write", 700),
    ("ioctl", 300),
    ("futex", 200),
    ("mmap", 50),
];

/// Reads `bytes` with `options` and compiles the policy if it loads, in
/// every layout (`weighted` with the default mix), and `weighted` for the
/// profile's own counts (minijail's `@frequency`) or [`MIX`], counting
/// every call and only the ones the kernel's action cache does not serve:
/// each compile either succeeds (its check found no difference) or refuses
/// with a clear error (a program over 4096 instructions, a profile error).
pub fn load_and_compile(bytes: &[u8], options: &LoadOptions) {
    let Ok(loaded) = load(bytes, options) else {
        return;
    };
    let mix = match loaded.frequency.is_empty() {
        true => Weights::from_pairs(MIX),
        false => Weights::from_pairs(loaded.frequency.clone()),
    };
    let weighted = Config::new().layout(Layout::Weighted).weights(mix);
    let configs = Layout::ALL
        .map(|layout| Config::new().layout(layout))
        .into_iter()
        .chain([weighted.clone(), weighted.cache_aware(true)]);
    for config in configs {
        if let Err(e) = compile(&loaded.policy, &config) {
            assert!(
                e.too_large_len().is_some() || e.is_profile_error(),
                "format {:?}, {config:?}: compile failed: {e}",
                options.format
            );
        }
    }
}

/// One drawn condition: argument (mod 6), operator (mod 7), value.
pub type DrawnCond = (u8, u8, u64);

/// The wall-clock budget of one load under the fuzzer. What ends a long
/// merge is its work bound (16,777,216 steps), not the clock: a profile
/// that reaches it is refused in 0.09 s by a release build, but took 2.7 s
/// under the fuzzer's sanitizer and coverage instrumentation while the
/// machine's two cores were busy with other builds, and one input that
/// takes 2 s there alone took 32 s with a load average of 6. A merge that
/// loops never ends, so a budget well above that still catches one; the
/// release budget (2 s) is held by `crates/profile/tests/termination.rs`.
const MERGE_BUDGET: Duration = Duration::from_secs(120);

/// What the `profile_merge` fuzz target checks: any set of conditional
/// rules on one syscall, read for any libseccomp release, loads or is
/// refused within [`MERGE_BUDGET`] (the merge's work bound), without a
/// panic.
pub fn merge_terminates(rules: &[(Vec<DrawnCond>, u8)], release: u8, x32: bool) {
    let release = Libseccomp::ALL[usize::from(release) % Libseccomp::ALL.len()];
    let text = merge_profile(rules, x32);
    let context = HostContext {
        libseccomp: release,
        ..HostContext::default()
    };
    let options = LoadOptions {
        context,
        file_name: "fuzz.json".into(),
        ..Default::default()
    };
    let start = Instant::now();
    let _ = load(text.as_bytes(), &options);
    let took = start.elapsed();
    assert!(took < MERGE_BUDGET, "{took:?} for {text}");
}

/// An OCI profile with the drawn rules, all on `read` (each condition's
/// `valueTwo` is its value).
pub fn merge_profile(rules: &[(Vec<DrawnCond>, u8)], x32: bool) -> String {
    const ACTIONS: [&str; 3] = ["ALLOW", "LOG", "TRAP"];
    let syscalls = rules
        .iter()
        .map(|(conds, act)| Rule {
            names: vec!["read"],
            action: ACTIONS[usize::from(*act) % ACTIONS.len()],
            errno_ret: None,
            args: drawn_args(conds),
        })
        .collect();
    Profile::errno_default(syscalls, x32).json()
}

/// Drawn conditions as profile conditions (each one's `valueTwo` is its
/// value).
pub fn drawn_args(conds: &[DrawnCond]) -> Vec<Arg> {
    conds
        .iter()
        .map(|&(index, op, value)| Arg {
            index: index % 6,
            op: OPS[usize::from(op) % OPS.len()],
            value,
            value_two: value,
        })
        .collect()
}
