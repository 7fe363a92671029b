//! `sysfence refines A B`: is A at least as strict as B on every input?
//!
//! Strictness: KILL_PROCESS > KILL_THREAD > TRAP > ERRNO > USER_NOTIF >
//! TRACE > LOG > ALLOW (an unknown action kills, like KILL_PROCESS). Data of
//! ERRNO, TRAP and TRACE is ignored by default (`--data ignore`: any errno
//! denies the call); `--data exact` requires equal data where the actions
//! are equally strict. Exit status: 0 yes, 1 no (with an input where A is
//! more permissive), 2 bad input or undecided.

use sysfence_exact::compare::{DataOrder, refines};

use crate::cmd::equiv::{Pair, report};
use crate::failure::{Failure, Outcome};

/// How action data compares.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Data {
    /// Equally strict whatever the data.
    Ignore,
    /// Equal data required.
    Exact,
}

/// Arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// A (the filter that should be at least as strict), then B.
    #[command(flatten)]
    pair: Pair,
    /// How ERRNO/TRAP/TRACE data compares.
    #[arg(long, value_enum, default_value = "ignore")]
    data: Data,
}

/// Runs the verb.
pub fn run(args: Args) -> Outcome {
    let (a, b) = args.pair.read()?;
    let order = match args.data {
        Data::Ignore => DataOrder::Ignore,
        Data::Exact => DataOrder::Exact,
    };
    let verdict = refines(&a, &b, order, args.pair.budget).map_err(Failure::input)?;
    report(
        verdict,
        "A is at least as strict as B",
        "A is more permissive",
    )
}
