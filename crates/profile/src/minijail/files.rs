//! minijail's file-level statements: `@include`, `@frequency`, `@default`,
//! `@denylist`, and the files they name.
//!
//! In: the policy's text, its folder, the include folder and the arch
//! table. Out: a [`Reader`] holding every filter statement in reading order
//! (includes expanded where they stand), the summed `@frequency` counts, the
//! last `@default` action and warnings. Paths are resolved as minijail does
//! (against the folder of the file that names them), except that absolute
//! paths (crosvm writes `/usr/share/policy/crosvm/NAME`) are looked up by
//! their file name in the include folder, never against `/`. minijail's
//! include depth limit (10 parser states, so nine nested files) applies; an
//! include loop is reported as a loop rather than as that limit. `@denylist`
//! is refused as minijail's compiler refuses it without `--denylist`.

use std::collections::{BTreeMap, HashMap};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use super::constants::ArchTable;
use super::lexer::{Kind, Statement, tokenize};
use super::parser::{
    Cursor, FilterStatement, PResult, default_action, descriptor, filter_statement,
};
use crate::diag::Diagnostic;
use crate::ir::{Action, Origin};

/// minijail's `--include-depth-limit` default: parser states, counting one
/// for the command line, so nine files deep.
pub const INCLUDE_DEPTH_LIMIT: usize = 10;

/// Comparisons (and unconditional filters) the policy may expand to,
/// counted once per syscall a statement names and once per time its file
/// is included: repeated includes and repeated names in braces multiply a
/// small file. A policy minijail's compiler takes has fewer (it fails past
/// 493 comparisons in one syscall; see `COMPILER_ATOMS`).
pub const MAX_EXPANDED: usize = 1 << 18;

/// A file being read.
#[derive(Clone, Debug)]
struct Open {
    name: String,
    dir: Option<PathBuf>,
    key: Option<PathBuf>,
}

/// Everything read from a policy and the files it names.
#[derive(Debug)]
pub struct Reader<'a> {
    table: &'a ArchTable,
    include_dir: Option<PathBuf>,
    shown_include_dir: Option<PathBuf>,
    stack: Vec<Open>,
    /// Filter statements in reading order.
    pub statements: Vec<FilterStatement>,
    /// `@frequency` counts by `(name, number)`.
    pub frequency: BTreeMap<(String, u32), u64>,
    /// The last `@default` action read.
    pub default: Option<Action>,
    /// Warnings, in reading order.
    pub warnings: Vec<Diagnostic>,
    /// The text of every file read other than the policy, by name.
    pub sources: HashMap<String, Arc<str>>,
    /// Comparisons read so far, as [`MAX_EXPANDED`] counts them.
    expanded: usize,
}

