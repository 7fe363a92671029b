//! `HostContext::libseccomp`: the release runc and crun link decides which
//! names resolve, and runc's ENOSYS threshold is the largest number that
//! release resolves.
//!
//! And libseccomp's own defects, per release: GHSA-4q85-33p6-j5g6 (before
//! 2.6.1) is warned about with a call that shows it, and rule sets on which
//! libseccomp's merge never ends are refused, quickly; on random rule sets
//! the search for that call always answers.
//!
//! The expected outcomes were recorded from filters built by libseccomp
//! 2.5.4 (Debian 12), 2.6.0 (Debian 13) and 2.6.1 (Debian unstable) and run
//! on the listed calls; each table below says which release gave what.

use std::time::{Duration, Instant};

use proptest::prelude::*;
use sysfence_abi::arch::AUDIT_ARCH_X86_64 as X86_64;
use sysfence_profile::eval::{Call, eval};
use sysfence_profile::ir::Action;
use sysfence_profile::{Arch, Diagnostic, Libseccomp, Loaded, ProfileError, load};
use sysfence_testkit::fixtures::{options_for, x86_64_action};
use sysfence_testkit::random_profile::{MERGE_SHAPE, Shape, profile};

fn load_with(text: &str, release: Libseccomp) -> Result<Loaded, ProfileError> {
    load(text.as_bytes(), &options_for(release))
}

fn call(l: &Loaded, name: &str) -> Action {
    call_with(l, name, 0)
}

fn call_with(l: &Loaded, name: &str, a0: u64) -> Action {
    x86_64_action(&l.policy, name, [a0, 0, 0, 0, 0, 0])
}

const NEW_NAMES: &str = r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
  {"names":["read","fchmodat2","cachestat"],"action":"SCMP_ACT_ALLOW"}]}"#;

#[test]
fn names_a_release_does_not_know_are_skipped_with_a_warning() {
    let old = load_with(NEW_NAMES, Libseccomp::V2_5_4).unwrap();
    let unknown: Vec<&str> = old
        .warnings
        .iter()
        .map(|w| w.message.as_str())
        .filter(|m| m.starts_with("unknown syscall"))
        .collect();
    assert_eq!(
        unknown,
        [
            "unknown syscall \"fchmodat2\" ignored",
            "unknown syscall \"cachestat\" ignored"
        ]
    );
    assert_eq!(call(&old, "read"), Action::Allow);
    let new = load_with(NEW_NAMES, Libseccomp::V2_6_1).unwrap();
    assert!(
        new.warnings
            .iter()
            .all(|w| !w.message.starts_with("unknown"))
    );
    assert_eq!(call(&new, "fchmodat2"), Action::Allow);
}

#[test]
fn the_enosys_threshold_is_the_largest_resolvable_number() {
    // 2.5.4 resolves neither new name: the largest resolvable number is
    // read's 0, and runc then leaves the arch out of its stub, so every
    // number gets the default; 2.6.1 resolves cachestat (451) and
    // fchmodat2 (452), so numbers up to 452 get the default, above ENOSYS.
    let old = load_with(NEW_NAMES, Libseccomp::V2_5_4).unwrap();
    assert_eq!(call(&old, "write"), Action::Errno(1));
    assert_eq!(call(&old, "fchmodat2"), Action::Errno(1));
    let new = load_with(NEW_NAMES, Libseccomp::V2_6_1).unwrap();
    assert_eq!(call(&new, "write"), Action::Errno(1));
    assert_eq!(call(&new, "uretprobe"), Action::Errno(1));
    assert_eq!(call(&new, "fchmodat2"), Action::Allow);
    let above = Arch::X86_64.syscall_nr("fchmodat2").unwrap() + 1;
    let c = Call {
        arch: X86_64,
        nr: above,
        args: [0; 6],
        instruction_pointer: 0,
    };
    assert_eq!(eval(&new.policy, &c).0, Action::Errno(38));
}

