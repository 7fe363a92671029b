//! `sysfence run`: run a command under a profile.
//!
//! In: a profile (any format the profile reader knows; see `docs/profiles.md`),
//! the profile-reading flags every profile verb takes, optional `--flags
//! tsync,log,spec_allow`, `--force`, and `-- CMD ARGS...`.
//!
//! Before anything is installed, the compiled program is asked what it does
//! with the calls the command needs to start, and the run is refused (exit
//! 125, with the reason a container engine would give) when:
//! * the profile installs no filter at all (unconfined);
//! * the program has no branch for this machine's arch (every call would
//!   get the bad-arch action);
//! * `execve` is not allowed (the command cannot start).
//!
//! The filter is installed with the flags the profile's runtime would pass
//! (`Loaded::flags`: the profile's own, or SPEC_ALLOW when it lists none, as
//! runc does) together with `--flags`. A flag `run` cannot honour
//! (NEW_LISTENER: no supervisor receives the notifications; TSYNC_ESRCH,
//! WAIT_KILLABLE_RECV: only with a listener) is left out with a warning.
//!
//! `--force` installs anyway; the kernel then decides (a profile that also
//! denies `exit_group` ends in a signal). Profile warnings are printed as on
//! every verb; `--quiet` shortens them to one line, never to nothing.
//!
//! After the filter is installed sysfence makes no call but `execve` (and
//! `exit_group` when it fails), see `sysfence_linux::exec`.
//!
//! Exit status, as `env` and `docker run`: CMD's own (signal n → 128+n,
//! reported by the shell); 125 when sysfence fails (bad profile, refused
//! profile, the kernel refuses the filter); 126 when CMD exists but cannot
//! be executed (or `execve` is denied under `--force`); 127 when CMD is not
//! found.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

use sysfence_cbpf::action::Action;
use sysfence_cbpf::data::SeccompData;
use sysfence_cbpf::interp;
use sysfence_cbpf::program::Program;
use sysfence_compile::Config;
use sysfence_linux::exec::{EXIT_CANNOT_EXECUTE, EXIT_NOT_FOUND, Exec, exec_confined};
use sysfence_linux::threads::{Flags, Support, support, unsupported_flags};
use sysfence_profile::Arch;

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
    /// seccomp(2) flags: a comma-separated list of tsync, log, spec_allow,
    /// added to the ones the profile's runtime would pass.
    #[arg(long, default_value = "")]
    flags: String,
    /// Install even a profile that stops the command from starting, has no
    /// filter for this machine's arch, or installs no filter.
    #[arg(long)]
    force: bool,
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
    let (cmd, rest) = args
        .command
        .split_first()
        .ok_or_else(|| Failure::input("no command given after `--`"))?;
    let path = find_command(cmd)?;
    let exec = Exec::new(&path, cmd, rest).map_err(Failure::input)?;
    let (program, runtime_flags) = compile(&args.context, &args.profile, args.force, &exec)?;
    let flags = flags.union(applied(&runtime_flags));
    if support() == Support::Missing {
        return Err(Failure::input(
            "this kernel has no seccomp filter support (CONFIG_SECCOMP_FILTER)",
        ));
    }
    let err = exec_confined(&exec, program.insns(), usable_flags(flags));
    Err(Failure::input(format!(
        "{}: the filter was not installed: {err}",
        args.profile.display()
    )))
}

