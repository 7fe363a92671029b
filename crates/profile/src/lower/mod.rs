//! The runtime: what runc (or crun) and libseccomp make of a `linux.seccomp`
//! object, as a [`Policy`].
//!
//! In: an [`OciProfile`] and the [`HostContext`]. Out: the policy and the
//! arches in the filter, plus warnings. Steps (docs/profiles.md):
//!
//! 1. no default action and no rules → no filter at all (runc; crun refuses);
//! 2. actions, operators, arches and flags are checked against the
//!    runtime's enums; errno values default to EPERM, are cut to 16 bits and
//!    must stay below 4095 for ERRNO (libseccomp);
//! 3. one rule per name; rules whose action equals the default are skipped;
//!    names no table knows are skipped with a warning (an error when strict);
//!    a repeated argument index turns the rule into one rule per condition;
//! 4. each rule goes to every arch in the filter (native first; only the
//!    asked ones when [`HostContext::arches`] narrows it), through
//!    `socketcall`/`ipc` where libseccomp multiplexes, and is merged as
//!    libseccomp merges ([`crate::merge`]); 32-bit arches keep the low word;
//! 5. x32 shares the x86_64 body (its low-word comparisons are rewritten
//!    into exact 64-bit masked comparisons); without x32, libseccomp's guard
//!    sends numbers with bit 30 to the bad-arch action;
//! 6. runc's ENOSYS stub, when it applies, becomes number ranges.
//!
//! The bad-arch action is libseccomp's default, KILL_THREAD. Step 2 lives
//! in [`checks`] and [`arches`], step 6 in [`stub`].

use std::collections::BTreeMap;

use crate::arch::Arch;
use crate::context::{HostContext, Runtime};
use crate::decode::Sp;
use crate::diag::{Diagnostic, LeftOut, ProfileError};
use crate::ir::{
    Action, ArchPolicy, ArgIndex, ArgWidth, CmpOp, Cond, NrRange, Origin, Policy, Rule,
};
use crate::merge::{Label, PROFILE_WORK_LIMIT, SysDb, normalize};
use crate::resolve::{OciProfile, OciSyscall};
use crate::x86;

mod arches;
mod checks;
mod stub;

use arches::filter_arches;
use checks::{
    Kind, action, check_errno, check_flags, kind, load_flags, missing_default, op, unconfined,
};
use stub::{drop_shadowed, last_syscalls, other_ranges, stub_applies};

/// A lowered profile.
#[derive(Debug)]
pub(crate) struct Lowered {
    pub policy: Policy,
    pub arches: Vec<Arch>,
    pub flags: Vec<String>,
}

struct Lowering<'a> {
    ctx: &'a HostContext,
    warnings: &'a mut Vec<Diagnostic>,
    left_out: LeftOut,
    default: Action,
    arches: Vec<Arch>,
    dbs: BTreeMap<(Arch, u32), SysDb>,
    /// Steps the merges have taken so far (see [`PROFILE_WORK_LIMIT`]).
    merge_work: u64,
}

/// Lowers a runtime-level profile to the IR.
pub(crate) fn lower(
    p: &OciProfile,
    ctx: &HostContext,
    warnings: &mut Vec<Diagnostic>,
) -> Result<Lowered, ProfileError> {
    let da = match &p.default_action {
        Some(d) if !d.v.is_empty() => d,
        _ if p.syscalls.is_empty() => return unconfined(p, ctx, warnings),
        _ => return Err(missing_default(p, ctx.runtime)),
    };
    let default_kind = kind(da)?;
    if default_kind == Kind::Notify {
        return Err(ProfileError::new(
            &da.o,
            "SCMP_ACT_NOTIFY cannot be used as the default action",
        ));
    }
    let default = action(
        default_kind,
        da,
        p.default_errno_ret.as_ref(),
        ctx.runtime,
        warnings,
    )?;
    check_errno(default, da, p.default_errno_ret.as_ref())?;
    check_flags(p, ctx, warnings)?;
    let arches = filter_arches(p, ctx)?;
    let mut l = Lowering {
        ctx,
        warnings,
        left_out: LeftOut::default(),
        default,
        arches: arches.clone(),
        dbs: BTreeMap::new(),
        merge_work: 0,
    };
    for s in &p.syscalls {
        l.syscall(s, p)?;
    }
    let stub = stub_applies(p, default_kind, ctx);
    let maxima = if stub {
        last_syscalls(p, &arches, ctx.libseccomp)
    } else {
        BTreeMap::new()
    };
    let left_out = std::mem::take(&mut l.left_out);
    let policy = l.finish(stub, &maxima)?;
    left_out.finish(warnings);
    Ok(Lowered {
        policy,
        arches,
        flags: load_flags(p, ctx.runtime),
    })
}

