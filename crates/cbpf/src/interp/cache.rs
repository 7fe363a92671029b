//! A bit-exact model of the kernel's action-cache emulator
//! (`seccomp_is_const_allow`, `kernel/seccomp.c`, Linux 5.11 and later).
//!
//! In: a validated [`Program`] and one (arch, nr). Out: whether the kernel
//! would mark that syscall "constant ALLOW" for this filter, in which case a
//! call with that arch and nr skips the filter entirely. The kernel fills
//! its per-filter bitmap at attach time by running this emulator for every
//! nr of the native (and compat) arch; a bit survives only if every stacked
//! filter is constant ALLOW for it.
//!
//! The emulator walks the **original** instructions along the single path
//! that `nr` and `arch` select, with one register starting at 0. It
//! understands only the instructions marked in the opcode table's `cache`
//! column, and those narrowly:
//!
//! * `ld [k]` with `k` 0 (nr) or 4 (arch); any other offset gives up;
//! * `ja`, and `jeq`/`jgt`/`jge`/`jset` with a K operand;
//! * `and #k`;
//! * `ret #k`, which is constant ALLOW only for exactly `0x7fff0000`
//!   (`ALLOW | data` and `LOG` are not cached).
//!
//! Anything else on the path (X forms, scratch memory, `tax`/`txa`, other
//! ALU ops, `ld len`, `ret a`, loads of arguments or the IP) gives up: not
//! cacheable. Instructions off the path do not matter.
//!
//! Since 6.14 the kernel's function first lets the `uretprobe` (and, since
//! 6.18, `uprobe`) syscalls through on native x86_64. That exception depends
//! on the kernel version and not on the filter, so it is a separate
//! function here, [`kernel_bypass`]; [`is_const_allow`] is only the walk.

use crate::action::RET_ALLOW;
use crate::data::{OFFSET_ARCH, OFFSET_NR};
use crate::opcode::Opcode;
use crate::program::Program;
use sysfence_abi::arch::AUDIT_ARCH_X86_64;

/// `__NR_uretprobe` on x86_64 (6.14+).
const NR_URETPROBE: u32 = 335;
/// `__NR_uprobe` on x86_64 (6.18+).
const NR_UPROBE: u32 = 336;

/// Whether the kernel's emulator proves `prog` returns exactly
/// `SECCOMP_RET_ALLOW` for this arch and nr (the uretprobe/uprobe exception
/// is [`kernel_bypass`], not included).
pub fn is_const_allow(prog: &Program, arch: u32, nr: u32) -> bool {
    // The pre-decoded form keeps the original jt, jf and k of every
    // instruction, which is what the kernel's walk of `orig_prog` reads.
    let ops = prog.ops();
    let mut reg = 0u32;
    let mut pc = 0usize;
    while let Some(insn) = ops.get(pc) {
        let (op, k) = (insn.op, insn.k);
        if !op.info().cache {
            return false;
        }
        pc += 1;
        match op {
            Opcode::LdAbsW => match k {
                OFFSET_NR => reg = nr,
                OFFSET_ARCH => reg = arch,
                _ => return false,
            },
            Opcode::RetK => return k == RET_ALLOW,
            Opcode::Ja => pc += k as usize,
            Opcode::AndK => reg &= k,
            _ => match jump_k(op, reg, k) {
                Some(taken) => pc += usize::from(if taken { insn.jt } else { insn.jf }),
                None => return false,
            },
        }
    }
    // "ran off the end of the filter?!": impossible after validation.
    false
}

/// The K-form comparisons the emulator knows; `None` for anything else.
fn jump_k(op: Opcode, reg: u32, k: u32) -> Option<bool> {
    match op {
        Opcode::JeqK => Some(reg == k),
        Opcode::JgeK => Some(reg >= k),
        Opcode::JgtK => Some(reg > k),
        Opcode::JsetK => Some(reg & k != 0),
        _ => None,
    }
}

/// The syscalls a 6.18 x86_64 kernel lets through before any filter:
/// native-arch `uretprobe` (335, since 6.14) and `uprobe` (336, since 6.18).
/// The same numbers from i386 (`int 0x80`) or with the x32 bit set are
/// filtered normally. Older kernels have no exception (or only 335 on 6.14
/// to 6.17); callers modelling them should not consult this.
pub fn kernel_bypass(arch: u32, nr: u32) -> bool {
    arch == AUDIT_ARCH_X86_64 && (nr == NR_URETPROBE || nr == NR_UPROBE)
}
