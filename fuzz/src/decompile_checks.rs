//! What the `decompile_bounded` fuzz target checks: a profile of drawn
//! rules on three syscalls (any operators and values, ALLOW, LOG, TRAP or
//! ERRNO, under KILL_THREAD) compiled by sysfence decompiles into Docker
//! JSON and into a minijail policy without a panic and within a bounded
//! time: proven, or refused as not expressible or past the budget. A
//! decompile that walks every path of a diagram (exponentially many)
//! breaks the time bound or the fuzzer's memory limit.

use std::time::{Duration, Instant};

use sysfence_cbpf::interp::ShiftMode;
use sysfence_compile::{Config, compile};
use sysfence_exact::decompile::prove::decompile;
use sysfence_exact::decompile::render::OutFormat;
use sysfence_exact::subject::Subject;
use sysfence_profile::{LoadOptions, load};
use sysfence_testkit::random_profile::{Profile, Rule};

use crate::profile_checks::drawn_args;

/// Nodes one decompile's diagrams may build.
const BUDGET: usize = 200_000;

/// The wall-clock bound of one decompile under the fuzzer's
/// instrumentation, far above what a bounded walk takes (milliseconds in a
/// release build) and far below a walk of every path (21 s in a release
/// build for one `mmap` rule list).
const TIME: Duration = Duration::from_secs(20);

/// The drawn rules (conditions, action, syscall) as a KILL_THREAD profile,
/// compiled and decompiled into each format.
pub fn decompile_bounded(rules: &[(Vec<crate::profile_checks::DrawnCond>, u8, u8)]) {
    const ACTIONS: [&str; 4] = ["ALLOW", "LOG", "TRAP", "ERRNO"];
    const NAMES: [&str; 3] = ["read", "mmap", "ioctl"];
    let syscalls = rules
        .iter()
        .take(16)
        .map(|(conds, act, name)| Rule {
            names: vec![NAMES[usize::from(*name) % NAMES.len()]],
            action: ACTIONS[usize::from(*act) % ACTIONS.len()],
            errno_ret: None,
            args: drawn_args(&conds[..conds.len().min(6)]),
        })
        .collect();
    let profile = Profile {
        default_action: "KILL_THREAD",
        default_errno_ret: None,
        architectures: vec!["SCMP_ARCH_X86_64"],
        syscalls,
    };
    let text = profile.json();
    let options = LoadOptions {
        file_name: "fuzz.json".into(),
        ..Default::default()
    };
    let Ok(loaded) = load(text.as_bytes(), &options) else {
        return;
    };
    let Ok(compiled) = compile(&loaded.policy, &Config::new()) else {
        return;
    };
    let subject = Subject::Program(compiled.into_program(), ShiftMode::Mask31);
    for format in [OutFormat::Docker, OutFormat::Minijail] {
        let start = Instant::now();
        let _ = decompile(&subject, format, BUDGET);
        let took = start.elapsed();
        assert!(took < TIME, "{format:?}: {took:?} for {text}");
    }
}
