//! The one `Watch…` loop of every run.
//!
//! The stream subscribes to its topics before it reads the snapshot, so nothing between the two
//! is lost. Then each event is classified by the run: unrelated ones are skipped, a state change
//! sends a fresh read at once, progress is coalesced to one message per [`PROGRESS_INTERVAL`]
//! (the latest is never lost: a throttled change is sent when the interval ends). A watcher that
//! fell behind the hub (`Lagged`) or lived through a Redis reconnect (events published in the gap
//! are gone) reads the run again, so it can miss intermediate counters but never a state: the
//! read is the truth. The stream ends after the message with a terminal state, when the client
//! leaves, or with UNAVAILABLE when the server shuts down (the client watches again elsewhere).

use std::time::Duration;

use futures_util::{StreamExt as _, stream::select_all};
use tokio::{sync::mpsc, time::Instant};
use tokio_stream::wrappers::{BroadcastStream, ReceiverStream, errors::BroadcastStreamRecvError};
use tokio_util::sync::CancellationToken;
use tonic::Status;

use crate::{progress::ProgressHub, redis::keys::Topic};

/// Shortest time between two progress messages of one stream; state changes are not held back.
pub const PROGRESS_INTERVAL: Duration = Duration::from_millis(250);
/// Messages buffered per stream; a client slower than this holds back only its own stream.
const STREAM_BUFFER: usize = 16;

/// What an event means for the watched run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// Not about this run.
    Unrelated,
    /// Its counters moved: coalesced.
    Progress,
    /// Its state changed (or may have): sent at once.
    State,
}

/// A run as a `Watch…` stream sees it.
pub trait WatchedRun: Send + Sync + 'static {
    /// The message streamed (the run as the client sees it).
    type Message: Clone + Send + 'static;
    /// The service's error, as the client gets it.
    type Error: Into<Status> + Send;

    /// The topics whose events may concern the run.
    const TOPICS: &'static [Topic];

    /// What an event on `topic` means for the run last sent as `last`.
    fn classify(&self, last: &Self::Message, topic: Topic, event: &[u8]) -> Change;

    /// Reads the run as it is now.
    fn current(&self) -> impl Future<Output = Result<Self::Message, Self::Error>> + Send;

    /// Whether the run has ended.
    fn is_terminal(message: &Self::Message) -> bool;
}

/// The stream of a `Watch…` RPC.
pub type WatchStream<M> = ReceiverStream<Result<M, Status>>;

/// Starts watching `run`: fails at once (NOT_FOUND...) if its first read fails.
pub async fn watch<W: WatchedRun>(
    hub: &ProgressHub,
    shutdown: CancellationToken,
    run: W,
) -> Result<WatchStream<W::Message>, W::Error> {
    let mut events = select_all(
        W::TOPICS.iter().map(|&topic| BroadcastStream::new(hub.subscribe(topic)).map(move |event| (topic, event))),
    );
    let mut resyncs = hub.resyncs();
    let snapshot = run.current().await?;
    let (tx, rx) = mpsc::channel(STREAM_BUFFER);
    tokio::spawn(async move {
        let done = W::is_terminal(&snapshot);
        if tx.send(Ok(snapshot.clone())).await.is_err() || done {
            return;
        }
        let mut last = snapshot;
        let mut last_sent = Instant::now();
        // Set when progress arrived too soon after the last message.
        let mut pending: Option<Instant> = None;
        loop {
            let refresh = tokio::select! {
                () = tx.closed() => return,
                () = shutdown.cancelled() => {
                    let _ = tx.send(Err(Status::unavailable("the server is shutting down: watch again"))).await;
                    return;
                }
                () = tokio::time::sleep_until(pending.unwrap_or_else(Instant::now)), if pending.is_some() => true,
                changed = resyncs.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    true
                }
                event = events.next() => match event {
                    None => return,
                    Some((_, Err(BroadcastStreamRecvError::Lagged(_)))) => true,
                    Some((topic, Ok(bytes))) => match run.classify(&last, topic, &bytes) {
                        Change::Unrelated => false,
                        Change::State => true,
                        Change::Progress if last_sent.elapsed() >= PROGRESS_INTERVAL => true,
                        Change::Progress => {
                            pending.get_or_insert(last_sent + PROGRESS_INTERVAL);
                            false
                        }
                    },
                },
            };
            if !refresh {
                continue;
            }
            pending = None;
            match run.current().await {
                Ok(message) => {
                    last_sent = Instant::now();
                    let done = W::is_terminal(&message);
                    if tx.send(Ok(message.clone())).await.is_err() || done {
                        return;
                    }
                    last = message;
                }
                Err(error) => {
                    let _ = tx.send(Err(error.into())).await;
                    return;
                }
            }
        }
    });
    Ok(ReceiverStream::new(rx))
}
