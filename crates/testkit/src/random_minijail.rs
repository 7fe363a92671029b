//! Random minijail policies for differential tests against minijail's own
//! compiler.
//!
//! In: nothing (the names drawn are x86_64's and exist in crosvm's
//! `x86_64/constants.json`). Out: a proptest strategy of policy texts. What
//! is drawn: statements on a few syscalls (so that names repeat, with equal
//! or conflicting filters), `{a, b}` descriptor groups, `[arch=...]`
//! metadata for this arch and another, filter lists `{f, g}`, argument
//! expressions in disjunctive normal form over `arg0`..`arg5` with every
//! operator (`==`, `!=`, `<`, `<=`, `>`, `>=`, `&`, `in`), values written
//! in decimal, hex, octal and negative, named constants, `|`-ed and
//! parenthesised values, `~`, every action word, `return N`, `@default`,
//! comments and line continuations. One policy in four also holds one
//! statement minijail refuses or compiles to a program the kernel refuses
//! ([`fault`]): an unknown syscall, constant or syscall group, `arg6`, a
//! double `~`, a permissive `@default`, a numeric action other than 1, a
//! missing colon. One policy in three includes a second file of
//! statements.
//!
//! Not checked: what minijail makes of a text; the caller asks it.

use proptest::prelude::*;

/// Syscall names the statements use; `kill` is also an action word, which
/// the parser accepts as a name.
pub const NAMES: [&str; 10] = [
    "read", "write", "mmap", "ioctl", "kill", "futex", "openat", "close", "madvise", "prctl",
];

/// Named constants of crosvm's x86_64 `constants.json`.
pub const CONSTANTS: [&str; 8] = [
    "PROT_READ",
    "PROT_WRITE",
    "PROT_EXEC",
    "MAP_PRIVATE",
    "O_RDWR",
    "CLONE_THREAD",
    "FIONREAD",
    "EPERM",
];

/// The argument operators.
pub const OPERATORS: [&str; 8] = ["==", "!=", "<", "<=", ">", ">=", "&", "in"];

/// Every action word minijail reads for a filter.
pub const ACTIONS: [&str; 9] = [
    "allow",
    "1",
    "kill",
    "kill-process",
    "kill-thread",
    "trap",
    "trace",
    "log",
    "user-notify",
];

/// A value edge of both 32-bit words, or any 64-bit value.
fn number() -> impl Strategy<Value = u64> {
    prop_oneof![
        3 => 0u64..4,
        2 => prop::sample::select(vec![
            0x7fff_ffffu64,
            0x8000_0000,
            0xffff_ffff,
            0x1_0000_0000,
            0x1_0000_0001,
            u64::MAX,
            u64::MAX - 1,
        ]),
        2 => any::<u64>(),
        1 => any::<u32>().prop_map(u64::from),
    ]
}

/// One number as minijail's lexer reads it: decimal, hex, octal or negated.
fn literal() -> impl Strategy<Value = String> {
    (number(), 0u8..8).prop_map(|(v, form)| match form {
        0..=2 => format!("{v:#x}"),
        3 if v > 0 => format!("0{v:o}"),
        4 if v > 0 && v < 1 << 40 => format!("-{v}"),
        5 => format!("{v:#X}"),
        _ => v.to_string(),
    })
}

/// A single constant: a literal or a named one.
fn single() -> impl Strategy<Value = String> {
    prop_oneof![
        5 => literal(),
        3 => prop::sample::select(CONSTANTS.to_vec()).prop_map(String::from),
    ]
}

/// `value = constant { '|' constant }`, with `~` and parentheses.
fn value() -> impl Strategy<Value = String> {
    let constant = (single(), 0u8..10).prop_map(|(c, form)| match form {
        0 => format!("~{c}"),
        1 => format!("~({c})"),
        2 => format!("({c})"),
        3 => format!("~(~{c})"),
        _ => c,
    });
    prop::collection::vec(constant, 1..=3).prop_map(|cs| cs.join("|"))
}

/// `argN op value`.
fn atom() -> impl Strategy<Value = String> {
    (0u8..6, prop::sample::select(OPERATORS.to_vec()), value())
        .prop_map(|(i, op, v)| format!("arg{i} {op} {v}"))
}

/// Clauses of atoms joined with `&&`, clauses joined with `||`.
fn expression() -> impl Strategy<Value = String> {
    let clause = prop::collection::vec(atom(), 1..=3).prop_map(|a| a.join(" && "));
    prop::collection::vec(clause, 1..=3).prop_map(|c| c.join(" || "))
}

