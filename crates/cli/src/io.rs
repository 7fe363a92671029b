//! Reading inputs (a path or `-` for stdin) and writing outputs (`-o` or stdout).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::failure::Failure;

/// Reads a whole input: `None` or `-` means standard input.
pub fn read_input(path: Option<&Path>) -> Result<Vec<u8>, Failure> {
    let mut buf = Vec::new();
    match path {
        None => std::io::stdin().read_to_end(&mut buf).map(|_| buf),
        Some(p) if p.as_os_str() == "-" => std::io::stdin().read_to_end(&mut buf).map(|_| buf),
        Some(p) => std::fs::read(p),
    }
    .map_err(|e| Failure::input(format!("{}: {e}", display_name(path))))
}

/// The name to use for an input in messages.
pub fn display_name(path: Option<&Path>) -> String {
    match path {
        None => "<stdin>".to_string(),
        Some(p) if p.as_os_str() == "-" => "<stdin>".to_string(),
        Some(p) => p.display().to_string(),
    }
}

/// Writes an output: to the file given with `-o`, or to standard output.
pub fn write_output(path: Option<&PathBuf>, bytes: &[u8]) -> Result<(), Failure> {
    let result = match path {
        Some(p) if p.as_os_str() != "-" => std::fs::write(p, bytes),
        _ => {
            let mut out = std::io::stdout().lock();
            out.write_all(bytes).and_then(|()| out.flush())
        }
    };
    result.map_err(|e| {
        Failure::input(format!(
            "{}: {e}",
            path.map_or("<stdout>".into(), |p| p.display().to_string())
        ))
    })
}