#[test]
fn each_release_knows_its_own_table() {
    let r = |v: Libseccomp, a: Arch, n: &str| v.syscall_nr(a, n);
    assert_eq!(r(Libseccomp::V2_5_4, Arch::X86_64, "uretprobe"), None);
    assert_eq!(
        r(Libseccomp::V2_5_4, Arch::X86_64, "process_mrelease"),
        Some(448)
    );
    assert_eq!(r(Libseccomp::V2_5_5, Arch::X86_64, "cachestat"), Some(451));
    assert_eq!(r(Libseccomp::V2_5_5, Arch::X86_64, "mseal"), None);
    assert_eq!(r(Libseccomp::V2_6_1, Arch::X86_64, "listns"), Some(470));
    assert_eq!(
        r(Libseccomp::V2_6_1, Arch::X32, "listns"),
        Some(470 | 0x4000_0000)
    );
    assert_eq!(r(Libseccomp::V2_5_4, Arch::Mips, "read"), Some(4003));
    assert!(!Libseccomp::V2_5_6.supports(Arch::Loongarch64));
    assert!(Libseccomp::V2_6_0.supports(Arch::Loongarch64));
    assert!(Libseccomp::V2_5_4.knows("socketcall"));
    assert!(!Libseccomp::V2_5_4.knows("riscv_hwprobe"));
    assert_eq!(Libseccomp::from_name("v2.5.4"), Some(Libseccomp::V2_5_4));
    assert_eq!(Libseccomp::from_name("2.4.0"), None);
    assert_eq!(Libseccomp::default(), Libseccomp::V2_6_1);
}

#[test]
fn an_arch_the_release_lacks_is_refused() {
    let text = r#"{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_LOONGARCH64"],
      "syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW"}]}"#;
    let e = load_with(text, Libseccomp::V2_5_4).unwrap_err();
    assert!(
        e.message().contains("libseccomp 2.5.4 does not know arch"),
        "{e}"
    );
    assert!(load_with(text, Libseccomp::V2_6_0).is_ok());
}

const GHSA: &str = "libseccomp-ghsa-4q85";

/// Rules on a KILL default.
fn load_rules(rules: &str, release: Libseccomp) -> Result<Loaded, ProfileError> {
    let text = format!("{{\"defaultAction\":\"SCMP_ACT_KILL\",\"syscalls\":[{rules}]}}");
    load_with(&text, release)
}

fn read(l: &Loaded, a0: u64) -> Action {
    call_with(l, "read", a0)
}

fn ghsa(l: &Loaded) -> Vec<&Diagnostic> {
    l.warnings.iter().filter(|w| w.code == Some(GHSA)).collect()
}

const ALLOW: Action = Action::Allow;
const EPERM: Action = Action::Errno(1);
const KILL: Action = Action::KillThread;

/// `(name, rules, [(a0, 2.6.1's action, 2.5.4's action)])`.
type Case = (&'static str, &'static str, &'static [(u64, Action, Action)]);

const CASES: [Case; 3] = [
    (
        "<= sharing a high word",
        r#"{"names":["read"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"op":"SCMP_CMP_LE","value":4294967808}]},
           {"names":["read"],"action":"SCMP_ACT_ERRNO","errnoRet":1,"args":[{"index":0,"op":"SCMP_CMP_LE","value":4294967552}]}"#,
        &[
            (0, EPERM, ALLOW),
            (5, EPERM, ALLOW),
            (0x1_0000_0005, EPERM, EPERM),
            (0x2_0000_0005, KILL, KILL),
        ],
    ),
    (
        "!= sharing a high word",
        r#"{"names":["read"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"op":"SCMP_CMP_NE","value":4294967303}]},
           {"names":["read"],"action":"SCMP_ACT_ERRNO","errnoRet":1,"args":[{"index":0,"op":"SCMP_CMP_NE","value":4294967301}]}"#,
        &[
            (5, EPERM, ALLOW),
            (0x1_0000_0005, ALLOW, ALLOW),
            (0x1_0000_0007, EPERM, EPERM),
            (0x2_0000_0005, EPERM, ALLOW),
        ],
    ),
    (
        "!= through the node an == rule created",
        r#"{"names":["read"],"action":"SCMP_ACT_ERRNO","errnoRet":2,"args":[{"index":0,"op":"SCMP_CMP_EQ","value":4294967303}]},
           {"names":["read"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"op":"SCMP_CMP_NE","value":4294967305}]},
           {"names":["read"],"action":"SCMP_ACT_ERRNO","errnoRet":1,"args":[{"index":0,"op":"SCMP_CMP_NE","value":4294967301}]}"#,
        &[
            (5, EPERM, ALLOW),
            (0x1_0000_0009, EPERM, EPERM),
            (0x2_0000_0005, EPERM, ALLOW),
        ],
    ),
];

