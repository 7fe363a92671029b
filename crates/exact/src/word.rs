//! Symbolic 32-bit values: one boolean diagram per bit, and the cBPF ALU and
//! comparisons on them.
//!
//! In: words made from constants or from input slots. Out: words for every
//! ALU result (wrapping, unsigned, as the kernel computes them) and boolean
//! diagrams for every jump condition. Comparing an input word with a constant
//! never builds bit-level arithmetic: it is one chain of at most 32 nodes
//! ([`Store`]-level `mk` only). Division is a restoring divider, multiplication
//! shift-and-add; they may exceed the budget, which callers report as
//! undecided. Division by zero is not handled here (the program builder
//! branches on it first).

// Bit loops index several 32-entry arrays in step; a range reads clearest.
#![allow(clippy::needless_range_loop)]

use crate::store::{FALSE, Node, Res, Store, TRUE, var};

/// A symbolic 32-bit value: `bits[i]` is the boolean diagram of bit `i`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Word {
    /// Bit `i` (0 = least significant).
    pub bits: [Node; 32],
}

/// How a shift by a register treats counts of 32 and more.
pub use sysfence_cbpf::interp::ShiftMode;

/// A comparison a jump makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rel {
    /// `a == b`.
    Eq,
    /// `a > b` (unsigned).
    Gt,
    /// `a >= b` (unsigned).
    Ge,
    /// `a & b != 0`.
    Set,
}

impl Word {
    /// The constant `k`.
    pub fn constant(k: u32) -> Word {
        let mut bits = [FALSE; 32];
        for (i, b) in bits.iter_mut().enumerate() {
            *b = if k >> i & 1 == 1 { TRUE } else { FALSE };
        }
        Word { bits }
    }

    /// The input word in variable slot `slot`.
    pub fn input(s: &mut Store, slot: usize) -> Res<Word> {
        let mut bits = [FALSE; 32];
        for (i, b) in bits.iter_mut().enumerate() {
            *b = s.literal(var(slot, i as u32))?;
        }
        Ok(Word { bits })
    }

    /// The value if every bit is a constant.
    pub fn as_const(&self) -> Option<u32> {
        let mut k = 0u32;
        for (i, &b) in self.bits.iter().enumerate() {
            match b {
                TRUE => k |= 1 << i,
                FALSE => {}
                _ => return None,
            }
        }
        Some(k)
    }

    /// The slot if this is an untouched input word.
    pub fn as_input(&self, s: &Store) -> Option<usize> {
        let v = s.top(self.bits[0]);
        let slot = v as usize / 32;
        (slot < crate::store::WORDS
            && self
                .bits
                .iter()
                .enumerate()
                .all(|(i, &b)| s.top(b) == var(slot, i as u32) && s.children(b) == (FALSE, TRUE)))
        .then_some(slot)
    }
}

fn map2(
    s: &mut Store,
    a: &Word,
    b: &Word,
    f: fn(&mut Store, Node, Node) -> Res<Node>,
) -> Res<Word> {
    let mut bits = [FALSE; 32];
    for i in 0..32 {
        bits[i] = f(s, a.bits[i], b.bits[i])?;
    }
    Ok(Word { bits })
}

/// `a & b`.
pub fn and(s: &mut Store, a: &Word, b: &Word) -> Res<Word> {
    map2(s, a, b, Store::and)
}

/// `a | b`.
pub fn or(s: &mut Store, a: &Word, b: &Word) -> Res<Word> {
    map2(s, a, b, Store::or)
}

/// `a ^ b`.
pub fn xor(s: &mut Store, a: &Word, b: &Word) -> Res<Word> {
    map2(s, a, b, Store::xor)
}

/// `if c then a else b`, bit by bit.
pub fn select(s: &mut Store, c: Node, a: &Word, b: &Word) -> Res<Word> {
    let mut bits = [FALSE; 32];
    for i in 0..32 {
        bits[i] = s.ite(c, a.bits[i], b.bits[i])?;
    }
    Ok(Word { bits })
}

/// `a + b + carry`, wrapping.
fn add_carry(s: &mut Store, a: &Word, b: &Word, mut carry: Node) -> Res<Word> {
    let mut bits = [FALSE; 32];
    for i in 0..32 {
        let (x, y) = (a.bits[i], b.bits[i]);
        let xy = s.xor(x, y)?;
        bits[i] = s.xor(xy, carry)?;
        if i < 31 {
            let both = s.and(x, y)?;
            let prop = s.and(xy, carry)?;
            carry = s.or(both, prop)?;
        }
    }
    Ok(Word { bits })
}