impl<'a> Reader<'a> {
    /// A reader for one arch, resolving absolute paths in `include_dir`;
    /// messages name included files under `shown_include_dir` (the
    /// policy's folder as the user named it, when that is the include folder).
    pub fn new(
        table: &'a ArchTable,
        include_dir: Option<PathBuf>,
        shown_include_dir: Option<PathBuf>,
    ) -> Reader<'a> {
        Reader {
            table,
            include_dir,
            shown_include_dir,
            stack: Vec::new(),
            statements: Vec::new(),
            frequency: BTreeMap::new(),
            default: None,
            warnings: Vec::new(),
            sources: HashMap::new(),
            expanded: 0,
        }
    }

    /// Reads the policy `name` (in folder `dir`) and everything it includes.
    pub fn read(&mut self, name: &str, dir: Option<PathBuf>, text: &str) -> PResult<()> {
        let key = dir
            .as_ref()
            .and_then(|d| Path::new(name).file_name().map(|f| d.join(f)))
            .and_then(|p| p.canonicalize().ok());
        self.read_file(
            Open {
                name: name.to_string(),
                dir,
                key,
            },
            text,
        )
    }

    fn read_file(&mut self, file: Open, text: &str) -> PResult<()> {
        let tokens = tokenize(text).map_err(|e| {
            let o = origin(&file.name, e.line, e.column);
            (format!("invalid token \"{}\"", e.text), o)
        })?;
        if let Some(line) = tokens.dangling {
            let o = origin(&file.name, line, 1);
            self.warn(
                &o,
                "the file ends inside a continued statement (`\\`); minijail drops that statement",
            );
        }
        self.stack.push(file);
        let result = tokens
            .statements
            .iter()
            .try_for_each(|st| self.statement(st));
        self.stack.pop();
        result
    }

    fn current(&self) -> &Open {
        self.stack
            .last()
            .expect("a file is open while statements are read")
    }

    fn warn(&mut self, o: &Origin, msg: &str) {
        let source = self.sources.get(&o.file).cloned();
        self.warnings
            .push(Diagnostic::warning(o, msg).with_source(source));
    }

    fn statement(&mut self, st: &Statement) -> PResult<()> {
        let name = self.current().name.clone();
        let mut c = Cursor::new(st, &name);
        match c.peek() {
            Some(Kind::Include) => self.include(&mut c)?,
            Some(Kind::Frequency) => self.frequency_statement(&mut c)?,
            Some(Kind::Default) => {
                c.next("@default")?;
                if c.is_empty() {
                    return Err(c.error_here("empty action"));
                }
                self.default = Some(default_action(&mut c)?);
            }
            Some(Kind::Denylist) => {
                return Err(c.error_here(
                    "policy is denylist, but flag --denylist not passed in (sysfence reads allow-list policies, as minijail's compiler does by default)",
                ));
            }
            _ => {
                let fs = filter_statement(&mut c, self.table)?;
                if fs.syscalls.is_empty() {
                    // A statement for other arches only is skipped before
                    // minijail looks for extra tokens.
                    if let Some(t) = c.front() {
                        let o = c.origin(t);
                        self.warn(&o, "extra tokens after a statement for other arches; minijail skips the statement and never reads them");
                    }
                    return Ok(());
                }
                self.count(&fs)?;
                self.statements.push(fs);
            }
        }
        match c.front() {
            Some(t) => Err(c.error(t, "extra tokens")),
            None => Ok(()),
        }
    }

    /// Adds a statement's comparisons, once per syscall it names, to what
    /// the policy expands to; past [`MAX_EXPANDED`] the statement is an error.
    fn count(&mut self, fs: &FilterStatement) -> PResult<()> {
        let per_syscall: usize = fs
            .filters
            .iter()
            .map(|f| {
                f.expr
                    .iter()
                    .flatten()
                    .map(|c| c.atoms.len())
                    .sum::<usize>()
                    .max(1)
            })
            .sum();
        self.expanded = self
            .expanded
            .saturating_add(per_syscall.saturating_mul(fs.syscalls.len()));
        if self.expanded > MAX_EXPANDED {
            let msg = format!(
                "the policy expands to more than {MAX_EXPANDED} comparisons (counted once per syscall a statement names and per time its file is included); minijail's compiler takes at most 493 in one syscall"
            );
            return Err((msg, fs.colon.clone()));
        }
        Ok(())
    }

    /// The file a path token names, as minijail resolves it (absolute paths
    /// in the include folder).
    fn resolve(&self, c: &Cursor, kind: &str) -> PResult<Option<PathBuf>> {
        let t = c.front().expect("the caller checked for a path token");
        let p = Path::new(&t.text);
        if p.is_absolute() {
            let dir = self.include_dir.as_ref().ok_or_else(|| {
                c.error(
                    t,
                    format!("{kind} {}: no include folder (give --include-dir)", t.text),
                )
            })?;
            return Ok(p.file_name().map(|f| dir.join(f)));
        }
        Ok(self.current().dir.as_ref().map(|d| normalize(&d.join(p))))
    }

    /// The name messages give a file a path token names: the path as the
    /// user would write it, relative to the names already shown.
    fn shown(&self, token: &str) -> String {
        let p = Path::new(token);
        let shown = if p.is_absolute() {
            let file = p.file_name().map(PathBuf::from).unwrap_or_default();
            self.shown_include_dir
                .as_ref()
                .map_or(file.clone(), |d| d.join(&file))
        } else {
            let dir = Path::new(&self.current().name)
                .parent()
                .unwrap_or(Path::new(""));
            normalize(&dir.join(p))
        };
        shown.display().to_string()
    }

    fn path_token(&self, c: &mut Cursor, what: &str) -> PResult<(PathBuf, String)> {
        c.next(what)?;
        if c.is_empty() {
            return Err(c.error_here(format!("empty {what} path")));
        }
        let t = c.front().expect("not empty").clone();
        if t.kind != Kind::Path {
            return Err(c.error(&t, format!("invalid {what} path")));
        }
        if what == "include" && self.stack.len() + 1 >= INCLUDE_DEPTH_LIMIT {
            return Err(c.error_here(format!(
                "@include statement nested too deep (minijail's limit: {} files)",
                INCLUDE_DEPTH_LIMIT - 1
            )));
        }
        let resolved = self.resolve(c, what)?;
        c.next("path")?;
        match resolved.filter(|p| p.is_file()) {
            Some(p) => Ok((p, self.shown(&t.text))),
            None => Err(c.error(&t, format!("could not open {what} file {}", t.text))),
        }
    }

    fn include(&mut self, c: &mut Cursor) -> PResult<()> {
        let at = c.front().map(|t| c.origin(t)).expect("an @include token");
        let (path, name) = self.path_token(c, "include")?;
        let key = path.canonicalize().ok();
        if key.is_some() && self.stack.iter().any(|f| f.key == key) {
            let chain: Vec<&str> = self.stack.iter().map(|f| f.name.as_str()).collect();
            let msg = format!(
                "include loop: {name} is already being read ({})",
                chain.join(" → ")
            );
            return Err((msg, at));
        }
        let text = read_text(&path).map_err(|m| (m, at.clone()))?;
        self.sources.insert(name.clone(), text.as_str().into());
        let dir = path.parent().map(Path::to_path_buf);
        self.read_file(Open { name, dir, key }, &text)
    }

    fn frequency_statement(&mut self, c: &mut Cursor) -> PResult<()> {
        let at = c.front().map(|t| c.origin(t)).expect("an @frequency token");
        let (path, name) = self.path_token(c, "frequency")?;
        let text = read_text(&path).map_err(|m| (m, at))?;
        self.sources.insert(name.clone(), text.as_str().into());
        let tokens = tokenize(&text).map_err(|e| {
            (
                format!("invalid token \"{}\"", e.text),
                origin(&name, e.line, e.column),
            )
        })?;
        for st in &tokens.statements {
            let mut fc = Cursor::new(st, &name);
            let (syscalls, count) = frequency_line(&mut fc, self.table)?;
            if let Some(t) = fc.front() {
                let o = fc.origin(t);
                self.warn(&o, "extra tokens after the count; minijail ignores them");
            }
            for s in syscalls {
                let n = self.frequency.entry(s).or_insert(0);
                *n = n.saturating_add(count);
            }
        }
        Ok(())
    }
}