/// Loads, compiles and vets the profile.
fn compile(
    context: &ContextArgs,
    profile: &Path,
    force: bool,
    exec: &Exec,
) -> Result<(Program, Vec<String>), Failure> {
    let (loaded, source) = context.load_silently(profile)?;
    let name = profile.display().to_string();
    let count = crate::warnings::count(&loaded.warnings);
    if context.warn.quiet && count > 0 {
        eprintln!("sysfence: {name}: {count} warning(s) not shown (--quiet)");
    }
    crate::warnings::report(&loaded.warnings, &source, &name, context.warn)?;
    let policy = &loaded.policy;
    if policy.arches().is_empty() {
        refuse(
            force,
            &format!("{name}: the profile installs no filter (the runtime runs it unconfined)"),
        )?;
    }
    if let Some(native) = Arch::native()
        && !policy.arches().is_empty()
        && policy.arch(native.audit_arch()).is_none()
    {
        refuse(
            force,
            &format!(
                "{name}: the profile has no filter for this machine's arch ({native}): every call would get the bad-arch action"
            ),
        )?;
    }
    let compiled = sysfence_compile::compile(policy, &Config::new())
        .map_err(|e| Failure::input(format!("{name}: {e}")))?;
    if let Some(native) = Arch::native() {
        refuse_unstartable(compiled.program(), native, force, exec)
            .map_err(|f| Failure::input(format!("{name}: {f}")))?;
    }
    Ok((compiled.program().clone(), loaded.flags.clone()))
}

/// The runtime's flags `run` can pass; the others are named in a warning.
fn applied(runtime: &[String]) -> Flags {
    let mut flags = Flags::empty();
    for name in runtime {
        match Flags::parse(name) {
            Ok(f) => flags = flags.union(f),
            Err(_) => eprintln!(
                "sysfence: warning: the profile's flag {name} is not passed: run has no seccomp notification listener"
            ),
        }
    }
    flags
}

/// Refuses a program that denies `execve`, the call that starts the command,
/// with the very argument words it will be called with.
fn refuse_unstartable(
    program: &Program,
    native: Arch,
    force: bool,
    exec: &Exec,
) -> Result<(), Failure> {
    let nr = native.syscall_nr("execve").unwrap_or(u32::MAX);
    let data = SeccompData {
        args: exec.call_args(),
        ..SeccompData::new(native.audit_arch(), nr)
    };
    let raw = interp::run(program, &data).raw;
    match Action::from_raw(raw) {
        Action::Allow | Action::Log => Ok(()),
        action => refuse(
            force,
            &format!("the profile denies execve ({action}): the command cannot start"),
        ),
    }
}

fn refuse(force: bool, why: &str) -> Result<(), Failure> {
    if force {
        eprintln!("sysfence: warning: {why}; installing anyway (--force)");
        Ok(())
    } else {
        Err(Failure::input(format!(
            "{why} (--force installs it anyway)"
        )))
    }
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
/// other name is looked up on `PATH` (the first executable file of that
/// name). Missing: exit 127; not executable: 126.
fn find_command(program: &OsStr) -> Result<PathBuf, Failure> {
    let as_path = Path::new(program);
    let not_found = |what: &str| {
        Failure::status(
            EXIT_NOT_FOUND as u8,
            format!("{}: {what}", as_path.display()),
        )
    };
    let found = if program.as_encoded_bytes().contains(&b'/') {
        Some(as_path.to_path_buf()).filter(|p| p.exists())
    } else {
        let path =
            std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
        // As execvp: the first executable file; a file that is not
        // executable is skipped, and reported only when nothing else is found.
        let files: Vec<PathBuf> = std::env::split_paths(&path)
            .map(|dir| dir.join(program))
            .filter(|candidate| candidate.is_file())
            .collect();
        files
            .iter()
            .find(|f| is_executable(f))
            .or(files.first())
            .cloned()
    };
    let path = found.ok_or_else(|| not_found("command not found"))?;
    if !is_executable(&path) {
        return Err(Failure::status(
            EXIT_CANNOT_EXECUTE as u8,
            format!("{}: not an executable file", path.display()),
        ));
    }
    Ok(path)
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_runtime_flags_run_can_pass_are_passed() {
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let f = applied(&names(&[
            "SECCOMP_FILTER_FLAG_LOG",
            "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
            "SECCOMP_FILTER_FLAG_NEW_LISTENER",
        ]));
        assert_eq!(f, Flags::LOG.union(Flags::SPEC_ALLOW));
        assert_eq!(
            applied(&names(&["SECCOMP_FILTER_FLAG_TSYNC"])),
            Flags::TSYNC
        );
        assert!(applied(&[]).is_empty());
    }
}
