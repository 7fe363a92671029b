//! Low-word conditions for peers that cannot compare 32 bits on a 64-bit
//! arch (libseccomp).
//!
//! In: a rule's conditions, some of them [`ArgWidth::Bits32`] on an arch
//! that compares 64 bits. Out: alternatives of full-width masked
//! comparisons whose union means exactly the same (each low-word range
//! becomes aligned mask blocks; one rule's blocks are crossed with its other
//! conditions, which is what such a peer has to be given). Any-bit
//! comparisons (minijail's `&`), which no peer's rule format has, become one
//! alternative per bit of the mask. sysfence itself compiles both directly
//! and never needs this.

use sysfence_profile::ir::{ArgWidth, CmpOp, Cond};

/// Above this many alternatives a rule is refused.
pub const LIMIT: usize = 4096;

/// A rule's conditions as alternatives of full-width conditions, or `None`
/// past [`LIMIT`].
pub fn expand(conds: &[Cond], arch: ArgWidth) -> Option<Vec<Vec<Cond>>> {
    let mut alts: Vec<Vec<Cond>> = vec![vec![]];
    for c in conds {
        let options = if c.op == CmpOp::MaskedAny {
            any_bit(c, arch)
        } else if arch == ArgWidth::Bits64 && c.width == ArgWidth::Bits32 {
            alternatives(c)
        } else {
            vec![vec![*c]]
        };
        let next: Vec<Vec<Cond>> = alts
            .iter()
            .flat_map(|a| options.iter().map(move |o| [a.as_slice(), o].concat()))
            .collect();
        if next.len() > LIMIT {
            return None;
        }
        alts = next;
    }
    Some(alts)
}

/// `(arg & mask) != 0` as one single-bit comparison per bit of the mask
/// (of its low word when the comparison is on the low word).
fn any_bit(c: &Cond, arch: ArgWidth) -> Vec<Vec<Cond>> {
    let mask = match c.width_on(arch) {
        ArgWidth::Bits64 => c.value,
        ArgWidth::Bits32 => c.value & 0xffff_ffff,
    };
    (0..64)
        .map(|i| 1u64 << i)
        .filter(|bit| mask & bit != 0)
        .map(|bit| {
            vec![Cond {
                op: CmpOp::MaskedEq,
                value: bit,
                value_two: bit,
                width: ArgWidth::Bits64,
                ..*c
            }]
        })
        .collect()
}

/// The alternatives (each zero or one masked comparison) whose union is a
/// low-word comparison.
pub fn alternatives(c: &Cond) -> Vec<Vec<Cond>> {
    const LOW: u64 = 0xffff_ffff;
    let m = |mask: u64, v: u64| {
        vec![Cond {
            arg: c.arg,
            op: CmpOp::MaskedEq,
            value: mask,
            value_two: v & mask,
            width: ArgWidth::Bits64,
        }]
    };
    let v = c.value & LOW;
    let prefix = |i: u32| (LOW << i) & LOW;
    let below = |v: u64| {
        (0..32)
            .filter(|i| v >> i & 1 == 1)
            .map(|i| m(prefix(i), v & !(1 << i)))
            .collect::<Vec<_>>()
    };
    let above = |v: u64| {
        (0..32)
            .filter(|i| v >> i & 1 == 0)
            .map(|i| m(prefix(i), v | (1 << i)))
            .collect::<Vec<_>>()
    };
    match c.op {
        CmpOp::Eq => vec![m(LOW, v)],
        CmpOp::MaskedEq if v == 0 => vec![vec![]],
        CmpOp::MaskedEq => vec![m(v, c.value_two)],
        CmpOp::Ne => (0..32).map(|i| m(1 << i, !v & (1 << i))).collect(),
        CmpOp::Lt => below(v),
        CmpOp::Le => [below(v), vec![m(LOW, v)]].concat(),
        CmpOp::Gt => above(v),
        CmpOp::Ge => [above(v), vec![m(LOW, v)]].concat(),
        CmpOp::MaskedAny => any_bit(c, ArgWidth::Bits32),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sysfence_profile::ir::ArgIndex;

    #[test]
    fn alternatives_are_exact() {
        let samples = [
            0u64,
            1,
            37,
            38,
            39,
            40,
            41,
            0xffff_fffe,
            0xffff_ffff,
            0x1_0000_0026,
            0xdead_0000_0028,
            u64::MAX,
        ];
        for op in [
            CmpOp::Eq,
            CmpOp::Ne,
            CmpOp::Lt,
            CmpOp::Le,
            CmpOp::Gt,
            CmpOp::Ge,
            CmpOp::MaskedEq,
        ] {
            for value in [0u64, 38, 40, 0xffff_ffff, 0x1_0000_0005] {
                let c = Cond {
                    arg: ArgIndex::new(1).unwrap(),
                    op,
                    value,
                    value_two: 0x28,
                    width: ArgWidth::Bits32,
                };
                let alts = alternatives(&c);
                for &a in &samples {
                    let want = c.holds(a, ArgWidth::Bits64);
                    let got = alts
                        .iter()
                        .any(|alt| alt.iter().all(|k| k.holds(a, ArgWidth::Bits64)));
                    assert_eq!(got, want, "{op:?} {value:#x} on {a:#x}");
                }
            }
        }
    }
}
