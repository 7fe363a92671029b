//! `sysfence emu`: run a program, or a compiled profile, on syscalls.
//!
//! In: PROG, a raw program, a `bpf_asm` file or a profile (compiled with the
//! sysfence compiler first, so what runs is exactly what `sysfence compile`
//! would write). One syscall is given as `--arch A SYSCALL [ARG0..ARG5]`
//! (SYSCALL a name in A's table or a number), or many as `--batch`: one
//! `ARCH NR [A0..A5]` per line.
//!
//! Out: one line per syscall, `ACTION RAW INSNS` — the action as the kernel
//! applies it (an unknown action value kills the process, so it prints as
//! `KILL_PROCESS`), the raw return value as `0x%08x` and the number of
//! instructions executed. `--trace` first prints each executed instruction
//! with A and X as they were before it ran.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use sysfence_cbpf::Action;
use sysfence_cbpf::asm::{DisasmOptions, Style, disassemble};
use sysfence_cbpf::data::SeccompData;
use sysfence_cbpf::interp::{self, Config, Outcome, Steps};
use sysfence_cbpf::program::Program;

use crate::builtin_syscalls::{ArchChoice, parse_arch};
use crate::cmd::context::ContextArgs;
use crate::failure::{Failure, Outcome as VerbOutcome};
use crate::io::read_input;
use crate::progfile::{
    Format, has_profile_name, looks_like_profile, looks_like_text, read_program,
};

/// Arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The program: raw `struct sock_filter` bytes, `bpf_asm` text or a profile.
    prog: PathBuf,
    /// Arch of the syscall: a name (x86_64, i386, aarch64, ...) or a hex AUDIT_ARCH value.
    #[arg(long)]
    arch: Option<String>,
    /// `seccomp_data.instruction_pointer` (decimal or 0x hex), for every call
    /// of a `--batch` too.
    #[arg(long, value_parser = parse_u64)]
    ip: Option<u64>,
    /// Print every executed instruction with A and X before it.
    #[arg(long)]
    trace: bool,
    /// Read `ARCH NR [A0..A5]` lines from FILE (or `-`, standard input).
    #[arg(long, value_name = "FILE", num_args = 0..=1, default_missing_value = "-")]
    batch: Option<PathBuf>,
    /// One JSON object per call (`action`, `raw`, `insns`), one per line.
    #[arg(long)]
    json: bool,
    /// How to read PROG when it is a profile.
    #[command(flatten)]
    context: ContextArgs,
    /// SYSCALL (name or number) and up to six arguments.
    #[arg(allow_negative_numbers = true)]
    call: Vec<String>,
}

/// Runs the verb.
pub fn run(args: Args) -> VerbOutcome {
    let default_arch = args.arch.as_deref().unwrap_or("x86_64");
    let arch = parse_arch(default_arch)?;
    let (program, engine) = load(&args, &arch)?;
    if let Some(batch) = &args.batch {
        if !args.call.is_empty() {
            return Err(Failure::input("--batch takes no SYSCALL or arguments"));
        }
        return run_batch(&program, batch, args.ip.unwrap_or(0), args.json);
    }
    if args.call.is_empty() {
        return Err(Failure::input(
            "missing SYSCALL (a name or a number), or --batch FILE",
        ));
    }
    if args.arch.is_none() {
        return Err(Failure::input(
            "--arch is required for a single syscall (--arch x86_64 SYSCALL ...)",
        ));
    }
    let data = single_call(&args, &arch)?;
    let mut out = String::new();
    let outcome = if args.trace {
        let _ = writeln!(out, "# engine: {engine}");
        traced(&program, &data, &arch, &mut out)
    } else {
        interp::run(&program, &data)
    };
    push_outcome(&mut out, &outcome, args.json);
    print!("{out}");
    Ok(0)
}

