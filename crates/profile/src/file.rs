//! Reading the files a profile names (minijail `@include`s and constants
//! tables, SPO base profiles) and profiles read by path: regular files only,
//! at most [`MAX_INPUT`] bytes, whatever the file system says their size
//! is (`/dev/zero` reports 0, a FIFO never ends).

use std::io::Read;
use std::path::Path;

use crate::json::MAX_INPUT;

/// The bytes of the regular file at `path`; for anything else (missing, a
/// directory, a FIFO, a device, too large) what is wrong, for the caller to
/// put after the file's name.
pub(crate) fn read_bounded(path: &Path) -> Result<Vec<u8>, String> {
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_INPUT as u64 + 1).read_to_end(&mut bytes))
        .map_err(|e| e.to_string())?;
    if bytes.len() > MAX_INPUT {
        return Err(format!("larger than the limit of {MAX_INPUT} bytes"));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_regular_files_are_read() {
        assert!(
            read_bounded(Path::new("/dev/zero"))
                .unwrap_err()
                .contains("not a regular file")
        );
        assert!(
            read_bounded(Path::new("/"))
                .unwrap_err()
                .contains("not a regular file")
        );
        assert!(read_bounded(Path::new("/nonexistent/x")).is_err());
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
        assert!(!read_bounded(&manifest).unwrap().is_empty());
    }
}
