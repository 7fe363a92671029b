//! What the `profile_compile` fuzz target checks: any bytes, read as a
//! profile in every format, never panic the readers; whatever loads compiles
//! without a panic, and the compiler's own check against the reference
//! evaluator never finds a difference (a difference is a compiler bug, which
//! would be a sandbox escape). A program over 4096 instructions is a clear
//! error, not a bug.

use sysfence_compile::{Config, compile};
use sysfence_profile::{Format, LoadOptions, load};

/// Reads `bytes` with format detection and with each format forced, and
/// compiles every policy that loads.
pub fn profile_compile(bytes: &[u8]) {
    let forced = Format::ALL.iter().copied().map(Some);
    for format in std::iter::once(None).chain(forced) {
        let options = LoadOptions {
            format,
            file_name: "fuzz.json".into(),
            ..Default::default()
        };
        let Ok(loaded) = load(bytes, &options) else {
            continue;
        };
        if let Err(e) = compile(&loaded.policy, &Config::new()) {
            assert!(
                e.too_large_len().is_some() || e.is_profile_error(),
                "format {format:?}: compile failed: {e}"
            );
        }
    }
}
