//! Rules for text: what a request may hold, and how text from upstream systems is cleaned.
//!
//! PostgreSQL refuses U+0000 in `text` and `jsonb`, so a NUL that reaches a query fails it (and
//! with it every row of its transaction). Requests are refused with the field named
//! ([`problem`], applied to every request by `request_guard`); text from systems Medley does
//! not control loses the characters instead ([`clean`], [`clean_json`]), so one bad upstream
//! record never fails a page.

use std::borrow::Cow;

/// Why `bytes` are not acceptable text, or `None` when they are: valid UTF-8 holding no control
/// character other than tab, line feed and carriage return (no U+0000–U+001F otherwise, no
/// U+007F, no C1 controls U+0080–U+009F).
pub fn problem(bytes: &[u8]) -> Option<String> {
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(error) => return Some(format!("is not valid UTF-8 (at byte {})", error.valid_up_to())),
    };
    // Fast path: every forbidden character starts with a byte below 0x20, 0x7F or 0xC2.
    if !bytes.iter().any(|&b| b < 0x20 || b == 0x7F || b == 0xC2) {
        return None;
    }
    text.chars().enumerate().find(|(_, c)| forbidden(*c)).map(|(position, c)| {
        format!(
            "holds the control character U+{:04X} at character {position} (of control characters only tab, CR and LF are allowed)",
            u32::from(c)
        )
    })
}

/// Whether `c` is a control character text must not hold.
fn forbidden(c: char) -> bool {
    c.is_control() && !matches!(c, '\t' | '\n' | '\r')
}

/// `text` without the control characters requests may not hold (borrowed when it has none).
pub fn clean(text: &str) -> Cow<'_, str> {
    if text.chars().any(forbidden) {
        Cow::Owned(text.chars().filter(|c| !forbidden(*c)).collect())
    } else {
        Cow::Borrowed(text)
    }
}

/// [`clean`] as an owned string, for values about to be stored.
pub fn cleaned(text: String) -> String {
    match clean(&text) {
        Cow::Borrowed(_) => text,
        Cow::Owned(clean) => clean,
    }
}

/// Cleans every string of a JSON document in place, keys included.
pub fn clean_json(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::String(text) => *text = cleaned(std::mem::take(text)),
        Value::Array(items) => items.iter_mut().for_each(clean_json),
        Value::Object(map) => {
            if map.keys().any(|key| key.chars().any(forbidden)) {
                *map = std::mem::take(map).into_iter().map(|(key, value)| (cleaned(key), value)).collect();
            }
            map.values_mut().for_each(clean_json);
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_tabs_and_line_breaks_are_accepted() {
        for text in ["", "Naruto", "Атака титанов", "第1話", "line\nbreak\r\n\ttab", "é ü ß \u{A0}"] {
            assert_eq!(problem(text.as_bytes()), None, "{text:?}");
        }
    }

    #[test]
    fn control_characters_are_refused_with_their_position() {
        let refused = problem("a\u{0}b".as_bytes()).unwrap_or_default();
        assert!(refused.contains("U+0000") && refused.contains("character 1"), "{refused}");
        for text in ["\u{7}", "x\u{1b}[31m", "\u{7f}", "é\u{85}", "\u{9f}"] {
            assert!(problem(text.as_bytes()).is_some(), "{text:?} must be refused");
        }
    }

    #[test]
    fn invalid_utf8_is_refused() {
        assert!(problem(b"ab\xff").is_some_and(|why| why.contains("UTF-8")));
    }

    #[test]
    fn upstream_text_loses_control_characters() {
        assert_eq!(clean("Na\u{0}ru\u{7}to\n"), "Naruto\n");
        assert!(matches!(clean("Naruto"), Cow::Borrowed(_)));
        let mut json = serde_json::json!({"ti\u{0}tle": ["a\u{0}b", {"c": "d\u{1}"}], "n": 1});
        clean_json(&mut json);
        assert_eq!(json, serde_json::json!({"title": ["ab", {"c": "d"}], "n": 1}));
    }
}
