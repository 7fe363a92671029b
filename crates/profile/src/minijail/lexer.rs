//! minijail's tokenizer: one statement at a time, with `\` continuations.
//!
//! In: a policy or frequency file's text. Out: statements, each a list of
//! [`Token`]s with 1-based line and column (columns count characters). The
//! token classes and their precedence are minijail's: at each position the
//! first class that matches wins (so `kill-process` is an action word,
//! `arg1` an argument, `/x` or `./x` a path). Whitespace, comments and the
//! continuation backslash are dropped. A line that ends with `\` (even
//! inside a comment) continues the statement, as minijail reads it.
//! Not checked here: grammar; that is the parser's job.

/// A token's class.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `@default`.
    Default,
    /// `@include`.
    Include,
    /// `@frequency`.
    Frequency,
    /// `@denylist` at the end of a line.
    Denylist,
    /// `/...` or `./...`.
    Path,
    /// A number in C syntax (decimal, `0` octal, `0x` hex, optional `-`).
    Number,
    /// `:`.
    Colon,
    /// `;`.
    Semicolon,
    /// `,`.
    Comma,
    /// `~`.
    Complement,
    /// `(`.
    LParen,
    /// `)`.
    RParen,
    /// `{`.
    LBrace,
    /// `}`.
    RBrace,
    /// `[`.
    LBracket,
    /// `]`.
    RBracket,
    /// `||`.
    Or,
    /// `&&`.
    And,
    /// `|`.
    BitOr,
    /// `&`, `in`, `==`, `!=`, `<=`, `<`, `>=`, `>`.
    Op,
    /// `=`.
    Equal,
    /// `argN`.
    Argument,
    /// `return`.
    Return,
    /// An action word.
    Action,
    /// A name.
    Identifier,
}

/// One token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    /// Its class.
    pub kind: Kind,
    /// Its text.
    pub text: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in characters.
    pub column: u32,
}

/// A statement's tokens, the last line it spans and that line's length
/// (where "missing ..." errors point).
#[derive(Clone, Debug)]
pub struct Statement {
    /// The tokens, in order.
    pub tokens: Vec<Token>,
    /// The 1-based number of the statement's last line.
    pub line: u32,
    /// That line's length in characters.
    pub line_len: u32,
}

/// A character no token class accepts, at `(line, column)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidToken {
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
    /// The text that was not understood.
    pub text: String,
}

/// The result of tokenizing a file: statements, and whether the file ended
/// inside a continued statement (whose tokens minijail drops).
#[derive(Clone, Debug, Default)]
pub struct Tokenized {
    /// Complete statements.
    pub statements: Vec<Statement>,
    /// The line of a statement cut off by the end of the file.
    pub dangling: Option<u32>,
}

const ACTIONS: [&str; 8] = [
    "allow",
    "kill-process",
    "kill-thread",
    "kill",
    "trap",
    "trace",
    "log",
    "user-notify",
];

const OPS: [&str; 7] = ["==", "!=", "<=", "<", ">=", ">", "&"];

const PUNCT: [(char, Kind); 11] = [
    (':', Kind::Colon),
    (';', Kind::Semicolon),
    (',', Kind::Comma),
    ('~', Kind::Complement),
    ('(', Kind::LParen),
    (')', Kind::RParen),
    ('{', Kind::LBrace),
    ('}', Kind::RBrace),
    (']', Kind::RBracket),
    ('[', Kind::LBracket),
    ('=', Kind::Equal),
];

/// Splits text into statements (lines split at `\n`, `\r\n` or `\r`, as
/// Python's universal newlines do).
pub fn tokenize(text: &str) -> Result<Tokenized, InvalidToken> {
    let mut out = Tokenized::default();
    let mut pending = Vec::new();
    let mut last_line = 0;
    for (i, line) in lines(text).enumerate() {
        let number = i as u32 + 1;
        let chars: Vec<char> = line.chars().collect();
        tokenize_line(&chars, number, &mut pending)?;
        last_line = number;
        if chars.last() == Some(&'\\') {
            continue;
        }
        if !pending.is_empty() {
            out.statements.push(Statement {
                tokens: std::mem::take(&mut pending),
                line: number,
                line_len: chars.len() as u32,
            });
        }
    }
    if !pending.is_empty() {
        out.dangling = Some(last_line);
    }
    Ok(out)
}

