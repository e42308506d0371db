//! The fetch stage: read each source (conditionally, from its stored validators) and parse it.

use diesel_async::AsyncPgConnection;
use sha2::{Digest, Sha256};

use super::PipelineDeps;
use crate::services::mapping::{
    sources::{
        self, SourceError, SourceSpec,
        fetch::{self, Fetched, Validators},
    },
    store::{self, SourceRow},
};

/// One source as read.
pub(super) struct SourceRead {
    /// Its records.
    pub(super) parsed: sources::Parsed,
    /// Its row to store (validators, hash, times).
    pub(super) row: SourceRow,
    /// Whether its content changed since the last read.
    pub(super) changed: bool,
}

/// Reads one source.
pub(super) async fn read_source(
    deps: &PipelineDeps,
    conn: &mut AsyncPgConnection,
    spec: &SourceSpec,
) -> Result<SourceRead, SourceError> {
    let kind = spec.kind.as_str();
    let previous = store::find_source(conn, kind, &spec.location).await.ok().flatten();
    let validators = previous
        .as_ref()
        .filter(|p| p.body.is_some())
        .map(|p| Validators { etag: p.etag.clone(), last_modified: p.last_modified.clone() });
    let fetched = fetch::fetch(&deps.sources, &spec.location, validators.as_ref()).await?;
    let now = chrono::Utc::now();
    let (bytes, mut row) = match (fetched, previous) {
        (Fetched::NotModified, Some(previous)) => {
            let body = previous.body.clone().unwrap_or_default();
            let bytes = fetch::decompress(body).map_err(|reason| SourceError::Malformed {
                kind: spec.kind,
                location: spec.shown_location(),
                reason,
            })?;
            (bytes, SourceRow { checked_at: now, ..previous })
        }
        (Fetched::NotModified, None) => {
            return Err(SourceError::Fetch {
                location: spec.shown_location(),
                reason: "the server answered 304 to an unconditional request".into(),
            });
        }
        (Fetched::Body { bytes, sha256, validators }, previous) => {
            let changed_at = match &previous {
                Some(p) if p.sha256 == sha256 => p.changed_at,
                _ => now,
            };
            // URL bodies are kept so a later 304 can still be merged (PostgreSQL compresses them).
            let body = if spec.is_url() { Some(bytes.clone()) } else { None };
            let row = SourceRow {
                kind: kind.to_owned(),
                location: spec.location.clone(),
                etag: validators.etag,
                last_modified: validators.last_modified,
                sha256,
                records: 0,
                body,
                checked_at: now,
                changed_at,
            };
            (bytes, row)
        }
    };
    let (kind_, location) = (spec.kind, spec.location.clone());
    let parsed =
        tokio::task::spawn_blocking(move || sources::parse(kind_, &location, &bytes)).await.map_err(|e| {
            SourceError::Malformed { kind: spec.kind, location: spec.shown_location(), reason: e.to_string() }
        })??;
    row.records = parsed.records.len() as i64;
    let changed = row.changed_at == now;
    Ok(SourceRead { parsed, row, changed })
}

/// Hash of every input of a merge: sources by content, overrides by value. Equal hashes mean
/// a merge would produce the served data again.
pub(super) fn inputs_fingerprint(rows: &[SourceRow], overrides: &[store::OverrideRow]) -> String {
    let mut hasher = Sha256::new();
    for row in rows {
        hasher.update(format!("{}\0{}\0{}\n", row.kind, row.location, row.sha256));
    }
    for o in overrides {
        hasher.update(format!("{}\0{}\0{}\0{}\n", o.id, o.subject_platform, o.subject_id, o.change));
    }
    fetch::hex(&hasher.finalize())
}
