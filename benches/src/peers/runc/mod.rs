//! runc's conversion of a Docker/OCI profile into the filter it loads,
//! modelled from the profile JSON alone (cargo feature `libseccomp`).
//!
//! In: the profile text (read with `serde_json`, no sysfence profile code)
//! and optionally the architectures to build for instead of the profile's.
//! Out: the program runc would hand the kernel on an x86_64 host with the
//! libseccomp this crate links: runc's ENOSYS stub followed by the program
//! libseccomp exports, as raw instructions. The model follows runc's
//! documented behaviour (`libcontainer/seccomp` and `patchbpf`):
//!
//! * the default action is `defaultAction` with `defaultErrnoRet` (ERRNO
//!   and TRACE only, EPERM when absent, cut to 16 bits); the filter starts
//!   with the host's arch and adds each of `architectures` (bad-arch action
//!   left at libseccomp's own);
//! * every name of every rule becomes its own call; a call whose action
//!   (with its errno) equals the default action is skipped; a name
//!   libseccomp's resolver does not know is skipped; a call without
//!   arguments is one rule; with arguments it is one rule holding every
//!   condition, or, when two conditions share an index, one rule per
//!   condition; `MASKED_EQ` passes `value` as the mask and `valueTwo` as
//!   the datum; rules are added with the non-exact `seccomp_rule_add`, in
//!   profile order, and libseccomp refuses what it refuses;
//! * the stub (unless the default action is ALLOW, LOG or TRACE, or
//!   `defaultErrnoRet` is 0x50026, the value runc compares it with): for each listed arch and the host's
//!   (current runc adds the implied native arch), the largest number
//!   libseccomp resolves for any name of the profile (rules skipped above
//!   included); an arch whose largest number is 0 gets no check; numbers
//!   above it get ERRNO(38), x86_64 and x32 each on their half of bit 30.
//!   The stub's instructions are laid out here, not copied: only what
//!   they return is the model.
//!
//! [`Arches::Only`] builds the filter with only the given arches, the host's
//! arch included only when named (runc itself always keeps it). Not
//! modelled: Docker's `archMap`, `includes`/`excludes`, `flags`,
//! `listenerPath` (a profile using them is refused here), and any host but
//! x86_64.

use libseccomp::{
    ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall,
};
use serde_json::{Map, Value};
use sysfence_cbpf::abi::action::RET_ERRNO;
use sysfence_cbpf::data::{AUDIT_ARCH_I386, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT};
use sysfence_cbpf::insn::Insn;
use sysfence_cbpf::opcode::Opcode;

use super::libseccomp::export;

pub mod worker;

/// `SECCOMP_RET_ERRNO | ENOSYS`.
const RET_ENOSYS: u32 = RET_ERRNO | 38;

/// Which arches the filter holds.
#[derive(Clone, Copy, Debug)]
pub enum Arches<'a> {
    /// The host's, plus the profile's `architectures` (what runc builds).
    Profile,
    /// Exactly these `SCMP_ARCH_*` names, for both libseccomp and the stub.
    Only(&'a [String]),
}

/// The program runc would load for `text`, or why runc (or libseccomp)
/// refuses it.
pub fn convert(text: &str, arches: Arches<'_>) -> Result<Vec<Insn>, String> {
    let root: Value = serde_json::from_str(text).map_err(|e| format!("json: {e}"))?;
    let root = root.as_object().ok_or("the profile is not an object")?;
    known_keys(
        root,
        &[
            "defaultAction",
            "defaultErrnoRet",
            "architectures",
            "syscalls",
        ],
    )?;
    let default_name = root.get("defaultAction").and_then(Value::as_str);
    let default_errno = root.get("defaultErrnoRet").and_then(Value::as_u64);
    let default = action(default_name.unwrap_or(""), default_errno)?;
    let listed = arch_names(root, arches)?;
    let calls = calls(root)?;
    let mut ctx = ScmpFilterContext::new(default).map_err(|e| format!("new filter: {e}"))?;
    for name in &listed {
        ctx.add_arch(scmp_arch(name)?)
            .map_err(|e| format!("{name}: {e}"))?;
    }
    if let Arches::Only(only) = arches
        && !only.iter().any(|a| a == "SCMP_ARCH_X86_64")
    {
        ctx.remove_arch(ScmpArch::X8664)
            .map_err(|e| format!("removing the host arch: {e}"))?;
    }
    for call in &calls {
        add_call(&mut ctx, call, default)?;
    }
    let mut program = if stub_wanted(default_name.unwrap_or(""), default_errno) {
        stub(&stub_arches(&listed, arches), &calls)?
    } else {
        Vec::new()
    };
    program.extend(export(&ctx)?);
    Ok(program)
}

/// Whether the linked libseccomp's resolver knows `name` on the host's arch.
pub fn resolves(name: &str) -> bool {
    ScmpSyscall::from_name(name).is_ok_and(|n| n.as_raw_syscall() >= 0)
}

/// One name of one rule, as runc's configuration holds it.
struct Call<'a> {
    name: &'a str,
    action: &'a str,
    errno: Option<u64>,
    args: &'a [Value],
}

