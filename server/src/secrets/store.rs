//! The SQL of the `secrets` table.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::secrets;

/// A sealed secret as stored.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = secrets, check_for_backend(diesel::pg::Pg))]
pub struct SecretRow {
    /// Id.
    pub id: Uuid,
    /// What it is for (bound into the ciphertext).
    pub purpose: String,
    /// Id of the sealing key.
    pub key_id: String,
    /// Nonce and ciphertext.
    pub sealed: Vec<u8>,
}

/// Inserts a sealed secret.
pub async fn insert(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    purpose: &str,
    key_id: &str,
    sealed: &[u8],
) -> QueryResult<()> {
    diesel::insert_into(secrets::table)
        .values((
            secrets::id.eq(id),
            secrets::purpose.eq(purpose),
            secrets::key_id.eq(key_id),
            secrets::sealed.eq(sealed),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// Finds a secret.
pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<SecretRow>> {
    secrets::table.find(id).select(SecretRow::as_select()).first(conn).await.optional()
}

/// Replaces a secret's sealed value; with `only_if_key`, only while it is still sealed under
/// that key (rotation must not overwrite a value written meanwhile). Returns rows changed.
pub async fn update(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    key_id: &str,
    sealed: &[u8],
    only_if_key: Option<&str>,
) -> QueryResult<usize> {
    let values = (secrets::key_id.eq(key_id), secrets::sealed.eq(sealed), secrets::updated_at.eq(diesel::dsl::now));
    match only_if_key {
        Some(previous) => {
            diesel::update(secrets::table.find(id).filter(secrets::key_id.eq(previous))).set(values).execute(conn).await
        }
        None => diesel::update(secrets::table.find(id)).set(values).execute(conn).await,
    }
}

/// Deletes a secret.
pub async fn delete(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<usize> {
    diesel::delete(secrets::table.find(id)).execute(conn).await
}

/// Up to `limit` secrets sealed under a key other than `current`.
pub async fn sealed_with_other_keys(
    conn: &mut AsyncPgConnection,
    current: &str,
    limit: i64,
) -> QueryResult<Vec<SecretRow>> {
    secrets::table
        .filter(secrets::key_id.ne(current))
        .select(SecretRow::as_select())
        .order(secrets::id)
        .limit(limit)
        .load(conn)
        .await
}

/// Secrets per sealing key.
pub async fn count_by_key(conn: &mut AsyncPgConnection) -> QueryResult<Vec<(String, i64)>> {
    secrets::table
        .group_by(secrets::key_id)
        .select((secrets::key_id, diesel::dsl::count_star()))
        .order(secrets::key_id)
        .load(conn)
        .await
}
