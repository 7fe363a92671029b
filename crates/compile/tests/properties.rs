//! Random policies compile under every layout, pass the check, and agree
//! with the policy's meaning on random inputs.

use proptest::prelude::*;
use sysfence_cbpf::SeccompData;
use sysfence_cbpf::interp;
use sysfence_compile::{Config, Layout, Weights, compile};
use sysfence_profile::ir::{
    Action, ArchPolicy, ArgIndex, ArgWidth, CmpOp, Cond, NrRange, Origin, Policy, Rule,
};

use sysfence_abi::arch::AUDIT_ARCH_I386 as I386;
use sysfence_abi::arch::AUDIT_ARCH_S390X as S390X;
use sysfence_abi::arch::AUDIT_ARCH_X86_64 as X86_64;

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        Just(Action::Allow),
        (0u16..5).prop_map(Action::Errno),
        Just(Action::KillThread),
        Just(Action::KillProcess),
        (0u16..3).prop_map(Action::Trap),
        Just(Action::Log),
        (0u16..3).prop_map(Action::Trace),
        Just(Action::UserNotif),
    ]
}

fn value() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(0u64),
        Just(1),
        Just(5),
        Just(0xffff_ffff),
        Just(0x1_0000_0000),
        Just(0x1_0000_0005),
        Just(u64::MAX),
        Just(0x7e02_0000),
        any::<u64>(),
        (0u64..8),
    ]
}

fn cond() -> impl Strategy<Value = Cond> {
    let op = prop_oneof![
        Just(CmpOp::Ne),
        Just(CmpOp::Lt),
        Just(CmpOp::Le),
        Just(CmpOp::Eq),
        Just(CmpOp::Ge),
        Just(CmpOp::Gt),
        Just(CmpOp::MaskedEq),
    ];
    (0u8..3, op, value(), value()).prop_map(|(arg, op, value, two)| Cond {
        arg: ArgIndex::new(arg).unwrap(),
        op,
        value,
        value_two: if op == CmpOp::MaskedEq { two } else { 0 },
        width: ArgWidth::Bits64,
    })
}

fn rule() -> impl Strategy<Value = Rule> {
    (prop::collection::vec(cond(), 0..3), action()).prop_map(|(conds, action)| Rule {
        conds,
        action,
        origin: Origin::default(),
    })
}

/// A value-set run: many equalities on one argument.
fn value_set() -> impl Strategy<Value = Vec<Rule>> {
    (prop::collection::vec((0u64..40, action()), 4..12), 0u8..2).prop_map(|(vals, arg)| {
        vals.into_iter()
            .map(|(v, action)| Rule {
                conds: vec![Cond {
                    arg: ArgIndex::new(arg).unwrap(),
                    op: CmpOp::Eq,
                    value: v * 7,
                    value_two: 0,
                    width: ArgWidth::Bits64,
                }],
                action,
                origin: Origin::default(),
            })
            .collect()
    })
}

/// Rules drawn from three conditions, so that neighbours often test the
/// same condition first (built once for the run) and what is left of them
/// may be a value run.
fn shared_rules() -> impl Strategy<Value = Vec<Rule>> {
    let pool = prop::collection::vec(cond(), 3);
    let picks = prop::collection::vec((prop::collection::vec(0usize..3, 1..3), action()), 2..6);
    (pool, picks).prop_map(|(pool, picks)| {
        picks
            .into_iter()
            .map(|(ix, action)| Rule {
                conds: ix.into_iter().map(|i| pool[i]).collect(),
                action,
                origin: Origin::default(),
            })
            .collect()
    })
}

fn nr() -> impl Strategy<Value = u32> {
    prop_oneof![4 => 0u32..48, 1 => (0u32..4).prop_map(|n| n | 0x4000_0000), 1 => Just(u32::MAX)]
}

fn arch_policy(audit_arch: u32, width: ArgWidth) -> impl Strategy<Value = ArchPolicy> {
    let rules = prop::collection::btree_map(
        nr(),
        prop_oneof![
            3 => prop::collection::vec(rule(), 1..4),
            1 => value_set(),
            1 => shared_rules(),
        ],
        0..12,
    );
    let inner = prop::option::of((0u32..48, 0u32..6, action()));
    (action(), rules, any::<bool>(), action(), inner).prop_map(
        move |(default, mut rules, guard, guard_action, inner)| {
            let mut ranges = Vec::new();
            // A fixed-action range inside the table (free of rules).
            if let Some((lo, len, action)) = inner {
                rules.retain(|&nr, _| !(lo..=lo + len).contains(&nr));
                ranges.push(NrRange {
                    lo,
                    hi: lo + len,
                    action,
                });
            }
            if guard {
                rules.retain(|&nr, _| !(0x4000_0000..=0xffff_fffe).contains(&nr));
                ranges.push(NrRange {
                    lo: 0x4000_0000,
                    hi: 0xffff_fffe,
                    action: guard_action,
                });
            }
            ArchPolicy {
                audit_arch,
                name: format!("{audit_arch:#x}"),
                width,
                default,
                rules,
                ranges,
                table_max: 50,
            }
        },
    )
}

