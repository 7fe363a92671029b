//! Concrete inputs from diagram paths, decoded and replayed.
//!
//! In: a path (a partial assignment of the 512 variables). Out: a
//! [`SeccompData`] whose words realise it (free bits are 0), with names for
//! its arch and syscall. [`replay`] runs both subjects on it concretely and
//! refuses to hand out a witness on which the concrete run disagrees with
//! the diagram: a witness is printed only once the interpreter (or the
//! evaluator) confirms it.

use std::fmt;

use sysfence_cbpf::SeccompData;
use sysfence_cbpf::data::{
    Half, OFFSET_ARCH, OFFSET_IP, OFFSET_NR, arch_endian, arg_offset, audit_arch_name,
    u64_word_offset,
};
use sysfence_profile::arch::Arch;

use crate::store::{Node, Store, WORDS, slot_of_offset, var_bit};
use crate::subject::Subject;

/// A variable assignment along a path: (variable, value).
pub type Cube = Vec<(u16, bool)>;

/// The words (by slot) realising a cube, free bits 0.
pub fn words_of(cube: &[(u16, bool)]) -> [u32; WORDS] {
    let mut w = [0u32; WORDS];
    for &(v, b) in cube {
        let (slot, bit) = var_bit(v);
        if b {
            w[slot] |= 1 << bit;
        }
    }
    w
}

/// The `seccomp_data` whose words (by slot) are `words`.
pub fn data_of(words: &[u32; WORDS]) -> SeccompData {
    let at = |off: u32| words[slot_of_offset(off)];
    let arch = at(OFFSET_ARCH);
    let endian = arch_endian(arch);
    let field = |base: u32| {
        let half = |h| u64::from(at(u64_word_offset(base, h, endian)));
        half(Half::Hi) << 32 | half(Half::Lo)
    };
    let mut args = [0u64; 6];
    for (i, a) in args.iter_mut().enumerate() {
        *a = field(arg_offset(i));
    }
    SeccompData {
        nr: at(OFFSET_NR),
        arch,
        instruction_pointer: field(OFFSET_IP),
        args,
    }
}

/// The words (by slot) of a `seccomp_data`.
pub fn words_from(d: &SeccompData) -> [u32; WORDS] {
    let mut w = [0u32; WORDS];
    for off in (0..64).step_by(4) {
        w[slot_of_offset(off)] = d.word(off);
    }
    w
}

/// One path from `n` to a leaf other than 0 (boolean diagrams: a satisfying
/// assignment), or `None` if `n` is the leaf 0.
pub fn path_to_nonzero(s: &Store, mut n: Node) -> Option<Cube> {
    let mut cube = Vec::new();
    loop {
        if let Some(v) = s.value(n) {
            return (v != 0).then_some(cube);
        }
        let (lo, hi) = s.children(n);
        let v = s.top(n);
        if lo != crate::store::FALSE {
            cube.push((v, false));
            n = lo;
        } else {
            cube.push((v, true));
            n = hi;
        }
    }
}

/// A confirmed input on which two subjects return different values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Witness {
    /// The input.
    pub data: SeccompData,
    /// What the first subject returns.
    pub a: u32,
    /// What the second subject returns.
    pub b: u32,
}

/// The diagram and a concrete run disagreed: an engine bug, never printed
/// as a witness.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "internal error: the diagram says {expected:#010x} but the concrete run gives {got:#010x} \
     on arch {arch:#010x} nr {nr}"
)]
pub struct ReplayError {
    /// The diagram's value.
    pub expected: u32,
    /// The concrete value.
    pub got: u32,
    /// The input's arch.
    pub arch: u32,
    /// The input's number.
    pub nr: u32,
}

/// Runs both subjects on `data` and checks the diagrams' values `(a, b)`.
pub fn replay(
    sa: &Subject,
    sb: &Subject,
    data: SeccompData,
    (a, b): (u32, u32),
) -> Result<Witness, ReplayError> {
    for (subj, expected) in [(sa, a), (sb, b)] {
        let got = subj.run(&data);
        if got != expected {
            return Err(ReplayError {
                expected,
                got,
                arch: data.arch,
                nr: data.nr,
            });
        }
    }
    Ok(Witness { data, a, b })
}

/// `seccomp_data` with names: arch, syscall and 64-bit arguments.
#[derive(Clone, Copy, Debug)]
pub struct Named<'a>(pub &'a SeccompData);

impl fmt::Display for Named<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.0;
        match audit_arch_name(d.arch) {
            Some(n) => write!(f, "arch={}", n.to_ascii_lowercase())?,
            None => write!(f, "arch={:#010x}", d.arch)?,
        }
        match syscall_name(d.arch, d.nr) {
            Some(n) => write!(f, " nr={} ({n})", d.nr)?,
            None => write!(f, " nr={:#x}", d.nr)?,
        }
        write!(f, " args=[")?;
        for (i, a) in d.args.iter().enumerate() {
            let sep = if i == 0 { "" } else { ", " };
            write!(f, "{sep}{a:#x}")?;
        }
        write!(f, "] ip={:#x}", d.instruction_pointer)
    }
}

/// The syscall name of `nr` under an AUDIT_ARCH value (x32 numbers included).
pub fn syscall_name(arch: u32, nr: u32) -> Option<&'static str> {
    Arch::from_audit(arch, nr).and_then(|a| a.syscall_name(nr))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_data_round_trip_both_endians() {
        for arch in [0xc000_003e, 0x8000_0016] {
            let d = SeccompData {
                nr: 7,
                arch,
                instruction_pointer: 0x1122_3344_5566_7788,
                args: [1, 0x2_0000_0003, 4, u64::MAX, 6, 0x8000_0000_0000_0001],
            };
            assert_eq!(data_of(&words_from(&d)), d);
        }
    }
}
