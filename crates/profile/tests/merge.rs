//! libseccomp's merge of overlapping rules, as runc loads them
//! (libseccomp's `src/db.c`; docs/profiles.md), read from small OCI profiles.

use sysfence_profile::eval::{Call, eval};
use sysfence_profile::ir::Action;
use sysfence_profile::{Arch, HostContext, LoadOptions, Loaded, Severity, load};
use sysfence_testkit::fixtures::x86_64_action;

use sysfence_abi::arch::AUDIT_ARCH_X86_64 as X86_64;

fn profile(default: &str, rules: &str) -> Loaded {
    let text = format!("{{\"defaultAction\": \"{default}\", \"syscalls\": [{rules}]}}");
    let opts = LoadOptions {
        file_name: "p.json".into(),
        context: HostContext::default(),
        ..LoadOptions::default()
    };
    load(text.as_bytes(), &opts).unwrap_or_else(|e| panic!("{e}"))
}

fn read(l: &Loaded, args: [u64; 6]) -> Action {
    x86_64_action(&l.policy, "read", args)
}

fn a(args: &[u64]) -> [u64; 6] {
    let mut out = [0; 6];
    out[..args.len()].copy_from_slice(args);
    out
}

fn rule(action: &str, conds: &[(u8, &str, u64)]) -> String {
    let args: Vec<String> = conds
        .iter()
        .map(|(i, op, v)| format!("{{\"index\": {i}, \"value\": {v}, \"op\": \"SCMP_CMP_{op}\"}}"))
        .collect();
    let (action, errno) = match action.split_once(':') {
        Some((act, e)) => (act, format!(", \"errnoRet\": {e}")),
        None => (action, String::new()),
    };
    format!(
        "{{\"names\": [\"read\"], \"action\": \"{action}\"{errno}, \"args\": [{}]}}",
        args.join(", ")
    )
}

fn warnings(l: &Loaded) -> Vec<&str> {
    l.warnings
        .iter()
        .filter(|w| w.severity == Severity::Warning)
        .map(|w| w.message.as_str())
        .collect()
}

#[test]
fn first_unconditional_rule_wins() {
    let l = profile(
        "SCMP_ACT_KILL",
        &[rule("SCMP_ACT_ALLOW", &[]), rule("SCMP_ACT_TRAP", &[])].join(","),
    );
    assert_eq!(read(&l, a(&[])), Action::Allow);
    let w = warnings(&l);
    assert_eq!(w.len(), 1);
    assert!(
        w[0].contains("this unconditional TRAP(0) rule is ignored"),
        "{w:?}"
    );
    assert_eq!(l.warnings[0].origin.line, 1);
    assert!(l.warnings[0].related.is_some());
}

#[test]
fn conditional_rule_after_unconditional_is_dropped() {
    let l = profile(
        "SCMP_ACT_KILL",
        &[
            rule("SCMP_ACT_ALLOW", &[]),
            rule("SCMP_ACT_ERRNO", &[(0, "EQ", 5)]),
        ]
        .join(","),
    );
    assert_eq!(read(&l, a(&[5])), Action::Allow);
    assert!(warnings(&l)[0].contains("conditional ERRNO(1) rule is dropped"));
}

#[test]
fn unconditional_rule_deletes_conditional_ones() {
    let l = profile(
        "SCMP_ACT_KILL",
        &[
            rule("SCMP_ACT_ERRNO", &[(0, "EQ", 5)]),
            rule("SCMP_ACT_ALLOW", &[]),
        ]
        .join(","),
    );
    assert_eq!(read(&l, a(&[5])), Action::Allow);
    assert!(warnings(&l)[0].contains("deleted by the unconditional ALLOW rule"));
}

#[test]
fn longer_chain_after_shorter_one_is_dropped() {
    let rules = [
        rule("SCMP_ACT_ALLOW", &[(0, "EQ", 5)]),
        rule("SCMP_ACT_TRAP", &[(0, "EQ", 5), (1, "EQ", 7)]),
    ]
    .join(",");
    let l = profile("SCMP_ACT_KILL", &rules);
    assert_eq!(read(&l, a(&[5, 7])), Action::Allow);
    assert_eq!(read(&l, a(&[6, 7])), Action::KillThread);
    assert!(
        warnings(&l)[0]
            .contains("drops the rest of this TRAP(0) rule where it meets the ALLOW branch")
    );
}

