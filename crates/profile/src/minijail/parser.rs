//! minijail's statement grammar: filter statements, argument expressions,
//! constants and actions, read from one statement's tokens.
//!
//! In: a `Statement` of tokens and the arch's [`ArchTable`]. Out: a
//! [`FilterStatement`] (syscalls, filters, the colon's place). The grammar,
//! error order and value rules are minijail's: numbers in C syntax, named
//! constants from `constants.json`, `|` and `~` on words of the arch's size,
//! `-N` as its unsigned word, values past the word refused, `kill` the
//! compiler's kill action (KILL_THREAD), `1` the same as `allow`, `return N`
//! an errno of `N & 0xffff`. sysfence refuses one thing minijail accepts:
//! `arg6`, whose load lies past `seccomp_data` and which the kernel rejects.
//! Not handled here: `@include`, `@frequency`, `@default` (see `files`).

use std::collections::VecDeque;

use super::constants::ArchTable;
use super::lexer::{Kind, Statement, Token};
use crate::ir::{Action, Origin};

/// The action `kill` stands for: minijail's compiler default.
pub const KILL: Action = Action::KillThread;

/// Parenthesis nesting sysfence reads (minijail stops at Python's recursion
/// limit, a few hundred).
const MAX_PARENS: usize = 64;

/// One comparison: `argN op value`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Atom {
    /// The argument index (0..=5).
    pub arg: u8,
    /// The operator text (`==`, `!=`, `<`, `<=`, `>`, `>=`, `&`, `in`).
    pub op: Op,
    /// The value, already a word of the arch's size.
    pub value: u64,
}

/// minijail's operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `==`.
    Eq,
    /// `!=`.
    Ne,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
    /// `&`: any of the bits is set.
    AnyBit,
    /// `in`: no bit outside the mask is set.
    In,
}

/// Atoms joined by `&&`, and where the clause begins (its first
/// argument), where the rule it becomes points.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Clause {
    /// The atoms, all of which must hold.
    pub atoms: Vec<Atom>,
    /// The clause's first token.
    pub at: Origin,
}

/// A filter: an argument expression in disjunctive normal form (`None`
/// for an unconditional action) and its action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Filter {
    /// Clauses joined by `||`.
    pub expr: Option<Vec<Clause>>,
    /// The action when the expression holds.
    pub action: Action,
}

/// A parsed `syscalls: filter` line.
#[derive(Clone, Debug)]
pub struct FilterStatement {
    /// `(name, number)` of each syscall (none when `[arch=...]` left them all out).
    pub syscalls: Vec<(String, u32)>,
    /// The filters, in order.
    pub filters: Vec<Filter>,
    /// The colon, where diagnostics about the line point.
    pub colon: Origin,
}

/// A located parse error (message, origin).
pub type PResult<T> = Result<T, (String, Origin)>;

/// The tokens of one statement being consumed, with where "missing ..."
/// errors point.
#[derive(Debug)]
pub struct Cursor<'a> {
    tokens: VecDeque<Token>,
    file: &'a str,
    line: u32,
    end_column: u32,
    parens: usize,
}

