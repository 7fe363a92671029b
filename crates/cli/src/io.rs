//! Reading inputs (a path or `-` for stdin) and writing outputs (`-o` or stdout).
//!
//! Every input is read with a size cap: at most [`MAX_INPUT`] bytes, read as
//! `MAX_INPUT + 1` so a larger input (or an endless one such as
//! `/dev/zero`) is refused without growing memory past the cap. A
//! directory or a FIFO given as a path is refused before it is opened
//! (opening a FIFO would block until a writer appears); use `-` to read a
//! pipe on standard input.

use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

use crate::failure::Failure;

/// The largest input any verb reads: 64 MiB, far above the largest real
/// profile, program or log.
pub const MAX_INPUT: u64 = 64 << 20;

/// Reads a whole input: `None` or `-` means standard input.
pub fn read_input(path: Option<&Path>) -> Result<Vec<u8>, Failure> {
    read_capped(path, MAX_INPUT)
}

/// Reads at most `limit` bytes of an input; more is an error.
pub fn read_capped(path: Option<&Path>, limit: u64) -> Result<Vec<u8>, Failure> {
    let name = display_name(path);
    let fail = |e: std::io::Error| Failure::input(format!("{name}: {e}"));
    let mut buf = Vec::new();
    match path {
        Some(p) if p.as_os_str() != "-" => {
            check_kind(p).map_err(|why| Failure::input(format!("{name}: {why}")))?;
            File::open(p)
                .and_then(|f| f.take(limit + 1).read_to_end(&mut buf))
                .map_err(fail)?;
        }
        _ => {
            std::io::stdin()
                .lock()
                .take(limit + 1)
                .read_to_end(&mut buf)
                .map_err(fail)?;
        }
    }
    if buf.len() as u64 > limit {
        return Err(Failure::input(format!(
            "{name}: larger than {limit} bytes, the most sysfence reads"
        )));
    }
    Ok(buf)
}

/// Refuses directories and FIFOs (and sockets) before they are opened.
fn check_kind(path: &Path) -> Result<(), String> {
    let kind = match std::fs::metadata(path) {
        Ok(m) => m.file_type(),
        // Let `open` report a missing file with the system's words.
        Err(_) => return Ok(()),
    };
    if kind.is_dir() {
        Err("is a directory, not a file".into())
    } else if kind.is_fifo() {
        Err("is a FIFO (named pipe): give `-` and redirect it to standard input".into())
    } else if kind.is_socket() {
        Err("is a socket, not a file".into())
    } else {
        Ok(())
    }
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
