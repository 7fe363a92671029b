//! Real kernel time per syscall under each compiler's filter.
//!
//! In: the cases and the programs every compiler built for them. Out: one
//! [`sysfence_linux::kernel_time::Report`] per case, measured in a single
//! interleaved run per case (no filter, then every compiler's program, round
//! after round), with stopping actions turned into `ERRNO(EPERM)` by
//! [`for_timing`] so denied probes return. Needs Linux; installing a filter
//! needs no privilege (NO_NEW_PRIVS), but the numbers mean most on an idle
//! machine with the JIT on.

use sysfence_linux::kernel_time::{Config, KernelTimeError, Report, Subject, for_timing, measure};

use crate::peers::Built;
use crate::set::Case;

/// Times `case.probes` under every program of `built`.
pub fn time_case(case: &Case, built: &[Built], config: &Config) -> Result<Report, KernelTimeError> {
    let subjects: Vec<Subject> = built
        .iter()
        .map(|b| Subject {
            name: b.compiler.label().to_string(),
            program: Some(for_timing(b.program.insns())),
        })
        .collect();
    measure(&subjects, &case.probes, config)
}
