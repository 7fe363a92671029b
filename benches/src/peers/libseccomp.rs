//! The libseccomp peer (cargo feature `libseccomp`; needs libseccomp-dev 2.5+).
//!
//! In: one arch of a sysfence policy and the bad-arch action. Out: the
//! program libseccomp generates with `SCMP_FLTATR_CTL_OPTIMIZE` 1 (its
//! default, priority-sorted linear list) or 2 (binary tree), exported with
//! `seccomp_export_bpf` into an anonymous file and validated by sysfence.
//!
//! Rules are added by number with `seccomp_rule_add` in the policy's order;
//! libseccomp merges them its own way (it has no first-match order); a
//! low-word condition on a 64-bit arch is given as masked alternatives
//! ([`super::low_word`]). Rules whose action equals the default are skipped
//! (libseccomp refuses them), and so are ranges whose action is the default. Numbers with bit 30 (x32)
//! are left out: on an x86_64 filter libseccomp's own prologue sends them to
//! the bad-arch action, so only numbers below 2³⁰ are compared.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::OpenOptionsExt;

use libseccomp::{
    ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterAttr, ScmpFilterContext,
    ScmpSyscall,
};
use sysfence_cbpf::Endian;
use sysfence_cbpf::insn::Insn;
use sysfence_cbpf::insn::decode;
use sysfence_cbpf::limits::X32_SYSCALL_BIT;
use sysfence_profile::arch::Arch;
use sysfence_profile::ir::{Action, ArchPolicy, CmpOp, Cond};

use super::{Built, Compiler, PeerError, low_word, validated};

/// libseccomp's two layouts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// `SCMP_FLTATR_CTL_OPTIMIZE = 1`.
    Linear,
    /// `SCMP_FLTATR_CTL_OPTIMIZE = 2`.
    Tree,
}

impl Layout {
    fn compiler(self) -> Compiler {
        match self {
            Layout::Linear => Compiler::LibseccompLinear,
            Layout::Tree => Compiler::LibseccompTree,
        }
    }
}

/// Builds, generates and exports one arch of a policy.
pub fn compile(policy: &ArchPolicy, bad_arch: Action, layout: Layout) -> Result<Built, PeerError> {
    let me = layout.compiler();
    let err = |e: &dyn std::fmt::Display| PeerError::new(me, e);
    let ctx = context(policy, bad_arch, layout).map_err(|e| err(&e))?;
    let insns = export(&ctx).map_err(|e| err(&e))?;
    validated(me, &insns, Vec::new())
}

/// The program `seccomp_export_bpf` writes for a filter context, read back
/// through an anonymous file.
pub fn export(ctx: &ScmpFilterContext) -> Result<Vec<Insn>, String> {
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc_o_tmpfile())
        .open(std::env::temp_dir())
        .map_err(|e| format!("anonymous file: {e}"))?;
    ctx.export_bpf(&file).map_err(|e| e.to_string())?;
    let bytes = read_back(&mut file).map_err(|e| format!("reading the export: {e}"))?;
    decode(&bytes, Endian::NATIVE).map_err(|e| e.to_string())
}

/// The filter context alone (what the compile-time benchmark times, with
/// the export).
pub fn context(
    policy: &ArchPolicy,
    bad_arch: Action,
    layout: Layout,
) -> Result<ScmpFilterContext, PeerError> {
    let me = layout.compiler();
    let err = |e: &dyn std::fmt::Display| PeerError::new(me, e);
    let mut ctx = ScmpFilterContext::new(action(policy.default)).map_err(|e| err(&e))?;
    ctx.set_act_badarch(action(bad_arch)).map_err(|e| err(&e))?;
    let level = match layout {
        Layout::Linear => 1,
        Layout::Tree => 2,
    };
    ctx.set_filter_attr(ScmpFilterAttr::CtlOptimize, level)
        .map_err(|e| err(&e))?;
    let arch = scmp_arch(policy.audit_arch)
        .ok_or_else(|| err(&format!("arch {} unknown", policy.name)))?;
    if arch != ScmpArch::native() {
        ctx.add_arch(arch).map_err(|e| err(&e))?;
        ctx.remove_arch(ScmpArch::native()).map_err(|e| err(&e))?;
    }
    // x32 numbers (bit 30) are libseccomp's own business on an x86_64
    // filter: its arch prologue sends them to the bad-arch action.
    let native = |nr: &u32| *nr & X32_SYSCALL_BIT == 0;
    for range in policy
        .ranges
        .iter()
        .filter(|r| r.action != policy.default && native(&r.lo))
    {
        for nr in range.lo..=range.hi.min(X32_SYSCALL_BIT - 1) {
            ctx.add_rule(action(range.action), ScmpSyscall::from(nr as i32))
                .map_err(|e| err(&e))?;
        }
    }
    for (&nr, rules) in policy.rules.iter().filter(|(nr, _)| native(nr)) {
        for rule in rules.iter().filter(|r| r.action != policy.default) {
            let alts = low_word::expand(&rule.conds, policy.width)
                .ok_or_else(|| err(&format!("nr {nr}: too many low-word alternatives")))?;
            for conds in alts {
                let cmps = (conds.iter().map(compare).collect::<Option<Vec<_>>>())
                    .ok_or_else(|| err(&format!("nr {nr}: an any-bit comparison")))?;
                ctx.add_rule_conditional(action(rule.action), ScmpSyscall::from(nr as i32), &cmps)
                    .map_err(|e| err(&format!("nr {nr}: {e}")))?;
            }
        }
    }
    Ok(ctx)
}