#[test]
fn ghsa_4q85_is_warned_about_for_releases_before_2_6_1() {
    for (name, rules, calls) in CASES {
        let new = load_rules(rules, Libseccomp::V2_6_1).unwrap();
        assert!(ghsa(&new).is_empty(), "{name}: 2.6.1 warned");
        for &(a0, fixed, _) in calls {
            assert_eq!(read(&new, a0), fixed, "{name}: a0={a0:#x}");
        }
        for release in [Libseccomp::V2_5_4, Libseccomp::V2_6_0] {
            let old = load_rules(rules, release).unwrap();
            let w = ghsa(&old);
            assert_eq!(w.len(), 1, "{name} with {release}: {:?}", old.warnings);
            let m = &w[0].message;
            assert!(m.starts_with("read on x86_64: libseccomp "), "{m}");
            assert!(m.contains("for args (0x"), "{name}: no example call: {m}");
            // The policy stays the profile's meaning, as 2.6.1 builds it.
            for &(a0, fixed, _) in calls {
                assert_eq!(read(&old, a0), fixed, "{name}: a0={a0:#x}");
            }
        }
    }
}

#[test]
fn the_ghsa_example_is_a_call_the_old_release_decides_otherwise() {
    let (_, rules, calls) = CASES[0];
    let old = load_rules(rules, Libseccomp::V2_5_4).unwrap();
    let m = &ghsa(&old)[0].message;
    let (a0, fixed, buggy) = calls[0];
    assert!(
        m.contains(&format!(
            "for args ({a0:#x}, 0x0, 0x0, 0x0, 0x0, 0x0) its filter gives {buggy} where the profile gives {fixed}"
        )),
        "{m}"
    );
}

/// Found by the random differential against libseccomp 2.5.4: conditions
/// on five arguments gave the candidate search more calls than it tried in
/// odometer order, and the defect (KILL_THREAD from a high-word node the
/// `!=` rules share, where the profile gives ERRNO(2)) went unwarned. The
/// search now skips every subtree both rule lists have already decided.
#[test]
fn ghsa_4q85_is_found_among_rules_on_many_arguments() {
    let rules = r#"{"names":["read"],"action":"SCMP_ACT_KILL","args":[{"index":5,"op":"SCMP_CMP_LT","value":0},{"index":4,"op":"SCMP_CMP_NE","value":1},{"index":5,"op":"SCMP_CMP_GE","value":2}]},
        {"names":["read","read"],"action":"SCMP_ACT_ALLOW","args":[{"index":2,"op":"SCMP_CMP_LT","value":8},{"index":1,"op":"SCMP_CMP_EQ","value":2147483647},{"index":0,"op":"SCMP_CMP_MASKED_EQ","value":2147483647,"valueTwo":4294967552}]},
        {"names":["read"],"action":"SCMP_ACT_ERRNO","errnoRet":2,"args":[{"index":0,"op":"SCMP_CMP_MASKED_EQ","value":0,"valueTwo":4294967296},{"index":4,"op":"SCMP_CMP_NE","value":0}]}"#;
    let text = format!("{{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{rules}]}}");
    let old = load_with(&text, Libseccomp::V2_5_4).unwrap();
    let w = ghsa(&old);
    assert_eq!(w.len(), 1, "{:?}", old.warnings);
    assert!(
        w[0].message
            .contains("its filter gives KILL_THREAD where the profile gives ERRNO(2)"),
        "{}",
        w[0].message
    );
    let new = load_with(&text, Libseccomp::V2_6_1).unwrap();
    assert!(ghsa(&new).is_empty(), "{:?}", new.warnings);
}

/// A merge-heavy rule set on which the search once gave up (50,000 steps
/// over three arguments' candidates): a subtree where both lists can only
/// reach one outcome is now skipped, and the search ends with an example.
#[test]
fn ghsa_4q85_search_ends_on_rules_sharing_arguments() {
    let rules = r#"{"names":["read"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"op":"SCMP_CMP_NE","value":0}]},
        {"names":["read"],"action":"SCMP_ACT_ERRNO","errnoRet":0,"args":[{"index":5,"op":"SCMP_CMP_LT","value":8},{"index":2,"op":"SCMP_CMP_NE","value":0,"valueTwo":2},{"index":2,"op":"SCMP_CMP_MASKED_EQ","value":4294967808,"valueTwo":0}]},
        {"names":["read","write"],"action":"SCMP_ACT_ALLOW","args":[{"index":5,"op":"SCMP_CMP_LE","value":5,"valueTwo":4294967552},{"index":5,"op":"SCMP_CMP_LE","value":4294967295,"valueTwo":4294967295},{"index":1,"op":"SCMP_CMP_LE","value":4294967297,"valueTwo":8}]}"#;
    let text = format!("{{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{rules}]}}");
    let old = load_with(&text, Libseccomp::V2_5_4).unwrap();
    for w in ghsa(&old) {
        assert!(!w.message.contains("stopped after"), "{}", w.message);
        assert!(w.message.contains("for args ("), "{}", w.message);
    }
}

