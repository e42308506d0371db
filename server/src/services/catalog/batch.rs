//! `ImportBatch`: a bidirectional stream of mixed items applied in chunks, answered per chunk.
//!
//! Items are validated as they arrive (the request guard leaves their text to this handler,
//! so a bad item fails alone); valid ones are collected into chunks of at most
//! [`CHUNK_ITEMS`] items (cut early where a key repeats) and each chunk is applied in one
//! transaction. Reading the next chunk from the client overlaps with writing the previous one,
//! but chunks commit in order, so an item may rely on everything sent before it. Each chunk's
//! answer covers a run of consecutive items (refused ones included) and goes out as soon as the
//! chunk commits; the answer channel is short, so a client that stops reading stops the
//! reading of its items too. A chunk the database fails on reports UNAVAILABLE (or INTERNAL)
//! for each of its items: nothing of them was written and the client may send them again.

use std::sync::Arc;

use diesel_async::AsyncConnection as _;
use medley_sdk::pb;
use tokio::{sync::mpsc, task::JoinHandle};
use tokio_stream::{StreamExt as _, wrappers::ReceiverStream};
use tonic::{Status, Streaming};

use super::{
    convert::{item_error_to_pb, item_outcome_to_pb},
    upsert::{self, ChunkKeys},
    model::ImportItem,
    validate::{anime_input, episodes_input, video_input},
};
use crate::{
    db::DbPool,
    error::{ApiError, FieldViolations},
    request_guard::{self, Schema},
};

/// Items per chunk (refused items count too, so an answer stays bounded).
const CHUNK_ITEMS: usize = 1_000;
/// Answers waiting for the client: one being written plus one ready.
const ANSWERS_BUFFERED: usize = 2;
/// The stream's message type, for the request guard's checks.
const ITEM_TYPE: &str = "medley.v1.ImportBatchRequest";

/// The answer stream of `ImportBatch`.
pub type BatchStream = ReceiverStream<Result<pb::ImportBatchResponse, Status>>;

type ItemResult = (usize, pb::import_item_result::Result);

/// Consecutive items of the stream answered together: those to apply, and those refused.
#[derive(Default)]
struct Chunk {
    apply: Vec<(usize, ImportItem)>,
    refused: Vec<ItemResult>,
}

impl Chunk {
    fn len(&self) -> usize {
        self.apply.len() + self.refused.len()
    }
}

/// Starts applying `items`; the answers come on the returned stream.
pub fn import_stream(db: DbPool, schema: Arc<Schema>, items: Streaming<pb::ImportBatchRequest>) -> BatchStream {
    let (answers, receiver) = mpsc::channel(ANSWERS_BUFFERED);
    tokio::spawn(async move {
        if let Err(status) = apply_stream(db, &schema, items, &answers).await {
            // The client may be gone already; then nobody needs the error.
            let _ = answers.send(Err(status)).await;
        }
    });
    ReceiverStream::new(receiver)
}

type Answers = mpsc::Sender<Result<pb::ImportBatchResponse, Status>>;

async fn apply_stream(
    db: DbPool,
    schema: &Schema,
    mut items: Streaming<pb::ImportBatchRequest>,
    answers: &Answers,
) -> Result<(), Status> {
    let mut chunk = Chunk::default();
    let mut keys = ChunkKeys::default();
    let mut writing: Option<JoinHandle<Vec<ItemResult>>> = None;
    let mut index = 0;
    loop {
        let message = tokio::select! {
            // A chunk that committed is answered at once, while the client is still sending.
            results = finished(&mut writing) => {
                writing = None;
                send(answers, joined(results)?).await?;
                continue;
            }
            message = items.next() => message,
        };
        let Some(message) = message else { break };
        let request = message?;
        let item = request_guard::check_message(schema, ITEM_TYPE, &request, "").and_then(|()| parse(request));
        let admitted = match &item {
            Ok(item) => chunk.apply.len() < CHUNK_ITEMS && keys.admit(item),
            Err(_) => true,
        };
        if !admitted || chunk.len() >= CHUNK_ITEMS {
            let full = std::mem::take(&mut chunk);
            keys.clear();
            // Chunks commit in order: the previous one finishes before the next starts.
            if let Some(previous) = writing.take() {
                send(answers, joined(previous.await)?).await?;
            }
            writing = Some(start(db.clone(), full));
            if let Ok(item) = &item {
                keys.admit(item);
            }
        }
        match item {
            Ok(item) => chunk.apply.push((index, item)),
            Err(error) => chunk.refused.push((index, item_error_to_pb(error))),
        }
        index += 1;
    }
    if let Some(previous) = writing.take() {
        send(answers, joined(previous.await)?).await?;
    }
    if chunk.len() > 0 {
        send(answers, joined(start(db, chunk).await)?).await?;
    }
    Ok(())
}