impl<'a> Cursor<'a> {
    /// A cursor over a statement of `file`.
    pub fn new(st: &Statement, file: &'a str) -> Cursor<'a> {
        Cursor {
            tokens: st.tokens.iter().cloned().collect(),
            file,
            line: st.line,
            end_column: st.line_len + 1,
            parens: 0,
        }
    }

    /// The next token's class.
    pub fn peek(&self) -> Option<Kind> {
        self.tokens.front().map(|t| t.kind)
    }

    /// Whether the next token is of class `k`.
    pub fn at(&self, k: Kind) -> bool {
        self.peek() == Some(k)
    }

    /// Takes the next token; `what` names it in the "missing" error.
    pub fn next(&mut self, what: &str) -> PResult<Token> {
        self.tokens
            .pop_front()
            .ok_or_else(|| self.error_here(format!("missing {what}")))
    }

    /// The next token without taking it.
    pub fn front(&self) -> Option<&Token> {
        self.tokens.front()
    }

    /// An error at a token.
    pub fn error(&self, t: &Token, msg: impl Into<String>) -> (String, Origin) {
        (msg.into(), self.origin(t))
    }

    /// An error at the end of the statement's last line.
    pub fn error_here(&self, msg: impl Into<String>) -> (String, Origin) {
        let o = Origin {
            file: self.file.to_string(),
            line: self.line,
            column: self.end_column,
            path: String::new(),
        };
        (msg.into(), o)
    }

    /// Where a token is.
    pub fn origin(&self, t: &Token) -> Origin {
        Origin {
            file: self.file.to_string(),
            line: t.line,
            column: t.column,
            path: String::new(),
        }
    }

    /// Whether every token was used.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }
}

/// `single-constant = identifier | numeric-constant`, as a word.
pub fn single_constant(c: &Cursor, t: &Token, table: &ArchTable) -> PResult<u64> {
    let v = match t.kind {
        Kind::Identifier => *table.constants.get(&t.text).ok_or_else(|| {
            c.error(
                t,
                format!(
                    "invalid constant: \"{}\" is not in constants.json for {}",
                    t.text, table.arch_name
                ),
            )
        })?,
        Kind::Number => c_number(&t.text).ok_or_else(|| {
            // Past i128 either way: minijail's unbounded integer is past
            // the word on the side of its sign.
            let side = if t.text.starts_with('-') {
                "signed underflow"
            } else {
                "unsigned overflow"
            };
            c.error(t, side)
        })?,
        _ => return Err(c.error(t, "invalid constant")),
    };
    if v > table.max_unsigned() {
        return Err(c.error(t, "unsigned overflow"));
    }
    if v < table.min_signed() {
        return Err(c.error(t, "signed underflow"));
    }
    Ok((v & table.max_unsigned()) as u64)
}

/// A number token as C's `strtol(_, _, 0)` reads it (`None` past i128).
fn c_number(s: &str) -> Option<i128> {
    let (neg, digits) = s.strip_prefix('-').map_or((false, s), |d| (true, d));
    let (radix, body) = if let Some(h) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        (16, h)
    } else if digits.len() > 1
        && digits.starts_with('0')
        && digits[1..].bytes().all(|b| (b'0'..=b'7').contains(&b))
    {
        (8, &digits[1..])
    } else {
        (10, digits)
    };
    let v = i128::from_str_radix(body, radix).ok()?;
    Some(if neg { -v } else { v })
}

/// `constant = [~] ( '(' value ')' | single-constant )`.
fn constant(c: &mut Cursor, table: &ArchTable) -> PResult<u64> {
    let mut negate = false;
    if c.at(Kind::Complement) {
        negate = true;
        c.next("constant")?;
        if c.is_empty() {
            return Err(c.error_here("empty complement"));
        }
        if let Some(t) = c.front().filter(|t| t.kind == Kind::Complement) {
            return Err(c.error(t, "invalid double complement"));
        }
    }
    let first = c.next("constant")?;
    let v = if first.kind == Kind::LParen {
        c.parens += 1;
        if c.parens > MAX_PARENS {
            return Err(c.error(
                &first,
                format!("parentheses nested deeper than {MAX_PARENS}"),
            ));
        }
        let v = value(c, table)?;
        c.parens -= 1;
        if !c.at(Kind::RParen) {
            return Err(c.error(&first, "unclosed parenthesis"));
        }
        c.next("`)`")?;
        v
    } else {
        single_constant(c, &first, table)?
    };
    Ok(if negate {
        !v & table.max_unsigned() as u64
    } else {
        v
    })
}

/// `value = constant { '|' constant }`.
pub fn value(c: &mut Cursor, table: &ArchTable) -> PResult<u64> {
    if c.is_empty() {
        return Err(c.error_here("empty constant"));
    }
    let mut v = constant(c, table)?;
    while c.at(Kind::BitOr) {
        c.next("`|`")?;
        if c.is_empty() {
            return Err(c.error_here("empty constant"));
        }
        v |= constant(c, table)?;
    }
    Ok(v)
}