fn policy() -> impl Strategy<Value = Policy> {
    (
        arch_policy(X86_64, ArgWidth::Bits64),
        prop::option::of(arch_policy(I386, ArgWidth::Bits32)),
        prop::option::of(arch_policy(S390X, ArgWidth::Bits64)),
        action(),
    )
        .prop_map(|(a, b, c, bad)| {
            Policy::new([Some(a), b, c].into_iter().flatten().collect(), bad).unwrap()
        })
}

/// The policy's meaning, straight from the IR documentation.
fn meaning(p: &Policy, d: &SeccompData) -> u32 {
    match p.arch(d.arch) {
        Some(ap) => meaning_of(ap, d),
        None => p.bad_arch().to_raw(),
    }
}

/// One arch's meaning, straight from the IR documentation.
fn meaning_of(ap: &ArchPolicy, d: &SeccompData) -> u32 {
    if let Some(r) = ap.range_for(d.nr) {
        return r.action.to_raw();
    }
    let rules = ap.rules.get(&d.nr).map_or(&[][..], Vec::as_slice);
    rules
        .iter()
        .find(|r| {
            r.conds
                .iter()
                .all(|c| c.holds(d.args[c.arg.get()], ap.width))
        })
        .map_or(ap.default, |r| r.action)
        .to_raw()
}

/// The check's counts for one arch, one number at a time: allowed,
/// errno, killed, other (with zero arguments), argument-checked, cached.
fn counts(
    ap: &ArchPolicy,
    program: &sysfence_cbpf::program::Program,
) -> (usize, usize, usize, usize, usize, usize) {
    use sysfence_cbpf::Action as Raw;
    let mut c = (0, 0, 0, 0, 0, 0);
    for nr in ap.table_numbers() {
        let d = SeccompData::new(ap.audit_arch, nr);
        let slot = match Raw::from_raw(meaning_of(ap, &d)) {
            Raw::Allow => &mut c.0,
            Raw::Errno(_) => &mut c.1,
            a if a.kills() => &mut c.2,
            _ => &mut c.3,
        };
        *slot += 1;
        let rules = ap.rules.get(&nr).map_or(&[][..], Vec::as_slice);
        c.4 += usize::from(ap.range_for(nr).is_none() && rules.iter().any(|r| !r.conds.is_empty()));
        c.5 += usize::from(
            sysfence_compile::check::always_allows(ap, nr)
                && interp::cache::is_const_allow(program, ap.audit_arch, nr),
        );
    }
    c
}

fn weights() -> Weights {
    Weights::from_pairs([
        ("read", 1000u64),
        ("write", 900),
        ("ioctl", 500),
        ("futex", 50),
    ])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn random_policies_compile_check_and_agree(
        p in policy(),
        inputs in prop::collection::vec((nr(), prop::array::uniform6(value()), 0usize..4), 64),
    ) {
        // Every layout, and `weighted` once more for the calls the kernel's
        // action cache does not serve.
        let configs = Layout::ALL
            .map(|layout| (layout, Config::new().layout(layout).weights(weights())))
            .into_iter()
            .chain([(Layout::Weighted, Config::new().layout(Layout::Weighted).weights(weights()).cache_aware(true))]);
        for (layout, config) in configs {
            let compiled = compile(&p, &config).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert!(compiled.check_report().and_then(|r| r.proof()).is_some(), "not proved");
            // The sampled check, a second opinion on the proved program.
            sysfence_compile::check::check_selected(compiled.selection(), compiled.program())
                .map_err(|e| TestCaseError::fail(format!("{layout:?}: sampled check: {e}")))?;
            // Only loads of nr/arch/args, `and #k`, K-form jumps, `ja` and `ret #k`: never X, never a shift.
            for i in compiled.program().insns() {
                use sysfence_cbpf::Opcode::*;
                prop_assert!(matches!(i.opcode(), Some(LdAbsW | AndK | JeqK | JgtK | JgeK | JsetK | Ja | RetK)), "{}", i);
            }
            // The summary's counts, number by number.
            let report = compiled.check_report().expect("checked");
            for (ap, summary) in compiled.selection().entries().zip(report.arches()) {
                prop_assert_eq!(counts(ap, compiled.program()), (
                    summary.allowed, summary.errno, summary.killed, summary.other,
                    summary.arg_checked, summary.cached,
                ));
            }
            for &(nr, args, arch) in &inputs {
                let arch = [X86_64, I386, S390X, 0x1234][arch];
                let d = SeccompData { args, ..SeccompData::new(arch, nr) };
                prop_assert_eq!(interp::run(compiled.program(), &d).raw, meaning(&p, &d), "{:?} {:?}", layout, d);
            }
        }
    }
}

