//! The action-cache model against the cases measured on Linux 6.18
//! (Linux `kernel/seccomp.c`, `seccomp_cache_prepare`): which (arch, nr) the kernel treats as constant ALLOW.

use sysfence_cbpf::action::{RET_ALLOW, RET_ERRNO, RET_KILL_PROCESS, RET_LOG};
use sysfence_cbpf::insn::Insn;
use sysfence_cbpf::interp::cache::{is_const_allow, kernel_bypass};
use sysfence_cbpf::opcode::Opcode;
use sysfence_cbpf::program::Program;
use sysfence_testkit::insn::{i, jmp, prog, ret};

use sysfence_cbpf::abi::arch::AUDIT_ARCH_I386 as I386;
use sysfence_cbpf::abi::arch::AUDIT_ARCH_X86_64 as X86_64;
const GETPPID: u32 = 110;

/// x86_64 check, then `nr == GETPPID` decided by `test` (2 insns, true to
/// pc+2 = allow), then ERRNO; foreign arch killed.
fn arch_then(test: &[Insn], allow: u32) -> Program {
    let mut v = vec![
        i(Opcode::LdAbsW, 4),
        jmp(Opcode::JeqK, 1, 0, X86_64),
        i(Opcode::RetK, RET_KILL_PROCESS),
    ];
    v.extend_from_slice(test);
    v.push(i(Opcode::RetK, RET_ERRNO | 1));
    v.push(i(Opcode::RetK, allow));
    prog(&v)
}

#[test]
fn ld_nr_arch_and_k_jumps_cache() {
    let p = arch_then(
        &[i(Opcode::LdAbsW, 0), jmp(Opcode::JeqK, 1, 0, GETPPID)],
        RET_ALLOW,
    );
    assert!(is_const_allow(&p, X86_64, GETPPID));
    assert!(
        !is_const_allow(&p, X86_64, GETPPID + 1),
        "ERRNO is not ALLOW"
    );
    assert!(!is_const_allow(&p, I386, GETPPID), "foreign arch is killed");
}

#[test]
fn jgt_jge_jset_k_and_and_k_cache() {
    let p = prog(&[
        i(Opcode::LdAbsW, 0),
        jmp(Opcode::JgtK, 5, 0, 1000),
        jmp(Opcode::JgeK, 4, 0, 500),
        i(Opcode::AndK, 0xf0),
        jmp(Opcode::JsetK, 0, 2, 0x10),
        i(Opcode::Ja, 0),
        i(Opcode::RetK, RET_ALLOW),
        i(Opcode::RetK, RET_ERRNO),
    ]);
    assert!(is_const_allow(&p, X86_64, 0x10));
    assert!(is_const_allow(&p, X86_64, 0x1f));
    assert!(
        !is_const_allow(&p, X86_64, 0x0f),
        "jset false goes to ERRNO"
    );
    assert!(!is_const_allow(&p, X86_64, 500), "jge true goes to ERRNO");
    assert!(!is_const_allow(&p, X86_64, 1001), "jgt true goes to ERRNO");
}

#[test]
fn x_forms_not_cacheable() {
    let p = arch_then(
        &[i(Opcode::LdxImm, GETPPID), jmp(Opcode::JeqX, 1, 0, 0)],
        RET_ALLOW,
    );
    assert!(!is_const_allow(&p, X86_64, GETPPID));
    let p = prog(&[
        i(Opcode::LdAbsW, 0),
        i(Opcode::Tax, 0),
        i(Opcode::RetK, RET_ALLOW),
    ]);
    assert!(!is_const_allow(&p, X86_64, GETPPID));
}

#[test]
fn ld_16_and_ld_8_not_cacheable() {
    for k in [8, 12, 16, 20, 60] {
        let p = arch_then(
            &[i(Opcode::LdAbsW, k), jmp(Opcode::JeqK, 1, 0, 0)],
            RET_ALLOW,
        );
        assert!(!is_const_allow(&p, X86_64, GETPPID), "ld [{k}]");
    }
}

