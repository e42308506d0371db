//! The rate limit of anonymous calls (methods declared `ScopeOrAnonymous`, such as public
//! mapping lookups): per client address, shared by every instance through Redis with the exact
//! sliding windows of [`crate::outbound::SharedLimiter`]. A caller over the limit gets
//! RESOURCE_EXHAUSTED with the wait in RetryInfo; a caller with an API key is not limited here.
//! When Redis is unreachable anonymous calls go through (lookups degrade, they do not stop).

use std::{net::IpAddr, time::Duration};

use redis::aio::ConnectionManager;

use crate::{
    error::{ApiError, ErrorCode},
    outbound::{SharedLimiter, Window},
    redis::keys::Keys,
};

/// Anonymous calls allowed per client address.
#[derive(Clone)]
pub struct AnonymousLimit {
    redis: ConnectionManager,
    keys: Keys,
    windows: Vec<Window>,
}

impl AnonymousLimit {
    /// At most `per_second` and `per_minute` anonymous calls per address (0 = no such limit).
    pub fn new(redis: ConnectionManager, keys: Keys, per_second: u32, per_minute: u32) -> Self {
        Self { redis, keys, windows: vec![Window::per_second(per_second), Window::per_minute(per_minute)] }
    }

    /// Counts a call from `client`; refuses it when over the limit.
    pub async fn admit(&self, client: Option<IpAddr>) -> Result<(), ApiError> {
        let client = client.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
        let key = self.keys.rate_limit(&format!("anonymous:{client}"));
        let Some(limiter) = SharedLimiter::new(self.redis.clone(), key, self.windows.iter().copied()) else {
            return Ok(());
        };
        match limiter.try_acquire().await {
            Ok(None) => Ok(()),
            Ok(Some(wait)) => Err(refusal(wait)),
            Err(error) => {
                tracing::warn!(%error, "anonymous rate limit unavailable: letting the call through");
                Ok(())
            }
        }
    }
}

fn refusal(wait: Duration) -> ApiError {
    ApiError::new(
        ErrorCode::ResourceExhausted,
        "too many calls without an API key from this address: wait, or send a key (`authorization: Bearer …`)",
    )
    .with_reason("ANONYMOUS_RATE_LIMITED", std::collections::HashMap::new())
    .with_retry_after(wait)
}