/// Reads PROG into a validated program, and says which engine made it.
fn load(args: &Args, arch: &ArchChoice) -> Result<(Program, String), Failure> {
    let name = args.prog.display().to_string();
    let bytes = read_input(Some(&args.prog))?;
    if has_profile_name(&args.prog)
        || (looks_like_text(&bytes) && looks_like_profile(&args.prog, &bytes))
    {
        let (loaded, _) = args.context.load_read(&args.prog, &bytes)?;
        let compiled = sysfence_compile::compile(&loaded.policy, &sysfence_compile::Config::new())
            .map_err(crate::cmd::compile::failure)?;
        let program = compiled.program().clone();
        let engine = format!(
            "profile compiled by sysfence ({} instructions, checked against the reference evaluator), run in the cBPF interpreter",
            program.len()
        );
        return Ok((program, engine));
    }
    let insns = read_program(&name, &bytes, Format::Auto, arch)?;
    let program = Program::new(&insns)
        .map_err(|e| Failure::input(format!("{name}: the kernel would reject it: {e}")))?;
    Ok((program, "cBPF interpreter".to_string()))
}

/// Builds the one `seccomp_data` of a single-call run.
fn single_call(args: &Args, arch: &ArchChoice) -> Result<SeccompData, Failure> {
    let Some((syscall, rest)) = args.call.split_first() else {
        return Err(Failure::input("missing SYSCALL (a name or a number)"));
    };
    if rest.len() > 6 {
        return Err(Failure::input(format!(
            "{} arguments given; a syscall has at most 6",
            rest.len()
        )));
    }
    let nr = match parse_nr(syscall) {
        Some(nr) => nr,
        None => arch
            .syscalls
            .and_then(|t| t.0.syscall_nr(syscall))
            .ok_or_else(|| Failure::input(format!("unknown syscall `{syscall}` for this arch")))?,
    };
    let mut data = SeccompData::new(arch.audit, nr);
    data.instruction_pointer = args.ip.unwrap_or(0);
    for (slot, text) in data.args.iter_mut().zip(rest) {
        *slot = parse_u64(text).map_err(Failure::input)?;
    }
    Ok(data)
}

/// Runs with a [`Steps`] tracer and prints each step as `A=… X=… <line>`.
fn traced(program: &Program, data: &SeccompData, arch: &ArchChoice, out: &mut String) -> Outcome {
    let mut opts = DisasmOptions::new().style(Style::C).arch(Some(arch.audit));
    if let Some(table) = &arch.syscalls {
        opts = opts.syscalls(table);
    }
    let listing = disassemble(program.insns(), &opts);
    let lines: Vec<&str> = listing.lines().collect();
    let mut steps = Steps::new();
    let outcome = interp::run_with(program, data, &Config::new(), &mut steps);
    for step in steps.steps() {
        let text = lines.get(step.pc).copied().unwrap_or("");
        let _ = writeln!(out, "A={:#010x} X={:#010x}  {text}", step.a, step.x);
    }
    outcome
}

/// Appends `ACTION RAW INSNS`, or its JSON object.
fn push_outcome(out: &mut String, outcome: &Outcome, json: bool) {
    let action = match outcome.action {
        // The kernel kills the process for any action value it does not know.
        Action::Unknown(_) => Action::KillProcess,
        known => known,
    };
    if json {
        let value = serde_json::json!({
            "action": action.to_string(),
            "raw": outcome.raw,
            "insns": outcome.insns,
        });
        let _ = writeln!(out, "{value}");
    } else {
        let _ = writeln!(out, "{action} {:#010x} {}", outcome.raw, outcome.insns);
    }
}

/// Runs every line of a batch file, each with instruction pointer `ip`.
fn run_batch(program: &Program, path: &Path, ip: u64, json: bool) -> VerbOutcome {
    let name = crate::io::display_name(Some(path));
    let bytes = read_input(Some(path))?;
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        Failure::input(format!("{name}: not UTF-8 text (byte {})", e.valid_up_to()))
    })?;
    let mut arches = ArchCache::default();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut line_buf = String::with_capacity(64);
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let mut data = batch_line(line, &mut arches)
            .map_err(|e| Failure::input(format!("{name}:{}: {e}", i + 1)))?;
        data.instruction_pointer = ip;
        line_buf.clear();
        push_outcome(&mut line_buf, &interp::run(program, &data), json);
        out.write_all(line_buf.as_bytes())
            .map_err(|e| Failure::input(format!("<stdout>: {e}")))?;
    }
    out.flush()
        .map_err(|e| Failure::input(format!("<stdout>: {e}")))?;
    Ok(0)
}