#[test]
fn ret_allow_with_data_and_log_not_cacheable() {
    let test = [i(Opcode::LdAbsW, 0), jmp(Opcode::JeqK, 1, 0, GETPPID)];
    assert!(!is_const_allow(
        &arch_then(&test, RET_ALLOW | 1),
        X86_64,
        GETPPID
    ));
    assert!(!is_const_allow(&arch_then(&test, RET_LOG), X86_64, GETPPID));
}

#[test]
fn other_instructions_on_the_path_give_up() {
    let give_up = [
        i(Opcode::LdImm, 0),
        i(Opcode::LdLen, 0),
        i(Opcode::AddK, 0),
        i(Opcode::OrK, 0),
        i(Opcode::Neg, 0),
        i(Opcode::St, 0),
        i(Opcode::Txa, 0),
    ];
    for insn in give_up {
        let p = prog(&[i(Opcode::LdAbsW, 0), insn, i(Opcode::RetK, RET_ALLOW)]);
        assert!(!is_const_allow(&p, X86_64, 0), "{insn}");
    }
    let ret_a = prog(&[i(Opcode::LdImm, RET_ALLOW), i(Opcode::RetA, 0)]);
    assert!(!is_const_allow(&ret_a, X86_64, 0));
    let and_k = prog(&[
        i(Opcode::LdAbsW, 0),
        i(Opcode::AndK, 0),
        i(Opcode::RetK, RET_ALLOW),
    ]);
    assert!(is_const_allow(&and_k, X86_64, 0));
}

#[test]
fn only_the_path_taken_is_emulated() {
    // Other paths read args and use scratch memory; getppid's path does not.
    let p = prog(&[
        i(Opcode::LdAbsW, 4),
        jmp(Opcode::JeqK, 1, 0, X86_64),
        i(Opcode::RetK, RET_KILL_PROCESS),
        i(Opcode::LdAbsW, 0),
        jmp(Opcode::JeqK, 0, 1, GETPPID),
        i(Opcode::RetK, RET_ALLOW),
        i(Opcode::LdAbsW, 16),
        i(Opcode::St, 0),
        i(Opcode::LdxMem, 0),
        jmp(Opcode::JeqX, 0, 1, 0),
        i(Opcode::RetK, RET_ALLOW),
        i(Opcode::RetK, RET_ERRNO | 1),
    ]);
    assert!(is_const_allow(&p, X86_64, GETPPID));
    assert!(!is_const_allow(&p, X86_64, 1));
}

#[test]
fn junk_fields_of_ld_are_read_as_given() {
    // jt/jf junk on `ld [0]` does not matter to the emulator.
    let p = prog(&[
        Insn::op(Opcode::LdAbsW, 9, 9, 0),
        i(Opcode::RetK, RET_ALLOW),
    ]);
    assert!(is_const_allow(&p, X86_64, 3));
}

#[test]
fn uretprobe_and_uprobe_bypass_on_native_x86_64_only() {
    assert!(kernel_bypass(X86_64, 335));
    assert!(kernel_bypass(X86_64, 336));
    assert!(!kernel_bypass(X86_64, 334));
    assert!(!kernel_bypass(X86_64, 337));
    assert!(!kernel_bypass(I386, 335));
    assert!(!kernel_bypass(X86_64, 0x4000_0000 | 335));
    // The emulator itself has no exception.
    let deny = prog(&[i(Opcode::RetK, RET_ERRNO)]);
    assert!(!is_const_allow(&deny, X86_64, 335));
}

mod ranges {
    use super::*;
    use proptest::prelude::*;
    use sysfence_cbpf::interp::cache::const_allow_among;

    /// Constants near the numbers probed, the arch values and the top.
    fn constant() -> impl Strategy<Value = u32> {
        prop_oneof![
            6 => 0u32..420,
            1 => Just(X86_64),
            1 => Just(I386),
            1 => u32::MAX - 40..=u32::MAX,
            1 => any::<u32>(),
        ]
    }

