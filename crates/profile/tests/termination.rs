//! Every rule set on one syscall loads or is refused within a time budget,
//! for every libseccomp release: the merge never loops (a level that closes
//! on itself is refused as libseccomp's own never-ending merge, and every
//! walk is bounded by the merge's work limit).
//!
//! The budget (2 s per profile, measured per case) is far above what a
//! case takes (a few milliseconds); it catches loops, not slowness. Each
//! case runs on its own thread so that a loop fails the case.

use std::time::{Duration, Instant};

use proptest::prelude::*;
use sysfence_profile::{Libseccomp, load};
use sysfence_testkit::fixtures::options_for;
use sysfence_testkit::random_profile::{Arg, OPS, Profile, Rule};
use sysfence_testkit::repo;

const BUDGET: Duration = Duration::from_secs(2);
const ACTIONS: [&str; 3] = ["ALLOW", "LOG", "TRAP"];
const POOL: [u64; 10] = [
    0,
    1,
    2,
    5,
    8,
    0x7fff_ffff,
    0xffff_ffff,
    0x1_0000_0000,
    0x1_0000_0001,
    0xffff_ffff_0000_0005,
];

fn arg() -> impl Strategy<Value = Arg> {
    let value = || prop::sample::select(POOL.to_vec());
    (0u8..4, prop::sample::select(OPS.to_vec()), value(), value()).prop_map(
        |(index, op, value, value_two)| Arg {
            index,
            op,
            value,
            value_two,
        },
    )
}

fn rule() -> impl Strategy<Value = Rule> {
    let action = prop::sample::select(ACTIONS.to_vec());
    (prop::collection::vec(arg(), 0..4), action).prop_map(|(args, action)| Rule {
        names: vec!["read"],
        action,
        errno_ret: None,
        args,
    })
}

fn profile() -> impl Strategy<Value = String> {
    (prop::collection::vec(rule(), 1..9), any::<bool>())
        .prop_map(|(syscalls, x32)| Profile::errno_default(syscalls, x32).json())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, max_shrink_iters: 16, ..ProptestConfig::default() })]
    #[test]
    fn every_rule_set_loads_or_is_refused_within_the_budget(
        text in profile(),
        release in 0..Libseccomp::ALL.len(),
    ) {
        let opts = options_for(Libseccomp::ALL[release]);
        // On a thread, so that a loop fails the case instead of hanging it.
        let (tx, rx) = std::sync::mpsc::channel();
        let input = text.clone();
        std::thread::spawn(move || {
            let start = Instant::now();
            let _ = load(input.as_bytes(), &opts);
            let _ = tx.send(start.elapsed());
        });
        let took = rx.recv_timeout(BUDGET);
        prop_assert!(took.is_ok_and(|t| t < BUDGET), "{took:?} for {text}");
    }
}

/// Nine conditions on `read` for LOG and three for ALLOW, found by the
/// `profile_merge` fuzzer: the merge reaches its work bound on every
/// release, and the profile is refused, naming the rule, well within the
/// budget (the fuzzer's instrumented build took 2.7 s on a busy machine).
#[test]
fn a_merge_past_its_work_bound_is_refused_in_time() {
    let path = repo("corpus/regressions/profile_compile/merge-work-bound-refusal.json");
    let text = std::fs::read(&path).expect("the regression input");
    for release in Libseccomp::ALL {
        let start = Instant::now();
        let e = load(&text, &options_for(release)).expect_err("past the merge's work bound");
        let took = start.elapsed();
        let message = e.to_string();
        assert!(
            message.contains("$.syscalls[1].names[0]"),
            "{release:?}: {message}"
        );
        assert!(message.contains("16777216 steps"), "{release:?}: {message}");
        assert!(took < BUDGET, "{release:?}: {took:?}");
    }
}

/// Each rule's merge is bounded, and so are all of them together: 8,000
/// conditional rules on one syscall (work quadratic in their number) are
/// refused at the rule that passes the profile's bound, 2,000 load.
#[test]
fn many_conditional_rules_on_one_syscall_are_bounded_in_all() {
    let profile = |n: usize| {
        let rules: Vec<String> = (0..n)
            .map(|i| {
                format!(
                    r#"{{"names":["read"],"action":"SCMP_ACT_ALLOW","args":[{{"index":0,"value":{i},"op":"SCMP_CMP_EQ"}}]}}"#
                )
            })
            .collect();
        format!(
            r#"{{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{}]}}"#,
            rules.join(",")
        )
    };
    let opts = sysfence_profile::LoadOptions::default();
    assert!(load(profile(2000).as_bytes(), &opts).is_ok());
    let e = load(profile(8000).as_bytes(), &opts).expect_err("over the bound");
    assert!(e.message().contains("steps in all"), "{e}");
    assert!(e.origin().path.starts_with("$.syscalls["), "{e}");
}
