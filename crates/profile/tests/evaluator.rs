//! The reference evaluator against hand-written meanings of each operator,
//! at 32-bit and 64-bit boundaries, on 64-bit and 32-bit arches.

use std::collections::BTreeMap;

use proptest::prelude::*;
use sysfence_profile::eval::{Call, DecidedBy, boundary_values, eval, interesting_values};
use sysfence_profile::ir::{
    Action, ArchPolicy, ArgIndex, ArgWidth, CmpOp, Cond, Origin, Policy, Rule,
};

const OPS: [CmpOp; 8] = [
    CmpOp::Eq,
    CmpOp::Ne,
    CmpOp::Lt,
    CmpOp::Le,
    CmpOp::Gt,
    CmpOp::Ge,
    CmpOp::MaskedEq,
    CmpOp::MaskedAny,
];

/// The meaning written out by hand: unsigned compare of the (cut) words.
fn expected(op: CmpOp, arg: u64, value: u64, two: u64, width: ArgWidth) -> bool {
    let (a, v, t) = match width {
        ArgWidth::Bits64 => (arg, value, two),
        ArgWidth::Bits32 => (arg as u32 as u64, value as u32 as u64, two as u32 as u64),
    };
    match op {
        CmpOp::Eq => a == v,
        CmpOp::Ne => a != v,
        CmpOp::Lt => a < v,
        CmpOp::Le => a <= v,
        CmpOp::Gt => a > v,
        CmpOp::Ge => a >= v,
        CmpOp::MaskedEq => a & v == t & v,
        CmpOp::MaskedAny => a & v != 0,
    }
}

fn policy(width: ArgWidth, op: CmpOp, value: u64, two: u64) -> Policy {
    let cond = Cond {
        arg: ArgIndex::new(3).expect("index"),
        op,
        value,
        value_two: two,
        width: ArgWidth::Bits64,
    };
    let rule = Rule {
        conds: vec![cond],
        action: Action::Allow,
        origin: Origin::default(),
    };
    let ap = ArchPolicy {
        audit_arch: 0x4000_0003,
        name: "x".into(),
        width,
        default: Action::Errno(1),
        rules: BTreeMap::from([(9, vec![rule])]),
        ranges: vec![],
        table_max: 10,
    };
    Policy::new(vec![ap], Action::KillThread).expect("valid")
}

fn allowed(p: &Policy, a3: u64) -> bool {
    let call = Call {
        arch: 0x4000_0003,
        nr: 9,
        args: [0, 0, 0, a3, 0, 0],
        instruction_pointer: 0,
    };
    let (act, by) = eval(p, &call);
    match by {
        DecidedBy::Rule {
            nr: 9, index: 0, ..
        } => act == Action::Allow,
        DecidedBy::Default => false,
        other => panic!("decided by {other:?}"),
    }
}

const EDGES: [u64; 12] = [
    0,
    1,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_fffe,
    0xffff_ffff,
    0x1_0000_0000,
    0x1_0000_0001,
    0xffff_ffff_0000_0000,
    0x8000_0000_0000_0000,
    u64::MAX - 1,
    u64::MAX,
];

#[test]
fn every_operator_at_word_boundaries() {
    for width in [ArgWidth::Bits64, ArgWidth::Bits32] {
        for op in OPS {
            for &v in &EDGES {
                for &two in &[0, v, 0x1234_5678_9abc_def0] {
                    let p = policy(width, op, v, two);
                    for &a in &EDGES {
                        let c = Cond {
                            arg: ArgIndex::new(3).expect("index"),
                            op,
                            value: v,
                            value_two: two,
                            width: ArgWidth::Bits64,
                        };
                        for probe in boundary_values(&c, width).into_iter().chain([a]) {
                            assert_eq!(
                                allowed(&p, probe),
                                expected(op, probe, v, two, width),
                                "{op:?} {width:?} v={v:#x} two={two:#x} a={probe:#x}"
                            );
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn hand_written_cases() {
    let b64 = ArgWidth::Bits64;
    let b32 = ArgWidth::Bits32;
    assert!(allowed(
        &policy(b64, CmpOp::Gt, 0xffff_ffff, 0),
        0x1_0000_0000
    ));
    assert!(
        !allowed(&policy(b32, CmpOp::Gt, 0xffff_ffff, 0), 0x1_0000_0000),
        "low word 0 is not > 0xffffffff"
    );
    assert!(
        allowed(&policy(b32, CmpOp::Eq, 0x1_0000_0005, 0), 5),
        "value's high word dropped on 32-bit"
    );
    assert!(!allowed(&policy(b64, CmpOp::Eq, 0x1_0000_0005, 0), 5));
    assert!(
        allowed(&policy(b64, CmpOp::MaskedEq, 0xff, 0x1234), 0x34),
        "datum masked too"
    );
    assert!(
        allowed(&policy(b64, CmpOp::MaskedEq, 0, 7), 99),
        "zero mask always holds"
    );
    assert!(allowed(
        &policy(b64, CmpOp::Lt, 0x1_0000_0000, 0),
        0xffff_ffff
    ));
    assert!(!allowed(
        &policy(b64, CmpOp::Le, 0x1_0000_0000, 0),
        0x1_0000_0001
    ));
    assert!(allowed(&policy(b64, CmpOp::Ne, 5, 0), 0x1_0000_0005));
    assert!(!allowed(&policy(b32, CmpOp::Ne, 5, 0), 0x1_0000_0005));
}

#[test]
fn interesting_values_reach_every_rule() {
    let p = policy(ArgWidth::Bits64, CmpOp::Gt, 0x1_0000_0200, 0);
    let all = interesting_values(&p);
    let nine = all.iter().find(|i| i.nr == 9).expect("nr 9");
    assert!(nine.values[3].contains(&0x1_0000_0201));
    assert!(nine.values[3].contains(&0x1_0000_0200));
    let calls = nine.calls(1000);
    assert!(calls.iter().any(|c| allowed(&p, c.args[3])));
    assert!(calls.iter().any(|c| !allowed(&p, c.args[3])));
    assert!(all.iter().any(|i| i.nr == 11), "one past table_max");
}

proptest! {
    #[test]
    fn random_operands(op_i in 0usize..7, v in any::<u64>(), two in any::<u64>(), a in any::<u64>(), wide in any::<bool>()) {
        let width = if wide { ArgWidth::Bits64 } else { ArgWidth::Bits32 };
        let op = OPS[op_i];
        let p = policy(width, op, v, two);
        prop_assert_eq!(allowed(&p, a), expected(op, a, v, two, width));
        prop_assert_eq!(allowed(&p, v), expected(op, v, v, two, width));
    }
}
