//! `sysfence compile PROFILE`: a profile to a checked seccomp program.
//!
//! Loads the profile with the context flags, compiles it with
//! `sysfence_compile` (layout, weights, arches, bad-arch action), which
//! proves the program equal to the policy before anything is written, and
//! writes it as raw bytes (the first arch's byte order), `bpf_asm` text, a C
//! or Rust array, or JSON. The profile dialect is `--format`; the output form
//! is `--emit`. Exit status: 0, 1 when the check finds a difference or the
//! program is too large, 2 for bad input.

use std::path::PathBuf;

use sysfence_cbpf::asm::{self, DisasmOptions};
use sysfence_cbpf::data::arch_endian;
use sysfence_compile::{CompileError, Compiled, Config, Layout, Weights, compile};
use sysfence_profile::Arch;
use sysfence_profile::ir::Action;

use crate::cmd::context::ContextArgs;
use crate::failure::{Failure, Outcome};
use crate::io::{read_input, write_output};

/// Arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The profile (`-` for standard input).
    profile: PathBuf,
    #[command(flatten)]
    select: Selection,
    /// Output form: raw, asm, c, rust or json.
    #[arg(long, default_value = "raw", value_name = "FORM")]
    emit: String,
    /// Where to write (default: standard output).
    #[arg(short, long, value_name = "OUT")]
    output: Option<PathBuf>,
    #[command(flatten)]
    context: ContextArgs,
}

/// The compiler flags `compile`, `check` and `cost` share.
#[derive(clap::Args, Debug, Clone)]
pub struct Selection {
    /// Build the filter the runtime would build with only this arch
    /// (repeat; default: every arch of the profile, the host's first).
    /// x86_64 alone leaves x32 out; refusals on other arches do not count.
    #[arg(long = "arch", value_name = "ARCH")]
    pub arches: Vec<String>,
    /// Dispatch layout: linear, tree or weighted.
    #[arg(long, default_value = "tree", value_name = "LAYOUT")]
    layout: String,
    /// A syscall mix (`strace -c` output, `name count` or minijail's
    /// `name: count` lines) for the weighted layout (default: the profile's
    /// own `@frequency` counts, if any).
    #[arg(long, value_name = "FILE")]
    weights: Option<PathBuf>,
    /// Weigh only the calls that run the filter on a kernel with the action
    /// cache (Linux 5.11+): the calls the profile always allows are served
    /// without it, so the weighted layout spends its tests on the rest.
    #[arg(long)]
    cache_aware: bool,
    /// The action for foreign arches (ALLOW, ERRNO(1), KILL_THREAD, ...).
    #[arg(long, value_name = "ACTION")]
    bad_arch: Option<String>,
}

impl Selection {
    /// The compiler configuration the flags describe.
    pub fn config(&self) -> Result<Config, Failure> {
        let layout = Layout::from_name(&self.layout).ok_or_else(|| {
            Failure::input(format!(
                "--layout: unknown layout \"{}\" (linear, tree, weighted)",
                self.layout
            ))
        })?;
        let mut config = Config::new().layout(layout).cache_aware(self.cache_aware);
        if !self.arches.is_empty() {
            config = config.arches(parse_arches(&self.arches)?);
        }
        if let Some(path) = &self.weights {
            if layout != Layout::Weighted {
                eprintln!(
                    "sysfence: warning: --weights orders the weighted layout; with --layout {} it is not used",
                    self.layout
                );
            }
            config = config.weights(read_weights(path)?);
        }
        if let Some(a) = &self.bad_arch {
            config = config.bad_arch(parse_action(a)?);
        }
        Ok(config)
    }
}

/// The profile's own call counts (minijail's `@frequency`) as a mix, used
/// by the weighted layout when `--weights` is not given.
pub fn profile_weights(loaded: &sysfence_profile::Loaded) -> Option<Weights> {
    (!loaded.frequency.is_empty()).then(|| Weights::from_pairs(loaded.frequency.clone()))
}

impl Selection {
    /// [`Selection::config`], weighted by the profile's own counts when
    /// `--weights` is not given.
    pub fn config_for(&self, loaded: &sysfence_profile::Loaded) -> Result<Config, Failure> {
        let config = self.config()?;
        Ok(match (&self.weights, profile_weights(loaded)) {
            (None, Some(w)) => config.weights(w),
            _ => config,
        })
    }
}

/// Reads `--arch` values.
pub fn parse_arches(names: &[String]) -> Result<Vec<Arch>, Failure> {
    names
        .iter()
        .map(|n| Arch::parse(n).map_err(|e| Failure::input(format!("--arch: {e}"))))
        .collect()
}