#[test]
fn shorter_chain_prunes_longer_ones_with_its_action() {
    let rules = [
        rule("SCMP_ACT_ALLOW", &[(0, "EQ", 5), (1, "EQ", 7)]),
        rule("SCMP_ACT_ALLOW", &[(0, "EQ", 5)]),
    ]
    .join(",");
    let l = profile("SCMP_ACT_KILL", &rules);
    assert_eq!(read(&l, a(&[5, 1])), Action::Allow);
    let nr = Arch::X86_64.syscall_nr("read").expect("read");
    assert_eq!(l.policy.arch(X86_64).expect("x86_64").rules[&nr].len(), 1);
    assert!(warnings(&l).is_empty());
}

#[test]
fn tightest_threshold_wins() {
    let rules = [
        rule("SCMP_ACT_ALLOW", &[(2, "LE", 64)]),
        rule("SCMP_ACT_ERRNO:5", &[(2, "GT", 128)]),
        rule("SCMP_ACT_ERRNO:6", &[(2, "GT", 256)]),
    ]
    .join(",");
    let l = profile("SCMP_ACT_KILL", &rules);
    assert!(l.warnings.is_empty(), "{:?}", l.warnings);
    assert_eq!(read(&l, a(&[0, 0, 64])), Action::Allow);
    assert_eq!(read(&l, a(&[0, 0, 100])), Action::KillThread);
    assert_eq!(read(&l, a(&[0, 0, 200])), Action::Errno(5));
    assert_eq!(read(&l, a(&[0, 0, 300])), Action::Errno(6));
    let rules = [
        rule("SCMP_ACT_ERRNO:6", &[(2, "LT", 256)]),
        rule("SCMP_ACT_ERRNO:5", &[(2, "LT", 128)]),
    ]
    .join(",");
    let l = profile("SCMP_ACT_KILL", &rules);
    assert_eq!(read(&l, a(&[0, 0, 65])), Action::Errno(5));
    assert_eq!(read(&l, a(&[0, 0, 200])), Action::Errno(6));
}

#[test]
fn ghsa_4q85_33p6_j5g6_as_2_6_1_behaves() {
    let rules = [
        rule("SCMP_ACT_ALLOW", &[(0, "LT", 0x1_0000_0200)]),
        rule("SCMP_ACT_ERRNO", &[(0, "LT", 0x1_0000_0100)]),
    ]
    .join(",");
    let l = profile("SCMP_ACT_KILL", &rules);
    assert_eq!(read(&l, a(&[5])), Action::Errno(1));
    assert_eq!(read(&l, a(&[0x1_0000_0050])), Action::Errno(1));
    assert_eq!(read(&l, a(&[0x1_0000_0150])), Action::Allow);
    assert_eq!(read(&l, a(&[0x1_0000_0250])), Action::KillThread);
}

#[test]
fn repeated_index_means_or() {
    let l = profile(
        "SCMP_ACT_ERRNO",
        &rule(
            "SCMP_ACT_ALLOW",
            &[(0, "EQ", 100), (0, "EQ", 9001), (1, "EQ", 3)],
        ),
    );
    assert_eq!(read(&l, a(&[100])), Action::Allow);
    assert_eq!(read(&l, a(&[9001])), Action::Allow);
    assert_eq!(
        read(&l, a(&[7, 3])),
        Action::Allow,
        "the arg1 condition is its own rule"
    );
    assert_eq!(read(&l, a(&[7])), Action::Errno(1));
    let l = profile(
        "SCMP_ACT_ERRNO",
        &rule("SCMP_ACT_ALLOW", &[(0, "EQ", 100), (1, "EQ", 3)]),
    );
    assert_eq!(
        read(&l, a(&[100])),
        Action::Errno(1),
        "distinct indexes: AND"
    );
    assert_eq!(read(&l, a(&[100, 3])), Action::Allow);
}