/// Parses `ARCH NR [A0..A5]`.
fn batch_line(line: &str, arches: &mut ArchCache) -> Result<SeccompData, String> {
    let mut fields = line.split_ascii_whitespace();
    let arch = arches.get(fields.next().unwrap_or_default())?;
    let nr_text = fields.next().ok_or("missing NR after ARCH")?;
    let nr = match parse_nr(nr_text) {
        Some(nr) => nr,
        None => arch
            .syscalls
            .and_then(|t| t.0.syscall_nr(nr_text))
            .ok_or_else(|| {
                format!(
                    "bad syscall number `{nr_text}`: neither a number nor a syscall of this arch"
                )
            })?,
    };
    let mut data = SeccompData::new(arch.audit, nr);
    for slot in &mut data.args {
        match fields.next() {
            Some(text) => *slot = parse_u64(text)?,
            None => break,
        }
    }
    if let Some(extra) = fields.next() {
        return Err(format!("unexpected `{extra}` after six arguments"));
    }
    Ok(data)
}

/// Remembers the arch of each arch spelling seen in a batch.
#[derive(Debug, Default)]
struct ArchCache {
    seen: Vec<(String, ArchChoice)>,
}

impl ArchCache {
    fn get(&mut self, text: &str) -> Result<ArchChoice, String> {
        if let Some((_, arch)) = self.seen.iter().find(|(t, _)| t == text) {
            return Ok(*arch);
        }
        let arch = parse_arch(text).map_err(|e| e.to_string())?;
        self.seen.push((text.to_string(), arch));
        Ok(arch)
    }
}

/// A syscall number: decimal, `0x` hex, or a negative decimal taken as a
/// 32-bit two's complement value (`-1` is 0xffffffff).
fn parse_nr(text: &str) -> Option<u32> {
    if let Some(neg) = text.strip_prefix('-') {
        let magnitude: u32 = neg.parse().ok()?;
        return (magnitude <= 1 << 31).then(|| magnitude.wrapping_neg());
    }
    let value = parse_u64(text).ok()?;
    u32::try_from(value).ok()
}

/// A 64-bit argument: decimal, `0x` hex, or a negative decimal taken as a
/// 64-bit two's complement value.
fn parse_u64(text: &str) -> Result<u64, String> {
    let bad = || format!("bad number `{text}`: expected decimal, 0x hex or a negative decimal");
    if let Some(hex) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        return u64::from_str_radix(hex, 16).map_err(|_| bad());
    }
    if let Some(neg) = text.strip_prefix('-') {
        let magnitude: u64 = neg.parse().map_err(|_| bad())?;
        return (magnitude <= 1 << 63)
            .then(|| magnitude.wrapping_neg())
            .ok_or_else(bad);
    }
    text.parse().map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(parse_nr("-1"), Some(0xffff_ffff));
        assert_eq!(parse_nr("0x40000000"), Some(0x4000_0000));
        assert_eq!(parse_nr("4294967296"), None);
        assert_eq!(parse_nr("getpid"), None);
        assert_eq!(parse_u64("-1"), Ok(u64::MAX));
        assert_eq!(parse_u64("0xffffffffffffffff"), Ok(u64::MAX));
        assert!(parse_u64("18446744073709551616").is_err());
        assert!(parse_u64("12a").is_err());
    }

    #[test]
    fn batch_lines() {
        let mut cache = ArchCache::default();
        let d = batch_line("x86_64 39 1 0x2", &mut cache).unwrap();
        assert_eq!(
            (d.arch, d.nr, d.args[0], d.args[1], d.args[2]),
            (0xc000_003e, 39, 1, 2, 0)
        );
        let d = batch_line("0x40000003 -1", &mut cache).unwrap();
        assert_eq!((d.arch, d.nr), (0x4000_0003, 0xffff_ffff));
        let d = batch_line("x86_64 getpid", &mut cache).unwrap();
        assert_eq!(d.nr, 39);
        assert!(batch_line("x86_64 nosuch", &mut cache).is_err());
        assert!(batch_line("vax 1", &mut cache).is_err());
        assert!(batch_line("x86_64", &mut cache).is_err());
        assert!(batch_line("x86_64 1 1 2 3 4 5 6 7", &mut cache).is_err());
    }
}
