//! Page sizes and opaque page tokens, the same for every list RPC.
//!
//! A token is the base64url of a small JSON cursor (the sort key of the last row sent) plus a
//! fingerprint of the request's filters: a token used with other filters is rejected instead of
//! returning a silently wrong page.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::{Serialize, de::DeserializeOwned};

use crate::error::FieldViolations;

/// Page size when the request gives none.
pub const DEFAULT_PAGE_SIZE: i64 = 50;
/// Largest page size accepted.
pub const MAX_PAGE_SIZE: i64 = 1000;
/// Longest token accepted, to refuse junk before decoding it.
const MAX_TOKEN_LEN: usize = 1024;

/// Validates `page_size`: 0 means the default, above the maximum is the maximum (AIP-158),
/// negative is an error.
pub fn parse_page_size(page_size: i32, violations: &mut FieldViolations) -> i64 {
    parse_page_size_within(page_size, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, violations)
}

/// [`parse_page_size`] for a list with its own default and maximum (e.g. a ranked search).
pub fn parse_page_size_within(page_size: i32, default: i64, max: i64, violations: &mut FieldViolations) -> i64 {
    match i64::from(page_size) {
        0 => default,
        size if size < 0 => {
            violations.add("page_size", "must not be negative");
            default
        }
        size => size.min(max),
    }
}

/// Rows to read for a page of `limit`: one more, to learn whether another page follows.
pub fn rows_to_read(limit: i64) -> i64 {
    limit + 1
}

/// Ends a page read with [`rows_to_read`]: keeps `limit` rows and returns them with the token
/// of the next page (empty when this is the last), made from the last row's cursor.
pub fn finish_page<T, C: Serialize>(
    mut rows: Vec<T>,
    limit: i64,
    filters: &str,
    cursor_of: impl FnOnce(&T) -> C,
) -> (Vec<T>, String) {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    if rows.len() <= limit {
        return (rows, String::new());
    }
    rows.truncate(limit);
    let token = rows.last().map(|last| encode_page_token(&cursor_of(last), filters)).unwrap_or_default();
    (rows, token)
}

#[derive(Serialize, serde::Deserialize)]
struct Envelope<C> {
    /// Fingerprint of the filters the token was issued for.
    f: String,
    /// The cursor.
    c: C,
}

/// Encodes a cursor and the request's filter fingerprint into a page token.
pub fn encode_page_token<C: Serialize>(cursor: &C, filters: &str) -> String {
    let envelope = Envelope { f: filters.to_owned(), c: cursor };
    // Serializing plain data structs to JSON cannot fail.
    let json = serde_json::to_vec(&envelope).unwrap_or_default();
    URL_SAFE_NO_PAD.encode(json)
}

/// Decodes `page_token`; empty means the first page. Records a violation when the token is
/// malformed or was issued for other filters.
pub fn parse_page_token<C: DeserializeOwned>(
    token: &str,
    filters: &str,
    violations: &mut FieldViolations,
) -> Option<C> {
    parse_token("page_token", token, filters, violations)
}

/// [`parse_page_token`] for a token sent in another field (e.g. a stream's `resume_token`).
pub fn parse_token<C: DeserializeOwned>(
    field: &str,
    token: &str,
    filters: &str,
    violations: &mut FieldViolations,
) -> Option<C> {
    if token.is_empty() {
        return None;
    }
    let decoded = (token.len() <= MAX_TOKEN_LEN)
        .then(|| URL_SAFE_NO_PAD.decode(token).ok())
        .flatten()
        .and_then(|json| serde_json::from_slice::<Envelope<C>>(&json).ok());
    match decoded {
        Some(envelope) if envelope.f == filters => Some(envelope.c),
        Some(_) => {
            violations.add(field, "was issued for a request with other filters");
            None
        }
        None => {
            violations.add(field, "is not a token returned by this server");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_bind_to_filters() {
        let token = encode_page_token(&(7_i64, "x".to_owned()), "revoked=false");
        let mut violations = FieldViolations::new();
        let cursor: Option<(i64, String)> = parse_page_token(&token, "revoked=false", &mut violations);
        assert_eq!(cursor, Some((7, "x".to_owned())));
        assert!(violations.is_empty());
        let other: Option<(i64, String)> = parse_page_token(&token, "revoked=true", &mut violations);
        assert!(other.is_none());
        assert!(!violations.is_empty());
    }

    #[test]
    fn junk_tokens_are_violations() {
        for junk in ["%%%", "aGVsbG8", &"a".repeat(5000)] {
            let mut violations = FieldViolations::new();
            let cursor: Option<i64> = parse_page_token(junk, "", &mut violations);
            assert!(cursor.is_none());
            assert!(!violations.is_empty(), "{junk}");
        }
    }

    #[test]
    fn page_sizes() {
        let mut violations = FieldViolations::new();
        assert_eq!(parse_page_size(0, &mut violations), DEFAULT_PAGE_SIZE);
        assert_eq!(parse_page_size(1000, &mut violations), 1000);
        assert_eq!(parse_page_size(1001, &mut violations), MAX_PAGE_SIZE);
        assert_eq!(parse_page_size(i32::MAX, &mut violations), MAX_PAGE_SIZE);
        assert!(violations.is_empty());
        parse_page_size(-1, &mut violations);
        assert!(violations.finish().is_err());
    }

    #[test]
    fn a_page_keeps_its_limit_and_points_after_its_last_row() {
        let (rows, token) = finish_page(vec![1_i64, 2, 3], 2, "f", |last| *last);
        assert_eq!(rows, [1, 2]);
        let mut violations = FieldViolations::new();
        assert_eq!(parse_page_token::<i64>(&token, "f", &mut violations), Some(2));
        let (rows, token) = finish_page(vec![1_i64, 2], 2, "f", |last| *last);
        assert_eq!((rows, token), (vec![1, 2], String::new()));
    }
}
