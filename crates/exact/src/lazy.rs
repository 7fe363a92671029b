//! Comparing diagrams that hold symbolic leaves.
//!
//! In: two diagrams in one store, built with [`crate::program::lazy_diagram`]
//! (a `ret a` whose A depends on the input is one leaf holding A's word, not
//! a leaf per value). Out: the boolean diagram of the inputs on which they
//! differ. Equal roots are equal functions; different roots are walked in
//! step, and at each pair of leaves the difference is "the two words differ"
//! as a boolean diagram over the input, rejoined with the path above it by
//! `ite`. The result is canonical again: FALSE iff the functions are equal.
//!
//! Operations that would create more than [`CUT_LIMIT`] nodes are cut
//! ([`crate::cut`]): a FALSE difference is still a proof, and a difference
//! over cut variables is a "no" only once an input realising it is found
//! and replayed. Not done here: refinement and stacking, which need leaf
//! values ([`Store::apply_with`] expands symbolic leaves for them).

use sysfence_cbpf::generate::{self, Rng};
use sysfence_cbpf::insn::Insn;
use sysfence_cbpf::opcode::Opcode;

use crate::compare::Verdict;
use crate::cut::{self, Cuts};
use crate::store::{FALSE, FastMap, Node, Res, Store, TRUE, VARS, var_bit};
use crate::subject::Subject;
use crate::witness::{self, ReplayError, data_of, words_from};
use crate::word::{self, Rel, Word};
use crate::{program, subject};

/// New nodes one operation may create before it is cut.
pub const CUT_LIMIT: usize = 20_000;

/// Paths of the difference tried for a confirmed witness when cuts make a
/// path's realisability unknown.
pub const WITNESS_TRIES: u32 = 512;

/// The subject's diagram, `ret a` as symbolic leaves where it is a program.
pub fn diagram(s: &mut Store, cuts: &mut Cuts, subj: &Subject) -> Res<Node> {
    match subj {
        Subject::Program(p, mode) => program::lazy_diagram(s, p, *mode, cuts),
        Subject::Stack(progs, mode) => subject::stack(s, progs, *mode),
        Subject::Policy(_) => subj.diagram(s),
    }
}

/// Do `a` and `b` return the same value on every input? `None` when the
/// diagrams exceed the budget, or when cuts hide whether a difference is
/// real and no input confirming one was found even with fewer cuts
/// (the limit grows tenfold, then nothing is cut).
pub fn equiv(a: &Subject, b: &Subject, budget: usize) -> Result<Option<Verdict>, ReplayError> {
    for cuts in [
        Cuts::with_limit(CUT_LIMIT),
        Cuts::with_limit(CUT_LIMIT * 10),
        Cuts::none(),
    ] {
        let (verdict, cut) = equiv_with(a, b, budget, cuts)?;
        if verdict.is_some() || !cut {
            return Ok(verdict);
        }
    }
    Ok(None)
}

/// One attempt with the given cuts; the flag says whether anything was cut.
fn equiv_with(
    a: &Subject,
    b: &Subject,
    budget: usize,
    mut cuts: Cuts,
) -> Result<(Option<Verdict>, bool), ReplayError> {
    let mut s = Store::new(budget);
    let built = diagram(&mut s, &mut cuts, a).and_then(|x| {
        let y = diagram(&mut s, &mut cuts, b)?;
        Ok((x, y, differ(&mut s, &mut cuts, x, y)?))
    });
    let verdict = match built {
        Ok((_, _, FALSE)) => Some(Verdict::Yes),
        Ok((x, y, d)) => confirmed(&s, &cuts, (a, b), (x, y), d)?,
        Err(_) => None,
    };
    Ok((verdict, !cuts.is_empty()))
}

/// An input on which the difference `d` holds with the real cut values,
/// replayed through both subjects.
fn confirmed(
    s: &Store,
    cuts: &Cuts,
    (a, b): (&Subject, &Subject),
    (x, y): (Node, Node),
    d: Node,
) -> Result<Option<Verdict>, ReplayError> {
    let mut rng = Rng::new(0x1a27_5eed);
    let insns = crate::subject::insns_of(&[a, b]);
    for attempt in 0..WITNESS_TRIES {
        let words = candidate(s, d, &mut rng, &insns, attempt);
        let values = cuts.values(s, &words);
        if cut::eval(s, d, &words, &values) == 1 {
            let (va, vb) = (
                cut::eval(s, x, &words, &values),
                cut::eval(s, y, &words, &values),
            );
            let w = witness::replay(a, b, data_of(&words), (va, vb))?;
            return Ok(Some(Verdict::No(w)));
        }
        if cuts.is_empty() {
            break;
        }
    }
    Ok(None)
}

/// The input bits of a path to TRUE in `d` (the first try: always the low
/// child where possible, free bits 0; later tries: random paths over random
/// inputs steered by the programs' constants).
fn candidate(s: &Store, mut n: Node, rng: &mut Rng, insns: &[Insn], attempt: u32) -> [u32; 16] {
    let mut words = if attempt == 0 {
        [0; 16]
    } else {
        let (arch, ip) = (rng.next_u32(), rng.next_u64());
        let d = generate::seccomp_data_for(rng, insns, arch, ip);
        words_from(&d)
    };
    while let (None, false) = (s.value(n), n == TRUE) {
        let (lo, hi) = s.children(n);
        let take_hi = lo == FALSE || (hi != FALSE && attempt > 0 && rng.chance(1, 2));
        let v = s.top(n);
        if v < VARS {
            let (slot, bit) = var_bit(v);
            words[slot] = words[slot] & !(1 << bit) | u32::from(take_hi) << bit;
        }
        n = if take_hi { hi } else { lo };
    }
    words
}

