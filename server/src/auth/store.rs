//! SQL on `api_keys`. Every function takes the connection first and returns `QueryResult`.

use chrono::{DateTime, Utc};
use diesel::{dsl::now, prelude::*, sql_types::Bool};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::model::{ApiKeyRow, NewApiKey};
use crate::db::schema::api_keys;

/// Inserts a key and returns the stored row.
pub async fn insert_key(conn: &mut AsyncPgConnection, key: NewApiKey<'_>) -> QueryResult<ApiKeyRow> {
    diesel::insert_into(api_keys::table).values(key).returning(ApiKeyRow::as_returning()).get_result(conn).await
}

/// Finds a key by the SHA-256 of its secret.
pub async fn find_key_by_secret_hash(conn: &mut AsyncPgConnection, sha256: &[u8]) -> QueryResult<Option<ApiKeyRow>> {
    api_keys::table
        .filter(api_keys::secret_sha256.eq(sha256))
        .select(ApiKeyRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// Finds a key by id.
pub async fn find_key(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<ApiKeyRow>> {
    api_keys::table.find(id).select(ApiKeyRow::as_select()).first(conn).await.optional()
}

/// Where a page of keys starts: after the key with this creation time and id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KeyCursor {
    /// Creation time of the last key of the previous page.
    pub created_at: DateTime<Utc>,
    /// Its id.
    pub id: Uuid,
}

/// Lists keys newest first, up to `limit`, after `after` when given.
pub async fn list_keys(
    conn: &mut AsyncPgConnection,
    include_revoked: bool,
    after: Option<KeyCursor>,
    limit: i64,
) -> QueryResult<Vec<ApiKeyRow>> {
    let mut query = api_keys::table.select(ApiKeyRow::as_select()).into_boxed();
    if !include_revoked {
        query = query.filter(api_keys::revoked_at.is_null());
    }
    if let Some(cursor) = after {
        query = query.filter(
            api_keys::created_at
                .lt(cursor.created_at)
                .or(api_keys::created_at.eq(cursor.created_at).and(api_keys::id.lt(cursor.id))),
        );
    }
    query.order((api_keys::created_at.desc(), api_keys::id.desc())).limit(limit).load(conn).await
}

/// Revokes a key unless it is revoked already (the first revocation time is kept) and returns
/// it; `None` when no such key exists.
pub async fn revoke_key(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<ApiKeyRow>> {
    let revoked = diesel::update(api_keys::table.find(id).filter(api_keys::revoked_at.is_null()))
        .set(api_keys::revoked_at.eq(now))
        .returning(ApiKeyRow::as_returning())
        .get_result(conn)
        .await
        .optional()?;
    match revoked {
        Some(row) => Ok(Some(row)),
        None => find_key(conn, id).await,
    }
}

/// Records a use of the key, at most once a minute (the condition keeps hot keys from turning
/// every call into a write).
pub async fn touch_key_last_used(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<usize> {
    diesel::update(
        api_keys::table
            .find(id)
            .filter(diesel::dsl::sql::<Bool>("(last_used_at IS NULL OR last_used_at < now() - interval '1 minute')")),
    )
    .set(api_keys::last_used_at.eq(now))
    .execute(conn)
    .await
}