impl Lowering<'_> {
    fn syscall(&mut self, s: &OciSyscall, p: &OciProfile) -> Result<(), ProfileError> {
        let act_s = rule_action(s);
        let k = kind(&act_s)?;
        if k == Kind::Notify && p.listener_path.as_ref().is_none_or(|l| l.v.is_empty()) {
            if self.ctx.runtime != Runtime::Crun {
                return Err(ProfileError::new(
                    &act_s.o,
                    "seccomp listenerPath is not set",
                ));
            }
            self.warnings.push(Diagnostic::warning(
                &act_s.o,
                "no listenerPath: crun loads the filter without a listener unless the run.oci.seccomp.receiver or run.oci.seccomp.plugins annotation or RUN_OCI_SECCOMP_RECEIVER names one, and without one the kernel fails these calls with ENOSYS",
            ));
        }
        let action = action(
            k,
            &act_s,
            s.errno_ret.as_ref(),
            self.ctx.runtime,
            self.warnings,
        )?;
        if s.names.is_empty() {
            self.warnings.push(Diagnostic::warning(
                &s.origin,
                "this rule names no syscall: runc and crun add nothing for it",
            ));
            return Ok(());
        }
        let ops: Vec<CmpOp> = s.args.iter().map(|a| op(&a.op)).collect::<Result<_, _>>()?;
        for name in &s.names {
            self.name(s, name, action, &ops, p)?;
            self.left_out.trim(self.warnings);
        }
        Ok(())
    }

    /// One name of a rule, in runc's order (`matchCall`): empty name (then
    /// a name with a NUL, which sysfence refuses), NOTIFY
    /// on `write` (runc only), action equal to the default (skipped),
    /// unknown name (skipped), then what libseccomp refuses when the rule
    /// is added.
    fn name(
        &mut self,
        s: &OciSyscall,
        name: &Sp<String>,
        action: Action,
        ops: &[CmpOp],
        p: &OciProfile,
    ) -> Result<(), ProfileError> {
        if name.v.is_empty() {
            return Err(ProfileError::new(
                &name.o,
                "empty string is not a valid syscall",
            ));
        }
        if name.v.contains('\0') {
            return Err(nul_in_name(name));
        }
        if action == Action::UserNotif && name.v == "write" && self.ctx.runtime != Runtime::Crun {
            return Err(ProfileError::new(
                &name.o,
                "SCMP_ACT_NOTIFY cannot be used for the write syscall",
            ));
        }
        if action == self.default {
            self.skipped_as_default(s, name, p);
            return Ok(());
        }
        if !self.ctx.libseccomp.knows(&name.v) {
            if self.ctx.strict {
                return Err(ProfileError::new(
                    &name.o,
                    format!("unknown syscall \"{}\"", name.v),
                ));
            }
            self.warnings.push(Diagnostic::warning(
                &name.o,
                format!("unknown syscall \"{}\" ignored", name.v),
            ));
            return Ok(());
        }
        check_errno(action, &rule_action(s), s.errno_ret.as_ref())?;
        for conds in self.cond_sets(s, ops)? {
            let rule = Rule {
                conds,
                action,
                origin: name.o.clone(),
            };
            for arch in self.arches.clone() {
                self.add(arch, &name.v, rule.clone())?;
            }
        }
        Ok(())
    }

    /// runc skips a rule whose action equals the default (`callAct ==
    /// defAct`) without a word. When another rule names the same syscall
    /// with another action, that rule decides instead: say so.
    fn skipped_as_default(&mut self, s: &OciSyscall, name: &Sp<String>, p: &OciProfile) {
        let other = p.syscalls.iter().find_map(|r| {
            let n = r.names.iter().find(|n| n.v == name.v)?;
            let a = quiet_action(r, self.ctx.runtime)?;
            (a != self.default && !std::ptr::eq(r, s)).then_some((n, a))
        });
        let Some((n, a)) = other else {
            self.warnings.push(Diagnostic::note(
                &name.o,
                format!(
                    "{}: runc and crun skip this rule, its action {} is the default action; nothing changes",
                    name.v, self.default
                ),
            ));
            return;
        };
        self.warnings.push(
            Diagnostic::warning(
                &name.o,
                format!(
                    "{}: runc and crun skip this rule because its action {} equals the default action; the rule at {} ({}) decides {} instead",
                    name.v, self.default, n.o.path, a, name.v
                ),
            )
            .with_related(&n.o),
        );
    }

    /// The rule's conditions: one set (AND) or, when an index repeats, one
    /// set per condition (OR).
    fn cond_sets(&mut self, s: &OciSyscall, ops: &[CmpOp]) -> Result<Vec<Vec<Cond>>, ProfileError> {
        let mut conds = Vec::new();
        for (i, (a, &op)) in s.args.iter().zip(ops).enumerate() {
            if i >= 6 && self.ctx.runtime == Runtime::Crun {
                self.warnings.push(Diagnostic::warning(
                    &a.origin,
                    "crun considers only the first 6 conditions; this one is dropped",
                ));
                break;
            }
            let arg = u8::try_from(a.index.v)
                .ok()
                .and_then(ArgIndex::new)
                .ok_or_else(|| {
                    ProfileError::new(
                        &a.index.o,
                        format!(
                            "argument index {} is out of range: syscalls have 6 arguments (0-5)",
                            a.index.v
                        ),
                    )
                })?;
            conds.push(Cond {
                arg,
                op,
                value: a.value.v,
                value_two: a.value_two.v,
                width: ArgWidth::Bits64,
            });
        }
        let mut seen = [false; 6];
        let repeated = conds
            .iter()
            .any(|c| std::mem::replace(&mut seen[c.arg.get()], true));
        Ok(if repeated {
            conds.into_iter().map(|c| vec![c]).collect()
        } else {
            vec![conds]
        })
    }

    /// Adds a rule to one arch: direct number and multiplexer, as libseccomp does.
    fn add(&mut self, arch: Arch, name: &str, rule: Rule) -> Result<(), ProfileError> {
        if let Some(m) = arch.multiplexed(name) {
            let via_name = arch.syscall_name(m.via_nr).unwrap_or("socketcall");
            if !rule.conds.is_empty() {
                self.warnings.push(Diagnostic::warning(
                    &rule.origin,
                    format!(
                        "{name} on {arch}: through {via_name}({}) libseccomp replaces arg0 with the call number and tests the other conditions on {via_name}'s own arguments",
                        m.call
                    ),
                ));
            }
            let mut conds: Vec<Cond> = rule
                .conds
                .iter()
                .filter(|c| c.arg.get() != 0)
                .copied()
                .collect();
            conds.push(Cond {
                arg: ARG0,
                op: CmpOp::Eq,
                value: u64::from(m.call),
                value_two: 0,
                width: ArgWidth::Bits64,
            });
            let via = Rule {
                conds,
                ..rule.clone()
            };
            self.add_nr(arch, m.via_nr, via_name, via)?;
        }
        if let Some(nr) = self.ctx.libseccomp.syscall_nr(arch, name) {
            self.add_nr(arch, nr, name, rule)?;
        }
        Ok(())
    }

    fn add_nr(
        &mut self,
        arch: Arch,
        nr: u32,
        name: &str,
        mut rule: Rule,
    ) -> Result<(), ProfileError> {
        let width = arch.width();
        if width == ArgWidth::Bits32
            && let Some(c) = rule
                .conds
                .iter()
                .find(|c| c.value >> 32 != 0 || c.value_two >> 32 != 0)
        {
            self.warnings.push(Diagnostic::warning(
                &rule.origin,
                format!(
                    "{name} on {arch}: libseccomp compares the low 32 bits only; {:#x} becomes {:#x}",
                    if c.value >> 32 != 0 { c.value } else { c.value_two },
                    if c.value >> 32 != 0 { c.value & 0xffff_ffff } else { c.value_two & 0xffff_ffff },
                ),
            ));
        }
        normalize(&mut rule.conds, width);
        let label = Label {
            syscall: name,
            arch: arch.name(),
            release: self.ctx.libseccomp,
        };
        let origin = rule.origin.clone();
        let spent =
            self.dbs
                .entry((arch, nr))
                .or_default()
                .add(rule, width, &label, self.warnings)?;
        self.merge_work = self.merge_work.saturating_add(spent);
        if self.merge_work > PROFILE_WORK_LIMIT {
            return Err(ProfileError::new(
                &origin,
                format!(
                    "{name} on {arch}: merging the profile's rules as libseccomp does takes more than {PROFILE_WORK_LIMIT} steps in all by this rule; sysfence stops there and refuses the profile"
                ),
            ));
        }
        Ok(())
    }

    fn finish(self, stub: bool, maxima: &BTreeMap<Arch, u32>) -> Result<Policy, ProfileError> {
        let mut rules: BTreeMap<Arch, BTreeMap<u32, Vec<Rule>>> = BTreeMap::new();
        for ((arch, nr), db) in self.dbs {
            rules
                .entry(arch)
                .or_default()
                .insert(nr, db.into_rules(arch.width(), self.warnings)?);
        }
        let has = |a: Arch| self.arches.contains(&a);
        let cut = |a: Arch| if stub { maxima.get(&a).copied() } else { None };
        let mut out = Vec::new();
        let shared = has(Arch::X86_64) && has(Arch::X32);
        for &arch in &self.arches {
            if arch == Arch::X32 && shared {
                continue;
            }
            if !matches!(arch, Arch::X86_64 | Arch::X32) {
                let r = rules.remove(&arch).unwrap_or_default();
                let ranges = other_ranges(arch, stub, maxima);
                out.push(entry(
                    arch,
                    arch.name(),
                    self.default,
                    r,
                    ranges,
                    self.warnings,
                ));
                continue;
            }
            let x64 = rules.remove(&Arch::X86_64).unwrap_or_default();
            let mut x32 = BTreeMap::new();
            for (nr, list) in rules.remove(&Arch::X32).unwrap_or_default() {
                x32.insert(nr, low_words(list));
            }
            let abi = |a: Arch| {
                if has(a) {
                    x86::Abi::In(cut(a))
                } else {
                    x86::Abi::Absent
                }
            };
            let mut r = x64;
            r.extend(x32);
            let ranges = x86::ranges(abi(Arch::X86_64), abi(Arch::X32), Action::KillThread);
            let name = if shared { "x86_64+x32" } else { arch.name() };
            out.push(entry(arch, name, self.default, r, ranges, self.warnings));
        }
        Policy::new(out, Action::KillThread)
            .map_err(|e| ProfileError::new(&Origin::default(), e.to_string()))
    }
}

