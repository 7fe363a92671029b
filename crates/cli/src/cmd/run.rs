//! `sysfence run`: run a command under a profile.
//!
//! In: a profile (any format the profile reader knows; see `docs/profiles.md`),
//! the profile-reading flags every profile verb takes (`--format`,
//! `--kernel`, `--caps`, `--runtime`, `--filter NAME` for a seccompiler
//! thread category, ...), optional `--flags tsync,log,spec_allow`, and
//! `-- CMD ARGS...`. Steps:
//! load and compile the profile (the compiler checks the program against
//! the profile before handing it out), find CMD on `PATH`, set
//! `no_new_privs`, install the filter with `seccomp(2)` and the flags, and
//! `execve` CMD in place of sysfence, so CMD keeps sysfence's process id,
//! stdio and environment.
//!
//! Flags the running kernel does not know (checked without installing
//! anything, see `sysfence_linux::threads::unsupported_flags`) are dropped
//! with a warning: LOG and SPEC_ALLOW only tune logging and mitigations,
//! and TSYNC changes nothing for a single-threaded process about to exec.
//!
//! After the filter is installed, sysfence makes no call but `execve`, so a
//! profile recorded with `sysfence record` (which counts the `execve` that
//! starts the command) is enough to start the command.
//!
//! Exit status: CMD's own (sysfence is replaced by it); 2 when the profile
//! cannot be read or compiled, CMD is not found, or the kernel refuses the
//! filter; 126 when CMD exists but cannot be executed.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

use sysfence_compile::Config;
use sysfence_linux::threads::{Flags, Support, exec_confined, support, unsupported_flags};

use crate::cmd::context::ContextArgs;
use crate::failure::{Failure, Outcome};

/// Arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The profile to apply.
    profile: PathBuf,
    /// How to read the profile.
    #[command(flatten)]
    context: ContextArgs,
    /// seccomp(2) flags: a comma-separated list of tsync, log, spec_allow.
    #[arg(long, default_value = "")]
    flags: String,
    /// The command and its arguments (after `--`).
    #[arg(last = true, required = true, value_name = "CMD")]
    command: Vec<OsString>,
}

/// Runs the verb; returns only on failure.
pub fn run(args: Args) -> Outcome {
    let flags = Flags::parse(&args.flags).map_err(|bad| {
        Failure::input(format!(
            "unknown flag `{bad}` (known: tsync, log, spec_allow)"
        ))
    })?;
    let insns = compile(&args.context, &args.profile)?;
    let (program, rest) = args
        .command
        .split_first()
        .ok_or_else(|| Failure::input("no command given after `--`"))?;
    let path = find_command(program)?;
    if support() == Support::Missing {
        return Err(Failure::input(
            "this kernel has no seccomp filter support (CONFIG_SECCOMP_FILTER)",
        ));
    }
    let flags = usable_flags(flags);
    let mut command = std::process::Command::new(&path);
    command.arg0(program).args(rest);
    let err = exec_confined(command, insns, flags);
    let code = if err.kind() == std::io::ErrorKind::PermissionDenied {
        126
    } else {
        2
    };
    eprintln!("sysfence: {}: {err}", path.display());
    Ok(code)
}

/// Loads and compiles the profile into raw instructions.
fn compile(context: &ContextArgs, profile: &Path) -> Result<Vec<sysfence_cbpf::Insn>, Failure> {
    let loaded = context.load(profile)?;
    let compiled = sysfence_compile::compile(&loaded.policy, &Config::new())
        .map_err(|e| Failure::input(format!("{}: {e}", profile.display())))?;
    Ok(compiled.program().insns().to_vec())
}

/// Drops, with a warning, the flags this kernel does not know.
fn usable_flags(flags: Flags) -> Flags {
    let missing = unsupported_flags(flags);
    if !missing.is_empty() {
        eprintln!(
            "sysfence: warning: this kernel does not know the flag(s) {missing}; installing without them"
        );
    }
    flags.without(missing)
}

/// Finds a command as a shell would: a name with a slash is a path, any
/// other name is looked up on `PATH`.
fn find_command(program: &std::ffi::OsStr) -> Result<PathBuf, Failure> {
    let as_path = Path::new(program);
    if program.as_encoded_bytes().contains(&b'/') {
        return if as_path.exists() {
            Ok(as_path.to_path_buf())
        } else {
            Err(Failure::input(format!(
                "{}: no such file",
                as_path.display()
            )))
        };
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
        .ok_or_else(|| Failure::input(format!("{}: command not found", as_path.display())))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}
