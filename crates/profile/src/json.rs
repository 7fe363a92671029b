//! A small JSON reader that keeps where every value came from.
//!
//! In: raw bytes. Out: a [`Node`] tree in which every value and every object
//! key carries its 1-based line and column, and parse errors that name the
//! position and the JSON path being read (`$.syscalls[3].args`).
//!
//! It is strict RFC 8259 JSON, as Go's `encoding/json` reads it: no
//! comments, no trailing commas, no byte-order mark, numbers kept as their
//! source text (the decoder decides what a number may be). Duplicate keys
//! are all kept, in order; the decoder refuses those that set one field.
//!
//! Limits: [`MAX_INPUT`] bytes and [`MAX_DEPTH`] levels of nesting, both
//! checked before any work that could grow with them, so huge or deeply
//! nested input fails fast with an error rather than exhausting memory or
//! the stack.

use std::fmt::Write as _;

/// The largest input accepted, in bytes (16 MiB; Docker's default profile
/// is about 20 KiB).
pub const MAX_INPUT: usize = 16 << 20;

/// The deepest nesting of arrays and objects accepted.
pub const MAX_DEPTH: usize = 64;

/// A 1-based line and column (columns count characters).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Pos {
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
    /// Which file: 0 for the profile itself, `k` for the `k`-th other file
    /// read while resolving it (an SPO base profile beside it).
    pub file: u16,
}

/// One JSON value with its position.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// The value.
    pub value: Value,
    /// Where it starts.
    pub pos: Pos,
}

/// One object member.
#[derive(Clone, Debug, PartialEq)]
pub struct Member {
    /// The key as written (after unescaping).
    pub key: String,
    /// Where the key starts.
    pub key_pos: Pos,
    /// The value.
    pub value: Node,
}

/// A JSON value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A number, as its source text.
    Number(String),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Node>),
    /// An object, members in source order (duplicates kept).
    Object(Vec<Member>),
}

impl Value {
    /// A short name of the value's type for messages (Go's words).
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "an array",
            Value::Object(_) => "an object",
        }
    }
}

/// A syntax error: what, where, and on which path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    /// Position of the offending character.
    pub pos: Pos,
    /// JSON path of the value being read.
    pub path: String,
    /// Lower-case description.
    pub message: String,
}

/// Parses a whole document: exactly one value, surrounded by whitespace only.
pub fn parse(text: &[u8]) -> Result<Node, SyntaxError> {
    if text.len() > MAX_INPUT {
        return Err(SyntaxError {
            pos: Pos {
                line: 1,
                column: 1,
                file: 0,
            },
            path: "$".into(),
            message: format!("input is {} bytes; the limit is {MAX_INPUT}", text.len()),
        });
    }
    let mut p = Parser {
        text,
        at: 0,
        line: 1,
        col: 1,
        path: vec![],
        depth: 0,
    };
    p.check_utf8()?;
    p.skip_ws();
    if p.peek().is_none() {
        return Err(p.error("empty input: expected a JSON value"));
    }
    let node = p.value()?;
    p.skip_ws();
    if p.peek().is_some() {
        return Err(p.error("unexpected data after the top-level value"));
    }
    Ok(node)
}

