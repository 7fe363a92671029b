//! Reading a [`json::Node`] tree the way Go's `encoding/json` fills a struct.
//!
//! In: a node, its JSON path, the field names a Go struct declares. Out:
//! the members that set each field, plus warnings for keys Go would ignore.
//! Go's rules (docs/profiles.md): keys match field tags exactly or else
//! case-insensitively; a field set by two keys is refused (Go merges the
//! second value into the first; see `repeated`); `null` leaves a field unset; unsigned fields take only plain non-negative
//! integers up to 2^64-1; a value of the wrong type aborts the whole load.
//!
//! Not checked here: what the values mean (actions, arches, ...).

use std::sync::Arc;

use crate::diag::{Diagnostic, ProfileError};
use crate::ir::Origin;
use crate::json::{Member, Node, Pos, Value};

/// A decoded value and where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Sp<T> {
    /// The value.
    pub v: T,
    /// Its origin.
    pub o: Origin,
}

/// Decoding state: the file name, the warnings so far, and how keys match
/// fields.
#[derive(Debug)]
pub(crate) struct Dec {
    pub file: String,
    pub warnings: Vec<Diagnostic>,
    /// Keys match fields exactly, as crun's C parser matches a
    /// `config.json`'s keys (`Linux` is not `linux`: an unknown key,
    /// ignored); else by Go's case folding.
    pub exact: bool,
    /// Other files read while resolving the profile (SPO base profiles
    /// beside it): `Pos::file` `k` is the `k`-th.
    pub others: Others,
}

/// Other files a profile's nodes come from: name and text.
#[derive(Clone, Debug, Default)]
pub(crate) struct Others(Vec<(String, Arc<str>)>);

impl Others {
    fn text(&self, file: &str) -> Option<Arc<str>> {
        self.0
            .iter()
            .find(|(name, _)| name == file)
            .map(|(_, t)| t.clone())
    }

    /// `d` excerpted from the other file its origin is in, if it is in one.
    pub fn diagnostic(&self, d: Diagnostic) -> Diagnostic {
        match self.text(&d.origin.file) {
            Some(t) => d.with_source(Some(t)),
            None => d,
        }
    }

    /// `e` excerpted from the other file its origin is in, if it is in one.
    pub fn error(&self, e: ProfileError) -> ProfileError {
        match self.text(&e.origin().file) {
            Some(t) => e.with_source(Some(t)),
            None => e,
        }
    }
}

/// Marks every position in `node` as file `k`.
fn relabel(node: &mut Node, k: u16) {
    node.pos.file = k;
    match &mut node.value {
        Value::Array(items) => items.iter_mut().for_each(|n| relabel(n, k)),
        Value::Object(members) => {
            for m in members {
                m.key_pos.file = k;
                relabel(&mut m.value, k);
            }
        }
        _ => {}
    }
}

/// The members of one object, matched to a struct's fields.
#[derive(Debug)]
pub(crate) struct Fields<'n> {
    set: Vec<(&'static str, &'n Member)>,
    path: String,
    origin: Origin,
}

impl<'n> Fields<'n> {
    /// The value of a field, unless absent or `null`, with its path.
    pub fn get(&self, field: &str) -> Option<(&'n Node, String)> {
        let m = self
            .set
            .iter()
            .rev()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| *m)?;
        if m.value.value == Value::Null {
            return None;
        }
        Some((&m.value, format!("{}.{}", self.path, field)))
    }

    /// The origin of the object itself.
    pub fn origin(&self) -> &Origin {
        &self.origin
    }
}

/// Go's key folding (`bytes.EqualFold`): Unicode simple case folding, so
/// the Kelvin sign matches `k` and the long s matches `s`.
fn fold(s: &str) -> String {
    s.chars()
        .flat_map(char::to_lowercase)
        .map(|c| if c == '\u{17f}' { 's' } else { c })
        .collect()
}