/// The boolean diagram of the inputs (and cut values) on which `x` and `y`
/// return different values; FALSE iff they are the same function.
pub fn differ(s: &mut Store, cuts: &mut Cuts, x: Node, y: Node) -> Res<Node> {
    let mut memo = FastMap::default();
    differ_rec(s, cuts, x, y, &mut memo)
}

fn differ_rec(
    s: &mut Store,
    cuts: &mut Cuts,
    x: Node,
    y: Node,
    memo: &mut FastMap<(Node, Node), Node>,
) -> Res<Node> {
    if x == y {
        return Ok(FALSE);
    }
    if s.is_terminal(x) && s.is_terminal(y) {
        return leaves_differ(s, cuts, x, y);
    }
    if let Some(&r) = memo.get(&(x, y)) {
        return Ok(r);
    }
    let v = s.top(x).min(s.top(y));
    let (x0, x1) = s.cofactors(x, v);
    let (y0, y1) = s.cofactors(y, v);
    let lo = differ_rec(s, cuts, x0, y0, memo)?;
    let hi = differ_rec(s, cuts, x1, y1, memo)?;
    let r = s.join(v, lo, hi)?;
    memo.insert((x, y), r);
    Ok(r)
}

/// Two leaves of either kind: where their words differ.
fn leaves_differ(s: &mut Store, cuts: &mut Cuts, x: Node, y: Node) -> Res<Node> {
    if let (Some(a), Some(b)) = (s.value(x), s.value(y)) {
        return Ok(if a == b { FALSE } else { TRUE });
    }
    let word_of = |s: &Store, n: Node| {
        let bits = s.leaf_word(n).or_else(|| s.terminal_word(n));
        Word {
            bits: bits.unwrap_or([FALSE; 32]),
        }
    };
    let (a, b) = (word_of(s, x), word_of(s, y));
    let eq = Insn::op(Opcode::JeqX, 0, 0, 0);
    let same = cuts.condition(s, eq, (&a, &b), |s| word::relate(s, Rel::Eq, &a, &b))?;
    s.not(same)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{WORDS, var};
    use sysfence_cbpf::asm::{AsmOptions, assemble};
    use sysfence_cbpf::interp::ShiftMode;
    use sysfence_cbpf::program::Program;

    fn lazy(s: &mut Store, text: &str) -> Node {
        let insns = assemble(text, &AsmOptions::new()).unwrap();
        let p = Program::new(&insns).unwrap();
        program::lazy_diagram(s, &p, ShiftMode::Mask31, &mut Cuts::none()).unwrap()
    }

    #[test]
    fn ret_a_under_its_own_test_equals_the_constant() {
        let mut s = Store::new(100_000);
        let x = lazy(&mut s, "ld [0]\njeq #5, eq, ne\neq: ret a\nne: ret #0\n");
        let y = lazy(&mut s, "ld [0]\njeq #5, eq, ne\neq: ret #5\nne: ret #0\n");
        assert_ne!(x, y, "symbolic leaves are not canonical");
        assert_eq!(differ(&mut s, &mut Cuts::none(), x, y).unwrap(), FALSE);
    }

    #[test]
    fn a_differing_word_is_found_at_the_right_input() {
        let mut s = Store::new(100_000);
        let x = lazy(&mut s, "ld [16]\nadd #1\nret a\n");
        let y = lazy(
            &mut s,
            "ld [16]\njeq #7, yes, no\nyes: ret #9\nno: add #1\nret a\n",
        );
        let d = differ(&mut s, &mut Cuts::none(), x, y).unwrap();
        assert_ne!(d, FALSE);
        let mut words = [0u32; WORDS];
        words[3] = 7;
        assert_eq!(s.eval(d, &words), 1);
        words[3] = 8;
        assert_eq!(s.eval(d, &words), 0);
        assert_eq!(s.top(d), var(3, 31));
    }

    fn subject(text: &str) -> Subject {
        let insns = assemble(text, &AsmOptions::new()).unwrap();
        Subject::Program(Program::new(&insns).unwrap(), ShiftMode::Mask31)
    }

    const PRODUCT: &str = "ld [16]\ntax\nld [24]\nmul x\n";

    #[test]
    fn a_cut_product_still_proves_equality() {
        let a = subject(&format!("{PRODUCT}ret a\n"));
        let b = subject(&format!("{PRODUCT}jeq #7, l, m\nl: ret a\nm: ret a\n"));
        let (v, cut) = equiv_with(&a, &b, 2_000_000, Cuts::with_limit(10)).unwrap();
        assert!(cut, "the product is cut at 10 nodes");
        assert_eq!(v, Some(Verdict::Yes));
    }

    #[test]
    fn a_difference_behind_a_cut_is_confirmed_by_a_real_input() {
        let a = subject(&format!("{PRODUCT}ret a\n"));
        let b = subject(&format!("{PRODUCT}add #1\nret a\n"));
        let (v, cut) = equiv_with(&a, &b, 2_000_000, Cuts::with_limit(10)).unwrap();
        assert!(cut);
        let Some(Verdict::No(w)) = v else {
            panic!("{v:?}");
        };
        assert_eq!(w.b, w.a.wrapping_add(1));
    }
}
