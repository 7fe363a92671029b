//! Warnings and errors about a profile, each tied to a place in its source.
//!
//! A [`Diagnostic`] is something the runtimes would accept but that changes
//! or hides meaning (an unknown key, a rule libseccomp silently drops, an
//! unknown syscall name). A [`ProfileError`] is something they refuse, or
//! input that is not a profile at all. Both carry an [`Origin`]: file,
//! line, column and JSON path. [`Diagnostic::render`] and
//! [`ProfileError::render`] add a source excerpt with a caret.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use crate::ir::Origin;

/// How serious a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Worth knowing; the outcome is what the text suggests.
    Note,
    /// The runtime's outcome differs from what the text suggests.
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Note => "note",
            Severity::Warning => "warning",
        })
    }
}

/// A warning or note about a profile that still loads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// How serious.
    pub severity: Severity,
    /// Lower-case message.
    pub message: String,
    /// Where.
    pub origin: Origin,
    /// A second place the message speaks of (the rule that won, ...).
    pub related: Option<Origin>,
    /// A stable name for the kind of diagnostic, when it has one
    /// (`libseccomp-ghsa-4q85`, ...).
    pub code: Option<&'static str>,
    /// The text of the file the origin is in, when it is not the profile
    /// itself (a minijail `@include`d file).
    source: Option<Arc<str>>,
}

/// Diagnostics of one severity a profile keeps. Past it they are counted,
/// not kept, and one more diagnostic says how many were left out: a
/// profile that names one syscall a million times would otherwise hold a
/// million notes (hundreds of bytes each, for every arch).
pub const KEPT: usize = 10_000;

/// The diagnostics left out past [`KEPT`], per severity (note, warning),
/// with where the first of them was.
#[derive(Debug, Default)]
pub(crate) struct LeftOut {
    counts: [usize; 2],
    first: [Option<Origin>; 2],
}

impl LeftOut {
    /// Leaves out the diagnostics of each severity past [`KEPT`]; does
    /// nothing until `diags` holds twice that, so that calling it after
    /// every step costs nothing in the common case.
    pub(crate) fn trim(&mut self, diags: &mut Vec<Diagnostic>) {
        if diags.len() > 2 * KEPT {
            self.trim_now(diags);
        }
    }

    fn trim_now(&mut self, diags: &mut Vec<Diagnostic>) {
        let mut kept = [0usize; 2];
        diags.retain(|d| {
            let i = usize::from(d.severity == Severity::Warning);
            kept[i] += 1;
            if kept[i] <= KEPT {
                return true;
            }
            self.counts[i] += 1;
            self.first[i].get_or_insert_with(|| d.origin.clone());
            false
        });
    }

    /// Leaves out what is past [`KEPT`] and says, per severity, how many.
    pub(crate) fn finish(mut self, diags: &mut Vec<Diagnostic>) {
        self.trim_now(diags);
        for (i, first) in self.first.iter().enumerate() {
            let Some(at) = first else { continue };
            let kind = ["note", "warning"][i];
            let msg = format!(
                "{} more {kind}s from here on are left out (the first {KEPT} of each kind are kept)",
                self.counts[i]
            );
            diags.push(match i {
                0 => Diagnostic::note(at, msg),
                _ => Diagnostic::warning(at, msg),
            });
        }
    }
}

impl Diagnostic {
    pub(crate) fn warning(origin: &Origin, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            message: printable(&message.into()).into_owned(),
            origin: origin.clone(),
            related: None,
            code: None,
            source: None,
        }
    }

    pub(crate) fn note(origin: &Origin, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Note,
            message: printable(&message.into()).into_owned(),
            origin: origin.clone(),
            related: None,
            code: None,
            source: None,
        }
    }

    pub(crate) fn with_code(mut self, code: &'static str) -> Diagnostic {
        self.code = Some(code);
        self
    }

    /// The diagnostic, excerpted from `text` (the file its origin is in)
    /// rather than from the text given to [`Diagnostic::render`]; shared,
    /// so that a file's many diagnostics hold one copy of it.
    pub(crate) fn with_source(mut self, text: Option<Arc<str>>) -> Diagnostic {
        self.source = text;
        self
    }

    pub(crate) fn with_related(mut self, related: &Origin) -> Diagnostic {
        self.related = Some(related.clone());
        self
    }

    /// The diagnostic with source excerpts of its origin (and of the related
    /// place) taken from `source`, the text the profile was read from.
    pub fn render(&self, source: &str) -> String {
        let mut out = match self.code {
            Some(code) => format!("{}[{code}]: {}\n", self.severity, self),
            None => format!("{}: {}\n", self.severity, self),
        };
        let source = self.source.as_deref().unwrap_or(source);
        out.push_str(&excerpt(source, &self.origin));
        if let Some(r) = &self.related {
            out.push_str(&format!("  related: {}\n", location(r)));
            out.push_str(&excerpt(source, r));
        }
        out
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", location(&self.origin), self.message)
    }
}

