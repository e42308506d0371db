//! Creating API keys: validation of what to create, the secret, the row. Shared by
//! `CreateApiKey`, `medley keys create` and the test harness.

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use super::{
    Scope,
    model::{ApiKeyRow, NewApiKey},
    secret, store,
};
use crate::error::{ApiError, FieldViolations};

/// Longest key name accepted.
pub const MAX_NAME_CHARS: usize = 100;

/// A validated request to create a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeySpec {
    /// Label, 1 to 100 characters.
    pub name: String,
    /// Scopes, at least one, without duplicates, lowest first.
    pub scopes: Vec<Scope>,
    /// Optional expiry, in the future.
    pub expires_at: Option<DateTime<Utc>>,
}

impl KeySpec {
    /// Validates the parts of a key. `violations` holds what the caller found already (e.g.
    /// unknown scope values); every problem is reported at once.
    pub fn parse(
        name: &str,
        scopes: Vec<Scope>,
        expires_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
        mut violations: FieldViolations,
    ) -> Result<Self, ApiError> {
        let name = name.trim();
        if name.is_empty() {
            violations.add("name", "must not be empty");
        } else if name.chars().count() > MAX_NAME_CHARS {
            violations.add("name", format!("must be at most {MAX_NAME_CHARS} characters"));
        } else if name.chars().any(char::is_control) {
            violations.add("name", "must not contain control characters");
        }
        let mut scopes = scopes;
        scopes.sort();
        scopes.dedup();
        if scopes.is_empty() {
            violations.add("scopes", "at least one scope is required (read, import or admin)");
        }
        if let Some(at) = expires_at
            && at <= now
        {
            violations.add("expire_time", "must be in the future");
        }
        violations.finish()?;
        Ok(Self { name: name.to_owned(), scopes, expires_at })
    }
}

/// A key just created: its row and its secret, which is never available again.
#[derive(Debug)]
pub struct CreatedKey {
    /// The stored key.
    pub row: ApiKeyRow,
    /// The secret (never printed by `Debug`).
    pub secret: secrecy::SecretString,
}

/// Generates a secret and stores the key.
pub async fn create_key(conn: &mut AsyncPgConnection, spec: &KeySpec) -> Result<CreatedKey, ApiError> {
    let new_secret =
        secret::generate().map_err(|error| ApiError::internal(&format!("cannot generate a secret: {error}")))?;
    let row = store::insert_key(
        conn,
        NewApiKey {
            id: Uuid::now_v7(),
            name: &spec.name,
            scopes: spec.scopes.iter().map(|s| Some(s.as_str())).collect(),
            prefix: &new_secret.display_prefix,
            secret_sha256: &new_secret.sha256,
            expires_at: spec.expires_at,
        },
    )
    .await?;
    Ok(CreatedKey { row, secret: new_secret.secret })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collects_every_problem() {
        let now = Utc::now();
        let error = KeySpec::parse("  ", vec![], Some(now), now, FieldViolations::new()).unwrap_err();
        let status = tonic::Status::from(error);
        assert!(status.message().contains("name"), "{}", status.message());
        assert!(status.message().contains("scopes"));
        assert!(status.message().contains("expire_time"));
    }

    #[test]
    fn normalises_scopes_and_name() {
        let now = Utc::now();
        let spec =
            KeySpec::parse(" ci ", vec![Scope::Admin, Scope::Read, Scope::Admin], None, now, FieldViolations::new())
                .unwrap();
        assert_eq!(spec.name, "ci");
        assert_eq!(spec.scopes, [Scope::Read, Scope::Admin]);
    }
}