/// `atom = argument op value`.
fn atom(c: &mut Cursor, table: &ArchTable) -> PResult<Atom> {
    let arg = c.next("argument")?;
    if arg.kind != Kind::Argument {
        return Err(c.error(&arg, "invalid argument"));
    }
    let op = c.next("operator")?;
    if op.kind != Kind::Op {
        return Err(c.error(&op, "invalid operator"));
    }
    let value = value(c, table)?;
    let index: u64 = arg.text[3..].parse().unwrap_or(u64::MAX);
    if index == 6 {
        return Err(c.error(
            &arg,
            "arg6: seccomp_data has six arguments (arg0..arg5); minijail would load past its end, which the kernel rejects",
        ));
    }
    if index > 6 {
        return Err(c.error(&arg, "invalid argument"));
    }
    let op = match op.text.as_str() {
        "==" => Op::Eq,
        "!=" => Op::Ne,
        "<" => Op::Lt,
        "<=" => Op::Le,
        ">" => Op::Gt,
        ">=" => Op::Ge,
        "&" => Op::AnyBit,
        _ => Op::In,
    };
    Ok(Atom {
        arg: index as u8,
        op,
        value,
    })
}

/// `argument-expression = clause { '||' clause }`, `clause = atom { '&&' atom }`.
fn expression(c: &mut Cursor, table: &ArchTable) -> PResult<Vec<Clause>> {
    let mut clauses = Vec::new();
    loop {
        let at = c.front().map(|t| c.origin(t));
        let mut atoms = vec![atom(c, table)?];
        while c.at(Kind::And) {
            c.next("`&&`")?;
            if c.is_empty() {
                return Err(c.error_here("empty clause"));
            }
            atoms.push(atom(c, table)?);
        }
        // `atom` took a token, so there was one.
        let at = at.unwrap_or_default();
        clauses.push(Clause { atoms, at });
        if !c.at(Kind::Or) {
            return Ok(clauses);
        }
        c.next("`||`")?;
        if c.is_empty() {
            return Err(c.error_here("empty argument expression"));
        }
    }
}

/// `action`: the words, `1`, `return N`.
pub fn action(c: &mut Cursor, table: &ArchTable) -> PResult<Action> {
    let t = c.next("action")?;
    let a = match (t.kind, t.text.as_str()) {
        (Kind::Action, "allow") => Action::Allow,
        (Kind::Action, "kill") => KILL,
        (Kind::Action, "kill-process") => Action::KillProcess,
        (Kind::Action, "kill-thread") => Action::KillThread,
        (Kind::Action, "trap") => Action::Trap(0),
        (Kind::Action, "trace") => Action::Trace(0),
        (Kind::Action, "user-notify") => Action::UserNotif,
        (Kind::Action, "log") => Action::Log,
        (Kind::Number, _) if single_constant(c, &t, table)? == 1 => Action::Allow,
        (Kind::Return, _) => {
            let v = c.next("return value")?;
            Action::Errno((single_constant(c, &v, table)? & 0xffff) as u16)
        }
        _ => return Err(c.error(&t, "invalid action")),
    };
    Ok(a)
}

/// `default-action`: the words `@default` takes.
pub fn default_action(c: &mut Cursor) -> PResult<Action> {
    let t = c.next("default action")?;
    if t.kind != Kind::Action {
        return Err(c.error(&t, "invalid default action"));
    }
    Ok(match t.text.as_str() {
        "kill-process" => Action::KillProcess,
        "kill-thread" => Action::KillThread,
        "kill" => KILL,
        "trap" => Action::Trap(0),
        "user-notify" => Action::UserNotif,
        _ => return Err(c.error(&t, "invalid permissive default action")),
    })
}