/// `s` with every control character escaped (`\n`, `\r`, `\t`, `\0`,
/// `\u{1b}`, ...), so that text taken from a profile — a syscall name, a
/// key, a path built from keys, a source line — can never start a line of
/// its own or drive the terminal when a message shows it. Every message,
/// location and excerpt passes through here; nothing else is changed.
pub(crate) fn printable(s: &str) -> Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if c.is_control() {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// `file:line:column: path` (parts that are unknown are left out).
fn location(o: &Origin) -> String {
    let mut s = o.file.clone();
    if o.line > 0 {
        s.push_str(&format!(":{}:{}", o.line, o.column));
    }
    if !o.path.is_empty() {
        if !s.is_empty() {
            s.push_str(": ");
        }
        s.push_str(&o.path);
    }
    printable(&s).into_owned()
}

/// Characters of a source line an excerpt shows.
const EXCERPT_WIDTH: usize = 160;

/// The source line of `o` with a caret under its column, or nothing when
/// the line is unknown. A long line (a minified JSON profile, a minijail
/// line of many clauses) is shown in a window of 160 characters around
/// the column, cut ends marked `...`.
pub fn excerpt(source: &str, o: &Origin) -> String {
    if o.line == 0 {
        return String::new();
    }
    let Some(text) = source.lines().nth(o.line as usize - 1) else {
        return String::new();
    };
    let at = o.column.saturating_sub(1) as usize;
    // Keep the column a quarter of the window from its start once it would
    // fall in the window's last quarter.
    let start = if at < EXCERPT_WIDTH * 3 / 4 {
        0
    } else {
        at - EXCERPT_WIDTH / 4
    };
    let window: Vec<char> = text.chars().skip(start).take(EXCERPT_WIDTH).collect();
    let mut shown: String = window.iter().map(|&c| shown_char(c)).collect();
    if text.chars().count() > start + EXCERPT_WIDTH {
        shown.push_str("...");
    }
    let lead = if start > 0 { "..." } else { "" };
    // The caret counts the characters before it as they are shown.
    let before = at - start;
    let width: usize = window
        .iter()
        .take(before)
        .map(|&c| shown_char(c).chars().count())
        .sum::<usize>()
        + before.saturating_sub(window.len());
    let caret = " ".repeat(lead.len() + width);
    format!("{:>6} | {lead}{shown}\n       | {caret}^\n", o.line)
}

/// One character of an excerpt: a tab as a space (keeping the caret under
/// its column), other control characters escaped as [`printable`] does.
fn shown_char(c: char) -> String {
    match c {
        '\t' => " ".to_string(),
        c => printable(c.encode_utf8(&mut [0; 4])).into_owned(),
    }
}

/// Why a profile could not be loaded. The message names the place:
/// `file:line:column: $.syscalls[3].action: unknown action "SCMP_ACT_FOO"`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProfileError {
    origin: Origin,
    message: String,
    source: Option<Arc<str>>,
}

impl ProfileError {
    pub(crate) fn new(origin: &Origin, message: impl Into<String>) -> ProfileError {
        ProfileError {
            origin: origin.clone(),
            message: printable(&message.into()).into_owned(),
            source: None,
        }
    }

    /// The error, excerpted from `text` (the file its origin is in) rather
    /// than from the text given to [`ProfileError::render`].
    pub(crate) fn with_source(mut self, text: Option<Arc<str>>) -> ProfileError {
        self.source = text;
        self
    }

    /// Where the problem is.
    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    /// The message without the location.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The error with a source excerpt.
    pub fn render(&self, source: &str) -> String {
        let source = self.source.as_deref().unwrap_or(source);
        format!("error: {self}\n{}", excerpt(source, &self.origin))
    }
}

