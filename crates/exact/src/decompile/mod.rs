//! A diagram → a profile plan: the rules a profile needs so that its
//! compiled meaning is the diagram's.
//!
//! In: the diagram of any filter (program, stack, policy). Out: a [`Plan`]
//! (bad-arch action, default action, arches, rule entries by syscall name)
//! and the list of what no profile can say ([`Plan::lost`]). The plan is
//! built from the diagram, not from instructions:
//!
//! 1. the arch word is split into value ranges; the range covering the most
//!    arch values is "foreign" and must be one leaf, the bad-arch action;
//!    every other value must be an arch with a syscall table;
//! 2. per arch, the number word is split into ranges ([`split_word`]); the
//!    leaf reached by most numbers below 2^30, over all arches, is the
//!    default action;
//! 3. per syscall of each arch's table (x32 numbers on x86_64 included),
//!    the argument diagram's paths to every non-default leaf become rules:
//!    each path is a cube (fixed bits per word), one condition per argument
//!    (`SCMP_CMP_EQ` when all 64 bits are fixed, else `SCMP_CMP_MASKED_EQ`);
//!    where the arguments are tested one after another, each argument's
//!    condition is a range instead ([`chain`]: `LE`, `GE`, `EQ` or aligned
//!    `MASKED_EQ` blocks). Paths are disjoint, so the rules' order does not
//!    matter.
//!
//! A syscall name takes its rules from the first arch that has it (64-bit
//! arches first): profile formats give one name one rule list on every
//! arch. The plan does not judge itself: [`prove`] renders it, loads the
//! text as the runtime would and proves the result equal to the filter;
//! the notes in [`Plan::lost`] explain a failed proof.

pub mod chain;
pub mod minijail;
pub mod prove;
pub mod render;

use std::collections::BTreeMap;

use sysfence_cbpf::Action;
use sysfence_profile::arch::Arch;

use crate::diff::Bits;
use crate::policy::{ARCH_SLOT, NR_SLOT, arg_slots};
use crate::store::{FastMap, Node, Store, WORDS, var_bit};

/// At most this many pieces in one word split, or cubes per syscall.
pub const PIECE_LIMIT: usize = 1 << 14;

/// Numbers below this are counted when the default action is chosen (x32
/// numbers and above are not a table's).
const DEFAULT_SPAN: u64 = 1 << 30;

/// One piece of a word split: values `lo..=hi` lead to the node.
pub type Piece = (u32, u32, Node);

/// How a rule compares one argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TestOp {
    /// `arg == value`.
    Eq,
    /// `arg & mask == value`.
    MaskedEq,
    /// `arg <= value`.
    Le,
    /// `arg >= value`.
    Ge,
}

/// One argument condition of a rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ArgTest {
    /// Argument index, 0..=5.
    pub arg: u8,
    /// The comparison.
    pub op: TestOp,
    /// The mask (`MaskedEq` only; all ones otherwise).
    pub mask: u64,
    /// The value compared with.
    pub value: u64,
}

/// A rule: these names, under all these conditions, get this action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Syscall names.
    pub names: Vec<&'static str>,
    /// The raw return value.
    pub action: u32,
    /// All must hold.
    pub tests: Vec<ArgTest>,
}

/// What a profile must say to mean the diagram.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    /// The raw value for arches the filter does not name.
    pub bad_arch: u32,
    /// The raw default action.
    pub default: u32,
    /// The ABIs the filter handles, 64-bit first (x32 when its numbers are
    /// handled other than as foreign).
    pub arches: Vec<Arch>,
    /// The rules, grouped by (action, conditions).
    pub entries: Vec<Entry>,
    /// Whether x86_64's x32 numbers (bit 30) all get the bad-arch action, as
    /// libseccomp's guard gives them in a filter without x32.
    pub x32_guard: bool,
    /// Names listed with the default action, which changes nothing but
    /// where runc's ENOSYS stub starts (above the largest named number).
    pub stub_marks: Vec<&'static str>,
    /// Names whose argument regions no rule lists get this action, not
    /// the default: their last, unconditional rule, in a format that reads
    /// a name's rules in order ([`Dialect::Ordered`]; empty otherwise).
    pub elses: BTreeMap<&'static str, u32>,
    /// What the plan could not express (empty when it expresses all).
    pub lost: Vec<String>,
    /// What the format's own tools cannot take although the text would
    /// mean the filter (a minijail line past what minijail's compiler
    /// compiles): a plan with any is not printed.
    pub unwritable: Vec<String>,
}

/// What a format's rules for one syscall name can say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// Docker, OCI, seccompiler: the rules are one set (what none matches
    /// gets the default action, so the plan lists every region of another
    /// action), and a rule tests an argument once (a range is one
    /// comparison or aligned `MASKED_EQ` blocks).
    Sets,
    /// minijail: the rules are read in order, the first match deciding,
    /// so a name may end with an unconditional rule and the plan lists the
    /// regions of every action but the one that needs most rules, which is
    /// that last rule (`arg0 != 5` is one rule for `arg0 == 5` and the last
    /// one for the rest, not one rule per bit); and a rule may test an
    /// argument twice (`arg0 >= 4 && arg0 <= 9`).
    Ordered,
}

