//! The progress hub: fans events out to every watcher on every instance through Redis pub/sub.
//!
//! Publishers send an encoded message on a topic (every topic is a [`Topic`] of `redis/keys.rs`).
//! Every process keeps one Redis subscription (`PSUBSCRIBE {prefix}:events:*`) and hands each
//! message to local watchers through a bounded `broadcast` channel per topic, so a publisher
//! never waits for a watcher and memory stays bounded. A watcher that falls behind by more than
//! the channel holds gets `Lagged` and re-reads a snapshot from the database; after a Redis
//! reconnect, [`ProgressHub::resyncs`] tells watchers to do the same, since messages published
//! during the gap are lost.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use ::redis::{AsyncCommands as _, aio::ConnectionManager};
use futures_util::StreamExt as _;
use tokio::sync::{broadcast, watch};
use tokio_util::sync::CancellationToken;

use crate::{
    backoff::Backoff,
    redis::keys::{Keys, Topic},
};

/// Messages a watcher may fall behind by before it must re-snapshot.
pub const TOPIC_CAPACITY: usize = 1024;

/// One process's end of the event fan-out.
pub struct ProgressHub {
    redis: ConnectionManager,
    keys: Keys,
    topics: Mutex<HashMap<Topic, broadcast::Sender<Arc<[u8]>>>>,
    resync: watch::Sender<u64>,
}

impl ProgressHub {
    /// Subscribes to every topic of this prefix and returns once the subscription is live (so
    /// nothing published after start is missed); keeps it alive, reconnecting, until
    /// `shutdown`.
    pub async fn start(
        client: ::redis::Client,
        redis: ConnectionManager,
        keys: Keys,
        shutdown: CancellationToken,
    ) -> anyhow::Result<Arc<Self>> {
        let hub = Arc::new(Self { redis, keys, topics: Mutex::new(HashMap::new()), resync: watch::channel(0).0 });
        let pubsub = subscribe(&client, &hub.keys).await?;
        tokio::spawn(hub.clone().pump(client, pubsub, shutdown));
        Ok(hub)
    }

    /// Publishes `payload` on `topic` to every instance's watchers.
    pub async fn publish(&self, topic: Topic, payload: Vec<u8>) -> ::redis::RedisResult<()> {
        let mut conn = self.redis.clone();
        conn.publish::<_, _, ()>(self.keys.events(topic), payload).await
    }

    /// Publishes many messages on `topic` in one round trip (a pipeline).
    pub async fn publish_many(&self, topic: Topic, payloads: Vec<Vec<u8>>) -> ::redis::RedisResult<()> {
        if payloads.is_empty() {
            return Ok(());
        }
        let channel = self.keys.events(topic);
        let mut pipe = ::redis::pipe();
        for payload in payloads {
            pipe.publish(&channel, payload).ignore();
        }
        let mut conn = self.redis.clone();
        pipe.query_async::<()>(&mut conn).await
    }

    /// Returns a receiver of the messages published on `topic` from now on.
    pub fn subscribe(&self, topic: Topic) -> broadcast::Receiver<Arc<[u8]>> {
        self.lock().entry(topic).or_insert_with(|| broadcast::channel(TOPIC_CAPACITY).0).subscribe()
    }

    /// Returns how many messages of `topic` are held for the slowest local watcher (at most
    /// [`TOPIC_CAPACITY`]).
    pub fn backlog(&self, topic: Topic) -> usize {
        self.lock().get(&topic).map_or(0, broadcast::Sender::len)
    }

    /// Returns a receiver that changes whenever messages may have been lost (Redis reconnect).
    pub fn resyncs(&self) -> watch::Receiver<u64> {
        self.resync.subscribe()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Topic, broadcast::Sender<Arc<[u8]>>>> {
        // Only single inserts happen under this lock; a poisoned map is still consistent.
        self.topics.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn dispatch(&self, channel: &str, payload: &[u8]) {
        let Some(topic) = self.keys.event_topic(channel) else { return };
        let sender = self.lock().get(&topic).cloned();
        if let Some(sender) = sender {
            // No receivers is fine: nobody is watching that topic on this instance.
            let _ = sender.send(Arc::from(payload));
        }
    }

    async fn pump(
        self: Arc<Self>,
        client: ::redis::Client,
        mut pubsub: ::redis::aio::PubSub,
        shutdown: CancellationToken,
    ) {
        // Resubscribing: about 0.1 s, doubling while Redis stays away, at most 10 s.
        let backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(10));
        loop {
            {
                let mut messages = pubsub.on_message();
                loop {
                    tokio::select! {
                        () = shutdown.cancelled() => return,
                        message = messages.next() => match message {
                            Some(message) => self.dispatch(message.get_channel_name(), message.get_payload_bytes()),
                            None => break,
                        },
                    }
                }
            }
            tracing::warn!("event subscription lost: reconnecting");
            let mut delays = backoff.delays();
            pubsub = loop {
                let delay = delays.next().unwrap_or(backoff.max);
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(delay) => {}
                }
                match subscribe(&client, &self.keys).await {
                    Ok(pubsub) => break pubsub,
                    Err(error) => {
                        tracing::warn!(%error, "cannot resubscribe to events");
                    }
                }
            };
            tracing::info!("event subscription restored");
            self.resync.send_modify(|generation| *generation += 1);
        }
    }
}

async fn subscribe(client: &::redis::Client, keys: &Keys) -> anyhow::Result<::redis::aio::PubSub> {
    let connect = async {
        let mut pubsub = client.get_async_pubsub().await?;
        pubsub.psubscribe(keys.events_pattern()).await?;
        Ok::<_, ::redis::RedisError>(pubsub)
    };
    match tokio::time::timeout(Duration::from_secs(5), connect).await {
        Ok(Ok(pubsub)) => Ok(pubsub),
        Ok(Err(error)) => Err(anyhow::anyhow!("cannot subscribe to Redis events: {error}")),
        Err(_) => Err(anyhow::anyhow!("cannot subscribe to Redis events: no answer within 5 s")),
    }
}