fn lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let r = rest?;
        match r.find(['\n', '\r']) {
            Some(i) => {
                let skip = if r[i..].starts_with("\r\n") { 2 } else { 1 };
                rest = Some(&r[i + skip..]).filter(|s| !s.is_empty());
                Some(&r[..i])
            }
            None => {
                rest = None;
                Some(r)
            }
        }
    })
}

fn tokenize_line(chars: &[char], line: u32, out: &mut Vec<Token>) -> Result<(), InvalidToken> {
    let mut p = 0;
    while p < chars.len() {
        let Some((kind, len)) = classify(chars, p) else {
            return Err(InvalidToken {
                line,
                column: p as u32 + 1,
                text: chars[p..].iter().collect(),
            });
        };
        if let Some(kind) = kind {
            out.push(Token {
                kind,
                text: chars[p..p + len].iter().collect(),
                line,
                column: p as u32 + 1,
            });
        }
        p += len;
    }
    Ok(())
}

/// Python's `\w` (Unicode): letters, digits and `_`.
fn word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Python's `\s`.
fn space(c: char) -> bool {
    c.is_whitespace() || ('\x1c'..='\x1f').contains(&c)
}

/// Whether `s` is at `p` with a word boundary on both sides.
fn word_at(chars: &[char], p: usize, s: &str) -> bool {
    let n = s.chars().count();
    let before = p == 0 || !word(chars[p - 1]);
    let fits = chars.len() >= p + n && chars[p..p + n].iter().copied().eq(s.chars());
    let after = chars.get(p + n).is_none_or(|c| !word(*c));
    before && fits && after
}

/// Whether `s` is at `p` followed by a word boundary (`s` starts with `@`).
fn keyword_at(chars: &[char], p: usize, s: &str) -> bool {
    let n = s.chars().count();
    chars.len() >= p + n
        && chars[p..p + n].iter().copied().eq(s.chars())
        && chars.get(p + n).is_none_or(|c| !word(*c))
}

fn starts(chars: &[char], p: usize, s: &str) -> bool {
    let n = s.chars().count();
    chars.len() >= p + n && chars[p..p + n].iter().copied().eq(s.chars())
}

/// The class of the token at `p` (`None` for dropped text) and its length.
fn classify(chars: &[char], p: usize) -> Option<(Option<Kind>, usize)> {
    let c = chars[p];
    if c == '#' {
        return Some((None, chars.len() - p));
    }
    if space(c) {
        let n = chars[p..].iter().take_while(|c| space(**c)).count();
        return Some((None, n));
    }
    if c == '\\' && p + 1 == chars.len() {
        return Some((None, 1));
    }
    directive(chars, p)
        .or_else(|| path(chars, p))
        .or_else(|| number(chars, p).map(|n| (Some(Kind::Number), n)))
        .or_else(|| symbol(chars, p))
        .or_else(|| wordlike(chars, p))
}

fn directive(chars: &[char], p: usize) -> Option<(Option<Kind>, usize)> {
    for (s, k) in [
        ("@default", Kind::Default),
        ("@include", Kind::Include),
        ("@frequency", Kind::Frequency),
    ] {
        if keyword_at(chars, p, s) {
            return Some((Some(k), s.len()));
        }
    }
    let d = "@denylist";
    (starts(chars, p, d) && p + d.len() == chars.len()).then_some((Some(Kind::Denylist), d.len()))
}

fn path(chars: &[char], p: usize) -> Option<(Option<Kind>, usize)> {
    let slash = if chars[p] == '.' { p + 1 } else { p };
    if chars.get(slash) != Some(&'/') {
        return None;
    }
    let n = chars[slash + 1..]
        .iter()
        .take_while(|c| !space(**c))
        .count();
    (n > 0).then_some((Some(Kind::Path), slash + 1 + n - p))
}