/// One entry; rules inside a fixed range are dropped, and said so.
fn entry(
    arch: Arch,
    name: &str,
    default: Action,
    mut rules: BTreeMap<u32, Vec<Rule>>,
    ranges: Vec<NrRange>,
    warnings: &mut Vec<Diagnostic>,
) -> ArchPolicy {
    drop_shadowed(&mut rules, &ranges, name, warnings);
    ArchPolicy {
        audit_arch: arch.audit_arch(),
        name: name.to_string(),
        width: arch.width(),
        default,
        rules,
        ranges,
        table_max: arch.max_nr(),
    }
}

/// A rule's action string; a missing one reads as `""`, as in Go.
fn rule_action(s: &OciSyscall) -> Sp<String> {
    s.action.clone().unwrap_or_else(|| Sp {
        v: String::new(),
        o: s.origin.clone(),
    })
}

/// A rule's action when it has a valid one (for messages about other rules).
fn quiet_action(s: &OciSyscall, runtime: Runtime) -> Option<Action> {
    let a = rule_action(s);
    action(
        kind(&a).ok()?,
        &a,
        s.errno_ret.as_ref(),
        runtime,
        &mut Vec::new(),
    )
    .ok()
}

/// Argument 0, where multiplexers take the call number.
const ARG0: ArgIndex = match ArgIndex::new(0) {
    Some(a) => a,
    None => panic!("argument index 0 exists"),
};

/// x32 rules compare the low word only; in the shared x86_64 body each
/// condition says so itself.
fn low_words(mut list: Vec<Rule>) -> Vec<Rule> {
    for c in list.iter_mut().flat_map(|r| &mut r.conds) {
        *c = c.low_word();
    }
    list
}

/// runc hands a name to libseccomp through `C.CString`, so libseccomp reads
/// it only up to the first NUL: `"ptrace\u0000"` is `ptrace` to the
/// runtime, not an unknown name (crun's C strings end there too). Rather
/// than guess which part a runtime sees, such a name is refused.
fn nul_in_name(name: &Sp<String>) -> ProfileError {
    ProfileError::new(
        &name.o,
        format!(
            "syscall name \"{}\" contains NUL: runc and crun pass names as C strings and would read only \"{}\"",
            name.v,
            name.v.split('\0').next().unwrap_or_default()
        ),
    )
}
