//! `ImportBatch`: a client stream of mixed items applied in chunks.
//!
//! Items are validated as they arrive (the request guard leaves their text to this handler,
//! so a bad item fails alone); valid ones are collected into chunks of at most
//! [`CHUNK_ITEMS`] items (cut early where a key repeats) and each chunk is applied in one
//! transaction. Reading the next chunk from the client overlaps with writing the previous one,
//! but chunks commit in order, so an item may rely on everything sent before it. A chunk the
//! database fails on reports UNAVAILABLE (or INTERNAL) for each of its items: nothing of them
//! was written and the client may send them again.

use diesel_async::AsyncConnection as _;
use medley_sdk::pb;
use tokio::task::JoinHandle;
use tokio_stream::StreamExt as _;
use tonic::{Status, Streaming};

use super::{
    convert::{anime_input, episodes_input, item_error_to_pb, item_outcome_to_pb, video_input},
    import::{self, ChunkKeys},
    model::ImportItem,
};
use crate::{
    db::DbPool,
    error::{ApiError, FieldViolations},
    request_guard::{self, Schema},
};

/// Items per chunk.
const CHUNK_ITEMS: usize = 1_000;
/// Items per call: results are held until the stream ends and sent in one message (about
/// 110 bytes per item), so memory and the answer stay bounded.
pub const MAX_ITEMS: usize = 100_000;
/// The stream's message type, for the request guard's checks.
const ITEM_TYPE: &str = "medley.v1.ImportBatchRequest";

type ChunkResult = Vec<(usize, pb::import_item_result::Result)>;

/// Reads the whole stream and returns one result per item.
pub async fn import_stream(
    db: DbPool,
    schema: &Schema,
    mut stream: Streaming<pb::ImportBatchRequest>,
) -> Result<pb::ImportBatchResponse, Status> {
    let mut results: Vec<Option<pb::import_item_result::Result>> = Vec::new();
    let mut chunk: Vec<(usize, ImportItem)> = Vec::new();
    let mut keys = ChunkKeys::default();
    let mut writing: Option<JoinHandle<ChunkResult>> = None;
    while let Some(message) = stream.next().await {
        let request = message?;
        let index = results.len();
        if index >= MAX_ITEMS {
            // Everything before was applied (or is being): the client resends the rest.
            finish(&mut results, writing.take()).await?;
            return Err(ApiError::new(
                crate::error::ErrorCode::ResourceExhausted,
                format!("at most {MAX_ITEMS} items per ImportBatch call: split the stream"),
            )
            .into());
        }
        results.push(None);
        let item = match request_guard::check_message(schema, ITEM_TYPE, &request, "").and_then(|()| parse(request)) {
            Ok(item) => item,
            Err(error) => {
                results[index] = Some(pb::import_item_result::Result::Error(item_error_to_pb(&error)));
                continue;
            }
        };
        if chunk.len() >= CHUNK_ITEMS || !keys.admit(&item) {
            finish(&mut results, writing.take()).await?;
            writing = Some(tokio::spawn(apply_chunk(db.clone(), std::mem::take(&mut chunk))));
            keys.clear();
            keys.admit(&item);
        }
        chunk.push((index, item));
    }
    finish(&mut results, writing.take()).await?;
    if !chunk.is_empty() {
        finish(&mut results, Some(tokio::spawn(apply_chunk(db, chunk)))).await?;
    }
    let mut response = pb::ImportBatchResponse::default();
    for (index, result) in results.into_iter().enumerate() {
        let Some(result) = result else { return Err(Status::internal("an item got no result")) };
        match outcome_of(&result) {
            Some(pb::ImportOutcome::Created) => response.created += 1,
            Some(pb::ImportOutcome::Updated) => response.updated += 1,
            Some(_) => response.unchanged += 1,
            None => response.failed += 1,
        }
        response.results.push(pb::ImportItemResult { index: index as i64, result: Some(result) });
    }
    Ok(response)
}

fn outcome_of(result: &pb::import_item_result::Result) -> Option<pb::ImportOutcome> {
    use pb::import_item_result::Result as R;
    let outcome = match result {
        R::Anime(a) => a.outcome,
        R::Episodes(e) if e.created > 0 => pb::ImportOutcome::Created as i32,
        R::Episodes(e) if e.updated > 0 => pb::ImportOutcome::Updated as i32,
        R::Episodes(_) => pb::ImportOutcome::Unchanged as i32,
        R::Video(v) => v.outcome,
        R::Error(_) => return None,
    };
    pb::ImportOutcome::try_from(outcome).ok()
}

async fn finish(
    results: &mut [Option<pb::import_item_result::Result>],
    writing: Option<JoinHandle<ChunkResult>>,
) -> Result<(), Status> {
    let Some(writing) = writing else { return Ok(()) };
    let written = writing.await.map_err(|_| Status::internal("import task failed"))?;
    for (index, result) in written {
        results[index] = Some(result);
    }
    Ok(())
}

fn parse(request: pb::ImportBatchRequest) -> Result<ImportItem, ApiError> {
    let mut violations = FieldViolations::new();
    let item = match request.item {
        Some(pb::import_batch_request::Item::Anime(anime)) => {
            ImportItem::Anime(anime_input(&anime, "anime.", &mut violations))
        }
        Some(pb::import_batch_request::Item::Episodes(episodes)) => {
            ImportItem::Episodes(episodes_input(&episodes, "episodes.", &mut violations))
        }
        Some(pb::import_batch_request::Item::Video(video)) => {
            ImportItem::Video(video_input(&video, "video.", &mut violations))
        }
        None => {
            violations.add("item", "is required: anime, episodes or video");
            return Err(violations.into_error());
        }
    };
    violations.finish()?;
    Ok(item)
}

async fn apply_chunk(db: DbPool, chunk: Vec<(usize, ImportItem)>) -> ChunkResult {
    let (indexes, items): (Vec<usize>, Vec<ImportItem>) = chunk.into_iter().unzip();
    let applied: Result<Vec<import::ItemResult>, ApiError> = async {
        let mut conn = db.get().await?;
        Ok(conn.transaction::<_, diesel::result::Error, _>(async |conn| import::apply(conn, &items).await).await?)
    }
    .await;
    match applied {
        Ok(results) => indexes
            .into_iter()
            .zip(results)
            .map(|(index, result)| {
                let result = match result {
                    Ok(outcome) => item_outcome_to_pb(&outcome),
                    Err(error) => pb::import_item_result::Result::Error(item_error_to_pb(&error.into())),
                };
                (index, result)
            })
            .collect(),
        Err(error) => {
            let error = item_error_to_pb(&error);
            indexes.into_iter().map(|index| (index, pb::import_item_result::Result::Error(error.clone()))).collect()
        }
    }
}