/// Splits `n` on the word in `slot` (no variable above that word may be
/// tested in `n`): sorted, covering, adjacent pieces with distinct nodes;
/// `None` past [`PIECE_LIMIT`].
pub fn split_word(s: &Store, n: Node, slot: usize) -> Option<Vec<Piece>> {
    let mut out = Vec::new();
    split_rec(s, n, slot, 0, 32, &mut out).then_some(out)
}

fn split_rec(s: &Store, n: Node, slot: usize, base: u64, width: u32, out: &mut Vec<Piece>) -> bool {
    let in_slot = s.value(n).is_none() && var_bit(s.top(n)).0 == slot;
    if !in_slot || width == 0 {
        let hi = (base + (1u64 << width) - 1) as u32;
        match out.last_mut() {
            Some(last) if last.2 == n => last.1 = hi,
            _ => out.push((base as u32, hi, n)),
        }
        return out.len() <= PIECE_LIMIT;
    }
    let half = 1u64 << (width - 1);
    let (lo, hi) = if var_bit(s.top(n)).1 == width - 1 {
        s.children(n)
    } else {
        (n, n)
    };
    split_rec(s, lo, slot, base, width - 1, out)
        && split_rec(s, hi, slot, base + half, width - 1, out)
}

/// The node of the piece holding `v`.
pub fn piece_at(pieces: &[Piece], v: u32) -> Node {
    let i = pieces.partition_point(|p| p.1 < v);
    pieces[i].2
}

/// A readable action name of a raw value.
pub fn action_name(raw: u32) -> String {
    Action::from_raw(raw).to_string()
}

/// The plans of the diagram `root` in `s` for a format of `dialect`, one
/// per candidate default action (`default_candidates`), most likely first.
pub fn plans(s: &Store, root: Node, dialect: Dialect) -> Vec<Plan> {
    let mut base = Plan::default();
    let Some(arch_pieces) = split_word(s, root, ARCH_SLOT) else {
        base.lost
            .push("the arch dispatch has too many pieces".into());
        return vec![base];
    };
    let parts = arch_parts(s, &arch_pieces, &mut base);
    let mut splits = Vec::new();
    for (arch, node) in parts {
        match split_word(s, node, NR_SLOT) {
            Some(p) => splits.push((arch, p)),
            None => base
                .lost
                .push(format!("{arch}: the number dispatch has too many pieces")),
        }
    }
    splits.sort_by_key(|(a, _)| (a.width() != sysfence_profile::ir::ArgWidth::Bits64, *a));
    default_candidates(s, &splits, base.bad_arch)
        .into_iter()
        .map(|default| {
            let mut plan = Plan {
                default,
                ..base.clone()
            };
            rules::build(s, &splits, dialect, &mut plan);
            plan
        })
        .collect()
}

/// The arches `root` handles other than as foreign (those with a table).
pub fn handled_arches(s: &Store, root: Node) -> Vec<Arch> {
    let Some(pieces) = split_word(s, root, ARCH_SLOT) else {
        return Vec::new();
    };
    let mut arches: Vec<Arch> = arch_parts(s, &pieces, &mut Plan::default())
        .into_iter()
        .map(|(a, _)| a)
        .collect();
    arches.dedup();
    arches
}

/// The arch pieces → bad-arch action and the arches with their diagrams.
fn arch_parts(s: &Store, pieces: &[Piece], plan: &mut Plan) -> Vec<(Arch, Node)> {
    let foreign = pieces
        .iter()
        .max_by_key(|p| u64::from(p.1 - p.0))
        .map_or(root_of(pieces), |p| p.2);
    match s.value(foreign) {
        Some(v) => plan.bad_arch = v,
        None => plan.lost.push(
            "foreign arches: the answer depends on more than the arch (a profile gives every foreign arch one action)".into(),
        ),
    }
    let mut parts = Vec::new();
    for &(lo, hi, n) in pieces.iter().filter(|p| p.2 != foreign) {
        if u64::from(hi - lo) >= 64 {
            plan.lost.push(format!(
                "arch values {lo:#x}..={hi:#x} are handled other than foreign arches, and no arch table has them"
            ));
            continue;
        }
        for v in lo..=hi {
            match Arch::from_audit(v, 0) {
                Some(a) => parts.push((a, n)),
                None => plan.lost.push(format!(
                    "arch value {v:#010x} has its own handling but no syscall table: no profile can name it"
                )),
            }
        }
    }
    parts
}

fn root_of(pieces: &[Piece]) -> Node {
    pieces.first().map_or(0, |p| p.2)
}

