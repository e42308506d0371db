//! The LISTEN side of the queue: a dedicated connection receives `medley_jobs_ready` (a trigger
//! notifies on every runnable job) and `medley_jobs_cancel` (a running job was cancelled), and
//! reconnects with backoff from 1 s to 60 s. Polling covers whatever arrives while it is down.

use std::{sync::Arc, time::Duration};

use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl as _};
use futures_util::StreamExt as _;
use tokio_util::sync::CancellationToken;

/// What the listener reports to its worker.
pub(super) trait ListenEvents: Send + Sync + 'static {
    /// A job became runnable (or the listener reconnected and may have missed some).
    fn job_ready(&self);
    /// Cancellation of running job `id` was asked.
    fn cancel_requested(&self, id: i64);
}

/// Listens until `stop`.
pub(super) async fn listen(database_url: String, events: Arc<impl ListenEvents>, stop: CancellationToken) {
    let mut backoff = Duration::from_secs(1);
    loop {
        let session = async {
            let mut conn = AsyncPgConnection::establish(&database_url).await.map_err(|e| e.to_string())?;
            diesel::sql_query("LISTEN medley_jobs_ready").execute(&mut conn).await.map_err(|e| e.to_string())?;
            diesel::sql_query("LISTEN medley_jobs_cancel").execute(&mut conn).await.map_err(|e| e.to_string())?;
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
        tokio::select! {
            () = stop.cancelled() => return,
            result = session => {
                if let Err(error) = result {
                    tracing::warn!(%error, retry_in_ms = backoff.as_millis() as u64, "job listener disconnected");
                }
            }
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(Duration::from_secs(60));
    }
}
