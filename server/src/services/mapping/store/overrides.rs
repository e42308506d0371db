//! Manual corrections.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::mapping_overrides;

/// An override row.
#[derive(Queryable, Selectable, Insertable, Debug, Clone)]
#[diesel(table_name = mapping_overrides)]
pub struct OverrideRow {
    /// Id.
    pub id: Uuid,
    /// Subject platform number.
    pub subject_platform: i16,
    /// Subject id.
    pub subject_id: String,
    /// The change as JSON.
    pub change: serde_json::Value,
    /// Free text.
    pub note: String,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last replaced.
    pub updated_at: DateTime<Utc>,
}

/// Creates or replaces an override; putting an identical subject and change returns the
/// existing row.
pub async fn put_override(conn: &mut AsyncPgConnection, row: &OverrideRow) -> QueryResult<OverrideRow> {
    use mapping_overrides::dsl as o;
    let existing = o::mapping_overrides
        .filter(o::subject_platform.eq(row.subject_platform))
        .filter(o::subject_id.eq(&row.subject_id))
        .filter(o::change.eq(&row.change))
        .select(OverrideRow::as_select())
        .first(conn)
        .await
        .optional()?;
    if let Some(existing) = existing
        && existing.id != row.id
    {
        return Ok(existing);
    }
    diesel::insert_into(o::mapping_overrides)
        .values(row)
        .on_conflict(o::id)
        .do_update()
        .set((
            o::subject_platform.eq(row.subject_platform),
            o::subject_id.eq(&row.subject_id),
            o::change.eq(&row.change),
            o::note.eq(&row.note),
            o::updated_at.eq(row.updated_at),
        ))
        .returning(OverrideRow::as_returning())
        .get_result(conn)
        .await
}

/// Lists overrides after `after` (created time, id), oldest first.
pub async fn list_overrides(
    conn: &mut AsyncPgConnection,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> QueryResult<Vec<OverrideRow>> {
    use mapping_overrides::dsl as o;
    let mut query =
        o::mapping_overrides.select(OverrideRow::as_select()).order((o::created_at, o::id)).limit(limit).into_boxed();
    if let Some((at, id)) = after {
        query = query.filter(o::created_at.gt(at).or(o::created_at.eq(at).and(o::id.gt(id))));
    }
    query.load(conn).await
}

/// Deletes an override; returns whether it existed.
pub async fn delete_override(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<bool> {
    use mapping_overrides::dsl as o;
    diesel::delete(o::mapping_overrides.find(id)).execute(conn).await.map(|n| n > 0)
}
