//! The questions: are two subjects equal, is one at least as strict, where
//! do they differ.
//!
//! In: two [`Subject`]s and a node budget. Out: a [`Verdict`]. Both diagrams
//! are built in one store, so equality is one comparison of node ids. A
//! "no" carries a [`Witness`] replayed through the interpreter or evaluator.
//! Past the budget the answer is [`Verdict::Undecided`] unless a random
//! search (inputs steered by the programs' constants, every one checked
//! concretely) finds a difference, which is then a proven "no".

use sysfence_cbpf::action::{Action, RET_ACTION_FULL, RET_DATA};
use sysfence_cbpf::generate::{self, Rng};

use crate::store::{LeafOp, Node, OverBudget, Res, Store};
use crate::subject::Subject;
use crate::witness::{self, ReplayError, Witness};

/// Default node budget (about 40 MB of store).
pub const DEFAULT_BUDGET: usize = 2_000_000;

/// Random inputs tried when the budget is exceeded.
pub const FALLBACK_SAMPLES: u32 = 100_000;

/// The answer to one question.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Holds on every input.
    Yes,
    /// Fails on (at least) this confirmed input.
    No(Witness),
    /// The diagrams exceed the budget and no counter-example was found in
    /// `sampled` random inputs.
    Undecided {
        /// The budget in nodes.
        budget: usize,
        /// Random inputs tried.
        sampled: u32,
    },
}

/// How refinement compares actions of equal strictness that carry data
/// (ERRNO's errno, TRAP's and TRACE's data).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum DataOrder {
    /// Data is ignored: ERRNO(1) and ERRNO(38) are equally strict.
    #[default]
    Ignore,
    /// Data must be equal: ERRNO(1) neither refines nor is refined by ERRNO(38).
    Exact,
}

/// Strictness rank, higher is stricter: KILL_PROCESS > KILL_THREAD > TRAP >
/// ERRNO > USER_NOTIF > TRACE > LOG > ALLOW; an unknown action kills the
/// process and ranks with KILL_PROCESS.
pub fn strictness(raw: u32) -> u8 {
    match Action::from_raw(raw) {
        Action::KillProcess | Action::Unknown(_) => 7,
        Action::KillThread => 6,
        Action::Trap(_) => 5,
        Action::Errno(_) => 4,
        Action::UserNotif => 3,
        Action::Trace(_) => 2,
        Action::Log => 1,
        Action::Allow => 0,
    }
}

/// Whether `a` is at least as strict as `b` under `order`.
pub fn at_least_as_strict(a: u32, b: u32, order: DataOrder) -> bool {
    let (ra, rb) = (strictness(a), strictness(b));
    if ra != rb {
        return ra > rb;
    }
    let carries = matches!(
        Action::from_raw(a),
        Action::Trap(_) | Action::Errno(_) | Action::Trace(_)
    );
    order == DataOrder::Ignore || !carries || (a & RET_DATA) == (b & RET_DATA)
}

/// Builds both diagrams in `s`.
pub fn diagrams(s: &mut Store, a: &Subject, b: &Subject) -> Res<(Node, Node)> {
    Ok((a.diagram(s)?, b.diagram(s)?))
}

/// Do `a` and `b` return the same value on every input?
pub fn equiv(a: &Subject, b: &Subject, budget: usize) -> Result<Verdict, ReplayError> {
    Ok(match crate::lazy::equiv(a, b, budget)? {
        Some(v) => v,
        None => sample(a, b, budget, |va, vb| va == vb),
    })
}

/// Is `a` at least as strict as `b` on every input?
pub fn refines(
    a: &Subject,
    b: &Subject,
    order: DataOrder,
    budget: usize,
) -> Result<Verdict, ReplayError> {
    let mut s = Store::new(budget);
    let tag = LeafOp::Custom(order as u8);
    let weaker = move |x: u32, y: u32| u32::from(!at_least_as_strict(x, y, order));
    let built = diagrams(&mut s, a, b).and_then(|(x, y)| {
        let d = s.apply_with(tag, x, y, &weaker)?;
        Ok((x, y, d))
    });
    match built {
        Ok((_, _, crate::store::FALSE)) => Ok(Verdict::Yes),
        Ok((x, y, d)) => witness_of(&s, a, b, (x, y), d).map(Verdict::No),
        Err(OverBudget(n)) => Ok(sample(a, b, n, |va, vb| at_least_as_strict(va, vb, order))),
    }
}

fn witness_of(
    s: &Store,
    a: &Subject,
    b: &Subject,
    (x, y): (Node, Node),
    d: Node,
) -> Result<Witness, ReplayError> {
    let cube = witness::path_to_nonzero(s, d).unwrap_or_default();
    let words = witness::words_of(&cube);
    let values = (s.eval(x, &words), s.eval(y, &words));
    witness::replay(a, b, witness::data_of(&words), values)
}

/// Random inputs steered by the programs' constants; the first on which
/// `ok` fails is a (concretely computed) counter-example.
fn sample(a: &Subject, b: &Subject, budget: usize, ok: impl Fn(u32, u32) -> bool) -> Verdict {
    let mut rng = Rng::new(0x5eed_e8ac);
    let insns = crate::subject::insns_of(&[a, b]);
    let arches = [0xc000_003e, 0x4000_0003, 0xc000_00b7, 0x8000_0016, 0];
    for i in 0..FALLBACK_SAMPLES {
        let arch = arches[i as usize % arches.len()];
        let data = generate::seccomp_data_for(&mut rng, &insns, arch, rng_ip(i));
        let (va, vb) = (a.run(&data), b.run(&data));
        if !ok(va, vb) {
            return Verdict::No(Witness { data, a: va, b: vb });
        }
    }
    Verdict::Undecided {
        budget,
        sampled: FALLBACK_SAMPLES,
    }
}

fn rng_ip(i: u32) -> u64 {
    u64::from(i) << 12
}

/// The action part of a return value, for grouping.
pub fn action_part(raw: u32) -> u32 {
    raw & RET_ACTION_FULL
}

/// The first input (words by slot) on which `x` and `y` differ, among the
/// inputs whose words in the given slots have the given values.
pub fn difference_where(
    s: &mut Store,
    x: Node,
    y: Node,
    fixed: &[(usize, u32)],
) -> Res<Option<[u32; crate::store::WORDS]>> {
    let mut d = s.apply(LeafOp::Differ, x, y)?;
    for &(slot, value) in fixed {
        d = s.restrict_word(d, slot, value)?;
    }
    Ok(witness::path_to_nonzero(s, d).map(|cube| {
        let mut words = witness::words_of(&cube);
        for &(slot, value) in fixed {
            words[slot] = value;
        }
        words
    }))
}