/// `!a`.
fn not(s: &mut Store, a: &Word) -> Res<Word> {
    let mut bits = [FALSE; 32];
    for i in 0..32 {
        bits[i] = s.not(a.bits[i])?;
    }
    Ok(Word { bits })
}

/// `a + b`, wrapping.
pub fn add(s: &mut Store, a: &Word, b: &Word) -> Res<Word> {
    add_carry(s, a, b, FALSE)
}

/// `a - b`, wrapping.
pub fn sub(s: &mut Store, a: &Word, b: &Word) -> Res<Word> {
    let nb = not(s, b)?;
    add_carry(s, a, &nb, TRUE)
}

/// `0 - a`.
pub fn neg(s: &mut Store, a: &Word) -> Res<Word> {
    sub(s, &Word::constant(0), a)
}

/// `a << k` for a constant `k < 32`.
pub fn shl_const(a: &Word, k: u32) -> Word {
    let mut bits = [FALSE; 32];
    for i in k as usize..32 {
        bits[i] = a.bits[i - k as usize];
    }
    Word { bits }
}

/// `a >> k` for a constant `k < 32`.
pub fn shr_const(a: &Word, k: u32) -> Word {
    let mut bits = [FALSE; 32];
    for i in 0..32 - k as usize {
        bits[i] = a.bits[i + k as usize];
    }
    Word { bits }
}

/// `a << x` or `a >> x` for a symbolic count, under `mode`.
pub fn shift(s: &mut Store, a: &Word, x: &Word, left: bool, mode: ShiftMode) -> Res<Word> {
    let mut cur = *a;
    for j in 0..5 {
        let moved = if left {
            shl_const(&cur, 1 << j)
        } else {
            shr_const(&cur, 1 << j)
        };
        cur = select(s, x.bits[j], &moved, &cur)?;
    }
    if mode == ShiftMode::ZeroAbove31 {
        let mut wide = FALSE;
        for &b in &x.bits[5..] {
            wide = s.or(wide, b)?;
        }
        cur = select(s, wide, &Word::constant(0), &cur)?;
    }
    Ok(cur)
}

/// `a * b`, wrapping (shift and add).
pub fn mul(s: &mut Store, a: &Word, b: &Word) -> Res<Word> {
    let mut acc = Word::constant(0);
    for j in 0..32 {
        let bj = b.bits[j];
        if bj == FALSE {
            continue;
        }
        let shifted = shl_const(a, j as u32);
        let part = select(s, bj, &shifted, &Word::constant(0))?;
        acc = add(s, &acc, &part)?;
    }
    Ok(acc)
}

/// `(a / b, a % b)` for `b != 0` (a restoring divider; a power-of-two
/// constant divisor is a shift).
pub fn divmod(s: &mut Store, a: &Word, b: &Word) -> Res<(Word, Word)> {
    if let Some(k) = b.as_const().filter(|k| k.is_power_of_two()) {
        let q = shr_const(a, k.trailing_zeros());
        let r = and(s, a, &Word::constant(k - 1))?;
        return Ok((q, r));
    }
    let mut q = [FALSE; 32];
    let mut r = Word::constant(0);
    for i in (0..32).rev() {
        let out = r.bits[31];
        let mut shifted = shl_const(&r, 1);
        shifted.bits[0] = a.bits[i];
        let fits = relate(s, Rel::Ge, &shifted, b)?;
        let take = s.or(out, fits)?;
        let less = sub(s, &shifted, b)?;
        r = select(s, take, &less, &shifted)?;
        q[i] = take;
    }
    Ok((Word { bits: q }, r))
}

/// The boolean diagram of `a rel b`.
pub fn relate(s: &mut Store, rel: Rel, a: &Word, b: &Word) -> Res<Node> {
    if let (Some(slot), Some(k)) = (a.as_input(s), b.as_const()) {
        return relate_input(s, rel, slot, k);
    }
    match rel {
        Rel::Eq => equal(s, a, b),
        Rel::Gt => less(s, b, a, true),
        Rel::Ge => less(s, b, a, false),
        Rel::Set => {
            let mut any = FALSE;
            for i in 0..32 {
                let both = s.and(a.bits[i], b.bits[i])?;
                any = s.or(any, both)?;
            }
            Ok(any)
        }
    }
}

