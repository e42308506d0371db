//! Walks an encoded protobuf message against the [`Schema`] without decoding it into types:
//! every text field must be acceptable text ([`crate::text::problem`]) and the bytes a
//! well-formed message (prost's own decode errors are INTERNAL in tonic). Enum values are left
//! to the services, which check them with the rest of a request's fields so a client learns
//! every problem at once. Field paths are rendered only for a violation, so a clean message costs no
//! allocation.

use std::fmt;

use super::schema::{Kind, Schema};

/// Violations kept per message; the rest are only counted (answers are capped anyway).
const MAX_KEPT: usize = 32;
/// Nesting allowed before a message is refused (prost's own limit is 100).
const MAX_DEPTH: usize = 32;

/// The bytes are not a message of the expected type.
#[derive(Debug)]
pub(super) struct Malformed(pub(super) String);

/// What was wrong with a well-formed message.
#[derive(Debug, Default)]
pub(super) struct Findings {
    /// `(field path, why)`, at most [`MAX_KEPT`].
    pub(super) violations: Vec<(String, String)>,
    /// Violations beyond those kept.
    pub(super) more: usize,
}

impl Findings {
    fn add(&mut self, path: &Path<'_>, why: String) {
        if self.violations.len() < MAX_KEPT {
            self.violations.push((path.to_string(), why));
        } else {
            self.more += 1;
        }
    }

    /// Whether nothing was wrong.
    pub(super) fn is_empty(&self) -> bool {
        self.violations.is_empty()
    }
}

/// Checks `bytes` as a `message`; fields are named below `prefix` (empty for a whole request).
pub(super) fn check(schema: &Schema, message: &str, bytes: &[u8], prefix: &str) -> Result<Findings, Malformed> {
    let mut findings = Findings::default();
    let root = Path { parent: None, name: prefix, index: None };
    walk(schema, message, bytes, &root, 0, &mut findings)?;
    Ok(findings)
}

/// A field path as a chain on the stack: `items[2].title`.
struct Path<'a> {
    parent: Option<&'a Path<'a>>,
    name: &'a str,
    index: Option<usize>,
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(parent) = self.parent {
            write!(f, "{parent}")?;
            if !parent.name.is_empty() || parent.parent.is_some() {
                f.write_str(".")?;
            }
        }
        f.write_str(self.name)?;
        if let Some(index) = self.index {
            write!(f, "[{index}]")?;
        }
        Ok(())
    }
}

enum Value<'b> {
    Varint,
    Fixed,
    Delimited(&'b [u8]),
}

fn walk(
    schema: &Schema,
    message: &str,
    mut bytes: &[u8],
    path: &Path<'_>,
    depth: usize,
    findings: &mut Findings,
) -> Result<(), Malformed> {
    if depth > MAX_DEPTH {
        return Err(Malformed(format!("{path}: messages nested more than {MAX_DEPTH} deep")));
    }
    let fields = schema.fields(message);
    // Occurrences of each repeated field so far, for `field[i]` paths.
    let mut counts: Vec<(u32, usize)> = Vec::new();
    while !bytes.is_empty() {
        let key = varint(&mut bytes).ok_or_else(|| malformed(path, "a field key is cut short"))?;
        let number = u32::try_from(key >> 3).map_err(|_| malformed(path, "a field number is out of range"))?;
        if number == 0 {
            return Err(malformed(path, "field number 0"));
        }
        let value = match key & 7 {
            0 => varint(&mut bytes).map(|_| Value::Varint).ok_or_else(|| malformed(path, "a number is cut short"))?,
            1 => take(&mut bytes, 8).map(|_| Value::Fixed).ok_or_else(|| malformed(path, "a number is cut short"))?,
            5 => take(&mut bytes, 4).map(|_| Value::Fixed).ok_or_else(|| malformed(path, "a number is cut short"))?,
            2 => {
                let len = varint(&mut bytes).ok_or_else(|| malformed(path, "a length is cut short"))?;
                let len = usize::try_from(len).map_err(|_| malformed(path, "a length is out of range"))?;
                Value::Delimited(take(&mut bytes, len).ok_or_else(|| malformed(path, "a value is cut short"))?)
            }
            other => return Err(malformed(path, &format!("wire type {other} is not used by Medley's API"))),
        };
        // Unknown fields are skipped, as prost does (a newer client may send them).
        let Some(field) = fields.and_then(|fields| fields.get(&number)) else { continue };
        let index = field.repeated.then(|| {
            let position = counts.iter().position(|(n, _)| *n == number).unwrap_or_else(|| {
                counts.push((number, 0));
                counts.len() - 1
            });
            let entry = &mut counts[position];
            entry.1 += 1;
            entry.1 - 1
        });
        let here = Path { parent: Some(path), name: &field.name, index };
        match (&field.kind, value) {
            (Kind::String, Value::Delimited(text)) => {
                if let Some(why) = crate::text::problem(text) {
                    findings.add(&here, why);
                }
            }
            (Kind::Message(inner), Value::Delimited(inner_bytes)) => {
                walk(schema, inner, inner_bytes, &here, depth + 1, findings)?;
            }
            (Kind::Bytes, Value::Delimited(_))
            | (Kind::Varint | Kind::Enum, Value::Varint)
            | (Kind::Fixed32 | Kind::Fixed64, Value::Fixed) => {}
            // Packed repeated numbers.
            (Kind::Varint | Kind::Enum | Kind::Fixed32 | Kind::Fixed64, Value::Delimited(_)) if field.repeated => {}
            _ => return Err(malformed(&here, "the value has the wrong wire type for the field")),
        }
    }
    Ok(())
}

fn malformed(path: &Path<'_>, why: &str) -> Malformed {
    let at = path.to_string();
    Malformed(if at.is_empty() { why.to_owned() } else { format!("{at}: {why}") })
}

fn take<'b>(bytes: &mut &'b [u8], len: usize) -> Option<&'b [u8]> {
    if bytes.len() < len {
        return None;
    }
    let (head, tail) = bytes.split_at(len);
    *bytes = tail;
    Some(head)
}

fn varint(bytes: &mut &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for (i, &byte) in bytes.iter().enumerate().take(10) {
        value |= u64::from(byte & 0x7F) << (7 * i);
        if byte < 0x80 {
            *bytes = &bytes[i + 1..];
            return Some(value);
        }
    }
    None
}
