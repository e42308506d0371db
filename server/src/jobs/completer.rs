//! Group completion: attempts that end at about the same time are recorded with one UPDATE and
//! one commit. Recording each alone makes every finished job wait for its own WAL flush, which
//! capped a 2-core machine near 1,100 jobs/s; batching lifts that and costs a lone job nothing
//! (a batch of one goes out at once).

use std::{collections::HashMap, sync::Arc};

use tokio::sync::{mpsc, oneshot};

use super::{
    model::JobRow,
    queue::JobQueue,
    store::{self, Finish},
};

/// Most attempts recorded by one statement.
const MAX_BATCH: usize = 256;

type Reply = oneshot::Sender<Result<Option<JobRow>, String>>;

/// Hands finished attempts to the batching task.
#[derive(Clone)]
pub struct Completer {
    tx: mpsc::Sender<(Finish, Reply)>,
}

impl Completer {
    /// Starts the batching task for `worker`; it ends when every `Completer` clone is dropped.
    pub fn start(queue: JobQueue, worker: Arc<str>) -> Self {
        let (tx, rx) = mpsc::channel(MAX_BATCH * 4);
        tokio::spawn(run(queue, worker, rx));
        Self { tx }
    }

    /// Records an attempt's end and publishes it; returns the job, or `None` if the worker no
    /// longer holds it.
    pub async fn finish(&self, finish: Finish) -> Result<Option<JobRow>, String> {
        let (reply, answer) = oneshot::channel();
        self.tx.send((finish, reply)).await.map_err(|_| "the completer stopped".to_owned())?;
        answer.await.map_err(|_| "the completer dropped the attempt".to_owned())?
    }
}

async fn run(queue: JobQueue, worker: Arc<str>, mut rx: mpsc::Receiver<(Finish, Reply)>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let finishes: Vec<Finish> = batch.iter().map(|(finish, _)| finish.clone()).collect();
        let result = queue
            .with_conn(async |conn| store::finish_attempts(conn, &worker, &finishes).await)
            .await
            .map_err(|e| e.to_string());
        match result {
            Ok(rows) => {
                let mut by_id: HashMap<i64, &JobRow> = rows.iter().map(|row| (row.id, row)).collect();
                for (finish, reply) in batch.drain(..) {
                    let _ = reply.send(Ok(by_id.remove(&finish.id).cloned()));
                }
                // After the replies, so slots free up without waiting for Redis; this task's
                // order keeps each job's events in order.
                queue.publish_all(&rows).await;
            }
            Err(error) => {
                for (_, reply) in batch.drain(..) {
                    let _ = reply.send(Err(error.clone()));
                }
            }
        }
    }
}