/// The error for a key that sets a field a second time.
///
/// Go's `encoding/json` decodes a repeated key *into* the value the first
/// one left: a second object only overwrites the fields it sets (the two
/// merge), a second array reuses the first one's elements (fields of earlier
/// elements survive), `null` clears a slice or pointer but leaves a string
/// alone, and a type error in any occurrence still aborts the load. What the
/// runtime ends up with therefore depends on the field's Go type, and no
/// single "last one wins" reading matches it; so every repeated field is
/// refused, objects, arrays and scalars alike.
fn repeated(at: &Origin, key: &str, field: &str, first: &Member) -> ProfileError {
    ProfileError::new(
        at,
        format!(
            "key \"{key}\" sets field `{field}` again (first set at {}:{}): Go decodes a repeated key into the value already there, merging objects and arrays, so sysfence refuses it",
            first.key_pos.line, first.key_pos.column
        ),
    )
}

/// The error for a key that names a field only up to case where keys match
/// exactly (crun's `config.json`): crun's parser is case-sensitive, and
/// what it does with a key it does not know is not established, so the
/// key is refused rather than read either way.
pub(crate) fn case_only(dec: &Dec, m: &Member, path: &str, field: &str) -> ProfileError {
    let at = dec.origin(m.key_pos, &format!("{path}.{}", m.key));
    ProfileError::new(
        &at,
        format!(
            "key \"{}\" is not `{field}`: crun matches config.json's keys exactly, and what it does with an unknown key is not established, so sysfence refuses it",
            m.key
        ),
    )
}

/// A key Go would ignore but a user should hear about, with the reason.
pub(crate) type Ignored<'a> = &'a [(&'static str, &'static str)];

impl Dec {
    pub fn new(file: &str) -> Dec {
        Dec {
            file: file.to_string(),
            warnings: Vec::new(),
            exact: false,
            others: Others::default(),
        }
    }

    /// Reads nodes of another file from now on: each position in `node`
    /// names it, so messages about them say that file and excerpt `text`.
    pub fn adopt(&mut self, node: &mut Node, name: String, text: Arc<str>) {
        self.others.0.push((name, text));
        let k = u16::try_from(self.others.0.len()).unwrap_or(u16::MAX);
        relabel(node, k);
    }

    /// Whether `key` sets `field`: exactly, or by Go's folding.
    fn same(&self, field: &str, key: &str) -> bool {
        if self.exact {
            field == key
        } else {
            fold(field) == fold(key)
        }
    }

    /// The origin of a node at `path`.
    pub fn origin(&self, pos: Pos, path: &str) -> Origin {
        let file = match pos.file {
            0 => &self.file,
            k => self
                .others
                .0
                .get(usize::from(k) - 1)
                .map_or(&self.file, |(name, _)| name),
        };
        Origin {
            file: file.clone(),
            line: pos.line,
            column: pos.column,
            path: path.to_string(),
        }
    }

    /// An error at a node.
    pub fn error(&self, node: &Node, path: &str, message: impl Into<String>) -> ProfileError {
        ProfileError::new(&self.origin(node.pos, path), message)
    }

    fn type_error(&self, node: &Node, path: &str, want: &str) -> ProfileError {
        self.error(
            node,
            path,
            format!("expected {want}, found {}", node.value.kind()),
        )
    }