/// Four `read` rules whose merge walks between 2^22 and 2^24 nodes:
/// libseccomp builds their filter, so sysfence's bound on the merge's work
/// must not refuse them (it did at 2^22).
#[test]
fn a_long_merge_libseccomp_finishes_is_read() {
    let rules = r#"{"names":["read"],"action":"SCMP_ACT_ALLOW","args":[{"index":2,"op":"SCMP_CMP_NE","value":4294967296}]},
        {"names":["read"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"op":"SCMP_CMP_NE","value":0},{"index":2,"op":"SCMP_CMP_GE","value":4294967297},{"index":0,"op":"SCMP_CMP_LE","value":4294967297,"valueTwo":4294967295}]},
        {"names":["read"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"op":"SCMP_CMP_MASKED_EQ","value":4294967297,"valueTwo":0},{"index":3,"op":"SCMP_CMP_EQ","value":4294967808,"valueTwo":4294967296},{"index":3,"op":"SCMP_CMP_GT","value":5,"valueTwo":8}]},
        {"names":["read"],"action":"SCMP_ACT_ALLOW","args":[{"index":1,"op":"SCMP_CMP_LT","value":1},{"index":0,"op":"SCMP_CMP_LT","value":4294967296,"valueTwo":8},{"index":2,"op":"SCMP_CMP_GT","value":8,"valueTwo":4294967297}]}"#;
    for release in Libseccomp::ALL {
        load_rules(rules, release).unwrap();
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3_000, ..ProptestConfig::default() })]

    /// The GHSA-4q85 search answers (an example or none) on random rule
    /// sets that share comparisons, twice as many rules and more arguments
    /// than the peer differential draws: it never gives up on them.
    #[test]
    fn the_ghsa_search_answers_on_random_merge_heavy_rules(
        p in profile(Shape { max_rules: 12, max_args: 4, ..MERGE_SHAPE })
    ) {
        if let Ok(loaded) = load_with(&p.json(), Libseccomp::V2_5_4) {
            for w in ghsa(&loaded) {
                prop_assert!(!w.message.contains("stopped after"), "{}\n{}", p.json(), w.message);
            }
        }
    }
}

/// Rule sets on which `seccomp_rule_add` (2.5.4, 2.6.0 and 2.6.1) never
/// returns: the 0-based rule it hangs on.
const LOOPS: [(&str, usize); 2] = [
    (
        r#"{"names":["read"],"action":"SCMP_ACT_ALLOW","args":[{"index":1,"op":"SCMP_CMP_LE","value":8},{"index":2,"op":"SCMP_CMP_GE","value":2}]},
           {"names":["read"],"action":"SCMP_ACT_ALLOW","args":[{"index":1,"op":"SCMP_CMP_LT","value":2147483647},{"index":2,"op":"SCMP_CMP_LE","value":4294967297}]},
           {"names":["read"],"action":"SCMP_ACT_ALLOW","args":[{"index":1,"op":"SCMP_CMP_LE","value":8},{"index":3,"op":"SCMP_CMP_NE","value":5}]},
           {"names":["read"],"action":"SCMP_ACT_ALLOW","args":[{"index":3,"op":"SCMP_CMP_NE","value":6}]}"#,
        2,
    ),
    (
        r#"{"names":["read"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"op":"SCMP_CMP_NE","value":1},{"index":1,"op":"SCMP_CMP_EQ","value":2}]},
           {"names":["read"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"op":"SCMP_CMP_NE","value":1},{"index":2,"op":"SCMP_CMP_EQ","value":3}]}"#,
        1,
    ),
];

#[test]
fn rule_sets_libseccomp_never_finishes_are_refused_quickly() {
    for (rules, at) in LOOPS {
        for release in Libseccomp::ALL {
            let start = Instant::now();
            let e = load_rules(rules, release).unwrap_err();
            assert!(
                start.elapsed() < Duration::from_secs(2),
                "took {:?}",
                start.elapsed()
            );
            assert!(
                e.message().contains("never finishes adding this rule"),
                "{e}"
            );
            assert!(
                e.message().contains(&format!("libseccomp {release}")),
                "{e}"
            );
            assert_eq!(e.origin().path, format!("$.syscalls[{at}].names[0]"), "{e}");
        }
    }
}