#[test]
fn hand_built_policy_has_the_expected_shape() {
    use sysfence_testkit::fixtures::{allow_if_eq, x86_64_allow_list};
    let personality = |v| allow_if_eq(0, v);
    let p = x86_64_allow_list(
        0..20,
        vec![(
            135,
            vec![personality(0), personality(8), personality(0x20000)],
        )],
        Action::KillThread,
    );
    let compiled = compile(&p, &Config::new()).unwrap();
    let report = compiled.check_report().unwrap();
    let s = &report.arches()[0];
    assert_eq!(
        (
            s.allowed,
            s.errno,
            s.killed,
            s.other,
            s.arg_checked,
            s.cached
        ),
        (21, 446, 0, 0, 1, 20)
    );
    // ld arch, jeq, ld nr, 5 interval tests, hi word + 3 values, 3 returns.
    let insns = compiled.program().insns();
    assert_eq!(insns.len(), 17);
    let run = |nr, a0| {
        let d = SeccompData {
            args: [a0, 0, 0, 0, 0, 0],
            ..SeccompData::new(X86_64, nr)
        };
        interp::run(compiled.program(), &d)
    };
    assert_eq!(run(135, 8).action, sysfence_cbpf::Action::Allow);
    assert_eq!(
        run(135, 0x1_0000_0008).action,
        sysfence_cbpf::Action::Errno(1)
    );
    assert_eq!(
        run(0x4000_0001, 0).action,
        sysfence_cbpf::Action::KillThread
    );
    assert_eq!(run(u32::MAX, 0).action, sysfence_cbpf::Action::Errno(1));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Each optimizer pass alone, run to its own fixpoint, keeps what the
    /// decision tree decides.
    #[test]
    fn every_pass_alone_keeps_the_meaning(
        p in policy(),
        inputs in prop::collection::vec((nr(), prop::array::uniform6(value()), 0usize..4), 48),
    ) {
        use sysfence_compile::emit::{code::Code, far};
        use sysfence_compile::opt::{PASSES, optimize};
        let tree = sysfence_compile::build_tree(&p, &Config::new()).unwrap();
        for pass in PASSES.iter().map(|p| vec![*p]).chain([PASSES.to_vec()]) {
            let mut code = Code::from_tree(&tree);
            optimize(&mut code, &pass);
            let program = sysfence_cbpf::program::Program::new(&far::encode(&code).unwrap().0).unwrap();
            for &(nr, args, arch) in &inputs {
                let arch = [X86_64, I386, S390X, 0x1234][arch];
                let d = SeccompData { args, ..SeccompData::new(arch, nr) };
                prop_assert_eq!(interp::run(&program, &d).raw, tree.eval(&d).0, "{} {:?}", pass[0].name, d);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    /// The optimizer stops at a fixpoint of every pass: a pass run after it
    /// finds nothing (so no pass is skipped that had something to do, and
    /// every pass reaches its own fixpoint in one call).
    #[test]
    fn the_optimizer_leaves_no_pass_anything_to_do(p in policy(), weighted in any::<bool>()) {
        use sysfence_compile::emit::code::Code;
        use sysfence_compile::opt::{PASSES, optimize};
        let layout = if weighted { Layout::Weighted } else { Layout::Tree };
        let tree = sysfence_compile::build_tree(&p, &Config::new().layout(layout)).unwrap();
        let mut code = Code::from_tree(&tree);
        optimize(&mut code, PASSES);
        for pass in PASSES {
            prop_assert!(!(pass.run)(&mut code.clone()), "{} found more", pass.name);
        }
        for pass in PASSES {
            let mut alone = Code::from_tree(&tree);
            if (pass.run)(&mut alone) {
                prop_assert!(!(pass.run)(&mut alone), "{} is not at its own fixpoint", pass.name);
            }
        }
    }
}