/// `-?0[xX][0-9a-fA-F]+|-?0[0-7]+|-?[0-9]+`, first alternative first.
pub fn number(chars: &[char], p: usize) -> Option<usize> {
    let sign = usize::from(chars[p] == '-');
    let q = p + sign;
    let run = |from: usize, f: fn(&char) -> bool| {
        chars
            .get(from..)
            .map_or(0, |s| s.iter().take_while(|c| f(c)).count())
    };
    if chars.get(q) == Some(&'0') && matches!(chars.get(q + 1), Some('x' | 'X')) {
        let n = run(q + 2, char::is_ascii_hexdigit);
        if n > 0 {
            return Some(sign + 2 + n);
        }
    }
    if chars.get(q) == Some(&'0') {
        let n = run(q + 1, |c| ('0'..='7').contains(c));
        if n > 0 {
            return Some(sign + 1 + n);
        }
    }
    let n = run(q, char::is_ascii_digit);
    (n > 0).then_some(sign + n)
}

fn symbol(chars: &[char], p: usize) -> Option<(Option<Kind>, usize)> {
    if let Some((_, k)) = PUNCT[..10].iter().find(|(c, _)| *c == chars[p]) {
        return Some((Some(*k), 1));
    }
    for (s, k) in [("||", Kind::Or), ("&&", Kind::And), ("|", Kind::BitOr)] {
        if starts(chars, p, s) {
            return Some((Some(k), s.len()));
        }
    }
    if starts(chars, p, "&") {
        return Some((Some(Kind::Op), 1));
    }
    if word_at(chars, p, "in") {
        return Some((Some(Kind::Op), 2));
    }
    if let Some(op) = OPS[..6].iter().find(|op| starts(chars, p, op)) {
        return Some((Some(Kind::Op), op.len()));
    }
    (chars[p] == '=').then_some((Some(PUNCT[10].1), 1))
}

fn wordlike(chars: &[char], p: usize) -> Option<(Option<Kind>, usize)> {
    let bounded = p == 0 || !word(chars[p - 1]);
    if bounded && starts(chars, p, "arg") {
        let digits = chars[p + 3..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        if digits > 0 && chars.get(p + 3 + digits).is_none_or(|c| !word(*c)) {
            return Some((Some(Kind::Argument), 3 + digits));
        }
    }
    if word_at(chars, p, "return") {
        return Some((Some(Kind::Return), 6));
    }
    if let Some(a) = ACTIONS.iter().find(|a| word_at(chars, p, a)) {
        return Some((Some(Kind::Action), a.len()));
    }
    let c = chars[p];
    if c.is_ascii_alphabetic() || c == '_' {
        let n = chars[p..]
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '@'))
            .count();
        return Some((Some(Kind::Identifier), n));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(s: &str) -> Vec<(Kind, String)> {
        let t = tokenize(s).unwrap();
        t.statements
            .into_iter()
            .flat_map(|s| s.tokens)
            .map(|t| (t.kind, t.text))
            .collect()
    }

    #[test]
    fn classes_follow_minijails_precedence() {
        let k = kinds("read: arg0 == 0x1F && arg1 in ~O_RDONLY|0755 || arg2 & -1; return EPERM");
        let classes: Vec<Kind> = k.iter().map(|(k, _)| *k).collect();
        use Kind::*;
        assert_eq!(
            classes,
            [
                Identifier, Colon, Argument, Op, Number, And, Argument, Op, Complement, Identifier,
                BitOr, Number, Or, Argument, Op, Number, Semicolon, Return, Identifier
            ]
        );
        assert_eq!(kinds("kill-process")[0].0, Action);
        assert_eq!(kinds("trace_x")[0].0, Identifier);
        assert_eq!(kinds("arg0x")[0].0, Identifier);
        assert_eq!(kinds("@include ./a.policy")[1].0, Path);
        assert_eq!(kinds("09")[0], (Number, "09".into()));
        assert_eq!(kinds("0129").len(), 2, "octal stops at 9");
    }

    #[test]
    fn continuations_join_lines_and_comments_vanish() {
        let t = tokenize("read: arg0 == 1 || \\\n  arg0 == 2 # two\n\n# c\nwrite: 1\r\n").unwrap();
        assert_eq!(t.statements.len(), 2);
        assert_eq!(t.statements[0].tokens.len(), 9);
        assert_eq!(t.statements[0].line, 2);
        assert_eq!(t.statements[1].tokens[0].line, 5);
        assert!(t.dangling.is_none());
        assert_eq!(tokenize("read: 1 \\").unwrap().dangling, Some(1));
    }

    #[test]
    fn invalid_characters_are_located() {
        let e = tokenize("read: 1\nwrite: arg0 ! 1").unwrap_err();
        assert_eq!((e.line, e.column), (2, 13));
    }
}