/// An action word or `return N`.
fn action() -> impl Strategy<Value = String> {
    let errno = prop::sample::select(vec![0u64, 1, 13, 38, 4095, 4096, 65535, 65536]);
    prop_oneof![
        6 => prop::sample::select(ACTIONS.to_vec()).prop_map(String::from),
        3 => errno.prop_map(|e| format!("return {e}")),
        1 => Just("return EPERM".to_string()),
    ]
}

/// `action`, `expression`, `expression; action`.
fn single_filter() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => action(),
        2 => expression(),
        3 => (expression(), action()).prop_map(|(e, a)| format!("{e}; {a}")),
    ]
}

/// A single filter or a `{f, g}` list.
fn filter() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => single_filter(),
        1 => prop::collection::vec(single_filter(), 1..=3)
            .prop_map(|f| format!("{{{}}}", f.join(", "))),
    ]
}

/// A syscall name, with metadata for this arch or another.
fn descriptor() -> impl Strategy<Value = String> {
    let name = prop::sample::select(NAMES.to_vec());
    let meta = prop_oneof![
        8 => Just(""),
        1 => Just("[arch=x86_64]"),
        1 => Just("[arch=aarch64,riscv64]"),
    ];
    (name, meta).prop_map(|(n, m)| format!("{n}{m}"))
}

/// One filter statement.
fn statement() -> impl Strategy<Value = String> {
    let descriptors = prop_oneof![
        4 => descriptor(),
        1 => prop::collection::vec(descriptor(), 1..=3)
            .prop_map(|d| format!("{{{}}}", d.join(", "))),
    ];
    (descriptors, filter(), 0u8..20).prop_map(|(d, f, form)| match form {
        0 => format!("{d}: \\\n  {f}"),
        1 => format!("{d}: {f}  # why"),
        _ => format!("{d}: {f}"),
    })
}

/// One statement or line minijail refuses, or compiles to a program that
/// reads past `seccomp_data`.
pub fn fault() -> impl Strategy<Value = String> {
    let name = prop::sample::select(NAMES.to_vec());
    let faults = prop::sample::select(vec![
        "{n}: arg0 == NO_SUCH_CONSTANT",
        "{n}: arg1 == ~~1",
        "{n}: arg6 == 0",
        "{n}: arg0 == 1 && arg6 != 0; return 1",
        "no_such_syscall: allow",
        "{n}@std: allow",
        "{n}: 2",
        "{n} allow",
        "@default allow",
        "@default log",
        "{n}: arg0 === 1",
        "{n}: arg0 == 0x10000000000000000",
    ]);
    (name, faults).prop_map(|(n, f)| f.replace("{n}", n))
}

/// `@default`, mostly absent.
fn default_line() -> impl Strategy<Value = Option<String>> {
    let word = prop::sample::select(vec![
        "kill-process",
        "kill-thread",
        "kill",
        "trap",
        "user-notify",
    ]);
    prop_oneof![
        3 => Just(None),
        1 => word.prop_map(|w| Some(format!("@default {w}"))),
    ]
}

/// The file a [`Policy`] may include, beside it.
pub const INCLUDED: &str = "included.policy";

/// A random policy and the file it may `@include` ([`INCLUDED`]).
#[derive(Clone, Debug)]
pub struct Policy {
    /// The policy's text.
    pub text: String,
    /// The included file's text (statements only).
    pub included: String,
}

/// Random policies: a comment, an optional `@default` line and one to six
/// statements, in one policy of four a [`fault`] among them, and in one of
/// three an `@include` of one to three more statements among them.
pub fn policy() -> impl Strategy<Value = Policy> {
    let statements = prop::collection::vec(statement(), 1..=6);
    let index = any::<prop::sample::Index>();
    let fault = prop_oneof![3 => Just(None), 1 => (fault(), index.clone()).prop_map(Some)];
    let included = prop::collection::vec(statement(), 1..=3).prop_map(|s| s.join("\n") + "\n");
    let include = prop_oneof![2 => Just(None), 1 => index.prop_map(Some)];
    let parts = (
        default_line(),
        statements,
        any::<bool>(),
        fault,
        included,
        include,
    );
    parts.prop_map(
        |(default, mut statements, last, fault, included, include)| {
            for (line, at) in [
                fault,
                include.map(|at| (format!("@include ./{INCLUDED}"), at)),
            ]
            .into_iter()
            .flatten()
            {
                let at = at.index(statements.len() + 1);
                statements.insert(at, line);
            }
            let mut lines = vec!["# random policy".to_string()];
            if let Some(d) = default.clone().filter(|_| !last) {
                lines.push(d);
            }
            lines.extend(statements);
            if let Some(d) = default.filter(|_| last) {
                lines.push(d);
            }
            Policy {
                text: lines.join("\n") + "\n",
                included,
            }
        },
    )
}
