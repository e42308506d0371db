//! The LISTEN side of the queue: a dedicated connection receives `medley_jobs_ready` (a trigger
//! notifies on every runnable job) and `medley_jobs_cancel` (a running job was cancelled), and
//! reconnects with backoff from 1 s to 60 s. Polling covers whatever arrives while it is down.

use std::{sync::Arc, time::Duration};

use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl as _};
use futures_util::StreamExt as _;
use tokio_util::sync::CancellationToken;

use crate::backoff::Backoff;

/// What the listener reports to its worker.
pub(super) trait ListenEvents: Send + Sync + 'static {
    /// A job became runnable (or the listener reconnected and may have missed some).
    fn job_ready(&self);
    /// Cancellation of running job `id` was asked.
    fn cancel_requested(&self, id: i64);
}

/// Listens until `stop`.
pub(super) async fn listen(database_url: String, events: Arc<impl ListenEvents>, stop: CancellationToken) {
    let mut backoff = ReconnectDelay::default();
    loop {
        let mut listening = false;
        let session = async {
            let mut conn = AsyncPgConnection::establish(&database_url).await.map_err(|e| e.to_string())?;
            diesel::sql_query("LISTEN medley_jobs_ready").execute(&mut conn).await.map_err(|e| e.to_string())?;
            diesel::sql_query("LISTEN medley_jobs_cancel").execute(&mut conn).await.map_err(|e| e.to_string())?;
            listening = true;
            // Jobs queued while not listening are found by the next poll; wake now to be quick.
            events.job_ready();
            let mut notifications = std::pin::pin!(conn.notifications_stream());
            while let Some(notification) = notifications.next().await {
                let notification = notification.map_err(|e| e.to_string())?;
                match notification.channel.as_str() {
                    "medley_jobs_ready" => events.job_ready(),
                    "medley_jobs_cancel" => {
                        if let Ok(id) = notification.payload.parse::<i64>() {
                            events.cancel_requested(id);
                        }
                    }
                    _ => {}
                }
            }
            Err::<(), String>("notification stream ended".to_owned())
        };
        let result = tokio::select! {
            () = stop.cancelled() => return,
            result = session => result,
        };
        let delay = backoff.after_session(listening);
        if let Err(error) = result {
            tracing::warn!(%error, retry_in_ms = delay.as_millis() as u64, "job listener disconnected");
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(delay) => {}
        }
    }
}

/// The wait before reconnecting: about 1 s after a session that was listening (a new outage
/// starts over), doubling while connecting keeps failing, at most 60 s.
struct ReconnectDelay {
    delays: Box<dyn Iterator<Item = Duration> + Send>,
}

impl Default for ReconnectDelay {
    fn default() -> Self {
        Self { delays: Box::new(Self::BACKOFF.delays()) }
    }
}

impl ReconnectDelay {
    const BACKOFF: Backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));

    fn after_session(&mut self, was_listening: bool) -> Duration {
        if was_listening {
            *self = Self::default();
        }
        self.delays.next().unwrap_or(Self::BACKOFF.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delay_doubles_while_failing_and_starts_over_after_a_good_session() {
        let mut delay = ReconnectDelay::default();
        // Jittered: a nominal delay of `secs` is at least that and below twice that.
        let about = |d: Duration, secs: u64| {
            let nominal = Duration::from_secs(secs);
            assert!(d >= nominal && d < nominal * 2, "{d:?} is not about {secs} s");
        };
        // First outage: the listener was up, then connecting fails three times.
        about(delay.after_session(true), 1);
        about(delay.after_session(false), 2);
        about(delay.after_session(false), 4);
        // Back, listening for a while, then a second outage: 1 s again, not 8.
        about(delay.after_session(true), 1);
        about(delay.after_session(false), 2);
        for _ in 0..10 {
            delay.after_session(false);
        }
        assert_eq!(delay.after_session(false), Duration::from_secs(60));
        about(delay.after_session(true), 1);
    }
}