/// `descriptor ':' count` of a frequency file; the count as Python's
/// `int(text, 0)` reads it, negative counts refused.
pub fn frequency_line(c: &mut Cursor, table: &ArchTable) -> PResult<(Vec<(String, u32)>, u64)> {
    let syscalls = descriptor(c, table)?;
    let colon = c.next("colon")?;
    if colon.kind != Kind::Colon {
        return Err(c.error(&colon, "invalid colon"));
    }
    let n = c.next("number")?;
    if n.kind != Kind::Number {
        return Err(c.error(&n, "invalid number"));
    }
    let count = python_int(&n.text).ok_or_else(|| c.error(&n, "invalid number"))?;
    Ok((syscalls, count))
}

/// Python's `int(text, 0)` for a count minijail takes: `0x` hex, decimal
/// without leading zeros (or all zeros), a sign on zero (`-0` is 0); a
/// negative count is `None`, and one past `u64` is `u64::MAX` (Python's
/// integers have no bound, and a count is only a weight).
fn python_int(s: &str) -> Option<u64> {
    let (negative, body) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (digits, radix) = match body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        Some(h) => (h, 16),
        None if body.len() > 1 && body.starts_with('0') && !body.bytes().all(|b| b == b'0') => {
            return None;
        }
        None => (body, 10),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let zero = digits.bytes().all(|b| b == b'0');
    match (negative, zero) {
        (_, true) => Some(0),
        (true, false) => None,
        (false, false) => Some(u64::from_str_radix(digits, radix).unwrap_or(u64::MAX)),
    }
}

fn read_text(path: &Path) -> Result<String, String> {
    let bytes = crate::file::read_bounded(path).map_err(|e| format!("{}: {e}", path.display()))?;
    String::from_utf8(bytes).map_err(|e| format!("{}: not UTF-8 ({e})", path.display()))
}

/// A place in a minijail file (no JSON path).
pub(super) fn origin(file: &str, line: u32, column: u32) -> Origin {
    Origin {
        file: file.to_string(),
        line,
        column,
        path: String::new(),
    }
}

/// `os.path.normpath`: `.` dropped, `..` folded, without touching the disk.
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir
                if matches!(out.components().next_back(), Some(Component::Normal(_))) =>
            {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_read_like_python() {
        assert_eq!(python_int("0x10"), Some(16));
        assert_eq!(python_int("000"), Some(0));
        assert_eq!(python_int("010"), None);
        assert_eq!(python_int("-1"), None);
        // A sign on zero is zero; past u64 a count saturates.
        assert_eq!(python_int("-0"), Some(0));
        assert_eq!(python_int("-0x0"), Some(0));
        assert_eq!(python_int("-00"), Some(0));
        assert_eq!(python_int("99999999999999999999999"), Some(u64::MAX));
        assert_eq!(python_int("0x1ffffffffffffffff"), Some(u64::MAX));
        assert_eq!(python_int("-0x1"), None);
        assert_eq!(normalize(Path::new("/a/./b/../c")), PathBuf::from("/a/c"));
    }
}
