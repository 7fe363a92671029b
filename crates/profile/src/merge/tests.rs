//! The tree's meaning, read word by word as libseccomp's code walks it,
//! must equal the first match over the rules `paths` writes for it, on
//! random rule sets and calls around their boundaries.

use proptest::prelude::*;

use super::tree::{NodeId, Tree, WordOp};
use super::{Label, SysDb, normalize};
use crate::ir::{Action, ArgIndex, ArgWidth, CmpOp, Cond, Origin, Rule};

const POOL: [u64; 9] = [
    0,
    1,
    5,
    0x7f,
    0xffff_ffff,
    0x1_0000_0000,
    0x1_0000_0005,
    0xffff_ffff_0000_0005,
    u64::MAX,
];

/// What a level decides for `args`, as the generated code would; `budget`
/// bounds the nodes visited (a tree whose levels loop exhausts it).
fn walk(
    tree: &Tree,
    start: NodeId,
    args: &[u64; 3],
    width: ArgWidth,
    budget: &mut u32,
) -> Option<Action> {
    let mut cur = Some(tree.head(start));
    while let Some(id) = cur {
        if *budget == 0 {
            return None;
        }
        *budget -= 1;
        let n = tree.node(id);
        let v = args[usize::from(n.arg)];
        let word = if n.hi && width == ArgWidth::Bits64 {
            (v >> 32) as u32
        } else {
            v as u32
        };
        let holds = match n.op {
            WordOp::Eq => word == n.datum,
            WordOp::Gt => word > n.datum,
            WordOp::Ge => word >= n.datum,
            WordOp::Masked => word & n.mask == n.datum,
        };
        let (leaf, next) = if holds {
            (n.act_t, n.nxt_t)
        } else {
            (n.act_f, n.nxt_f)
        };
        if let Some(next) = next {
            if let Some(a) = walk(tree, next, args, width, budget) {
                return Some(a);
            }
        } else if let Some(l) = leaf {
            return Some(l.action);
        }
        cur = n.lvl_nxt;
    }
    None
}

fn first_match(rules: &[Rule], args: &[u64; 3], width: ArgWidth) -> Option<Action> {
    rules
        .iter()
        .find(|r| r.conds.iter().all(|c| c.holds(args[c.arg.get()], width)))
        .map(|r| r.action)
}

fn op() -> impl Strategy<Value = CmpOp> {
    prop_oneof![
        Just(CmpOp::Eq),
        Just(CmpOp::Ne),
        Just(CmpOp::Lt),
        Just(CmpOp::Le),
        Just(CmpOp::Gt),
        Just(CmpOp::Ge),
        Just(CmpOp::MaskedEq),
    ]
}

/// A rule drawn at random: (argument, operator, value, value two) per
/// condition, and an action index.
type Drawn = (Vec<(u8, CmpOp, u64, u64)>, u8);

fn rule_set() -> impl Strategy<Value = Vec<Drawn>> {
    let cond = || {
        (0u8..3, op(), 0..POOL.len(), 0..POOL.len())
            .prop_map(|(a, o, v, w)| (a, o, POOL[v], POOL[w]))
    };
    let conds = prop_oneof![
        1 => prop::collection::vec(cond(), 0..1),
        8 => prop::collection::vec(cond(), 1..4),
    ];
    prop::collection::vec((conds, 0u8..3), 1..7)
}

fn build(set: &[Drawn], width: ArgWidth) -> Option<SysDb> {
    let mut db = SysDb::default();
    let label = Label {
        syscall: "read",
        arch: "test",
        release: crate::libseccomp::Libseccomp::default(),
    };
    let mut warnings = Vec::new();
    for (i, (conds, act)) in set.iter().enumerate() {
        let mut cs: Vec<Cond> = Vec::new();
        for &(a, op, value, value_two) in conds {
            let arg = ArgIndex::new(a)?;
            if cs.iter().any(|c| c.arg == arg) {
                continue;
            }
            cs.push(Cond {
                arg,
                op,
                value,
                value_two,
            });
        }
        normalize(&mut cs, width);
        let action = [Action::Allow, Action::Errno(1), Action::Log][usize::from(*act)];
        let origin = Origin {
            line: u32::try_from(i + 1).ok()?,
            ..Origin::default()
        };
        let rule = Rule {
            conds: cs,
            action,
            origin,
        };
        db.add(rule, width, &label, &mut warnings).ok()?;
    }
    Some(db)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(5000))]
    #[test]
    fn rules_read_back_from_the_tree_decide_as_the_tree(
        set in rule_set(),
        wide in any::<bool>(),
        calls in prop::collection::vec((0..POOL.len(), 0..POOL.len(), 0..POOL.len(), -1i64..=1, any::<bool>()), 48),
    ) {
        let width = if wide { ArgWidth::Bits64 } else { ArgWidth::Bits32 };
        let Some(db) = build(&set, width) else { return Ok(()) };
        let uncond = db.uncond.map(|u| db.added[u].action);
        let calls: Vec<[u64; 3]> = calls
            .into_iter()
            .map(|(a, b, c, d, swap)| {
                let mut args = [POOL[a], POOL[b], POOL[c]];
                args[0] = args[0].wrapping_add_signed(d);
                if swap {
                    args[1] = args[1].rotate_left(32);
                }
                args
            })
            .collect();
        let mut budget = 100_000;
        let want: Vec<Option<Action>> = calls
            .iter()
            .map(|args| match (uncond, db.tree.root) {
                (Some(u), _) => Some(u),
                (None, Some(r)) => walk(&db.tree, r, args, width, &mut budget),
                (None, None) => None,
            })
            .collect();
        // A tree this reading cannot write as rules is refused with an
        // error naming the syscall (`paths::Beyond`); only large sets of
        // overlapping rules reach that.
        let Ok(rules) = db.into_rules(width, &mut Vec::new()) else { return Ok(()) };
        prop_assert!(budget > 0, "the tree was read although walking it did not end");
        for (args, want) in calls.iter().zip(want) {
            prop_assert_eq!(first_match(&rules, args, width), want, "args {:x?}, rules {:?}", args, rules);
        }
    }
}