fn equal(s: &mut Store, a: &Word, b: &Word) -> Res<Node> {
    let mut all = TRUE;
    for i in 0..32 {
        let d = s.xor(a.bits[i], b.bits[i])?;
        let same = s.not(d)?;
        all = s.and(same, all)?;
    }
    Ok(all)
}

/// `a < b` (strict) or `a <= b`, from the least significant bit up.
fn less(s: &mut Store, a: &Word, b: &Word, strict: bool) -> Res<Node> {
    let mut acc = if strict { FALSE } else { TRUE };
    for i in 0..32 {
        let (x, y) = (a.bits[i], b.bits[i]);
        let when_x = s.ite(y, acc, FALSE)?;
        let when_not_x = s.ite(y, TRUE, acc)?;
        acc = s.ite(x, when_x, when_not_x)?;
    }
    Ok(acc)
}

/// `w rel k` for the input word in `slot`: a chain of at most 32 nodes.
pub fn relate_input(s: &mut Store, rel: Rel, slot: usize, k: u32) -> Res<Node> {
    match rel {
        Rel::Eq => masked_eq_input(s, slot, u32::MAX, k),
        Rel::Gt => greater_input(s, slot, k, true),
        Rel::Ge => greater_input(s, slot, k, false),
        Rel::Set => {
            let mut acc = FALSE;
            for i in 0..32 {
                if k >> i & 1 == 1 {
                    acc = s.mk(var(slot, i), acc, TRUE)?;
                }
            }
            Ok(acc)
        }
    }
}

/// `w & mask == datum & mask` for the input word in `slot`.
pub fn masked_eq_input(s: &mut Store, slot: usize, mask: u32, datum: u32) -> Res<Node> {
    let mut acc = TRUE;
    for i in 0..32 {
        if mask >> i & 1 == 1 {
            acc = if datum >> i & 1 == 1 {
                s.mk(var(slot, i), FALSE, acc)?
            } else {
                s.mk(var(slot, i), acc, FALSE)?
            };
        }
    }
    Ok(acc)
}

/// `w > k` (strict) or `w >= k` for the input word in `slot`.
pub fn greater_input(s: &mut Store, slot: usize, k: u32, strict: bool) -> Res<Node> {
    let mut acc = if strict { FALSE } else { TRUE };
    for i in 0..32 {
        acc = if k >> i & 1 == 1 {
            s.mk(var(slot, i), FALSE, acc)?
        } else {
            s.mk(var(slot, i), acc, TRUE)?
        };
    }
    Ok(acc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::WORDS;

    fn eval_word(s: &Store, w: &Word, words: &[u32; WORDS]) -> u32 {
        (0..32).fold(0, |acc, i| acc | s.eval(w.bits[i], words) << i)
    }

    #[test]
    fn alu_matches_wrapping_arithmetic() {
        let mut s = Store::new(2_000_000);
        let a = Word::input(&mut s, 1).unwrap();
        let k = Word::constant(12345);
        let sum = add(&mut s, &a, &k).unwrap();
        let diff = sub(&mut s, &a, &k).unwrap();
        let prod = mul(&mut s, &a, &Word::constant(6)).unwrap();
        let (q, r) = divmod(&mut s, &a, &Word::constant(7)).unwrap();
        for x in [0u32, 1, 7, 12344, 0xffff_ffff, 0x8000_0000, 99_999] {
            let mut words = [0; WORDS];
            words[1] = x;
            assert_eq!(eval_word(&s, &sum, &words), x.wrapping_add(12345));
            assert_eq!(eval_word(&s, &diff, &words), x.wrapping_sub(12345));
            assert_eq!(eval_word(&s, &prod, &words), x.wrapping_mul(6));
            assert_eq!(eval_word(&s, &q, &words), x / 7, "{x}");
            assert_eq!(eval_word(&s, &r, &words), x % 7, "{x}");
        }
    }

    #[test]
    fn input_comparisons_match_generic_ones() {
        let mut s = Store::new(1_000_000);
        let a = Word::input(&mut s, 2).unwrap();
        for k in [0, 1, 0x8000_0000, 0xffff_ffff, 0x1234_5678] {
            let kw = Word::constant(k);
            assert_eq!(
                greater_input(&mut s, 2, k, true).unwrap(),
                less(&mut s, &kw, &a, true).unwrap()
            );
            assert_eq!(
                greater_input(&mut s, 2, k, false).unwrap(),
                less(&mut s, &kw, &a, false).unwrap()
            );
            assert_eq!(
                relate_input(&mut s, Rel::Eq, 2, k).unwrap(),
                equal(&mut s, &a, &kw).unwrap()
            );
        }
    }
}