/// Where the first `\u` escape of an unpaired UTF-16 surrogate is, if any.
/// [`parse`] turns one into U+FFFD, as Go's `encoding/json` does; Rust's
/// `serde_json` (seccompiler's reader) refuses the document instead.
pub(crate) fn lone_surrogate(text: &[u8]) -> Option<Pos> {
    let (mut line, mut column) = (1u32, 1u32);
    let (mut in_string, mut i) = (false, 0);
    let mut pending: Option<Pos> = None;
    let hex = |at: usize| {
        let digits = text.get(at..at + 4)?;
        u32::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()
    };
    while i < text.len() {
        let b = text[i];
        let here = Pos {
            line,
            column,
            file: 0,
        };
        let mut width = 1;
        if in_string && b == b'\\' {
            width = 2;
            if text.get(i + 1) == Some(&b'u') {
                width = 6;
                let v = hex(i + 2).unwrap_or(0);
                match v {
                    0xd800..=0xdbff if pending.is_some() => return pending,
                    0xd800..=0xdbff => pending = Some(here),
                    0xdc00..=0xdfff if pending.take().is_some() => {}
                    0xdc00..=0xdfff => return Some(here),
                    _ if pending.is_some() => return pending,
                    _ => {}
                }
            } else if pending.is_some() {
                return pending;
            }
        } else {
            if pending.is_some() {
                return pending;
            }
            if b == b'"' {
                in_string = !in_string;
            }
        }
        for &c in &text[i..(i + width).min(text.len())] {
            if c == b'\n' {
                (line, column) = (line + 1, 1);
            } else if c & 0xc0 != 0x80 {
                column += 1;
            }
        }
        i += width;
    }
    pending
}

enum Seg {
    Key(String),
    Index(usize),
}

/// Renders a path from segments: `$.syscalls[3].names`.
fn render_path(segs: &[Seg]) -> String {
    const SHOWN: usize = 8;
    let mut s = String::from("$");
    for (i, seg) in segs.iter().enumerate() {
        if i == SHOWN && segs.len() > SHOWN + 1 {
            let _ = write!(s, "...({} more)", segs.len() - SHOWN);
            break;
        }
        match seg {
            Seg::Key(k) => {
                let _ = write!(s, ".{k}");
            }
            Seg::Index(i) => {
                let _ = write!(s, "[{i}]");
            }
        }
    }
    s
}

struct Parser<'a> {
    text: &'a [u8],
    at: usize,
    line: u32,
    col: u32,
    path: Vec<Seg>,
    depth: usize,
}

