//! The action-cache model against the cases measured on Linux 6.18
//! (Linux `kernel/seccomp.c`, `seccomp_cache_prepare`): which (arch, nr) the kernel treats as constant ALLOW.

use sysfence_cbpf::action::{RET_ALLOW, RET_ERRNO, RET_KILL_PROCESS, RET_LOG};
use sysfence_cbpf::insn::Insn;
use sysfence_cbpf::interp::cache::{is_const_allow, kernel_bypass};
use sysfence_cbpf::opcode::Opcode;
use sysfence_cbpf::program::Program;
use sysfence_testkit::insn::{i, jmp, prog};

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
