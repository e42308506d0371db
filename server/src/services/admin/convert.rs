//! Validation of AdminService requests and conversions to proto messages.

use chrono::{DateTime, Utc};
use medley_sdk::pb;
use uuid::Uuid;

use super::AdminError;
use crate::{
    auth::Scope,
    auth::{keys::KeySpec, model::ApiKeyRow, store::KeyCursor},
    error::FieldViolations,
    pagination::{finish_page, parse_page_size, parse_page_token},
    proto_time::{from_timestamp, to_timestamp},
};

/// Converts a domain scope to its proto enum.
pub fn scope_to_pb(scope: Scope) -> pb::Scope {
    match scope {
        Scope::Read => pb::Scope::Read,
        Scope::Import => pb::Scope::Import,
        Scope::Admin => pb::Scope::Admin,
    }
}

/// Converts a proto scope value; `None` for unspecified or unknown values.
pub fn scope_from_pb(value: i32) -> Option<Scope> {
    match pb::Scope::try_from(value).ok()? {
        pb::Scope::Unspecified => None,
        pb::Scope::Read => Some(Scope::Read),
        pb::Scope::Import => Some(Scope::Import),
        pb::Scope::Admin => Some(Scope::Admin),
    }
}

/// Converts a stored key to its proto message.
pub fn api_key_to_pb(row: &ApiKeyRow) -> pb::ApiKey {
    pb::ApiKey {
        id: row.id.to_string(),
        name: row.name.clone(),
        scopes: row.parsed_scopes().into_iter().map(|s| scope_to_pb(s) as i32).collect(),
        prefix: row.prefix.clone(),
        create_time: Some(to_timestamp(row.created_at)),
        last_use_time: row.last_used_at.map(to_timestamp),
        revoke_time: row.revoked_at.map(to_timestamp),
        expire_time: row.expires_at.map(to_timestamp),
    }
}

/// Validates a `CreateApiKeyRequest`.
pub fn parse_create_request(request: pb::CreateApiKeyRequest, now: DateTime<Utc>) -> Result<KeySpec, AdminError> {
    let pb::CreateApiKeyRequest { name, scopes, expire_time } = request;
    let mut violations = FieldViolations::new();
    let mut parsed = Vec::with_capacity(scopes.len());
    for (index, value) in scopes.iter().enumerate() {
        match scope_from_pb(*value) {
            Some(scope) => parsed.push(scope),
            None => violations.add(
                format!("scopes[{index}]"),
                format!("{value} is not a valid scope (SCOPE_READ, SCOPE_IMPORT or SCOPE_ADMIN)"),
            ),
        }
    }
    let expires_at = match expire_time.as_ref() {
        None => None,
        Some(ts) => {
            let parsed = from_timestamp(ts);
            if parsed.is_none() {
                violations.add("expire_time", "is not a valid timestamp");
            }
            parsed
        }
    };
    KeySpec::parse(&name, parsed, expires_at, now, violations).map_err(AdminError::Invalid)
}

/// Parses a key id field.
pub fn parse_key_id(id: &str) -> Result<Uuid, AdminError> {
    Uuid::parse_str(id.trim()).map_err(|_| {
        let mut violations = FieldViolations::new();
        violations
            .add("id", if id.is_empty() { "must not be empty".to_owned() } else { format!("{id:?} is not a UUID") });
        invalid(violations)
    })
}

/// A validated `ListApiKeysRequest`.
#[derive(Debug)]
pub struct ListKeys {
    /// Whether revoked keys are included.
    pub show_revoked: bool,
    /// Where the page starts.
    pub after: Option<KeyCursor>,
    /// Page size.
    pub limit: i64,
}

fn list_filters(show_revoked: bool) -> String {
    format!("revoked={show_revoked}")
}

/// Validates a `ListApiKeysRequest`.
pub fn parse_list_request(request: pb::ListApiKeysRequest) -> Result<ListKeys, AdminError> {
    let pb::ListApiKeysRequest { page_size, page_token, show_revoked } = request;
    let mut violations = FieldViolations::new();
    let limit = parse_page_size(page_size, &mut violations);
    let after = parse_page_token(&page_token, &list_filters(show_revoked), &mut violations);
    violations.finish().map_err(AdminError::Invalid)?;
    Ok(ListKeys { show_revoked, after, limit })
}

/// Builds a `ListApiKeysResponse` from one more row than the page holds (the extra row only
/// proves there is a next page).
pub fn list_response(rows: Vec<ApiKeyRow>, request: &ListKeys) -> pb::ListApiKeysResponse {
    let filters = list_filters(request.show_revoked);
    let (rows, next_page_token) =
        finish_page(rows, request.limit, &filters, |last| KeyCursor { created_at: last.created_at, id: last.id });
    pb::ListApiKeysResponse { api_keys: rows.iter().map(api_key_to_pb).collect(), next_page_token }
}

fn invalid(violations: FieldViolations) -> AdminError {
    AdminError::Invalid(violations.into_error())
}
