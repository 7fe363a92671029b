//! `sysfence equiv A B`: do two filters return the same value on every
//! input (all arches, numbers, arguments and instruction pointers)?
//!
//! Operands: profiles (with the context flags), raw or assembly programs,
//! `pid:N`. Both are turned into decision diagrams (`sysfence_exact`).
//! Exit status: 0 equal, 1 different (one witness, replayed through the
//! interpreter or evaluator), 2 bad input or undecided within the budget.

use sysfence_exact::compare::{DEFAULT_BUDGET, Verdict, equiv};
use sysfence_exact::subject::Subject;
use sysfence_exact::witness::Named;

use crate::cmd::context::ContextArgs;
use crate::failure::{Failure, Outcome};
use crate::operand;

/// The two operands and what every comparing verb takes with them.
#[derive(clap::Args, Debug)]
pub struct Pair {
    /// First filter: profile, program file or `pid:N`.
    pub a: String,
    /// Second filter.
    pub b: String,
    /// Node budget of the decision diagrams.
    #[arg(long, default_value_t = DEFAULT_BUDGET, value_parser = crate::cmd::equiv::budget)]
    pub budget: usize,
    #[command(flatten)]
    pub context: ContextArgs,
}

impl Pair {
    /// Reads both operands.
    pub fn read(&self) -> Result<(Subject, Subject), Failure> {
        Ok((
            operand::read(&self.a, &self.context)?,
            operand::read(&self.b, &self.context)?,
        ))
    }
}

/// Arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pair: Pair,
}

/// Runs the verb.
pub fn run(args: Args) -> Outcome {
    let (a, b) = args.pair.read()?;
    let verdict = equiv(&a, &b, args.pair.budget).map_err(Failure::input)?;
    report(verdict, "equal", "differ")
}

/// Prints a verdict; shared wording for `equiv` and `refines`.
pub fn report(verdict: Verdict, yes: &str, no: &str) -> Outcome {
    match verdict {
        Verdict::Yes => {
            println!("{yes} on every input");
            Ok(0)
        }
        Verdict::No(w) => {
            println!("{no}: {}", Named(&w.data));
            println!("  A returns {:#010x} ({})", w.a, action(w.a));
            println!("  B returns {:#010x} ({})", w.b, action(w.b));
            Ok(1)
        }
        Verdict::Undecided { budget, sampled } => Err(Failure::input(format!(
            "undecided within budget {budget} nodes; no counter-example in {sampled} random inputs"
        ))),
    }
}

/// The action name of a raw return value.
pub fn action(raw: u32) -> sysfence_cbpf::Action {
    sysfence_cbpf::Action::from_raw(raw)
}

/// A node budget: at least 2 (the two constant leaves).
pub fn budget(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if n >= 2 => Ok(n),
        Ok(_) => Err("a budget holds at least the 2 constant leaves".into()),
        Err(e) => Err(e.to_string()),
    }
}