fn known_keys(obj: &Map<String, Value>, keys: &[&str]) -> Result<(), String> {
    match obj.keys().find(|k| !keys.contains(&k.as_str())) {
        Some(k) => Err(format!("key \"{k}\" is not modelled")),
        None => Ok(()),
    }
}

fn arch_names(root: &Map<String, Value>, arches: Arches<'_>) -> Result<Vec<String>, String> {
    if let Arches::Only(only) = arches {
        return Ok(only.to_vec());
    }
    let Some(list) = root.get("architectures").and_then(Value::as_array) else {
        return Ok(Vec::new());
    };
    list.iter()
        .map(|a| {
            a.as_str()
                .map(str::to_string)
                .ok_or("an arch is not a string".into())
        })
        .collect()
}

fn calls(root: &Map<String, Value>) -> Result<Vec<Call<'_>>, String> {
    let rules = root.get("syscalls").and_then(Value::as_array);
    let mut out = Vec::new();
    for rule in rules.into_iter().flatten() {
        let rule = rule.as_object().ok_or("a rule is not an object")?;
        known_keys(
            rule,
            &["names", "name", "action", "errnoRet", "args", "comment"],
        )?;
        let action = rule.get("action").and_then(Value::as_str).unwrap_or("");
        let errno = rule.get("errnoRet").and_then(Value::as_u64);
        let args = rule
            .get("args")
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice);
        let single = rule
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty());
        let names = rule
            .get("names")
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice);
        let names = single
            .into_iter()
            .chain(names.iter().map(|n| n.as_str().unwrap_or("")));
        out.extend(names.map(|name| Call {
            name,
            action,
            errno,
            args,
        }));
    }
    Ok(out)
}

/// runc's action conversion: ERRNO and TRACE take the errno (EPERM when
/// absent) cut to 16 bits; KILL is KILL_THREAD.
fn action(name: &str, errno: Option<u64>) -> Result<ScmpAction, String> {
    let code = |e: Option<u64>| e.map_or(1, |v| v as u16);
    Ok(match name {
        "SCMP_ACT_KILL" | "SCMP_ACT_KILL_THREAD" => ScmpAction::KillThread,
        "SCMP_ACT_KILL_PROCESS" => ScmpAction::KillProcess,
        "SCMP_ACT_ERRNO" => ScmpAction::Errno(i32::from(code(errno))),
        "SCMP_ACT_TRACE" => ScmpAction::Trace(code(errno)),
        "SCMP_ACT_TRAP" => ScmpAction::Trap,
        "SCMP_ACT_ALLOW" => ScmpAction::Allow,
        "SCMP_ACT_LOG" => ScmpAction::Log,
        "SCMP_ACT_NOTIFY" => ScmpAction::Notify,
        other => return Err(format!("\"{other}\" is not a valid action")),
    })
}

fn scmp_arch(name: &str) -> Result<ScmpArch, String> {
    name.parse().map_err(|e| format!("{name}: {e}"))
}

fn add_call(
    ctx: &mut ScmpFilterContext,
    call: &Call<'_>,
    default: ScmpAction,
) -> Result<(), String> {
    if call.name.is_empty() {
        return Err("empty string is not a valid syscall".into());
    }
    let act = action(call.action, call.errno)?;
    if act == default {
        return Ok(());
    }
    let Ok(nr) = ScmpSyscall::from_name(call.name) else {
        return Ok(());
    };
    let err = |e: libseccomp::error::SeccompError| format!("{}: {e}", call.name);
    if call.args.is_empty() {
        return ctx.add_rule(act, nr).map(drop).map_err(err);
    }
    let conds = call
        .args
        .iter()
        .map(condition)
        .collect::<Result<Vec<_>, _>>()?;
    let mut count = [0u8; 6];
    for c in &conds {
        count[c.0] += 1;
    }
    if count.iter().any(|&n| n > 1) {
        for (_, c) in conds {
            ctx.add_rule_conditional(act, nr, &[c]).map_err(err)?;
        }
        return Ok(());
    }
    let conds: Vec<ScmpArgCompare> = conds.into_iter().map(|(_, c)| c).collect();
    ctx.add_rule_conditional(act, nr, &conds)
        .map(drop)
        .map_err(err)
}

fn condition(arg: &Value) -> Result<(usize, ScmpArgCompare), String> {
    let obj = arg.as_object().ok_or("an argument is not an object")?;
    known_keys(obj, &["index", "op", "value", "valueTwo"])?;
    let num = |k: &str| obj.get(k).and_then(Value::as_u64).unwrap_or(0);
    let index = num("index");
    if index > 5 {
        return Err(format!("argument index {index} is past 5"));
    }
    let (value, two) = (num("value"), num("valueTwo"));
    let op = match obj.get("op").and_then(Value::as_str).unwrap_or("") {
        "SCMP_CMP_NE" => ScmpCompareOp::NotEqual,
        "SCMP_CMP_LT" => ScmpCompareOp::Less,
        "SCMP_CMP_LE" => ScmpCompareOp::LessOrEqual,
        "SCMP_CMP_EQ" => ScmpCompareOp::Equal,
        "SCMP_CMP_GE" => ScmpCompareOp::GreaterEqual,
        "SCMP_CMP_GT" => ScmpCompareOp::Greater,
        "SCMP_CMP_MASKED_EQ" => {
            return Ok((
                index as usize,
                ScmpArgCompare::new(index as u32, ScmpCompareOp::MaskedEqual(value), two),
            ));
        }
        other => return Err(format!("\"{other}\" is not a valid operator")),
    };
    Ok((index as usize, ScmpArgCompare::new(index as u32, op, value)))
}

