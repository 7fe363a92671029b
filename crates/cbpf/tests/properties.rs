//! Properties over random programs: the validator and the interpreter never
//! panic, validated programs terminate within their length, and the cache
//! model never claims ALLOW when the interpreter disagrees.

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use sysfence_cbpf::action::RET_ALLOW;
use sysfence_cbpf::data::AUDIT_ARCH_X86_64;
use sysfence_cbpf::data::SeccompData;
use sysfence_cbpf::insn::{Endian, Insn, encode};
use sysfence_cbpf::interp::cache::is_const_allow;
use sysfence_cbpf::interp::{Config, NoTrace, ShiftMode, Steps, run, run_with};
use sysfence_cbpf::opcode::{Operand, TABLE};
use sysfence_cbpf::program::Program;
use sysfence_cbpf::validate::{check_classic, validate};

/// A code: mostly from the table, sometimes anything.
fn code() -> impl Strategy<Value = u16> {
    prop_oneof![
        8 => (0..TABLE.len()).prop_map(|i| TABLE[i].code),
        1 => any::<u16>(),
    ]
}

/// Small operands most of the time, so boundaries get hit.
fn small_u32() -> impl Strategy<Value = u32> {
    prop_oneof![4 => 0u32..70, 1 => any::<u32>(), 1 => 0xffff_f000u32..=0xffff_f044]
}

fn any_insn() -> impl Strategy<Value = Insn> {
    (code(), 0u8..8, 0u8..8, small_u32()).prop_map(|(c, jt, jf, k)| Insn::new(c, jt, jf, k))
}

/// A program of seccomp opcodes built to pass often: every slot is stored
/// first, jumps stay in range, loads read aligned words, it ends in a return.
/// Most are short; some cross the interpreter's 64- and 256-entry table
/// sizes.
fn likely_valid() -> impl Strategy<Value = Vec<Insn>> {
    let seccomp: Vec<_> = TABLE.iter().filter(|i| i.seccomp).copied().collect();
    let element = (
        0..seccomp.len(),
        any::<u8>(),
        any::<u8>(),
        any::<u32>(),
        0u32..16,
    );
    let body = prop_oneof![4 => 0usize..40, 1 => 40usize..300]
        .prop_flat_map(move |n| prop::collection::vec(element.clone(), n));
    body.prop_map(move |raw| {
        let mut v: Vec<Insn> = (0..16).map(|s| Insn::new(0x02, 0, 0, s)).collect();
        let len = 16 + raw.len() + 1;
        for (n, (idx, jt, jf, k, small)) in raw.into_iter().enumerate() {
            let pc = 16 + n;
            let info = seccomp[idx];
            let room = (len - pc - 2) as u32;
            let (jt, jf, k) = match info.operand {
                Operand::Jump => (jt, jf, small.min(room)),
                Operand::CondK | Operand::CondX => (
                    ((jt as u32) % (room + 1)) as u8,
                    ((jf as u32) % (room + 1)) as u8,
                    k,
                ),
                Operand::Abs => (jt, jf, small * 4 % 64),
                Operand::Mem => (jt, jf, small),
                Operand::Imm if info.mnemonic == "lsh" || info.mnemonic == "rsh" => {
                    (jt, jf, k % 32)
                }
                Operand::Imm if info.mnemonic == "div" => (jt, jf, k.max(1)),
                _ => (jt, jf, k),
            };
            v.push(Insn::new(info.code, jt, jf, k));
        }
        v.push(Insn::new(
            if len % 2 == 0 { 0x06 } else { 0x16 },
            0,
            0,
            RET_ALLOW,
        ));
        v
    })
}