impl Parser<'_> {
    fn pos(&self) -> Pos {
        Pos {
            line: self.line,
            column: self.col,
            file: 0,
        }
    }

    fn error(&self, message: impl Into<String>) -> SyntaxError {
        SyntaxError {
            pos: self.pos(),
            path: render_path(&self.path),
            message: message.into(),
        }
    }

    /// Rejects invalid UTF-8 up front, pointing at the first bad byte.
    fn check_utf8(&mut self) -> Result<(), SyntaxError> {
        if let Err(e) = std::str::from_utf8(self.text) {
            let good = e.valid_up_to();
            while self.at < good {
                self.bump();
            }
            return Err(self.error("invalid UTF-8"));
        }
        if self.text.starts_with(b"\xef\xbb\xbf") {
            return Err(self.error("unexpected byte-order mark"));
        }
        Ok(())
    }

    fn peek(&self) -> Option<u8> {
        self.text.get(self.at).copied()
    }

    /// Advances one byte, keeping line and column (columns count characters:
    /// UTF-8 continuation bytes do not move the column).
    fn bump(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.at += 1;
        if b == b'\n' {
            self.line += 1;
            self.col = 1;
        } else if b & 0xc0 != 0x80 {
            self.col += 1;
        }
        Some(b)
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.bump();
        }
    }

    fn expect(&mut self, want: u8) -> Result<(), SyntaxError> {
        match self.peek() {
            Some(b) if b == want => {
                self.bump();
                Ok(())
            }
            Some(b) => Err(self.error(format!(
                "expected `{}`, found {}",
                want as char,
                describe(b)
            ))),
            None => Err(self.error(format!(
                "expected `{}`, found the end of input",
                want as char
            ))),
        }
    }

    fn value(&mut self) -> Result<Node, SyntaxError> {
        let pos = self.pos();
        let value = match self.peek() {
            Some(b'{') => self.object()?,
            Some(b'[') => self.array()?,
            Some(b'"') => Value::String(self.string()?),
            Some(b't') => self.literal("true", Value::Bool(true))?,
            Some(b'f') => self.literal("false", Value::Bool(false))?,
            Some(b'n') => self.literal("null", Value::Null)?,
            Some(b'-' | b'0'..=b'9') => Value::Number(self.number()?),
            Some(b) => {
                return Err(self.error(format!("expected a JSON value, found {}", describe(b))));
            }
            None => return Err(self.error("expected a JSON value, found the end of input")),
        };
        Ok(Node { value, pos })
    }

    fn enter(&mut self) -> Result<(), SyntaxError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error(format!("nesting deeper than {MAX_DEPTH} levels")));
        }
        Ok(())
    }

    fn object(&mut self) -> Result<Value, SyntaxError> {
        self.enter()?;
        self.bump();
        let mut members = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.bump();
            self.depth -= 1;
            return Ok(Value::Object(members));
        }
        loop {
            self.skip_ws();
            let key_pos = self.pos();
            if self.peek() != Some(b'"') {
                return Err(match self.peek() {
                    Some(b) => self.error(format!("expected a string key, found {}", describe(b))),
                    None => self.error("expected a string key, found the end of input"),
                });
            }
            let key = self.string()?;
            self.skip_ws();
            self.expect(b':')?;
            self.skip_ws();
            self.path.push(Seg::Key(key.clone()));
            let value = self.value()?;
            self.path.pop();
            members.push(Member {
                key,
                key_pos,
                value,
            });
            self.skip_ws();
            match self.bump() {
                Some(b',') => continue,
                Some(b'}') => break,
                Some(b) => {
                    return Err(self.error_before(format!(
                        "expected `,` or `}}` in an object, found {}",
                        describe(b)
                    )));
                }
                None => return Err(self.error("unterminated object")),
            }
        }
        self.depth -= 1;
        Ok(Value::Object(members))
    }

    /// An error at the character just consumed.
    fn error_before(&self, message: String) -> SyntaxError {
        let mut e = self.error(message);
        e.pos.column = e.pos.column.saturating_sub(1).max(1);
        e
    }

    fn array(&mut self) -> Result<Value, SyntaxError> {
        self.enter()?;
        self.bump();
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.bump();
            self.depth -= 1;
            return Ok(Value::Array(items));
        }
        loop {
            self.skip_ws();
            self.path.push(Seg::Index(items.len()));
            let item = self.value()?;
            self.path.pop();
            items.push(item);
            self.skip_ws();
            match self.bump() {
                Some(b',') => continue,
                Some(b']') => break,
                Some(b) => {
                    return Err(self.error_before(format!(
                        "expected `,` or `]` in an array, found {}",
                        describe(b)
                    )));
                }
                None => return Err(self.error("unterminated array")),
            }
        }
        self.depth -= 1;
        Ok(Value::Array(items))
    }

    fn literal(&mut self, word: &str, value: Value) -> Result<Value, SyntaxError> {
        if self.text[self.at..].starts_with(word.as_bytes()) {
            for _ in 0..word.len() {
                self.bump();
            }
            Ok(value)
        } else {
            Err(self.error(format!("invalid literal: expected `{word}`")))
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.at;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.bump();
        }
        self.at - start
    }

    fn number(&mut self) -> Result<String, SyntaxError> {
        let start = self.at;
        if self.peek() == Some(b'-') {
            self.bump();
        }
        let first = self.peek();
        let n = self.digits();
        if n == 0 {
            return Err(self.error("invalid number: expected a digit"));
        }
        if first == Some(b'0') && n > 1 {
            return Err(self.error("invalid number: leading zero"));
        }
        if self.peek() == Some(b'.') {
            self.bump();
            if self.digits() == 0 {
                return Err(self.error("invalid number: expected a digit after `.`"));
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.bump();
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.bump();
            }
            if self.digits() == 0 {
                return Err(self.error("invalid number: expected a digit in the exponent"));
            }
        }
        Ok(String::from_utf8_lossy(&self.text[start..self.at]).into_owned())
    }

    fn string(&mut self) -> Result<String, SyntaxError> {
        self.bump();
        let mut out = Vec::new();
        loop {
            let Some(b) = self.peek() else {
                return Err(self.error("unterminated string"));
            };
            match b {
                b'"' => {
                    self.bump();
                    break;
                }
                b'\\' => {
                    self.bump();
                    self.escape(&mut out)?;
                }
                0..=0x1f => return Err(self.error("control character in a string")),
                _ => {
                    out.push(b);
                    self.bump();
                }
            }
        }
        String::from_utf8(out).map_err(|_| self.error("invalid UTF-8 in a string"))
    }

    fn escape(&mut self, out: &mut Vec<u8>) -> Result<(), SyntaxError> {
        let c = match self.bump() {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => self.unicode()?,
            Some(_) => return Err(self.error_before("invalid escape in a string".into())),
            None => return Err(self.error("unterminated string")),
        };
        let mut buf = [0u8; 4];
        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        Ok(())
    }

    fn hex4(&mut self) -> Result<u32, SyntaxError> {
        let mut v = 0u32;
        for _ in 0..4 {
            let d = self.peek().and_then(|b| (b as char).to_digit(16));
            let Some(d) = d else {
                return Err(self.error("invalid \\u escape: expected four hex digits"));
            };
            self.bump();
            v = v * 16 + d;
        }
        Ok(v)
    }

    /// A `\u` escape with four hex digits; unpaired surrogates become U+FFFD as in Go.
    fn unicode(&mut self) -> Result<char, SyntaxError> {
        let hi = self.hex4()?;
        if (0xd800..0xdc00).contains(&hi) && self.text[self.at..].starts_with(b"\\u") {
            let save = (self.at, self.line, self.col);
            self.bump();
            self.bump();
            let lo = self.hex4()?;
            if (0xdc00..0xe000).contains(&lo) {
                let c = 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
                return Ok(char::from_u32(c).unwrap_or('\u{fffd}'));
            }
            (self.at, self.line, self.col) = save;
        }
        Ok(char::from_u32(hi).unwrap_or('\u{fffd}'))
    }
}

