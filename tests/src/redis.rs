//! A Redis key prefix per test; every key under it is deleted when the test ends.

use redis::Commands as _;

const DEFAULT_REDIS_URL: &str = "redis://127.0.0.1:6379";

/// Returns the Redis URL tests use.
pub fn redis_url() -> String {
    std::env::var("MEDLEY_TEST_REDIS_URL").unwrap_or_else(|_| DEFAULT_REDIS_URL.to_owned())
}

/// A unique key prefix; its keys are unlinked on drop.
pub struct TestRedis {
    prefix: String,
}

impl TestRedis {
    /// Picks a fresh prefix.
    pub fn new() -> Self {
        Self { prefix: format!("medley_test_{}", uuid::Uuid::new_v4().simple()) }
    }

    /// Returns the prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Returns every key under the prefix, for assertions.
    pub fn keys(&self) -> Vec<String> {
        keys_matching(&format!("{}:*", self.prefix))
    }
}

impl Default for TestRedis {
    fn default() -> Self {
        Self::new()
    }
}

/// Returns every key matching `pattern` (SCAN, not KEYS, so a big shared Redis is not blocked).
pub fn keys_matching(pattern: &str) -> Vec<String> {
    let client = redis::Client::open(redis_url()).expect("redis url");
    let mut conn = client.get_connection().expect("tests need Redis");
    conn.scan_match::<_, String>(pattern).expect("scan").collect::<Result<_, _>>().expect("scan keys")
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        let Ok(client) = redis::Client::open(redis_url()) else { return };
        let Ok(mut conn) = client.get_connection() else { return };
        let keys: Vec<String> = match conn.scan_match::<_, String>(format!("{}:*", self.prefix)) {
            Ok(iter) => iter.filter_map(Result::ok).collect(),
            Err(_) => return,
        };
        for chunk in keys.chunks(500) {
            let _: Result<(), _> = redis::cmd("UNLINK").arg(chunk).query(&mut conn);
        }
    }
}