/// runc leaves the stub out for an allow-like default, and when
/// `defaultErrnoRet` equals its own ENOSYS *return value* (0x50026, not 38:
/// runc compares the errno with `SCMP_ACT_ERRNO(ENOSYS)`).
fn stub_wanted(default: &str, errno: Option<u64>) -> bool {
    let permissive = matches!(
        default,
        "SCMP_ACT_ALLOW" | "SCMP_ACT_LOG" | "SCMP_ACT_TRACE"
    );
    !permissive && errno != Some(u64::from(RET_ENOSYS))
}

/// The arches the stub checks: the listed ones, and the host's, which runc
/// adds to the set as it is always in the filter (unless [`Arches::Only`]
/// leaves it out).
fn stub_arches(listed: &[String], arches: Arches<'_>) -> Vec<String> {
    let host = "SCMP_ARCH_X86_64".to_string();
    let mut out = listed.to_vec();
    if matches!(arches, Arches::Profile) && !out.contains(&host) {
        out.push(host);
    }
    out
}

/// The largest number libseccomp resolves on `arch` for any name.
fn largest(arch: ScmpArch, calls: &[Call<'_>]) -> u32 {
    let nrs = calls.iter().filter_map(|c| {
        ScmpSyscall::from_name_by_arch(c.name, arch)
            .ok()
            .map(ScmpSyscall::as_raw_syscall)
    });
    nrs.max().unwrap_or(0).max(0) as u32
}

/// Where a stub jump goes: the next instruction but `n`, the block's
/// ENOSYS return, or the block's end (the next block, or the filter).
#[derive(Clone, Copy)]
enum To {
    Skip(u8),
    Enosys,
    End,
}

/// runc's ENOSYS stub for the listed arches.
fn stub(listed: &[String], calls: &[Call<'_>]) -> Result<Vec<Insn>, String> {
    let mut x86_64 = (None, None);
    let mut i386 = None;
    for name in listed {
        let arch = scmp_arch(name)?;
        let max = Some(largest(arch, calls)).filter(|&m| m != 0);
        match arch {
            ScmpArch::X8664 => x86_64.0 = max,
            ScmpArch::X32 => x86_64.1 = max,
            ScmpArch::X86 => i386 = max,
            other => {
                return Err(format!(
                    "{other:?}: the stub model covers the x86 family only"
                ));
            }
        }
    }
    let mut out = Vec::new();
    let nr = |v: u32| (Opcode::JgtK, v, To::Enosys, To::End);
    let body: Option<Vec<_>> = match x86_64 {
        (Some(a), None) => Some(vec![
            (Opcode::JsetK, X32_SYSCALL_BIT, To::End, To::Skip(0)),
            nr(a),
        ]),
        (None, Some(x)) => Some(vec![
            (Opcode::JsetK, X32_SYSCALL_BIT, To::Skip(0), To::End),
            nr(x),
        ]),
        (Some(a), Some(x)) => Some(vec![
            (Opcode::JsetK, X32_SYSCALL_BIT, To::Skip(1), To::Skip(0)),
            (Opcode::JgtK, a, To::Enosys, To::End),
            nr(x),
        ]),
        (None, None) => None,
    };
    if let Some(body) = body {
        out.extend(block(AUDIT_ARCH_X86_64, &body));
    }
    if let Some(max) = i386 {
        out.extend(block(AUDIT_ARCH_I386, &[nr(max)]));
    }
    Ok(out)
}

/// `ld arch; jeq ARCH, 0, end; ld nr; body; ret ENOSYS`.
fn block(audit: u32, body: &[(Opcode, u32, To, To)]) -> Vec<Insn> {
    let len = body.len() + 4;
    let at = |pc: usize, to: To| -> u8 {
        let target = match to {
            To::Skip(n) => pc + 1 + usize::from(n),
            To::Enosys => len - 1,
            To::End => len,
        };
        (target - pc - 1) as u8
    };
    let mut out = vec![
        Insn::op(Opcode::LdAbsW, 0, 0, 4),
        Insn::op(Opcode::JeqK, 0, at(1, To::End), audit),
        Insn::op(Opcode::LdAbsW, 0, 0, 0),
    ];
    for (k, &(op, v, t, f)) in body.iter().enumerate() {
        let pc = 3 + k;
        out.push(Insn::op(op, at(pc, t), at(pc, f), v));
    }
    out.push(Insn::op(Opcode::RetK, 0, 0, RET_ENOSYS));
    out
}
