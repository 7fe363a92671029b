//! `sysfence`: the command-line front door to the sysfence crates.
//!
//! The binary is thin: each verb lives in `cmd/<verb>.rs`, parses its own
//! arguments with clap, calls the library crates and prints. Exit status:
//! 0 for success, 1 when the answer is "no" (a program the kernel would
//! reject, a check that found a difference), 2 for bad input or usage;
//! `run` and `record` follow `env` and `docker run` instead (125 for
//! sysfence's own failure, 126, 127, else the command's status).
//!
//! Output goes through `print!` and plain writes to standard output; a
//! closed pipe there is handled once for every verb, at startup:
//! `SIGPIPE` gets its default action back
//! ([`sysfence_linux::sigpipe::restore_default`]), so sysfence ends
//! quietly, killed by `SIGPIPE`, as other Unix tools do (and `run` hands
//! its command the disposition a shell would).

mod against;
mod builtin_syscalls;
mod cmd;
mod failure;
mod io;
mod operand;
mod progfile;
mod restart;
mod warnings;

use clap::{Parser, Subcommand};

/// Compile, check, run and measure Linux seccomp filters.
#[derive(Parser, Debug)]
#[command(name = "sysfence", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Assemble bpf_asm text into a raw program.
    Asm(cmd::asm::Args),
    /// Disassemble a raw program.
    Disasm(cmd::disasm::Args),
    /// Check a raw or assembly program as seccomp(2) would.
    Validate(cmd::validate::Args),
    /// Run a program or profile on one syscall, or a batch of them.
    Emu(cmd::emu::Args),
    /// Print an arch's syscall table, or look syscalls up in it.
    Syscalls(cmd::syscalls::Args),
    /// Report every warning and error in a profile, with source excerpts.
    Lint(cmd::lint::Args),
    /// Say what a profile does with one syscall, and which rule decides.
    Explain(cmd::explain::Args),
    /// Run a command under a profile (no_new_privs, seccomp, exec).
    Run(cmd::run::Args),
    /// Print the seccomp filters of a running process.
    Dump(cmd::dump::Args),
    /// Show a process's seccomp mode and which syscalls its filters allow.
    Status(cmd::status::Args),
    /// Record the syscalls of a command (or a log) into an allow-list profile.
    Record(cmd::record::Args),
    /// Compile a profile to a checked seccomp program.
    Compile(cmd::compile::Args),
    /// Compare a profile's compiled program with its policy; summary per arch.
    Check(cmd::check::Args),
    /// Instructions per syscall for each layout and syscall mix.
    Cost(cmd::cost::Args),
    /// Prove two filters equal on every input, or show an input where they differ.
    Equiv(cmd::equiv::Args),
    /// Every region of the input space where two filters differ.
    Diff(cmd::diff::Args),
    /// Prove A at least as strict as B, or show where A is more permissive.
    Refines(cmd::refines::Args),
    /// Write a profile proven equal to any filter (program, dump, pid:N).
    Decompile(cmd::decompile::Args),
    /// Exact shares of the input space per action, arch and syscall.
    Count(cmd::count::Args),
}

/// Exit status of `run` and `record` for sysfence's own failures, as
/// `env` and `docker run` use it (126 and 127 stay theirs).
const OWN_FAILURE: u8 = 125;

/// Whether the verb on the command line runs a command (`run`, `record`).
fn runs_a_command() -> bool {
    matches!(
        std::env::args_os()
            .nth(1)
            .as_deref()
            .and_then(|a| a.to_str()),
        Some("run" | "record")
    )
}

fn main() -> std::process::ExitCode {
    // `signal` fails only for an invalid signal number, never for SIGPIPE.
    let _ = sysfence_linux::sigpipe::restore_default();
    let own = |code: u8| {
        if runs_a_command() && (1..=2).contains(&code) {
            OWN_FAILURE
        } else {
            code
        }
    };
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { own(2) } else { 0 };
            let _ = e.print();
            return std::process::ExitCode::from(code);
        }
    };
    let result = match cli.command {
        Command::Asm(a) => cmd::asm::run(a),
        Command::Disasm(a) => cmd::disasm::run(a),
        Command::Validate(a) => cmd::validate::run(a),
        Command::Emu(a) => cmd::emu::run(a),
        Command::Syscalls(a) => cmd::syscalls::run(a),
        Command::Lint(a) => cmd::lint::run(a),
        Command::Explain(a) => cmd::explain::run(a),
        Command::Run(a) => cmd::run::run(a),
        Command::Dump(a) => cmd::dump::run(a),
        Command::Status(a) => cmd::status::run(a),
        Command::Record(a) => cmd::record::run(a),
        Command::Compile(a) => cmd::compile::run(a),
        Command::Check(a) => cmd::check::run(a),
        Command::Cost(a) => cmd::cost::run(a),
        Command::Equiv(a) => cmd::equiv::run(a),
        Command::Diff(a) => cmd::diff::run(a),
        Command::Refines(a) => cmd::refines::run(a),
        Command::Decompile(a) => cmd::decompile::run(a),
        Command::Count(a) => cmd::count::run(a),
    };
    match result {
        Ok(code) => std::process::ExitCode::from(code),
        Err(f) => {
            eprintln!("sysfence: {f}");
            std::process::ExitCode::from(own(f.code()))
        }
    }
}