/// Reads a syscall mix.
pub fn read_weights(path: &std::path::Path) -> Result<Weights, Failure> {
    let bytes = read_input(Some(path))?;
    let text = String::from_utf8_lossy(&bytes);
    Weights::parse(&text).map_err(|e| Failure::input(format!("{}: {e}", path.display())))
}

fn parse_action(text: &str) -> Result<Action, Failure> {
    Action::parse(text)
        .ok_or_else(|| Failure::input(format!("--bad-arch: unknown action \"{text}\"")))
}

/// Turns a compile error into the exit status it deserves.
pub fn failure(e: CompileError) -> Failure {
    if e.is_input_error() {
        Failure::input(e)
    } else {
        Failure::negative(e)
    }
}

/// Loads a profile for the compiler's verbs, built as the runtime would with
/// only the `--arch` arches (every arch when none is given), and prints its
/// warnings.
pub fn load(
    context: &ContextArgs,
    arches: &[String],
    profile: &std::path::Path,
) -> Result<sysfence_profile::Loaded, Failure> {
    let (loaded, source) = context.load_narrowed(profile, &parse_arches(arches)?)?;
    let name = crate::io::display_name(Some(profile));
    crate::warnings::report(&loaded.warnings, &source, &name, context.warn)?;
    Ok(loaded)
}

/// Warns when the weighted layout is laid out for the kernel's action
/// cache (`--cache-aware`) but the kernel the filter is for (`--kernel`,
/// the running one by default) predates the cache: there every call runs
/// the filter, and the calls the profile always allows take longer paths.
pub fn warn_without_cache(context: &ContextArgs, config: &Config) -> Result<(), Failure> {
    if !config.get_cache_aware() {
        return Ok(());
    }
    let (major, minor) = context.host_context()?.kernel;
    if (major, minor) < (5, 11) {
        eprintln!(
            "sysfence: warning: --cache-aware: Linux {major}.{minor} has no action cache (5.11 \
             brought it), so every call runs the filter; --kernel names the kernel that will \
             load it"
        );
    }
    Ok(())
}

/// Runs the verb.
pub fn run(args: Args) -> Outcome {
    let loaded = load(&args.context, &args.select.arches, &args.profile)?;
    let config = args.select.config_for(&loaded)?;
    warn_without_cache(&args.context, &config)?;
    let progress = sysfence_linux::progress::Progress::start("compiling and checking");
    let compiled = compile(&loaded.policy, &config).map_err(failure)?;
    progress.finish();
    let bytes = render(&compiled, &args.emit)?;
    write_output(args.output.as_ref(), &bytes)?;
    let arches: Vec<&str> = compiled
        .tree()
        .arches()
        .iter()
        .map(|a| a.name.as_str())
        .collect();
    let checked = match compiled.check_report() {
        Some(r) if r.proof().is_some() => "proved equal to the policy".to_string(),
        Some(r) => format!("checked on {} inputs", r.inputs()),
        None => "not checked".to_string(),
    };
    eprintln!(
        "sysfence: {} instructions for {}; {checked}",
        compiled.program().len(),
        arches.join(", ")
    );
    Ok(0)
}

fn render(c: &Compiled, form: &str) -> Result<Vec<u8>, Failure> {
    let insns = c.program().insns();
    let first = c.tree().arches().first().map(|a| a.audit_arch);
    Ok(match form {
        "raw" => c
            .program()
            .to_bytes(first.map_or(sysfence_cbpf::Endian::NATIVE, arch_endian)),
        "asm" => asm::disassemble(insns, &DisasmOptions::new().arch(first)).into_bytes(),
        "c" => asm::to_c_array(insns, "filter").into_bytes(),
        "rust" => asm::to_rust_array(insns, "FILTER").into_bytes(),
        "json" => json(c).into_bytes(),
        other => {
            return Err(Failure::input(format!(
                "--emit: unknown form \"{other}\" (raw, asm, c, rust, json)"
            )));
        }
    })
}

fn json(c: &Compiled) -> String {
    let arches: Vec<String> = c
        .tree()
        .arches()
        .iter()
        .map(|a| {
            format!(
                "{{\"name\": \"{}\", \"audit_arch\": {}, \"intervals\": {}}}",
                a.name, a.audit_arch, a.intervals
            )
        })
        .collect();
    let insns: Vec<String> = c
        .program()
        .insns()
        .iter()
        .map(|i| format!("[{}, {}, {}, {}]", i.code, i.jt, i.jf, i.k))
        .collect();
    format!(
        "{{\n  \"length\": {},\n  \"arches\": [{}],\n  \"insns\": [\n    {}\n  ]\n}}\n",
        insns.len(),
        arches.join(", "),
        insns.join(",\n    ")
    )
}
