//! The write stage: one transaction that turns a merge into the served data.

use std::time::Instant;

use diesel_async::{AsyncConnection as _, AsyncPgConnection};
use prost::Message as _;

use super::{RunError, RunSummary};
use crate::services::mapping::{
    merge::MergeOutput,
    snapshot::{self, FinalRecord},
    store::{self, RecordWrite, SourceRow},
};

/// Records that the sources were checked (their validators and times) when nothing is merged.
pub(super) async fn save_checked(conn: &mut AsyncPgConnection, rows: &[SourceRow]) -> Result<(), RunError> {
    conn.transaction::<_, diesel::result::Error, _>(async |conn| store::save_sources(conn, rows).await).await?;
    Ok(())
}

/// What a committed run wrote, for the cache fill.
pub(super) struct Written {
    pub(super) records: Vec<(i64, Vec<u8>)>,
    pub(super) keys: Vec<(snapshot::Key, i64)>,
}

/// The write stage, in one transaction: give merged records stable ids, compare with what is
/// served, write the differences, queue stale cache entries, record the state.
pub(super) async fn write(
    conn: &mut AsyncPgConnection,
    merged: &MergeOutput,
    rows: &[SourceRow],
    fingerprint: &str,
    run_id: i64,
    summary: &mut RunSummary,
) -> Result<Written, RunError> {
    let now = chrono::Utc::now();
    let written = conn
        .transaction::<_, diesel::result::Error, _>(async |conn| {
            store::lock_publish(conn).await?;
            let t = Instant::now();
            let served = store::load_served(conn).await?;
            tracing::debug!(ms = t.elapsed().as_millis() as u64, "served loaded");
            let assigned = snapshot::assign_ids(&merged.records, &served);
            let fresh = store::allocate_ids(conn, assigned.iter().filter(|a| a.is_none()).count()).await?;
            let mut fresh = fresh.into_iter();
            let finals: Vec<FinalRecord> = merged
                .records
                .iter()
                .zip(&assigned)
                .map(|(record, id)| snapshot::finalize(id.or_else(|| fresh.next()).unwrap_or_default(), record))
                .collect();
            let keys = snapshot::build_keys(&finals);
            let diff = snapshot::diff(&finals, &keys, &served);

            let changed: Vec<&FinalRecord> = diff.inserted.iter().chain(&diff.updated).map(|&i| &finals[i]).collect();
            let writes: Vec<RecordWrite<'_>> = changed
                .iter()
                .map(|f| {
                    let mut record = f.record.clone();
                    record.update_time = Some(crate::proto_time::to_timestamp(now));
                    RecordWrite {
                        id: f.id,
                        title: &f.record.title,
                        media_type: f.record.r#type as i16,
                        year: f.record.year,
                        body: record.encode_to_vec(),
                        hash: &f.hash,
                        titles: &f.search_titles,
                    }
                })
                .collect();
            let t = Instant::now();
            store::delete_keys(conn, &diff.removed_keys).await?;
            store::delete_records(conn, &diff.deleted).await?;
            tracing::debug!(ms = t.elapsed().as_millis() as u64, "deletes");
            store::upsert_records(conn, &writes).await?;
            tracing::debug!(ms = t.elapsed().as_millis() as u64, "records");
            store::upsert_keys(conn, &diff.upsert_keys).await?;
            tracing::debug!(ms = t.elapsed().as_millis() as u64, "keys");

            // Stale cache entries: changed and deleted records, removed and repointed keys.
            let stale_records: Vec<i64> =
                diff.updated.iter().map(|&i| finals[i].id).chain(diff.deleted.iter().copied()).collect();
            let mut stale_keys = diff.removed_keys.clone();
            stale_keys
                .extend(diff.upsert_keys.iter().filter(|(k, _)| served.keys.contains_key(k)).map(|(k, _)| k.clone()));
            store::push_outbox(conn, &stale_records, &stale_keys).await?;

            let counts =
                serde_json::json!(snapshot::counts(&finals).iter().map(|(p, n)| [*p as i64, *n]).collect::<Vec<_>>());
            store::save_sources(conn, rows).await?;
            store::save_state(conn, fingerprint, &counts, finals.len() as i64, Some(run_id), !diff.is_empty()).await?;

            summary.records_inserted = diff.inserted.len() as u64;
            summary.records_updated = diff.updated.len() as u64;
            summary.records_deleted = diff.deleted.len() as u64;
            summary.records_unchanged = diff.unchanged as u64;
            summary.keys_written = diff.upsert_keys.len() as u64;
            summary.keys_removed = diff.removed_keys.len() as u64;
            Ok(Written { records: writes.into_iter().map(|w| (w.id, w.body)).collect(), keys: diff.upsert_keys })
        })
        .await?;
    Ok(written)
}
