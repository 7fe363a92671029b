//! Syscall mixes: the `strace -c` captures of the corpus, plus a uniform mix.
//!
//! In: a directory of `*.strace-c.txt` files (read with the compiler's own
//! parser, [`sysfence_compile::weights::Weights`]), or an arch for the
//! uniform mix. Out: named [`Mix`]es, sorted by name with `uniform` last.
//! Names an arch does not know are dropped when a mix is resolved to numbers.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use sysfence_compile::weights::Weights;
use sysfence_profile::arch::Arch;

/// One named syscall mix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mix {
    name: String,
    weights: Weights,
}

/// Why the mixes could not be read.
#[derive(Debug)]
pub enum MixError {
    /// The directory or a file could not be read.
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A file is not `strace -c` output.
    Parse {
        /// The path.
        path: PathBuf,
        /// The parser's message (with its line).
        message: String,
    },
}

impl fmt::Display for MixError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MixError::Io { path, source } => write!(f, "{}: {source}", path.display()),
            MixError::Parse { path, message } => write!(f, "{}: {message}", path.display()),
        }
    }
}

impl std::error::Error for MixError {}

impl Mix {
    /// A mix from parts.
    pub fn new(name: impl Into<String>, weights: Weights) -> Mix {
        Mix {
            name: name.into(),
            weights,
        }
    }

    /// Every name of the arch's table, once each.
    pub fn uniform(arch: Arch) -> Mix {
        Mix::new(
            "uniform",
            Weights::from_pairs(arch.table().iter().map(|&(name, _)| (name, 1u64))),
        )
    }

    /// The mix's name (the file name without `.strace-c.txt`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The weights, for the weighted layout.
    pub fn weights(&self) -> &Weights {
        &self.weights
    }

    /// Calls per syscall number of one arch.
    pub fn counts(&self, audit_arch: u32) -> BTreeMap<u32, u64> {
        self.weights.for_arch(audit_arch)
    }
}

/// Reads every mix in `dir`, sorted by name: `*strace-c.txt` (`strace -c`
/// output) and `*.weights` (`sysfence record --weights`).
pub fn load_dir(dir: &Path) -> Result<Vec<Mix>, MixError> {
    let io = |source| MixError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_str().is_some_and(is_mix_file))
        .collect();
    paths.sort();
    paths.iter().map(|p| load_file(p)).collect()
}

fn load_file(path: &Path) -> Result<Mix, MixError> {
    let text = std::fs::read_to_string(path).map_err(|source| MixError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let weights = Weights::parse(&text).map_err(|e| MixError::Parse {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let file = path
        .file_name()
        .and_then(|f| f.to_str())
        .unwrap_or_default();
    Ok(Mix::new(mix_name(file), weights))
}

const MIX_SUFFIXES: [&str; 2] = ["strace-c.txt", ".weights"];

fn is_mix_file(path: &str) -> bool {
    MIX_SUFFIXES.iter().any(|s| path.ends_with(s))
}

/// `nginx.strace-c.txt` → `nginx`, `ls-strace-c.txt` → `ls`,
/// `make.weights` → `make`.
fn mix_name(file: &str) -> &str {
    MIX_SUFFIXES
        .iter()
        .find_map(|s| file.strip_suffix(s))
        .unwrap_or(file)
        .trim_end_matches(['.', '-'])
}