/// `single-filter = action | argument-expression [ ';' action ]`.
fn single_filter(c: &mut Cursor, table: &ArchTable) -> PResult<Filter> {
    if c.is_empty() {
        return Err(c.error_here("missing filter"));
    }
    if !c.at(Kind::Argument) {
        return Ok(Filter {
            expr: None,
            action: action(c, table)?,
        });
    }
    let expr = expression(c, table)?;
    let action = if c.at(Kind::Semicolon) {
        c.next("`;`")?;
        action(c, table)?
    } else {
        Action::Allow
    };
    Ok(Filter {
        expr: Some(expr),
        action,
    })
}

/// `filter = '{' single-filter { ',' single-filter } '}' | single-filter`.
fn filter(c: &mut Cursor, table: &ArchTable) -> PResult<Vec<Filter>> {
    if c.is_empty() {
        return Err(c.error_here("missing filter"));
    }
    if !c.at(Kind::LBrace) {
        return Ok(vec![single_filter(c, table)?]);
    }
    braced(c, |c| Ok(vec![single_filter(c, table)?]))
}

/// `'{' item { ',' item } '}'`, the items' results joined.
fn braced<T>(
    c: &mut Cursor,
    mut item: impl FnMut(&mut Cursor) -> PResult<Vec<T>>,
) -> PResult<Vec<T>> {
    let open = c.next("`{`")?;
    let mut out = Vec::new();
    while !c.is_empty() {
        out.extend(item(c)?);
        if !c.at(Kind::Comma) {
            break;
        }
        c.next("`,`")?;
    }
    if !c.at(Kind::RBrace) {
        return Err(c.error(&open, "unclosed brace"));
    }
    c.next("`}`")?;
    Ok(out)
}

/// `metadata = '[' key '=' names { ';' key '=' names } ']'`: returns the
/// `arch` list when there is one.
fn metadata(c: &mut Cursor) -> PResult<Option<Vec<String>>> {
    let open = c.next("opening bracket")?;
    let mut keys: Vec<String> = Vec::new();
    let mut arch = None;
    while !c.is_empty() {
        let key = c.next("key")?;
        if key.kind != Kind::Identifier {
            return Err(c.error(&key, "invalid key"));
        }
        let eq = c.next("equal")?;
        if eq.kind != Kind::Equal {
            return Err(c.error(&eq, "invalid equal"));
        }
        let mut names = Vec::new();
        loop {
            let v = c.next("value").map_err(|_| c.error_here("empty value"))?;
            if v.kind != Kind::Identifier {
                return Err(c.error(&v, "invalid value"));
            }
            names.push(v.text);
            if !c.at(Kind::Comma) {
                break;
            }
            c.next("`,`")?;
            if c.is_empty() {
                return Err(c.error_here("empty value"));
            }
        }
        if keys.contains(&key.text) {
            return Err(c.error(&key, format!("duplicate metadata key: \"{}\"", key.text)));
        }
        keys.push(key.text.clone());
        if key.text == "arch" {
            arch = Some(names);
        }
        if !c.at(Kind::Semicolon) {
            break;
        }
        c.next("`;`")?;
    }
    if !c.at(Kind::RBracket) {
        return Err(c.error(&open, "unclosed bracket"));
    }
    c.next("`]`")?;
    Ok(arch)
}

/// `syscall-descriptor = name [metadata] | group@namespace [metadata]`:
/// the syscalls it names on this arch.
pub fn descriptor(c: &mut Cursor, table: &ArchTable) -> PResult<Vec<(String, u32)>> {
    let t = c.next("syscall descriptor")?;
    if t.kind != Kind::Identifier && t.text != "kill" {
        return Err(c.error(&t, "invalid syscall descriptor"));
    }
    if c.at(Kind::LBracket)
        && let Some(arches) = metadata(c)?
        && !arches.contains(&table.arch_name)
    {
        return Ok(vec![]);
    }
    let lookup = |name: &str| {
        table
            .syscalls
            .get(name)
            .map(|nr| (name.to_string(), *nr))
            .ok_or_else(|| {
                c.error(
                    &t,
                    format!(
                        "nonexistent syscall \"{name}\" (not in constants.json for {})",
                        table.arch_name
                    ),
                )
            })
    };
    let Some((group, namespace)) = t.text.split_once('@') else {
        return Ok(vec![lookup(&t.text)?]);
    };
    if namespace.contains('@') {
        return Err(c.error(&t, "invalid syscall group name"));
    }
    let ns = table
        .groups
        .get(namespace)
        .ok_or_else(|| c.error(&t, "nonexistent syscall group namespace"))?;
    let names = ns
        .get(group)
        .ok_or_else(|| c.error(&t, "nonexistent syscall group"))?;
    names.iter().map(|n| lookup(n)).collect()
}