/// The default actions worth trying, most likely first: the leaf of most
/// numbers outside the tables but below their largest number (the holes a
/// runtime's stub above the table does not reach), of most numbers outside
/// the tables below 2^30, and of most table numbers. The bad-arch action
/// when no arch is handled.
fn default_candidates(s: &Store, splits: &[(Arch, Vec<Piece>)], bad: u32) -> Vec<u32> {
    let mut tallies: [BTreeMap<u32, u64>; 3] = Default::default();
    for (arch, pieces) in splits {
        let table = arch.table();
        let max = u64::from(arch.max_nr());
        for &(lo, hi, n) in pieces {
            let (Some(v), lo) = (s.value(n), u64::from(lo)) else {
                continue;
            };
            let hi = u64::from(hi).min(DEFAULT_SPAN - 1);
            if lo > hi {
                continue;
            }
            let listed = table
                .iter()
                .filter(|&&(_, nr)| (lo..=hi).contains(&u64::from(nr)))
                .count() as u64;
            let below_max = (hi.min(max) + 1).saturating_sub(lo);
            *tallies[0].entry(v).or_default() += below_max.saturating_sub(listed);
            *tallies[1].entry(v).or_default() += hi - lo + 1 - listed;
            *tallies[2].entry(v).or_default() += listed;
        }
    }
    let mut out = Vec::new();
    for t in tallies {
        let best = t
            .into_iter()
            .filter(|&(_, c)| c > 0)
            .max_by_key(|&(v, c)| (c, std::cmp::Reverse(v)));
        if let Some((v, _)) = best.filter(|(v, _)| !out.contains(v)) {
            out.push(v);
        }
    }
    if out.is_empty() {
        out.push(bad);
    }
    out
}

/// The fixed bits per word along one path, with the leaf value.
pub type Cube = ([Bits; WORDS], u32);

/// The paths of `n` to leaves other than `skip`; `None` past
/// [`PIECE_LIMIT`]. A subdiagram whose leaves are all `skip` is passed
/// over whole (it may hold exponentially many paths), so the walk takes
/// time in proportion to the cubes it lists.
pub fn cubes(s: &Store, n: Node, skip: u32) -> Option<Vec<Cube>> {
    let mut walk = Cubes {
        s,
        skip,
        live: FastMap::default(),
        out: Vec::new(),
    };
    let mut cur = [Bits::default(); WORDS];
    walk.from(n, &mut cur).then_some(walk.out)
}

/// [`cubes`]' walk: the nodes known to reach a leaf other than `skip`.
struct Cubes<'s> {
    s: &'s Store,
    skip: u32,
    live: FastMap<Node, bool>,
    out: Vec<Cube>,
}

impl Cubes<'_> {
    /// Whether `n` reaches a leaf other than `skip`.
    fn is_live(&mut self, n: Node) -> bool {
        if let Some(v) = self.s.value(n) {
            return v != self.skip;
        }
        if let Some(&l) = self.live.get(&n) {
            return l;
        }
        let (lo, hi) = self.s.children(n);
        let l = self.is_live(lo) || self.is_live(hi);
        self.live.insert(n, l);
        l
    }

    /// Lists the cubes below `n`, `cur` fixing the bits above it; false
    /// past the limit.
    fn from(&mut self, n: Node, cur: &mut [Bits; WORDS]) -> bool {
        if !self.is_live(n) {
            return true;
        }
        if let Some(v) = self.s.value(n) {
            self.out.push((*cur, v));
            return self.out.len() <= PIECE_LIMIT;
        }
        let (slot, bit) = var_bit(self.s.top(n));
        let (lo, hi) = self.s.children(n);
        let saved = cur[slot];
        cur[slot].mask |= 1 << bit;
        cur[slot].value &= !(1 << bit);
        let ok = self.from(lo, cur);
        cur[slot].value |= 1 << bit;
        let ok = ok && self.from(hi, cur);
        cur[slot] = saved;
        ok
    }
}

/// The argument conditions of a cube on `arch` (`None` when the cube fixes
/// instruction-pointer bits, which no profile can test).
pub fn cube_tests(cube: &[Bits; WORDS], arch: Arch) -> Option<Vec<ArgTest>> {
    let ip = crate::store::slot_of_offset(8);
    let ip_hi = crate::store::slot_of_offset(12);
    if cube[ip].mask != 0 || cube[ip_hi].mask != 0 {
        return None;
    }
    let mut tests = Vec::new();
    for arg in 0..6u8 {
        let (h, l) = arg_slots(arch.audit_arch(), usize::from(arg));
        let mask = u64::from(cube[h].mask) << 32 | u64::from(cube[l].mask);
        let value = u64::from(cube[h].value) << 32 | u64::from(cube[l].value);
        if mask == 0 {
            continue;
        }
        let full = mask == u64::MAX
            || (arch.width() == sysfence_profile::ir::ArgWidth::Bits32 && mask == 0xffff_ffff);
        let op = if full { TestOp::Eq } else { TestOp::MaskedEq };
        tests.push(ArgTest {
            arg,
            op,
            mask: if full { u64::MAX } else { mask },
            value,
        });
    }
    Some(tests)
}

mod rules;