impl fmt::Display for ProfileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", location(&self.origin), self.message)
    }
}

impl std::error::Error for ProfileError {}

#[cfg(test)]
mod tests {
    use super::*;

    /// Past [`KEPT`] of a severity, diagnostics are counted, and one more
    /// says how many, from where; the other severity keeps its own.
    #[test]
    fn diagnostics_past_the_bound_are_counted_not_kept() {
        let at = |line| Origin {
            file: "p.json".into(),
            line,
            column: 1,
            path: "$".into(),
        };
        let mut diags: Vec<Diagnostic> = (0..3 * KEPT as u32)
            .map(|i| Diagnostic::note(&at(i + 1), "n"))
            .collect();
        diags.push(Diagnostic::warning(&at(1), "w"));
        let mut left_out = LeftOut::default();
        left_out.trim(&mut diags);
        assert_eq!(diags.len(), KEPT + 1);
        diags.push(Diagnostic::note(&at(7), "late"));
        left_out.finish(&mut diags);
        let notes = diags
            .iter()
            .filter(|d| d.severity == Severity::Note)
            .count();
        assert_eq!(notes, KEPT + 1);
        let last = diags.last().unwrap();
        assert_eq!(last.severity, Severity::Note);
        assert!(
            last.message
                .starts_with(&format!("{} more notes", 2 * KEPT + 1))
        );
        assert_eq!(last.origin.line, KEPT as u32 + 1);
        assert_eq!(
            diags
                .iter()
                .filter(|d| d.severity == Severity::Warning)
                .count(),
            1
        );
    }

    #[test]
    fn input_text_cannot_forge_lines_or_drive_the_terminal() {
        let o = Origin {
            file: "p.json".into(),
            line: 1,
            column: 3,
            path: "$.a\u{1b}[2K".into(),
        };
        let e = ProfileError::new(&o, "unknown syscall \"x\r\nerror: forged\0\"");
        let text = e.render("\u{1b}[31m\"a\"");
        assert!(!text.trim_end().contains(['\r', '\0', '\u{1b}']), "{text}");
        assert_eq!(text.lines().count(), 3, "{text}");
        assert!(
            text.contains(r#"unknown syscall "x\r\nerror: forged\0""#),
            "{text}"
        );
        // The caret stays under column 3 of the line as shown (`\u{1b}` is 6 wide).
        assert!(
            text.ends_with("| \\u{1b}[31m\"a\"\n       |        ^\n"),
            "{text}"
        );
        let w = Diagnostic::note(&o, "\u{9b}2J");
        assert_eq!(w.message, "\\u{9b}2J");
    }

    #[test]
    fn display_and_excerpt() {
        let o = Origin {
            file: "p.json".into(),
            line: 2,
            column: 3,
            path: "$.a".into(),
        };
        let e = ProfileError::new(&o, "bad");
        assert_eq!(e.to_string(), "p.json:2:3: $.a: bad");
        assert_eq!(
            e.render("{\n  \"a\": 1\n}"),
            "error: p.json:2:3: $.a: bad\n     2 |   \"a\": 1\n       |   ^\n"
        );
    }

    #[test]
    fn long_lines_are_shown_around_the_column() {
        let line: String = (0..1000)
            .map(|i| char::from(b'a' + (i % 26) as u8))
            .collect();
        let at = |column| Origin {
            line: 1,
            column,
            ..Origin::default()
        };
        // Near the start: the line's first 160 characters, cut at the end.
        let e = excerpt(&line, &at(5));
        let (text, caret) = e.trim_end().split_once('\n').unwrap();
        assert_eq!(text, format!("     1 | {}...", &line[..EXCERPT_WIDTH]));
        assert_eq!(caret, format!("       | {}^", " ".repeat(4)));
        // Far in: the caret stands under the column's own character, and
        // the window ends with the line.
        for column in [130, 700, 1000] {
            let e = excerpt(&line, &at(column));
            let (text, caret) = e.trim_end().split_once('\n').unwrap();
            let under = caret.trim_end().len() - 1;
            assert_eq!(text.as_bytes()[under], line.as_bytes()[column as usize - 1]);
            assert!(text.starts_with("     1 | ...") && text.len() <= 9 + 3 + EXCERPT_WIDTH + 3);
            assert_eq!(text.ends_with("..."), column < 900, "{column}");
        }
    }
}
