//! `sysfence explain PROFILE --arch A SYSCALL [ARG0..ARG5]`: what the
//! policy does with one call, and why: the deciding rule with its source
//! line, the fixed range (runc's ENOSYS stub, libseccomp's x32 guard), the
//! default action, or the bad-arch action.
//!
//! SYSCALL is a name or a number as `seccomp_data.nr` carries it (decimal or
//! 0x hex); arguments are decimal, 0x hex or negative (two's complement).
//! Exit status: 0, or 2 for bad input.

use std::path::PathBuf;

use sysfence_profile::eval::{Call, DecidedBy, eval};
use sysfence_profile::ir::{ArgWidth, CmpOp, Cond, NrRange, Origin};
use sysfence_profile::{Arch, excerpt};

use crate::cmd::context::ContextArgs;
use crate::failure::{Failure, Outcome};

/// Arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The profile (`-` for standard input).
    profile: PathBuf,
    /// The arch of the call (default: the host arch).
    #[arg(long)]
    arch: Option<String>,
    /// The syscall: a name, or a number.
    syscall: String,
    /// Up to six arguments.
    #[arg(allow_hyphen_values = true, num_args = 0..=6)]
    args: Vec<String>,
    #[command(flatten)]
    context: ContextArgs,
    /// Print one JSON object: `arch`, `syscall`, `nr`, `args`, `action`,
    /// `audit_arch`, `decided_by` (`rule`, `range`, `default`, `bad_arch` or
    /// `unconfined`), `rule` (1-based) and `origin` when a rule decides.
    #[arg(long)]
    json: bool,
}

/// Runs the verb.
pub fn run(args: Args) -> Outcome {
    let (loaded, source) = args.context.load_with_source(&args.profile)?;
    let arch = match &args.arch {
        Some(a) => Arch::parse(a).map_err(|e| Failure::input(format!("--arch: {e}")))?,
        None => args.context.host_context()?.host_arch,
    };
    let nr = syscall_number(arch, &args.syscall)?;
    let mut values = [0u64; 6];
    for (slot, text) in values.iter_mut().zip(&args.args) {
        *slot = parse_value(text)
            .ok_or_else(|| Failure::input(format!("bad argument value \"{text}\"")))?;
    }
    let call = Call {
        arch: arch.audit_arch(),
        nr,
        args: values,
        instruction_pointer: 0,
    };
    let (action, by) = eval(&loaded.policy, &call);
    let name = arch
        .syscall_name(nr)
        .map_or_else(|| format!("syscall {nr}"), str::to_string);
    let shown: Vec<String> = values[..args.args.len()]
        .iter()
        .map(|v| format!("{v:#x}"))
        .collect();
    if args.json {
        let value = json_answer(&loaded, arch, &call, &name, &action.to_string(), &by);
        crate::io::write_output(None, format!("{value:#}\n").as_bytes())?;
        return Ok(0);
    }
    let mut out = format!("{arch}: {name}({}) -> {action}\n", shown.join(", "));
    out.push_str(&match by {
        DecidedBy::Rule { nr, index, rule } => {
            let total = loaded
                .policy
                .arch(call.arch)
                .and_then(|a| a.rules.get(&nr))
                .map_or(1, Vec::len);
            let conds: Vec<String> = rule.conds.iter().map(describe).collect();
            let when = if conds.is_empty() {
                "always".to_string()
            } else {
                conds.join(" && ")
            };
            format!(
                "decided by rule {} of {total} for nr {nr} ({when}) from {}\n{}",
                index + 1,
                rule.origin,
                rule_excerpt(&args.profile, &source, &rule.origin)
            )
        }
        DecidedBy::Range(r) => format!("decided by the fixed range {}\n", range(r)),
        DecidedBy::Default => match loaded.policy.arch(call.arch).and_then(|a| a.rules.get(&nr)) {
            // Rules with conditions, none of which held.
            Some(rules) if rules.len() == 1 => format!(
                "decided by the default action: the rule for nr {nr} did not match (at {})\n",
                rules[0].origin
            ),
            Some(rules) if !rules.is_empty() => format!(
                "decided by the default action: none of the {} rules for nr {nr} matched (the first is at {})\n",
                rules.len(),
                rules[0].origin
            ),
            _ => "decided by the default action (no rule matched)\n".to_string(),
        },
        DecidedBy::BadArch if loaded.policy.arches().is_empty() => {
            "no seccomp filter: the runtime runs this profile unconfined\n".to_string()
        }
        DecidedBy::BadArch => {
            format!("decided by the bad-arch action: {arch} is not in the filter\n")
        }
    });
    crate::io::write_output(None, out.as_bytes())?;
    Ok(0)
}

