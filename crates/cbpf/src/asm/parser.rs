//! Reads tokens into statements: one instruction (or directive) per line,
//! with its labels.
//!
//! Each instruction is looked up in [`crate::opcode::TABLE`] by its mnemonic
//! (after [`ALIASES`](super::ALIASES)) and the shape of its operand, so the
//! parser knows no opcodes of its own. Symbolic operands are resolved here:
//! `seccomp_data` fields become offsets, actions and arch names become
//! values, syscall names go through the caller's resolver. Jump targets stay
//! label names; [`super::assemble`] resolves them.

use crate::action::Action;
use crate::data::{arch_endian, audit_arch_by_name};
use crate::insn::{Endian, Insn};
use crate::opcode::{Opcode, Operand, TABLE};

use super::lexer::{Tok, Token, tokenize};
use super::{ALIASES, AsmError, AsmOptions, ErrorKind, Field, Half, Pos};

/// A use of a label as a jump target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct LabelRef {
    pub(super) name: String,
    pub(super) pos: Pos,
}

/// The jump targets of a statement that still need resolving.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Targets {
    /// Not a symbolic jump (includes `.insn`, whose offsets are literal).
    None,
    /// `ja label`: `k` is filled in by the linker.
    Always(LabelRef),
    /// A conditional jump; `None` means "the next statement" (offset 0 before
    /// any veneer).
    Cond {
        jt: Option<LabelRef>,
        jf: Option<LabelRef>,
    },
}

/// One instruction statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Stmt {
    /// The fields known so far (jump offsets 0 until linked).
    pub(super) insn: Insn,
    pub(super) targets: Targets,
    /// Where the mnemonic or directive starts.
    pub(super) pos: Pos,
}

/// A label definition: it names the statement with index `index` (or the end
/// of the program when `index` equals the number of statements).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct LabelDef {
    pub(super) name: String,
    pub(super) pos: Pos,
    pub(super) index: usize,
}

/// A parsed program.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Source {
    pub(super) stmts: Vec<Stmt>,
    pub(super) labels: Vec<LabelDef>,
}

/// An operand as written, before the mnemonic picks the opcode.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Arg {
    None,
    Imm(u32),
    Abs(u32),
    Ind(u32),
    Mem(u32),
    Len,
    Msh(u32),
    X,
    A,
    Label(LabelRef),
}

impl Arg {
    fn shape(&self) -> Operand {
        match self {
            Arg::None => Operand::None,
            Arg::Imm(_) => Operand::Imm,
            Arg::Abs(_) => Operand::Abs,
            Arg::Ind(_) => Operand::Ind,
            Arg::Mem(_) => Operand::Mem,
            Arg::Len => Operand::Len,
            Arg::Msh(_) => Operand::Msh,
            Arg::X => Operand::X,
            Arg::A => Operand::A,
            Arg::Label(_) => Operand::Jump,
        }
    }

    fn k(&self) -> u32 {
        match self {
            Arg::Imm(k) | Arg::Abs(k) | Arg::Ind(k) | Arg::Mem(k) | Arg::Msh(k) => *k,
            _ => 0,
        }
    }
}

/// How an operand shape is spelled, for messages.
pub(super) fn describe(shape: Operand) -> &'static str {
    match shape {
        Operand::None => "no operand",
        Operand::Imm => "`#k`",
        Operand::Abs => "`[k]`",
        Operand::Ind => "`[x + k]`",
        Operand::Mem => "`M[k]`",
        Operand::Len => "`len`",
        Operand::Msh => "`4*([k]&0xf)`",
        Operand::X => "`x`",
        Operand::A => "`a`",
        Operand::Jump => "a label",
        Operand::CondK => "`#k` and labels",
        Operand::CondX => "`x` and labels",
    }
}

/// Parses the whole text.
pub(super) fn parse(text: &str, opts: &AsmOptions) -> Result<Source, AsmError> {
    let tokens = tokenize(text)?;
    let mut p = Parser {
        tokens: &tokens,
        at: 0,
        opts,
        endian: opts.endian,
        source: Source::default(),
    };
    p.program()?;
    Ok(p.source)
}