/// One condition; `None` for an any-bit comparison, which
/// [`low_word::expand`] turns into single-bit ones first.
fn compare(c: &Cond) -> Option<ScmpArgCompare> {
    let arg = c.arg.get() as u32;
    Some(match c.op {
        CmpOp::Ne => ScmpArgCompare::new(arg, ScmpCompareOp::NotEqual, c.value),
        CmpOp::Lt => ScmpArgCompare::new(arg, ScmpCompareOp::Less, c.value),
        CmpOp::Le => ScmpArgCompare::new(arg, ScmpCompareOp::LessOrEqual, c.value),
        CmpOp::Eq => ScmpArgCompare::new(arg, ScmpCompareOp::Equal, c.value),
        CmpOp::Ge => ScmpArgCompare::new(arg, ScmpCompareOp::GreaterEqual, c.value),
        CmpOp::Gt => ScmpArgCompare::new(arg, ScmpCompareOp::Greater, c.value),
        CmpOp::MaskedEq => ScmpArgCompare::new(
            arg,
            ScmpCompareOp::MaskedEqual(c.value),
            c.value_two & c.value,
        ),
        CmpOp::MaskedAny => return None,
    })
}

fn action(a: Action) -> ScmpAction {
    match a {
        Action::KillProcess => ScmpAction::KillProcess,
        Action::KillThread => ScmpAction::KillThread,
        Action::Trap(_) => ScmpAction::Trap,
        Action::Errno(n) => ScmpAction::Errno(i32::from(n)),
        Action::UserNotif => ScmpAction::Notify,
        Action::Trace(n) => ScmpAction::Trace(n),
        Action::Log => ScmpAction::Log,
        Action::Allow => ScmpAction::Allow,
        // The kernel kills the process for an action value it does not know.
        Action::Unknown(_) => ScmpAction::KillProcess,
    }
}

fn scmp_arch(audit_arch: u32) -> Option<ScmpArch> {
    let arch = Arch::all()
        .iter()
        .copied()
        .find(|a| a.audit_arch() == audit_arch)?;
    arch.scmp_name().parse().ok()
}

fn read_back(file: &mut File) -> std::io::Result<Vec<u8>> {
    file.seek(SeekFrom::Start(0))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// `O_TMPFILE` (`include/uapi/asm-generic/fcntl.h`: `__O_TMPFILE | O_DIRECTORY`).
const fn libc_o_tmpfile() -> i32 {
    0o20_200_000
}

#[cfg(test)]
mod tests {
    use sysfence_cbpf::data::AUDIT_ARCH_X86_64;

    use super::*;
    use std::collections::BTreeMap;
    use sysfence_cbpf::action::Action as Ret;
    use sysfence_cbpf::data::SeccompData;
    use sysfence_cbpf::interp::run;
    use sysfence_profile::ir::{ArgIndex, ArgWidth, Origin, Rule};

    fn policy() -> ArchPolicy {
        let rule = |conds, action| Rule {
            conds,
            action,
            origin: Origin::default(),
        };
        let eq = |v| Cond {
            arg: ArgIndex::new(0).unwrap(),
            op: CmpOp::Eq,
            value: v,
            value_two: 0,
            width: ArgWidth::Bits64,
        };
        let mut rules = BTreeMap::new();
        for nr in [0, 1, 3, 15] {
            rules.insert(nr, vec![rule(vec![], Action::Allow)]);
        }
        rules.insert(135, vec![rule(vec![eq(0)], Action::Allow)]);
        rules.insert(435, vec![rule(vec![], Action::Errno(38))]);
        sysfence_testkit::fixtures::x86_64_arch(rules, vec![])
    }

    #[test]
    fn both_layouts_keep_every_action() {
        for layout in [Layout::Linear, Layout::Tree] {
            let built = compile(&policy(), Action::KillProcess, layout).unwrap();
            let at = |nr, a0| {
                let mut d = SeccompData::new(AUDIT_ARCH_X86_64, nr);
                d.args[0] = a0;
                run(&built.program, &d).action
            };
            assert_eq!(at(15, 9), Ret::Allow, "{layout:?}");
            assert_eq!(at(135, 0), Ret::Allow, "{layout:?}");
            assert_eq!(at(135, 1), Ret::Errno(1), "{layout:?}");
            assert_eq!(at(435, 0), Ret::Errno(38), "{layout:?}");
            assert_eq!(at(2, 0), Ret::Errno(1), "{layout:?}");
            assert_eq!(
                run(&built.program, &SeccompData::new(0x4000_0003, 0)).action,
                Ret::KillProcess
            );
        }
    }
}