/// The answer as JSON (field names documented on `--json`).
fn json_answer(
    loaded: &sysfence_profile::Loaded,
    arch: Arch,
    call: &Call,
    name: &str,
    action: &str,
    by: &DecidedBy,
) -> serde_json::Value {
    let (kind, rule, origin) = match by {
        DecidedBy::Rule { index, rule, .. } => (
            "rule",
            Some(index + 1),
            Some(serde_json::json!({
                "file": rule.origin.file, "line": rule.origin.line,
                "column": rule.origin.column, "path": rule.origin.path,
            })),
        ),
        DecidedBy::Range(_) => ("range", None, None),
        DecidedBy::Default => ("default", None, None),
        DecidedBy::BadArch if loaded.policy.arches().is_empty() => ("unconfined", None, None),
        DecidedBy::BadArch => ("bad_arch", None, None),
    };
    serde_json::json!({
        "arch": arch.name(), "audit_arch": call.arch, "syscall": name, "nr": call.nr, "args": call.args,
        "action": action, "decided_by": kind, "rule": rule, "origin": origin,
    })
}

fn syscall_number(arch: Arch, s: &str) -> Result<u32, Failure> {
    if let Some(v) = parse_value(s) {
        return u32::try_from(v)
            .or_else(|_| i32::try_from(v as i64).map(|n| n as u32))
            .map_err(|_| Failure::input(format!("syscall number {s} is out of range")));
    }
    arch.syscall_nr(s)
        .ok_or_else(|| Failure::input(format!("{arch} has no syscall \"{s}\"")))
}

/// Decimal, `0x` hex, or negative decimal (as two's complement).
fn parse_value(s: &str) -> Option<u64> {
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        return u64::from_str_radix(h, 16).ok();
    }
    if let Some(n) = s.strip_prefix('-') {
        return n
            .parse::<u64>()
            .ok()
            .filter(|&v| v <= 1 << 63)
            .map(|v| v.wrapping_neg());
    }
    s.parse().ok()
}

fn describe(c: &Cond) -> String {
    let a = match c.width {
        ArgWidth::Bits32 => format!("(u32)arg{}", c.arg.get()),
        ArgWidth::Bits64 => format!("arg{}", c.arg.get()),
    };
    match c.op {
        CmpOp::MaskedEq => format!("({a} & {:#x}) == {:#x}", c.value, c.value_two & c.value),
        CmpOp::MaskedAny => format!("({a} & {:#x}) != 0", c.value),
        CmpOp::Eq => format!("{a} == {:#x}", c.value),
        CmpOp::Ne => format!("{a} != {:#x}", c.value),
        CmpOp::Lt => format!("{a} < {:#x}", c.value),
        CmpOp::Le => format!("{a} <= {:#x}", c.value),
        CmpOp::Gt => format!("{a} > {:#x}", c.value),
        CmpOp::Ge => format!("{a} >= {:#x}", c.value),
    }
}

fn range(r: &NrRange) -> String {
    format!("{:#x}..={:#x} -> {}", r.lo, r.hi, r.action)
}

/// The excerpt of a rule's origin: from the profile, or from the file the
/// rule was read from when that is another one (a minijail `@include`, an
/// SPO base profile beside it); nothing when that file cannot be read.
fn rule_excerpt(profile: &std::path::Path, source: &str, origin: &Origin) -> String {
    if origin.file.is_empty() || origin.file == crate::io::display_name(Some(profile)) {
        return excerpt(source, origin);
    }
    match crate::io::read_input(Some(std::path::Path::new(&origin.file))) {
        Ok(bytes) => excerpt(&String::from_utf8_lossy(&bytes), origin),
        Err(_) => String::new(),
    }
}
