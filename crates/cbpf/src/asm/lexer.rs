//! Cuts assembler text into tokens, each with its line and column.
//!
//! Comments (`; …`, `/* … */`, and lines starting with `#`) and blanks are
//! dropped; line ends are kept as [`Tok::Newline`] because a statement ends
//! at the end of its line. Numbers are evaluated here (hex `0x`, binary
//! `0b`, octal with a leading `0`, decimal, an optional leading `-` meaning
//! two's complement), so the parser only sees 32-bit values. Nothing about
//! mnemonics or operands is known at this level.

use core::fmt;

use super::{AsmError, ErrorKind, Pos};

/// What a token is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Tok<'a> {
    /// `[A-Za-z_][A-Za-z0-9_]*`.
    Ident(&'a str),
    /// A number, already reduced to 32 bits.
    Num(u32),
    /// One punctuation character: `# % [ ] ( ) , : + * & .`
    Punct(char),
    /// The end of a line.
    Newline,
    /// The end of the input.
    Eof,
}

impl fmt::Display for Tok<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tok::Ident(s) => write!(f, "`{s}`"),
            Tok::Num(n) => write!(f, "number {n}"),
            Tok::Punct(c) => write!(f, "`{c}`"),
            Tok::Newline => f.write_str("end of line"),
            Tok::Eof => f.write_str("end of input"),
        }
    }
}

/// A token and where it starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Token<'a> {
    pub(super) tok: Tok<'a>,
    pub(super) pos: Pos,
}

const PUNCT: &str = "#%[](),:+*&.";

/// Tokenizes the whole input; the last token is always [`Tok::Eof`].
pub(super) fn tokenize(text: &str) -> Result<Vec<Token<'_>>, AsmError> {
    let mut lexer = Lexer {
        text,
        at: 0,
        pos: Pos { line: 1, column: 1 },
        line_start: true,
        out: Vec::new(),
    };
    lexer.run()?;
    Ok(lexer.out)
}

struct Lexer<'a> {
    text: &'a str,
    /// Byte offset of the next character.
    at: usize,
    /// Line and column of the next character.
    pos: Pos,
    /// Whether only blanks precede the next character on its line.
    line_start: bool,
    out: Vec<Token<'a>>,
}

impl<'a> Lexer<'a> {
    fn peek(&self) -> Option<char> {
        self.text[self.at..].chars().next()
    }

    fn peek2(&self) -> Option<char> {
        self.text[self.at..].chars().nth(1)
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.at += c.len_utf8();
        if c == '\n' {
            self.pos = Pos {
                line: self.pos.line.saturating_add(1),
                column: 1,
            };
        } else {
            self.pos.column = self.pos.column.saturating_add(1);
        }
        Some(c)
    }

    fn push(&mut self, tok: Tok<'a>, pos: Pos) {
        self.out.push(Token { tok, pos });
    }

    fn run(&mut self) -> Result<(), AsmError> {
        while let Some(c) = self.peek() {
            let start = self.pos;
            let was_line_start = self.line_start;
            self.line_start = false;
            match c {
                '\n' => {
                    self.bump();
                    self.push(Tok::Newline, start);
                    self.line_start = true;
                }
                c if c.is_whitespace() => {
                    self.bump();
                    self.line_start = was_line_start;
                }
                ';' => self.skip_line(),
                '#' if was_line_start => self.skip_line(),
                '/' if self.peek2() == Some('*') => {
                    self.skip_block(start)?;
                    self.line_start = was_line_start;
                }
                c if c.is_ascii_alphabetic() || c == '_' => {
                    let word = self.take_word();
                    self.push(Tok::Ident(word), start);
                }
                c if c.is_ascii_digit()
                    || (c == '-' && self.peek2().is_some_and(|d| d.is_ascii_digit())) =>
                {
                    let n = self.number(start)?;
                    self.push(Tok::Num(n), start);
                }
                c if PUNCT.contains(c) => {
                    self.bump();
                    self.push(Tok::Punct(c), start);
                }
                c => return Err(AsmError::new(start, ErrorKind::UnexpectedChar(c))),
            }
        }
        self.push(Tok::Eof, self.pos);
        Ok(())
    }

    /// Skips to the end of the line, leaving the newline itself.
    fn skip_line(&mut self) {
        while self.peek().is_some_and(|c| c != '\n') {
            self.bump();
        }
    }