    /// One instruction of the kinds the cache emulator meets (and a few it
    /// gives up on), jumps not yet bounded.
    fn insn() -> impl Strategy<Value = Insn> {
        let op = prop_oneof![
            3 => Just(Opcode::LdAbsW),
            4 => Just(Opcode::JeqK),
            3 => Just(Opcode::JgeK),
            3 => Just(Opcode::JgtK),
            2 => Just(Opcode::JsetK),
            1 => Just(Opcode::AndK),
            1 => Just(Opcode::Ja),
            3 => Just(Opcode::RetK),
            1 => Just(Opcode::Tax),
            1 => Just(Opcode::JeqX),
        ];
        (op, 0u8..6, 0u8..6, constant(), 0u32..3).prop_map(|(op, jt, jf, k, load)| match op {
            Opcode::LdAbsW => i(op, [0, 4, 16][load as usize]),
            Opcode::RetK => i(op, [RET_ALLOW, RET_ERRNO | 1, RET_LOG][load as usize]),
            Opcode::Ja => i(op, u32::from(jt)),
            _ => jmp(op, jt, jf, k),
        })
    }

    /// A valid program of such instructions: jumps cut to stay inside,
    /// ending in `ret`.
    fn program() -> impl Strategy<Value = Program> {
        (prop::collection::vec(insn(), 1..40), any::<bool>()).prop_map(|(mut v, allow)| {
            let len = v.len() + 1;
            for (pc, insn) in v.iter_mut().enumerate() {
                let room = (len - pc - 2) as u32;
                if insn.opcode() == Some(Opcode::Ja) {
                    insn.k = insn.k.min(room);
                } else if insn
                    .opcode()
                    .is_some_and(|op| op.operand().is_conditional())
                {
                    insn.jt = (u32::from(insn.jt) % (room + 1)) as u8;
                    insn.jf = (u32::from(insn.jf) % (room + 1)) as u8;
                }
            }
            v.push(ret(if allow { RET_ALLOW } else { RET_ERRNO }));
            prog(&v)
        })
    }

    fn one_by_one(p: &Program, arch: u32, nrs: std::ops::RangeInclusive<u32>) -> Vec<(u32, u32)> {
        let mut out: Vec<(u32, u32)> = Vec::new();
        for nr in nrs.filter(|&nr| is_const_allow(p, arch, nr)) {
            match out.last_mut() {
                Some(last) if last.1 + 1 == nr => last.1 = nr,
                _ => out.push((nr, nr)),
            }
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2048))]
        /// The ranges are the numbers the per-number walk allows, in every
        /// window (the low numbers and the top of the space).
        #[test]
        fn ranges_are_the_numbers_allowed_one_by_one(
            p in program(),
            arch in prop_oneof![Just(X86_64), Just(I386)],
            lo in prop_oneof![0u32..30, u32::MAX - 60..=u32::MAX],
            cuts in prop::collection::btree_set(0u32..400, 0..8),
        ) {
            // Every other piece between the cuts, from `lo` on.
            let mut nrs = Vec::new();
            let mut at = u64::from(lo);
            for (i, c) in cuts.iter().enumerate() {
                let b = (u64::from(lo) + u64::from(*c)).min(u64::from(u32::MAX));
                if i % 2 == 0 && at <= b {
                    nrs.push((at as u32, b as u32));
                }
                at = at.max(b + 2);
            }
            let want: Vec<(u32, u32)> = nrs
                .iter()
                .flat_map(|&(a, b)| one_by_one(&p, arch, a..=b))
                .fold(Vec::new(), |mut out: Vec<(u32, u32)>, r| {
                    match out.last_mut() {
                        Some(last) if last.1 + 1 == r.0 => last.1 = r.1,
                        _ => out.push(r),
                    }
                    out
                });
            prop_assert_eq!(const_allow_among(&p, arch, &nrs), want);
        }
    }

    #[test]
    fn a_dispatch_walks_once_per_piece() {
        let p = arch_then(
            &[i(Opcode::LdAbsW, 0), jmp(Opcode::JeqK, 1, 0, GETPPID)],
            RET_ALLOW,
        );
        assert_eq!(
            const_allow_among(&p, X86_64, &[(0, u32::MAX)]),
            vec![(GETPPID, GETPPID)]
        );
        assert_eq!(const_allow_among(&p, I386, &[(0, u32::MAX)]), vec![]);
    }
}
