//! Rows of `api_keys`.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::{auth::Scope, db::schema::api_keys};

/// One API key as stored (without its secret).
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = api_keys, check_for_backend(diesel::pg::Pg))]
pub struct ApiKeyRow {
    /// Key id.
    pub id: Uuid,
    /// Label.
    pub name: String,
    /// Scope names; the table's CHECK keeps them valid and non-null.
    pub scopes: Vec<Option<String>>,
    /// First characters of the secret.
    pub prefix: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last use, to about a minute.
    pub last_used_at: Option<DateTime<Utc>>,
    /// Revocation time.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Expiry time.
    pub expires_at: Option<DateTime<Utc>>,
}

impl ApiKeyRow {
    /// Returns the key's scopes, skipping any name this build does not know (a newer server may
    /// have written it).
    pub fn parsed_scopes(&self) -> Vec<Scope> {
        self.scopes.iter().flatten().filter_map(|s| s.parse().ok()).collect()
    }

    /// Returns whether the key works at `now`.
    pub fn is_active_at(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|at| at > now)
    }
}

/// A key to insert.
#[derive(Debug, Insertable)]
#[diesel(table_name = api_keys)]
pub struct NewApiKey<'a> {
    /// Key id.
    pub id: Uuid,
    /// Label.
    pub name: &'a str,
    /// Scope names.
    pub scopes: Vec<Option<&'static str>>,
    /// First characters of the secret.
    pub prefix: &'a str,
    /// SHA-256 of the secret.
    pub secret_sha256: &'a [u8],
    /// Expiry time.
    pub expires_at: Option<DateTime<Utc>>,
}