    /// Matches an object's keys to `fields` (Go's rules). `null` gives `None`.
    /// Keys in `ignored` get their own warning; other unknown keys a generic one.
    pub fn object<'n>(
        &mut self,
        node: &'n Node,
        path: &str,
        fields: &[&'static str],
        ignored: Ignored<'_>,
    ) -> Result<Option<Fields<'n>>, ProfileError> {
        let members = match &node.value {
            Value::Null => return Ok(None),
            Value::Object(m) => m,
            _ => return Err(self.type_error(node, path, "an object")),
        };
        let mut set: Vec<(&'static str, &'n Member)> = Vec::new();
        for m in members {
            let field = fields
                .iter()
                .find(|f| **f == m.key)
                .or_else(|| fields.iter().find(|f| self.same(f, &m.key)));
            if field.is_none()
                && self.exact
                && let Some(f) = fields.iter().find(|f| fold(f) == fold(&m.key))
            {
                return Err(case_only(self, m, path, f));
            }
            let key_origin = self.origin(m.key_pos, &format!("{path}.{}", m.key));
            match field {
                Some(f) => {
                    if let Some((_, first)) = set.iter().find(|(g, _)| g == f) {
                        return Err(repeated(&key_origin, &m.key, f, first));
                    }
                    set.push((f, m));
                }
                None => {
                    let why = ignored
                        .iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case(&m.key))
                        .map(|(_, w)| *w);
                    let msg = match why {
                        Some(w) => format!("key \"{}\" ignored: {w}", m.key),
                        None => format!("unknown key \"{}\" ignored", m.key),
                    };
                    self.warnings.push(Diagnostic::warning(&key_origin, msg));
                }
            }
        }
        Ok(Some(Fields {
            set,
            path: path.to_string(),
            origin: self.origin(node.pos, path),
        }))
    }

    /// The member of `members` (an object at `path`) that sets the Go field
    /// `field`, matched by Go's rules, without warnings for the other keys:
    /// for a struct read for one field only (a `config.json`'s `linux`). A
    /// second member setting the field is refused as in [`Dec::object`].
    pub fn member<'n>(
        &self,
        members: &'n [Member],
        path: &str,
        field: &'static str,
    ) -> Result<Option<&'n Member>, ProfileError> {
        let mut found: Option<&'n Member> = None;
        for m in members.iter().filter(|m| self.same(field, &m.key)) {
            if let Some(first) = found {
                let at = self.origin(m.key_pos, &format!("{path}.{}", m.key));
                return Err(repeated(&at, &m.key, field, first));
            }
            found = Some(m);
        }
        Ok(found)
    }

    /// A JSON string.
    pub fn string(&self, node: &Node, path: &str) -> Result<Sp<String>, ProfileError> {
        match &node.value {
            Value::String(s) => Ok(Sp {
                v: s.clone(),
                o: self.origin(node.pos, path),
            }),
            _ => Err(self.type_error(node, path, "a string")),
        }
    }

    /// A Go `uint`/`uint64`: digits only, at most 2^64-1.
    pub fn uint(&self, node: &Node, path: &str) -> Result<Sp<u64>, ProfileError> {
        let Value::Number(text) = &node.value else {
            return Err(self.type_error(node, path, "an unsigned integer"));
        };
        if !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(self.error(
                node,
                path,
                format!("expected an unsigned integer, found {text}"),
            ));
        }
        match text.parse::<u64>() {
            Ok(v) => Ok(Sp {
                v,
                o: self.origin(node.pos, path),
            }),
            Err(_) => Err(self.error(node, path, format!("number {text} does not fit in 64 bits"))),
        }
    }

    /// A JSON array's items with their paths.
    pub fn array<'n>(
        &self,
        node: &'n Node,
        path: &str,
    ) -> Result<Vec<(&'n Node, String)>, ProfileError> {
        match &node.value {
            Value::Array(items) => Ok(items
                .iter()
                .enumerate()
                .map(|(i, n)| (n, format!("{path}[{i}]")))
                .collect()),
            _ => Err(self.type_error(node, path, "an array")),
        }
    }

    /// An array of strings (`null` items become "", as in Go).
    pub fn strings(&self, node: &Node, path: &str) -> Result<Vec<Sp<String>>, ProfileError> {
        let mut out = Vec::new();
        for (n, p) in self.array(node, path)? {
            if n.value == Value::Null {
                out.push(Sp {
                    v: String::new(),
                    o: self.origin(n.pos, &p),
                });
            } else {
                out.push(self.string(n, &p)?);
            }
        }
        Ok(out)
    }

    /// Optional field helpers.
    pub fn opt_string(
        &self,
        f: &Fields<'_>,
        name: &str,
    ) -> Result<Option<Sp<String>>, ProfileError> {
        f.get(name).map(|(n, p)| self.string(n, &p)).transpose()
    }

    pub fn opt_uint(&self, f: &Fields<'_>, name: &str) -> Result<Option<Sp<u64>>, ProfileError> {
        f.get(name).map(|(n, p)| self.uint(n, &p)).transpose()
    }

    pub fn opt_strings(
        &self,
        f: &Fields<'_>,
        name: &str,
    ) -> Result<Option<Vec<Sp<String>>>, ProfileError> {
        f.get(name).map(|(n, p)| self.strings(n, &p)).transpose()
    }
}