/// `filter-statement = ( '{' descriptor { ',' descriptor } '}' | descriptor ) ':' filter`.
pub fn filter_statement(c: &mut Cursor, table: &ArchTable) -> PResult<FilterStatement> {
    let syscalls = if c.at(Kind::LBrace) {
        braced(c, |c| descriptor(c, table))?
    } else {
        descriptor(c, table)?
    };
    let colon = c.next("colon")?;
    if colon.kind != Kind::Colon {
        return Err(c.error(&colon, "invalid colon"));
    }
    let filters = filter(c, table)?;
    Ok(FilterStatement {
        syscalls,
        filters,
        colon: c.origin(&colon),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::minijail::lexer::tokenize;

    fn table() -> ArchTable {
        let mut t = ArchTable {
            arch_nr: 0xc000_003e,
            arch_name: "x86_64".into(),
            bits: 64,
            ..Default::default()
        };
        t.syscalls.insert("read".into(), 0);
        t.syscalls.insert("kill".into(), 62);
        t.constants.insert("O_RDONLY".into(), 0);
        t.constants.insert("A".into(), 4);
        t.constants.insert("NEG".into(), -1);
        t
    }

    fn parse(s: &str) -> PResult<FilterStatement> {
        let st = tokenize(s).unwrap().statements.remove(0);
        let mut c = Cursor::new(&st, "p.policy");
        let r = filter_statement(&mut c, &table());
        assert!(r.is_err() || c.is_empty(), "tokens left");
        r
    }

    #[test]
    fn values_are_words() {
        let f =
            parse("read: arg0 == ~A|1 || arg1 in (A|NEG) && arg2 != -2; return 0x10005").unwrap();
        let e = f.filters[0].expr.as_ref().unwrap();
        assert_eq!(e[0].atoms[0].value, !4u64 | 1);
        assert_eq!(e[1].atoms[0].value, u64::MAX);
        assert_eq!(e[1].atoms[1].value, u64::MAX - 1);
        let columns: Vec<_> = e.iter().map(|c| (c.at.line, c.at.column)).collect();
        assert_eq!(columns, [(1, 7), (1, 23)]);
        assert_eq!(f.filters[0].action, Action::Errno(5));
        assert_eq!(c_number("0755"), Some(0o755));
        assert_eq!(c_number("09"), Some(9));
        assert_eq!(c_number("-0x10"), Some(-16));
    }

    #[test]
    fn errors_point_where_minijail_points() {
        let e = parse("read: arg0 == B").unwrap_err();
        assert_eq!((e.1.line, e.1.column), (1, 15));
        let e = parse("read: arg6 == 1").unwrap_err();
        assert!(e.0.contains("arg6"));
        let e = parse("read: arg0 ==").unwrap_err();
        assert_eq!((e.0.as_str(), e.1.column), ("empty constant", 14));
        assert_eq!(
            parse("read: 0x10000000000000000").unwrap_err().0,
            "unsigned overflow"
        );
        let huge = format!("read: arg0 == -{}", "9".repeat(60));
        assert_eq!(parse(&huge).unwrap_err().0, "signed underflow");
        assert_eq!(parse("read: 2").unwrap_err().0, "invalid action");
        assert!(parse("kill: kill").is_ok());
        assert!(parse("{read, kill[arch=arm64]}: 1").is_ok_and(|f| f.syscalls.len() == 1));
    }
}