fn data() -> impl Strategy<Value = SeccompData> {
    let arch = prop_oneof![Just(AUDIT_ARCH_X86_64), Just(0x8000_0016u32), any::<u32>()];
    (
        arch,
        prop_oneof![0u32..400, any::<u32>()],
        any::<u64>(),
        any::<[u64; 6]>(),
    )
        .prop_map(|(arch, nr, ip, args)| SeccompData {
            nr,
            arch,
            instruction_pointer: ip,
            args,
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn validator_never_panics(insns in prop::collection::vec(any_insn(), 0..24)) {
        let classic = check_classic(&insns);
        let full = validate(&insns);
        // Seccomp accepts a subset of classic.
        if full.is_ok() {
            prop_assert!(classic.is_ok());
        }
        if let Err(e) = &full {
            prop_assert!(!e.to_string().is_empty());
            prop_assert!(e.pc().is_none_or(|pc| pc < insns.len()));
        }
        if !insns.is_empty() {
            let bytes = encode(&insns, Endian::Little);
            prop_assert_eq!(Program::from_raw(&bytes, Endian::Little).is_ok(), full.is_ok());
        }
    }

    #[test]
    fn validated_programs_run_and_terminate(insns in likely_valid(), inputs in prop::collection::vec(data(), 1..8)) {
        let p = validate(&insns).map_err(|e| TestCaseError::fail(e.to_string()))?;
        for d in &inputs {
            for mode in [ShiftMode::Mask31, ShiftMode::ZeroAbove31] {
                let out = run_with(&p, d, &Config::new().shift(mode), &mut NoTrace);
                prop_assert!(out.insns >= 1 && out.insns as usize <= p.len());
            }
        }
    }

    #[test]
    fn random_valid_programs_run_and_terminate(insns in prop::collection::vec(any_insn(), 1..24), d in data()) {
        if let Ok(p) = validate(&insns) {
            let out = run(&p, &d);
            prop_assert!(out.insns >= 1 && out.insns as usize <= p.len());
        }
    }

    #[test]
    fn const_allow_implies_allow_for_any_args(insns in likely_valid(), d in data()) {
        let p = validate(&insns).map_err(|e| TestCaseError::fail(e.to_string()))?;
        if is_const_allow(&p, d.arch, d.nr) {
            prop_assert_eq!(run(&p, &d).raw, RET_ALLOW);
        }
    }
}

/// A deliberately naive reading of the kernel's `net/core/filter.c`, by raw code: the
/// oracle the optimised interpreter is checked against. Returns the raw
/// value, the executed count and the pcs in order.
fn reference(insns: &[Insn], d: &SeccompData, mode: ShiftMode) -> (u32, u32, Vec<usize>) {
    let (mut a, mut x, mut mem, mut pc, mut trace) = (0u32, 0u32, [0u32; 16], 0usize, Vec::new());
    loop {
        let i = insns[pc];
        trace.push(pc);
        let n = trace.len() as u32;
        let sh = |count: u32| match mode {
            ShiftMode::Mask31 => count & 31,
            _ => count,
        };
        let (k, jt, jf) = (i.k, usize::from(i.jt), usize::from(i.jf));
        let cond = |c: bool| if c { jt } else { jf };
        pc += 1;
        match i.code {
            0x00 => a = k,
            0x20 => a = d.word(k),
            0x60 => a = mem[k as usize],
            0x80 => a = 64,
            0x01 => x = k,
            0x61 => x = mem[k as usize],
            0x81 => x = 64,
            0x02 => mem[k as usize] = a,
            0x03 => mem[k as usize] = x,
            0x04 => a = a.wrapping_add(k),
            0x0c => a = a.wrapping_add(x),
            0x14 => a = a.wrapping_sub(k),
            0x1c => a = a.wrapping_sub(x),
            0x24 => a = a.wrapping_mul(k),
            0x2c => a = a.wrapping_mul(x),
            0x34 => a /= k,
            0x3c if x == 0 => return (0, n, trace),
            0x3c => a /= x,
            0x44 => a |= k,
            0x4c => a |= x,
            0x54 => a &= k,
            0x5c => a &= x,
            0x64 => a <<= k,
            0x6c => a = if sh(x) >= 32 { 0 } else { a << sh(x) },
            0x74 => a >>= k,
            0x7c => a = if sh(x) >= 32 { 0 } else { a >> sh(x) },
            0x84 => a = 0u32.wrapping_sub(a),
            0xa4 => a ^= k,
            0xac => a ^= x,
            0x07 => x = a,
            0x87 => a = x,
            0x05 => pc += k as usize,
            0x15 => pc += cond(a == k),
            0x1d => pc += cond(a == x),
            0x25 => pc += cond(a > k),
            0x2d => pc += cond(a > x),
            0x35 => pc += cond(a >= k),
            0x3d => pc += cond(a >= x),
            0x45 => pc += cond(a & k != 0),
            0x4d => pc += cond(a & x != 0),
            0x06 => return (k, n, trace),
            0x16 => return (a, n, trace),
            other => panic!("not a seccomp code: {other:#x}"),
        }
    }
}

/// Jump-heavy programs: a few loads, then runs of one conditional opcode.
fn jump_chains() -> impl Strategy<Value = Vec<Insn>> {
    let conds: Vec<u16> = TABLE
        .iter()
        .filter(|i| i.seccomp && i.operand.is_conditional())
        .map(|i| i.code)
        .collect();
    (
        prop::collection::vec((0..conds.len(), 1usize..12, any::<u8>(), 0u32..4), 1..6),
        0u32..3,
    )
        .prop_map(move |(runs, x)| {
            let mut v = vec![Insn::new(0x20, 0, 0, 0), Insn::new(0x01, 0, 0, x)];
            let total: usize = runs.iter().map(|r| r.1).sum::<usize>() + v.len() + 1;
            for (c, n, seed, k) in runs {
                for j in 0..n {
                    let room = total - v.len() - 2;
                    let pick = |s: u8| {
                        if s.is_multiple_of(3) {
                            0
                        } else {
                            (usize::from(s) % (room + 1)) as u8
                        }
                    };
                    let s = seed.wrapping_add((j as u8).wrapping_mul(37));
                    v.push(Insn::new(
                        conds[c],
                        pick(s),
                        pick(s.rotate_left(3)),
                        k + j as u32 % 3,
                    ));
                }
            }
            v.push(Insn::new(0x16, 0, 0, 0));
            v
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, ..ProptestConfig::default() })]

    #[test]
    fn interpreter_matches_reference(insns in prop_oneof![likely_valid(), jump_chains()], d in data()) {
        let p = validate(&insns).map_err(|e| TestCaseError::fail(e.to_string()))?;
        for mode in [ShiftMode::Mask31, ShiftMode::ZeroAbove31] {
            let (raw, count, pcs) = reference(&insns, &d, mode);
            let mut steps = Steps::new();
            let out = run_with(&p, &d, &Config::new().shift(mode), &mut steps);
            prop_assert_eq!((out.raw, out.insns), (raw, count));
            let seen: Vec<usize> = steps.steps().iter().map(|s| s.pc).collect();
            prop_assert_eq!(seen, pcs);
            prop_assert!(steps.steps().iter().all(|s| s.insn == insns[s.pc]));
            prop_assert_eq!(run_with(&p, &d, &Config::new().shift(mode), &mut NoTrace), out);
        }
    }
}

/// Cache-shaped programs (only the instructions the emulator knows) must
/// agree with the interpreter exactly on nr-only inputs.
#[test]
fn cache_model_agrees_with_interpreter_on_emulatable_programs() {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let cacheable: Vec<_> = TABLE.iter().filter(|i| i.cache).copied().collect();
    let strategy = (
        prop::collection::vec(
            (0..cacheable.len(), 0u8..4, 0u8..4, 0u32..3, any::<bool>()),
            1..20,
        ),
        0u32..64,
    );
    let mut agreed = 0;
    for _ in 0..3000 {
        let (raw, nr) = strategy.new_tree(&mut runner).unwrap().current();
        let len = raw.len() + 2;
        let mut v = Vec::new();
        for (pc, (idx, jt, jf, pick, flag)) in raw.into_iter().enumerate() {
            let info = cacheable[idx];
            let room = (len - pc - 2) as u8;
            let k = match (info.operand, pick) {
                (Operand::Abs, _) => u32::from(flag) * 4,
                (Operand::Jump, _) => pick.min(u32::from(room)),
                (Operand::Imm, _) if info.mnemonic == "ret" => {
                    if flag {
                        RET_ALLOW
                    } else {
                        RET_ALLOW | pick
                    }
                }
                (_, 0) => nr,
                (_, 1) => AUDIT_ARCH_X86_64,
                _ => 0x3f,
            };
            v.push(Insn::new(info.code, jt.min(room), jf.min(room), k));
        }
        v.push(Insn::new(0x06, 0, 0, RET_ALLOW));
        v.push(Insn::new(0x06, 0, 0, 0x0005_0001));
        let p = validate(&v).expect("generated program is valid");
        let interp = run(&p, &SeccompData::new(AUDIT_ARCH_X86_64, nr)).raw == RET_ALLOW;
        assert_eq!(is_const_allow(&p, 0xc000_003e, nr), interp, "{v:?}");
        agreed += usize::from(interp);
    }
    assert!(agreed > 100, "only {agreed} ALLOW cases generated");
}
