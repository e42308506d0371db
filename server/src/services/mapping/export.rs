//! `ExportMappings`: every record in id order, a page per message, each page read in its own
//! short read-only transaction together with the version of the served data.
//!
//! No connection is held while the client reads, so a slow reader costs nothing but its
//! channel. A pipeline run that publishes during an export would mix two versions; the export
//! notices (each page reads the version in the same snapshot as its records) and ends with
//! ABORTED instead. Every message carries a token to resume after it.

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use medley_sdk::pb;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use super::{MappingError, MappingState, store};
use crate::{
    db::DbPool,
    error::FieldViolations,
    pagination::{encode_page_token, parse_page_size_within, parse_token},
    proto_time::to_timestamp,
};

/// Records per message by default, and at most.
const BATCH: (i64, i64) = (500, 1000);
/// Messages read ahead of the client.
const READ_AHEAD: usize = 4;

/// The answer stream of `ExportMappings`.
pub type ExportStream = ReceiverStream<Result<pb::ExportMappingsResponse, Status>>;

/// Where an export stands: after which record, in which version of the data.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
struct Resume {
    /// The last record sent.
    after: i64,
    /// `data_updated_at` of the version exported, in microseconds.
    version: i64,
}

/// Validates the request and starts the export; the pages come on the returned stream.
pub fn start(state: &MappingState, request: pb::ExportMappingsRequest) -> Result<ExportStream, MappingError> {
    let mut violations = FieldViolations::new();
    let platform = violations
        .parse_enum::<pb::Platform>("platform", request.platform)
        .filter(|p| *p != pb::Platform::Unspecified)
        .map(|p| p as i16);
    let batch = match request.batch_size {
        size if size < 0 => {
            violations.add("batch_size", "must not be negative");
            BATCH.0
        }
        size => parse_page_size_within(size, BATCH.0, BATCH.1, &mut FieldViolations::new()),
    };
    let filters = format!("export:{platform:?}");
    let resume: Option<Resume> = parse_token("resume_token", &request.resume_token, &filters, &mut violations);
    violations.finish().map_err(MappingError::Invalid)?;
    let (tx, rx) = mpsc::channel(READ_AHEAD);
    let export = Export { db: state.platform.db.clone(), platform, batch, filters };
    tokio::spawn(async move {
        if let Err(error) = export.run(resume, &tx).await {
            // The client may be gone; then nobody needs the error.
            let _ = tx.send(Err(error.into())).await;
        }
    });
    Ok(ReceiverStream::new(rx))
}

struct Export {
    db: DbPool,
    platform: Option<i16>,
    batch: i64,
    filters: String,
}

impl Export {
    async fn run(
        &self,
        resume: Option<Resume>,
        tx: &mpsc::Sender<Result<pb::ExportMappingsResponse, Status>>,
    ) -> Result<(), MappingError> {
        let mut after = resume.map_or(0, |r| r.after);
        let mut version = resume.map(|r| r.version);
        loop {
            let (page, published) = self.page(after).await?;
            let published_micros = published.map_or(0, |at| at.timestamp_micros());
            match version {
                Some(expected) if expected != published_micros => {
                    return Err(MappingError::DataChanged { since: published });
                }
                _ => version = Some(published_micros),
            }
            let Some(&(last, _)) = page.last() else { return Ok(()) };
            after = last;
            let records = page
                .into_iter()
                .map(|(id, body)| prost::Message::decode(body.as_slice()).map_err(|e| MappingError::Corrupt { id, reason: e.to_string() }))
                .collect::<Result<_, _>>()?;
            let resume_token = encode_page_token(&Resume { after, version: published_micros }, &self.filters);
            let message =
                pb::ExportMappingsResponse { records, resume_token, data_update_time: published.map(to_timestamp) };
            if tx.send(Ok(message)).await.is_err() {
                return Ok(());
            }
        }
    }

    /// One page after `after`, and the version it belongs to, from one snapshot.
    async fn page(&self, after: i64) -> Result<(Vec<(i64, Vec<u8>)>, Option<DateTime<Utc>>), MappingError> {
        let mut conn = self.db.get().await?;
        let read = async |conn: &mut AsyncPgConnection| {
            let published = store::state(conn).await?.map(|state| state.data_updated_at);
            let page = store::export_page(conn, after, self.platform, self.batch).await?;
            Ok((page, published))
        };
        Ok(conn.build_transaction().repeatable_read().read_only().run::<_, diesel::result::Error, _>(read).await?)
    }
}