#[test]
fn masked_eq_masks_the_expected_value() {
    let text = r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW",
        "args": [{"index": 0, "value": 255, "valueTwo": 4660, "op": "SCMP_CMP_MASKED_EQ"}]}]}"#;
    let l = load(text.as_bytes(), &LoadOptions::default()).expect("loads");
    assert_eq!(read(&l, a(&[0x34])), Action::Allow);
    assert_eq!(read(&l, a(&[0xab34])), Action::Allow);
    assert_eq!(read(&l, a(&[0x1234])), Action::Allow);
    assert_eq!(read(&l, a(&[0x35])), Action::Errno(1));
}

#[test]
fn rule_equal_to_default_is_skipped_before_merging() {
    let rules = [rule("SCMP_ACT_ERRNO", &[]), rule("SCMP_ACT_ALLOW", &[])].join(",");
    let l = profile("SCMP_ACT_ERRNO", &rules);
    assert_eq!(read(&l, a(&[])), Action::Allow);
    let w = warnings(&l);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].contains("equals the default action")
            && w[0].contains("$.syscalls[1].names[0] (ALLOW) decides"),
        "{w:?}"
    );
}

#[test]
fn i386_keeps_the_low_word_and_says_so() {
    let text = r#"{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86"], "syscalls": [{"names": ["personality"],
        "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 4294967301, "op": "SCMP_CMP_EQ"}]}]}"#;
    let l = load(text.as_bytes(), &LoadOptions::default()).expect("loads");
    let nr = Arch::X86.syscall_nr("personality").expect("personality");
    assert_eq!(
        eval(
            &l.policy,
            &Call {
                arch: 0x4000_0003,
                nr,
                args: a(&[5]),
                instruction_pointer: 0
            }
        )
        .0,
        Action::Allow
    );
    let nr64 = Arch::X86_64.syscall_nr("personality").expect("personality");
    assert_eq!(
        eval(
            &l.policy,
            &Call {
                arch: X86_64,
                nr: nr64,
                args: a(&[5]),
                instruction_pointer: 0
            }
        )
        .0,
        Action::Errno(1)
    );
    assert!(
        warnings(&l)
            .iter()
            .any(|w| w.contains("0x100000005 becomes 0x5")),
        "{:?}",
        warnings(&l)
    );
}

#[test]
fn x86_64_without_x32_sends_bit_30_to_bad_arch() {
    let l = profile("SCMP_ACT_ERRNO", &rule("SCMP_ACT_ALLOW", &[]));
    let call = |nr| {
        eval(
            &l.policy,
            &Call {
                arch: X86_64,
                nr,
                ..Call::default()
            },
        )
        .0
    };
    assert_eq!(call(0x4000_0000), Action::KillThread);
    assert_eq!(call(0xffff_fffe), Action::KillThread);
    assert_eq!(call(0), Action::Allow);
    // -1 passes libseccomp's guard; runc's stub then answers ENOSYS only
    // below bit 30, so -1 gets the default.
    assert_eq!(call(u32::MAX), Action::Errno(1));
    assert_eq!(
        call(1),
        Action::Errno(1),
        "read (0) is the largest name: runc's stub has no check for x86_64"
    );
}

#[test]
fn stub_guard_value_removes_the_stub() {
    let text = r#"{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 327718, "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}"#;
    let l = load(text.as_bytes(), &LoadOptions::default()).expect("loads");
    let ap = l.policy.arch(X86_64).expect("x86_64");
    assert_eq!(ap.default, Action::Errno(38), "327718 & 0xffff = 38");
    assert_eq!(ap.ranges.len(), 1, "only the x32 guard");
}

#[test]
fn s390x_stub_section_needs_a_known_name() {
    let ctx = HostContext {
        host_arch: Arch::S390x,
        ..HostContext::default()
    };
    let opts = LoadOptions {
        context: ctx,
        ..LoadOptions::default()
    };
    let none = r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["arch_prctl"], "action": "SCMP_ACT_ALLOW"}]}"#;
    let l = load(none.as_bytes(), &opts).expect("loads");
    assert!(
        l.policy.arch(0x8000_0016).expect("s390x").ranges.is_empty(),
        "no s390x number: no section"
    );
    let read = r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}"#;
    let l = load(read.as_bytes(), &opts).expect("loads");
    assert_eq!(l.policy.arch(0x8000_0016).expect("s390x").ranges.len(), 2);
}
