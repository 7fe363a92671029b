//! YAML documents read into the same [`Node`] tree as JSON, with positions.
//!
//! In: YAML text with one or more documents. Out: one [`Node`] per
//! document; scalars keep YAML's typing (an unquoted `5` is a number, a
//! quoted one a string), which is what the Kubernetes YAML → JSON step does
//! before Go decodes it. Nesting is limited by serde-saphyr's budget (64
//! levels); errors carry line and column when the parser knows them.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

use crate::diag::ProfileError;
use crate::ir::Origin;
use crate::json::{Member, Node, Pos, Value};

/// Parses every document of a YAML stream.
pub(crate) fn parse(text: &str, file: &str) -> Result<Vec<Node>, ProfileError> {
    let docs: Vec<YNode> = serde_saphyr::from_multiple(text).map_err(|e| {
        let (line, column) = e
            .location()
            .map_or((0, 0), |l| (l.line() as u32, l.column() as u32));
        let o = Origin {
            file: file.to_string(),
            line,
            column,
            path: "$".into(),
        };
        let msg = e.without_snippet().to_string();
        let first = msg.lines().next().unwrap_or("invalid YAML");
        // The parser's advice to its own caller is not for the user.
        let first = first
            .split(", set DuplicateKeyPolicy")
            .next()
            .unwrap_or(first)
            .to_string();
        ProfileError::new(&o, format!("invalid YAML: {first}"))
    })?;
    Ok(docs.into_iter().map(|d| d.0).collect())
}

struct YNode(Node);
struct YValue(Value);

impl<'de> Deserialize<'de> for YNode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let sp = Spanned::<YValue>::deserialize(d)?;
        let pos = Pos {
            line: sp.referenced.line() as u32,
            column: sp.referenced.column() as u32,
            file: 0,
        };
        Ok(YNode(Node {
            value: sp.value.0,
            pos,
        }))
    }
}

impl<'de> Deserialize<'de> for YValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = YValue;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<YValue, E> {
        Ok(YValue(Value::Bool(v)))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<YValue, E> {
        Ok(YValue(Value::Number(v.to_string())))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<YValue, E> {
        Ok(YValue(Value::Number(v.to_string())))
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<YValue, E> {
        Ok(YValue(Value::Number(v.to_string())))
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<YValue, E> {
        Ok(YValue(Value::Number(v.to_string())))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<YValue, E> {
        Ok(YValue(Value::Number(format!("{v:?}"))))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<YValue, E> {
        Ok(YValue(Value::String(v.to_string())))
    }

    fn visit_unit<E: de::Error>(self) -> Result<YValue, E> {
        Ok(YValue(Value::Null))
    }

    fn visit_none<E: de::Error>(self) -> Result<YValue, E> {
        Ok(YValue(Value::Null))
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<YValue, D::Error> {
        YValue::deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<YValue, A::Error> {
        let mut items = Vec::new();
        while let Some(YNode(n)) = seq.next_element::<YNode>()? {
            items.push(n);
        }
        Ok(YValue(Value::Array(items)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<YValue, A::Error> {
        let mut members = Vec::new();
        while let Some(key) = map.next_key::<Spanned<String>>()? {
            let YNode(value) = map.next_value::<YNode>()?;
            let key_pos = Pos {
                line: key.referenced.line() as u32,
                column: key.referenced.column() as u32,
                file: 0,
            };
            members.push(Member {
                key: key.value,
                key_pos,
                value,
            });
        }
        Ok(YValue(Value::Object(members)))
    }
}