/// A mnemonic after alias lookup.
struct Mnemonic<'t> {
    written: &'t str,
    table: &'static str,
    only: Option<Operand>,
    negated: bool,
    conditional: bool,
}

struct Parser<'t, 'o> {
    tokens: &'t [Token<'t>],
    at: usize,
    opts: &'t AsmOptions<'o>,
    /// Byte order for `.lo` / `.hi`, changed by `.arch`.
    endian: Endian,
    source: Source,
}

impl<'t> Parser<'t, '_> {
    fn peek(&self) -> Token<'t> {
        self.peek_at(0)
    }

    fn peek_at(&self, ahead: usize) -> Token<'t> {
        // The token list always ends with Eof, and we never step past it.
        let last = self.tokens.len().saturating_sub(1);
        self.tokens[(self.at + ahead).min(last)]
    }

    fn next(&mut self) -> Token<'t> {
        let t = self.peek();
        if t.tok != Tok::Eof {
            self.at += 1;
        }
        t
    }

    fn eat(&mut self, c: char) -> bool {
        let hit = self.peek().tok == Tok::Punct(c);
        if hit {
            self.at += 1;
        }
        hit
    }

    fn expected(&self, expected: &'static str) -> AsmError {
        let t = self.peek();
        AsmError::new(
            t.pos,
            ErrorKind::Expected {
                expected,
                found: t.tok.to_string(),
            },
        )
    }

    fn expect(&mut self, c: char, expected: &'static str) -> Result<(), AsmError> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(self.expected(expected))
        }
    }

    fn number(&mut self) -> Result<u32, AsmError> {
        match self.peek().tok {
            Tok::Num(n) => {
                self.at += 1;
                Ok(n)
            }
            _ => Err(self.expected("a number")),
        }
    }

    fn ident(&mut self, expected: &'static str) -> Result<(&'t str, Pos), AsmError> {
        match self.peek().tok {
            Tok::Ident(s) => Ok((s, self.next().pos)),
            _ => Err(self.expected(expected)),
        }
    }

    fn program(&mut self) -> Result<(), AsmError> {
        while self.peek().tok != Tok::Eof {
            self.statement()?;
        }
        Ok(())
    }

    /// `label:* (instruction | directive)? end-of-line`
    fn statement(&mut self) -> Result<(), AsmError> {
        while let (Tok::Ident(name), Tok::Punct(':')) = (self.peek().tok, self.peek_at(1).tok) {
            let pos = self.next().pos;
            self.next();
            let index = self.source.stmts.len();
            self.source.labels.push(LabelDef {
                name: name.into(),
                pos,
                index,
            });
        }
        match self.peek().tok {
            Tok::Newline | Tok::Eof => {}
            Tok::Punct('.') => self.directive()?,
            Tok::Ident(_) => self.instruction()?,
            _ => return Err(self.expected("a mnemonic, a label or a directive")),
        }
        match self.peek().tok {
            Tok::Newline | Tok::Eof => {
                self.next();
                Ok(())
            }
            _ => Err(self.expected("end of line")),
        }
    }

    fn push(&mut self, insn: Insn, targets: Targets, pos: Pos) {
        self.source.stmts.push(Stmt { insn, targets, pos });
    }

    fn directive(&mut self) -> Result<(), AsmError> {
        let pos = self.next().pos;
        let (name, _) = self.ident("a directive name")?;
        match name.to_ascii_lowercase().as_str() {
            "insn" => self.raw_insn(pos),
            "arch" => self.arch_directive(),
            _ => Err(AsmError::new(pos, ErrorKind::UnknownDirective(name.into()))),
        }
    }

    /// `.insn code, jt, jf, k`
    fn raw_insn(&mut self, pos: Pos) -> Result<(), AsmError> {
        let code = self.bounded("code", u16::MAX.into())?;
        self.expect(',', "`,`")?;
        let jt = self.bounded("jt", u8::MAX.into())?;
        self.expect(',', "`,`")?;
        let jf = self.bounded("jf", u8::MAX.into())?;
        self.expect(',', "`,`")?;
        let k = self.number()?;
        self.push(
            Insn::new(code as u16, jt as u8, jf as u8, k),
            Targets::None,
            pos,
        );
        Ok(())
    }

    fn bounded(&mut self, what: &'static str, max: u32) -> Result<u32, AsmError> {
        let pos = self.peek().pos;
        let value = self.number()?;
        if value > max {
            return Err(AsmError::new(pos, ErrorKind::TooLarge { what, value, max }));
        }
        Ok(value)
    }

    /// `.arch x86_64` or `.arch 0xc000003e`: sets the field byte order.
    fn arch_directive(&mut self) -> Result<(), AsmError> {
        let t = self.peek();
        let arch = match t.tok {
            Tok::Num(n) => n,
            Tok::Ident(name) => audit_arch_by_name(name)
                .ok_or_else(|| AsmError::new(t.pos, ErrorKind::UnknownArch(name.into())))?,
            _ => return Err(self.expected("an arch name or AUDIT_ARCH value")),
        };
        self.next();
        self.endian = arch_endian(arch);
        Ok(())
    }

    fn mnemonic(&mut self) -> Result<(Mnemonic<'t>, Pos), AsmError> {
        let (written, pos) = self.ident("a mnemonic")?;
        let direct = TABLE
            .iter()
            .find(|i| i.mnemonic.eq_ignore_ascii_case(written))
            .map(|i| i.mnemonic);
        let alias = ALIASES
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(written));
        let mut m = match (direct, alias) {
            (Some(table), _) => Mnemonic {
                written,
                table,
                only: None,
                negated: false,
                conditional: false,
            },
            (None, Some(a)) => Mnemonic {
                written,
                table: a.mnemonic,
                only: a.only,
                negated: a.negated,
                conditional: false,
            },
            (None, None) => {
                return Err(AsmError::new(
                    pos,
                    ErrorKind::UnknownMnemonic(written.into()),
                ));
            }
        };
        m.conditional = TABLE
            .iter()
            .any(|i| i.mnemonic == m.table && i.operand.is_conditional());
        Ok((m, pos))
    }

    fn instruction(&mut self) -> Result<(), AsmError> {
        let (m, pos) = self.mnemonic()?;
        let arg_pos = self.peek().pos;
        let is_ja = TABLE
            .iter()
            .any(|i| i.mnemonic == m.table && i.operand == Operand::Jump);
        let arg = if is_ja {
            Arg::Label(self.label()?)
        } else {
            self.operand()?
        };
        let mut shape = arg.shape();
        if m.conditional {
            shape = match shape {
                Operand::Imm => Operand::CondK,
                Operand::X => Operand::CondX,
                other => other,
            };
        }
        let opcode = self.opcode(&m, shape, arg_pos)?;
        let k = arg.k();
        let targets = match arg {
            Arg::Label(l) => Targets::Always(l),
            _ if m.conditional => self.cond_targets(&m)?,
            _ => Targets::None,
        };
        self.push(Insn::op(opcode, 0, 0, k), targets, pos);
        Ok(())
    }

    /// The table row for a mnemonic and shape, or an error listing the
    /// shapes the mnemonic does take.
    fn opcode(&self, m: &Mnemonic, shape: Operand, pos: Pos) -> Result<Opcode, AsmError> {
        let allowed = m.only.is_none_or(|only| only == shape);
        if let Some(op) = Opcode::find(m.table, shape).filter(|_| allowed) {
            return Ok(op);
        }
        // ALIASES may give a second meaning to a table mnemonic (`ldx` + MSH).
        let alias = ALIASES
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(m.written) && a.only == Some(shape));
        if let Some(op) = alias.and_then(|a| Opcode::find(a.mnemonic, shape)) {
            return Ok(op);
        }
        let accepted: Vec<&str> = TABLE
            .iter()
            .filter(|i| i.mnemonic == m.table && m.only.is_none_or(|o| o == i.operand))
            .map(|i| describe(i.operand))
            .collect();
        Err(AsmError::new(
            pos,
            ErrorKind::BadOperand {
                mnemonic: m.written.to_ascii_lowercase(),
                given: describe(shape),
                accepted: accepted.join(" or "),
            },
        ))
    }

    /// `, Lt [, Lf]`; for a negated alias exactly `, Lf`.
    fn cond_targets(&mut self, m: &Mnemonic) -> Result<Targets, AsmError> {
        self.expect(',', "`,` and a jump label")?;
        let first = self.label()?;
        let second = if self.eat(',') {
            Some(self.label()?)
        } else {
            None
        };
        match (m.negated, second) {
            (false, jf) => Ok(Targets::Cond {
                jt: Some(first),
                jf,
            }),
            (true, None) => Ok(Targets::Cond {
                jt: None,
                jf: Some(first),
            }),
            (true, Some(extra)) => Err(AsmError::new(
                extra.pos,
                ErrorKind::OneLabelOnly(m.written.to_ascii_lowercase()),
            )),
        }
    }

    fn label(&mut self) -> Result<LabelRef, AsmError> {
        let (name, pos) = self.ident("a label")?;
        Ok(LabelRef {
            name: name.into(),
            pos,
        })
    }

    /// The first operand of a non-`ja` instruction.
    fn operand(&mut self) -> Result<Arg, AsmError> {
        let t = self.peek();
        match t.tok {
            Tok::Newline | Tok::Eof => Ok(Arg::None),
            Tok::Punct('#') => {
                self.next();
                self.immediate()
            }
            Tok::Punct('[') => self.bracket(),
            Tok::Punct('%') => {
                self.next();
                self.register()
            }
            Tok::Num(4) if self.peek_at(1).tok == Tok::Punct('*') => self.msh(),
            Tok::Num(n) => {
                self.next();
                Ok(Arg::Imm(n))
            }
            Tok::Ident(w)
                if w.eq_ignore_ascii_case("m") && self.peek_at(1).tok == Tok::Punct('[') =>
            {
                self.next();
                self.next();
                let k = self.number()?;
                self.expect(']', "`]`")?;
                Ok(Arg::Mem(k))
            }
            Tok::Ident(w) if w.eq_ignore_ascii_case("len") => {
                self.next();
                Ok(Arg::Len)
            }
            Tok::Ident(_) => self.register(),
            _ => Err(self.expected("an operand")),
        }
    }

    /// `x` or `a` (after an optional `%`).
    fn register(&mut self) -> Result<Arg, AsmError> {
        match self.peek().tok {
            Tok::Ident(w) if w.eq_ignore_ascii_case("x") => {
                self.next();
                Ok(Arg::X)
            }
            Tok::Ident(w) if w.eq_ignore_ascii_case("a") => {
                self.next();
                Ok(Arg::A)
            }
            _ => Err(self.expected("an operand (`#k`, `[k]`, `M[k]`, `x`, `a` or `len`)")),
        }
    }

    /// After `#`: a number, `len`, an action, an arch or a syscall name.
    fn immediate(&mut self) -> Result<Arg, AsmError> {
        let t = self.peek();
        match t.tok {
            Tok::Num(n) => {
                self.next();
                Ok(Arg::Imm(n))
            }
            Tok::Ident(w) if w.eq_ignore_ascii_case("len") => {
                self.next();
                Ok(Arg::Len)
            }
            Tok::Ident(name) => {
                self.next();
                if self.peek().tok == Tok::Punct('(') {
                    return self.action_with_data(name, t.pos);
                }
                self.named_value(name, t.pos).map(Arg::Imm)
            }
            _ => Err(self.expected("a number or a name after `#`")),
        }
    }

    /// `ERRNO(1)`, `TRAP(3)`, `TRACE(7)`.
    fn action_with_data(&mut self, name: &str, pos: Pos) -> Result<Arg, AsmError> {
        self.next();
        let data = self.number()?;
        self.expect(')', "`)`")?;
        let text = format!("{name}({data})");
        match Action::parse(&text) {
            Some(a) if is_upper(name) => Ok(Arg::Imm(a.to_raw())),
            _ => Err(AsmError::new(pos, ErrorKind::UnknownAction(text))),
        }
    }

    /// An action, `AUDIT_ARCH_*` or syscall name.
    fn named_value(&self, name: &str, pos: Pos) -> Result<u32, AsmError> {
        if let Some(action) = Action::parse(name).filter(|_| is_upper(name)) {
            return Ok(action.to_raw());
        }
        if name.len() > 11 && name[..11].eq_ignore_ascii_case("AUDIT_ARCH_") {
            return audit_arch_by_name(name)
                .ok_or_else(|| AsmError::new(pos, ErrorKind::UnknownArch(name.into())));
        }
        let bare = name.strip_prefix("__NR_").unwrap_or(name);
        let resolver = self
            .opts
            .syscalls
            .ok_or_else(|| AsmError::new(pos, ErrorKind::NoSyscallTable(bare.into())))?;
        resolver
            .number(bare)
            .ok_or_else(|| AsmError::new(pos, ErrorKind::UnknownName(name.into())))
    }

    /// `[k]`, `[x + k]`, `[%x + k]` or `[field]`.
    fn bracket(&mut self) -> Result<Arg, AsmError> {
        self.next();
        let t = self.peek();
        let arg = match t.tok {
            Tok::Num(k) => {
                self.next();
                Arg::Abs(k)
            }
            Tok::Punct('%') => {
                self.next();
                self.indirect()?
            }
            Tok::Ident(w) if w.eq_ignore_ascii_case("x") => self.indirect()?,
            Tok::Ident(name) => {
                self.next();
                Arg::Abs(self.field(name, t.pos)?.offset(self.endian))
            }
            _ => return Err(self.expected("an offset, `x + k` or a seccomp_data field")),
        };
        self.expect(']', "`]`")?;
        Ok(arg)
    }

    /// `x [+] [k]` inside brackets.
    fn indirect(&mut self) -> Result<Arg, AsmError> {
        match self.peek().tok {
            Tok::Ident(w) if w.eq_ignore_ascii_case("x") => self.next(),
            _ => return Err(self.expected("`x`")),
        };
        let plus = self.eat('+');
        match self.peek().tok {
            Tok::Num(k) => {
                self.next();
                Ok(Arg::Ind(k))
            }
            _ if plus => Err(self.expected("a number")),
            _ => Ok(Arg::Ind(0)),
        }
    }

    /// `nr`, `arch`, `instruction_pointer.lo|hi`, `args[i].lo|hi`.
    fn field(&mut self, name: &str, pos: Pos) -> Result<Field, AsmError> {
        let unknown = || AsmError::new(pos, ErrorKind::UnknownField(name.into()));
        match name.to_ascii_lowercase().as_str() {
            "nr" => Ok(Field::Nr),
            "arch" => Ok(Field::Arch),
            "instruction_pointer" | "ip" => Ok(Field::Ip(self.half()?)),
            "args" => {
                self.expect('[', "`[`")?;
                let i = self.bounded("argument index", 5)?;
                self.expect(']', "`]`")?;
                Ok(Field::Arg(i as u8, self.half()?))
            }
            _ => Err(unknown()),
        }
    }

    /// `.lo` or `.hi`.
    fn half(&mut self) -> Result<Half, AsmError> {
        self.expect('.', "`.lo` or `.hi`")?;
        match self.peek().tok {
            Tok::Ident(w) if w.eq_ignore_ascii_case("lo") => {
                self.next();
                Ok(Half::Lo)
            }
            Tok::Ident(w) if w.eq_ignore_ascii_case("hi") => {
                self.next();
                Ok(Half::Hi)
            }
            _ => Err(self.expected("`lo` or `hi`")),
        }
    }

    /// `4*([k]&0xf)`, exactly.
    fn msh(&mut self) -> Result<Arg, AsmError> {
        let pos = self.next().pos;
        let bad = || AsmError::new(pos, ErrorKind::MshForm);
        let expect = |p: &mut Self, c: char| if p.eat(c) { Ok(()) } else { Err(bad()) };
        expect(self, '*')?;
        expect(self, '(')?;
        expect(self, '[')?;
        let k = self.number().map_err(|_| bad())?;
        expect(self, ']')?;
        expect(self, '&')?;
        if self.number().map_err(|_| bad())? != 0xf {
            return Err(bad());
        }
        expect(self, ')')?;
        Ok(Arg::Msh(k))
    }
}

/// Whether a name is written in upper case (actions must be).
fn is_upper(name: &str) -> bool {
    !name.bytes().any(|b| b.is_ascii_lowercase())
}
