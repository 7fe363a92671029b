//! (being written)

use crate::failure::{Failure, Outcome};

/// Arguments.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Runs the verb.
pub fn run(_args: Args) -> Outcome {
    Err(Failure::input("not built yet"))
}