/// The results of a chunk task; a task that panicked is an internal error of the call.
fn joined(task: Result<Vec<ItemResult>, tokio::task::JoinError>) -> Result<Vec<ItemResult>, Status> {
    task.map_err(|_| Status::internal("import task failed"))
}

/// Resolves when the chunk being written has committed; never while none is.
async fn finished(
    writing: &mut Option<JoinHandle<Vec<ItemResult>>>,
) -> Result<Vec<ItemResult>, tokio::task::JoinError> {
    match writing {
        Some(task) => task.await,
        None => std::future::pending().await,
    }
}

/// Applies a chunk in the background; its results come back in input order.
fn start(db: DbPool, chunk: Chunk) -> JoinHandle<Vec<ItemResult>> {
    tokio::spawn(async move {
        let mut results = apply_chunk(db, chunk.apply).await;
        results.extend(chunk.refused);
        results.sort_unstable_by_key(|(index, _)| *index);
        results
    })
}

/// Sends the answer of one chunk. Fails when the client is gone.
async fn send(answers: &Answers, results: Vec<ItemResult>) -> Result<(), Status> {
    let mut answer = pb::ImportBatchResponse::default();
    for (index, result) in results {
        match outcome_of(&result) {
            Some(pb::ImportOutcome::Created) => answer.created += 1,
            Some(pb::ImportOutcome::Updated) => answer.updated += 1,
            Some(_) => answer.unchanged += 1,
            None => answer.failed += 1,
        }
        answer.results.push(pb::ImportItemResult { index: index as i64, result: Some(result) });
    }
    answers.send(Ok(answer)).await.map_err(|_| Status::cancelled("the client stopped reading the answers"))
}

fn outcome_of(result: &pb::import_item_result::Result) -> Option<pb::ImportOutcome> {
    use pb::import_item_result::Result as R;
    let outcome = match result {
        R::Anime(a) => a.outcome,
        R::Episodes(e) if e.created > 0 => pb::ImportOutcome::Created as i32,
        R::Episodes(e) if e.updated > 0 => pb::ImportOutcome::Updated as i32,
        R::Episodes(_) => pb::ImportOutcome::Unchanged as i32,
        R::Video(v) => v.outcome,
        R::Status(_) => return None,
    };
    pb::ImportOutcome::try_from(outcome).ok()
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

async fn apply_chunk(db: DbPool, chunk: Vec<(usize, ImportItem)>) -> Vec<ItemResult> {
    if chunk.is_empty() {
        return Vec::new();
    }
    let (indexes, items): (Vec<usize>, Vec<ImportItem>) = chunk.into_iter().unzip();
    let applied: Result<Vec<upsert::ItemResult>, ApiError> = async {
        let mut conn = db.get().await?;
        Ok(conn.transaction::<_, diesel::result::Error, _>(async |conn| upsert::apply(conn, &items).await).await?)
    }
    .await;
    match applied {
        Ok(results) => indexes
            .into_iter()
            .zip(results)
            .map(|(index, result)| {
                let result = match result {
                    Ok(outcome) => item_outcome_to_pb(&outcome),
                    Err(error) => item_error_to_pb(error.into()),
                };
                (index, result)
            })
            .collect(),
        Err(error) => {
            let error = item_error_to_pb(error);
            indexes.into_iter().map(|index| (index, error.clone())).collect()
        }
    }
}
