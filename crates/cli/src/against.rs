//! `--against PROFILE` of `status` and `dump`: is a live process confined
//! by exactly what a profile says?
//!
//! In: a process id (its filter stack, combined as the kernel combines
//! stacked filters) and a profile read with the context flags. Out: a
//! proof over every input (`sysfence_exact::compare::equiv`) that both give
//! every call the same return value, or one replayed input where they
//! differ, followed by whether the process is at least as strict as the
//! profile (`refines`, ERRNO data ignored) and, if not, an input where it
//! is more permissive. Exit status: 0 equal, 1 different, 2 unreadable
//! process or profile, or undecided within the budget.

use std::path::Path;

use sysfence_exact::compare::{DEFAULT_BUDGET, DataOrder, Verdict, equiv, refines};
use sysfence_exact::subject::Subject;
use sysfence_exact::witness::Named;

use crate::cmd::context::ContextArgs;
use crate::cmd::equiv::action;
use crate::failure::{Failure, Outcome};

/// Compares process `pid`'s filters with `profile`; prints the verdict.
pub fn check(pid: i32, profile: &Path, context: &ContextArgs) -> Outcome {
    let process = crate::operand::read(&format!("pid:{pid}"), context)?;
    let loaded = context.load(profile)?;
    let policy = Subject::Policy(loaded.policy);
    let shown = profile.display();
    match equiv(&process, &policy, DEFAULT_BUDGET).map_err(Failure::input)? {
        Verdict::Yes => {
            println!(
                "process {pid} is confined by exactly what {shown} says (proven on every input)"
            );
            Ok(0)
        }
        Verdict::No(w) => {
            println!("process {pid} is not confined by exactly what {shown} says:");
            println!(
                "  at {}: the process's filters return {}, the profile {}",
                Named(&w.data),
                action(w.a),
                action(w.b)
            );
            let strict = refines(&process, &policy, DataOrder::Ignore, DEFAULT_BUDGET)
                .map_err(Failure::input)?;
            match strict {
                Verdict::Yes => println!(
                    "  the process's filters are at least as strict as the profile everywhere"
                ),
                Verdict::No(m) => println!(
                    "  the process's filters are more permissive at {}: {} where the profile says {}",
                    Named(&m.data),
                    action(m.a),
                    action(m.b)
                ),
                Verdict::Undecided { budget, .. } => {
                    println!("  at least as strict: undecided within budget {budget} nodes")
                }
            }
            Ok(1)
        }
        Verdict::Undecided { budget, sampled } => Err(Failure::input(format!(
            "undecided within budget {budget} nodes; no difference in {sampled} random inputs"
        ))),
    }
}
