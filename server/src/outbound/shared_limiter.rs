//! The sliding-window limiter of [`super::limiter`], shared by every worker and instance of a
//! deployment through Redis: panels and wikis limit per account, not per process, so two
//! workers calling the same account must count each other's requests.
//!
//! The send times of recent requests live in one sorted set per limited account; one Lua script
//! checks every window and records the request atomically, so the promise stays exact (at most
//! `limit` requests in any window, as the upstream counts them) across processes. Times are
//! passed in by the caller (the wall clock in milliseconds, an injected one in tests); the
//! window margin covers clock skew between hosts as it covers network jitter. When Redis is
//! unreachable the process falls back to its own in-memory window, so it still never exceeds the
//! limit on its own.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redis::{Script, aio::ConnectionManager};

use super::limiter::{MARGIN, RateLimiter, Window};

/// Checks every window and records the request when it fits; else answers the wait in ms.
const ACQUIRE_SCRIPT: &str = r"
local now = tonumber(ARGV[1])
local margin = tonumber(ARGV[3])
local wait = 0
local longest = 0
for i = 4, #ARGV, 2 do
  local limit = tonumber(ARGV[i])
  local window = tonumber(ARGV[i + 1]) + margin
  if window > longest then longest = window end
  local recent = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. (now - window), '+inf', 'WITHSCORES')
  local count = #recent / 2
  if count >= limit then
    local oldest = tonumber(recent[(count - limit) * 2 + 2])
    local free_at = oldest + window
    if free_at - now > wait then wait = free_at - now end
  end
end
if wait > 0 then return wait end
redis.call('ZADD', KEYS[1], now, ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - longest)
redis.call('PEXPIRE', KEYS[1], longest)
return 0
";

/// The script, hashed once: limiters are made per call for anonymous clients.
static ACQUIRE: std::sync::LazyLock<Script> = std::sync::LazyLock::new(|| Script::new(ACQUIRE_SCRIPT));

/// A rate limit shared through Redis under `key`.
#[derive(Clone)]
pub struct SharedLimiter {
    redis: ConnectionManager,
    key: String,
    windows: Vec<Window>,
    fallback: std::sync::Arc<RateLimiter>,
}

impl std::fmt::Debug for SharedLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedLimiter").field("key", &self.key).field("windows", &self.windows).finish()
    }
}

impl SharedLimiter {
    /// A limiter over `windows` (zero limits dropped) counted under the Redis `key`; `None`
    /// when no limit is left.
    pub fn new(redis: ConnectionManager, key: String, windows: impl IntoIterator<Item = Window>) -> Option<Self> {
        let windows: Vec<Window> = windows.into_iter().filter(|w| w.limit > 0).collect();
        let fallback = std::sync::Arc::new(RateLimiter::new(windows.iter().copied())?);
        Some(Self { redis, key, windows, fallback })
    }

    /// Waits until a request may be sent without exceeding any window, and records it.
    pub async fn acquire(&self) {
        loop {
            match self.try_acquire_at(now_ms()).await {
                Ok(None) => return,
                Ok(Some(wait)) => tokio::time::sleep(wait).await,
                Err(error) => {
                    tracing::warn!(key = %self.key, %error, "shared rate limit unavailable: counting in this process");
                    self.fallback.acquire().await;
                    return;
                }
            }
        }
    }

    /// Records a request now if it fits every window, answering `None`; else answers how long
    /// to wait, recording nothing. For callers that refuse rather than wait.
    pub async fn try_acquire(&self) -> redis::RedisResult<Option<Duration>> {
        self.try_acquire_at(now_ms()).await
    }

    /// Records a request at `now_ms` (milliseconds of the shared clock) if it fits every
    /// window, answering `None`; else answers how long to wait, recording nothing.
    pub async fn try_acquire_at(&self, now_ms: i64) -> redis::RedisResult<Option<Duration>> {
        let mut invocation = ACQUIRE.key(&self.key);
        invocation.arg(now_ms).arg(unique_member(now_ms)).arg(MARGIN.as_millis() as i64);
        for window in &self.windows {
            invocation.arg(window.limit).arg(window.window.as_millis() as i64);
        }
        let mut redis = self.redis.clone();
        let wait: i64 = invocation.invoke_async(&mut redis).await?;
        Ok((wait > 0).then(|| Duration::from_millis(wait.unsigned_abs())))
    }
}

/// The wall clock in milliseconds since the epoch.
fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A member no other request shares, even at the same millisecond.
fn unique_member(now_ms: i64) -> String {
    let mut bytes = [0_u8; 8];
    // Without randomness, requests at the same millisecond would merely count once.
    let _ = getrandom::fill(&mut bytes);
    format!("{now_ms}-{}", u64::from_le_bytes(bytes))
}