    /// Skips a `/* … */` comment; newlines inside it end no statement.
    fn skip_block(&mut self, start: Pos) -> Result<(), AsmError> {
        self.bump();
        self.bump();
        loop {
            match self.bump() {
                None => return Err(AsmError::new(start, ErrorKind::UnterminatedComment)),
                Some('*') if self.peek() == Some('/') => {
                    self.bump();
                    return Ok(());
                }
                Some(_) => {}
            }
        }
    }

    /// Takes a run of `[A-Za-z0-9_]`.
    fn take_word(&mut self) -> &'a str {
        let from = self.at;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            self.bump();
        }
        &self.text[from..self.at]
    }

    fn number(&mut self, start: Pos) -> Result<u32, AsmError> {
        let from = self.at;
        let negative = self.peek() == Some('-');
        if negative {
            self.bump();
        }
        self.take_word();
        let text = &self.text[from..self.at];
        let bad = |why| {
            AsmError::new(
                start,
                ErrorKind::BadNumber {
                    text: text.into(),
                    why,
                },
            )
        };
        let magnitude = parse_magnitude(if negative { &text[1..] } else { text }).map_err(bad)?;
        match (negative, magnitude) {
            (false, m) => u32::try_from(m).map_err(|_| bad("does not fit in 32 bits")),
            (true, m) if m <= 1 << 31 => Ok((m as u32).wrapping_neg()),
            (true, _) => Err(bad("below -0x80000000")),
        }
    }
}

/// Parses an unsigned number in the `bpf_asm` radixes, up to 64 bits.
fn parse_magnitude(text: &str) -> Result<u64, &'static str> {
    let lower = text.to_ascii_lowercase();
    let (digits, radix) = if let Some(hex) = lower.strip_prefix("0x") {
        (hex, 16)
    } else if let Some(bin) = lower.strip_prefix("0b") {
        (bin, 2)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (&lower[1..], 8)
    } else {
        (lower.as_str(), 10)
    };
    if digits.is_empty() {
        return Err("no digits");
    }
    if !digits.chars().all(|c| c.is_digit(radix)) {
        return Err(match radix {
            16 => "not a hex digit",
            8 => "not an octal digit (a leading 0 means octal)",
            2 => "not a binary digit",
            _ => "not a decimal digit",
        });
    }
    u64::from_str_radix(digits, radix).map_err(|_| "does not fit in 32 bits")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(text: &str) -> Vec<Tok<'_>> {
        tokenize(text).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn numbers_in_every_radix() {
        assert_eq!(
            toks("0x1F 0b101 017 42 -1 0 -0x80000000"),
            [
                Tok::Num(31),
                Tok::Num(5),
                Tok::Num(15),
                Tok::Num(42),
                Tok::Num(u32::MAX),
                Tok::Num(0),
                Tok::Num(0x8000_0000),
                Tok::Eof
            ]
        );
    }

    #[test]
    fn bad_numbers_say_why_and_where() {
        let e = tokenize("ld #09").unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 1, column 5: bad number `09`: not an octal digit (a leading 0 means octal)"
        );
        let e = tokenize("\n ret #0x100000000").unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 2, column 7: bad number `0x100000000`: does not fit in 32 bits"
        );
        let e = tokenize("ret #-0x80000001").unwrap_err();
        assert_eq!(e.column(), 6);
        assert!(tokenize("ld #0x").is_err());
        assert!(tokenize("ld #99999999999999999999999").is_err());
    }

    #[test]
    fn comments_are_dropped() {
        assert_eq!(
            toks("# whole line\n  # also\nld /* a\nb */ [0] ; tail # x\n"),
            [
                Tok::Newline,
                Tok::Newline,
                Tok::Ident("ld"),
                Tok::Punct('['),
                Tok::Num(0),
                Tok::Punct(']'),
                Tok::Newline,
                Tok::Eof
            ]
        );
        assert_eq!(toks("ld #1")[1], Tok::Punct('#'));
        assert_eq!(
            tokenize("ld /* x").unwrap_err().to_string(),
            "line 1, column 4: unterminated `/*` comment"
        );
    }

    #[test]
    fn positions_count_characters() {
        let t = tokenize("é: ld @").unwrap_err();
        assert_eq!(t.to_string(), "line 1, column 1: unexpected character `é`");
        let t = tokenize("a: ld\n  x").unwrap();
        assert_eq!(t[4].pos, Pos { line: 2, column: 3 });
    }
}