fn describe(b: u8) -> String {
    if b.is_ascii_graphic() {
        format!("`{}`", b as char)
    } else {
        format!("byte {b:#04x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lone_surrogates_are_found() {
        assert_eq!(lone_surrogate(br#"{"a": "\ud83d\ude00"}"#), None);
        assert_eq!(lone_surrogate(br#"{"a": "\u00e9 \\ud800"}"#), None);
        let at = |l, c| {
            Some(Pos {
                line: l,
                column: c,
                file: 0,
            })
        };
        assert_eq!(lone_surrogate(br#"{"a": "x\ud800"}"#), at(1, 9));
        assert_eq!(lone_surrogate(b"{\n \"\\udc00\": 1}"), at(2, 3));
        assert_eq!(lone_surrogate(br#"["\ud800\u0041"]"#), at(1, 3));
        assert_eq!(lone_surrogate("[\"é\\ud800x\"]".as_bytes()), at(1, 4));
    }

    #[test]
    fn positions_and_paths() {
        let n = parse(b"{\n  \"a\": [1, {\"b\": tru}]\n}").unwrap_err();
        assert_eq!(
            n.pos,
            Pos {
                line: 2,
                column: 18,
                file: 0,
            }
        );
        assert_eq!(n.path, "$.a[1].b");
        let ok = parse("{\"k\": \"é\", \"x\": 5}".as_bytes()).unwrap();
        let Value::Object(m) = ok.value else {
            panic!("object expected")
        };
        assert_eq!(
            m[1].key_pos,
            Pos {
                line: 1,
                column: 12,
                file: 0,
            }
        );
        assert_eq!(m[1].value.value, Value::Number("5".into()));
    }

    #[test]
    fn depth_is_limited() {
        let deep = "[".repeat(100_000);
        let e = parse(deep.as_bytes()).unwrap_err();
        assert_eq!(e.message, "nesting deeper than 64 levels");
    }

    #[test]
    fn strict_syntax() {
        assert!(parse(b"{\"a\":1,}").is_err());
        assert!(parse(b"01").is_err());
        assert!(parse(b"").is_err());
        assert!(parse(b"\"\\ud83d\\ude00\"").is_ok());
    }
}
