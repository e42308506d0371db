//! The rate limit shared through Redis: two processes (two limiters on their own connections)
//! calling one upstream account never exceed its windows together. Times come from an injected
//! clock (milliseconds passed to `try_acquire_at`), so the test waits for nothing.

use std::time::Duration;

use medley_server::outbound::{SharedLimiter, Window};
use medley_tests::{TestRedis, redis::redis_url};

async fn limiter(key: &str) -> SharedLimiter {
    let client = redis::Client::open(redis_url()).expect("redis url");
    let connection = client.get_connection_manager().await.expect("redis");
    SharedLimiter::new(connection, key.to_owned(), [Window::per_second(5), Window::per_minute(8)]).expect("limits")
}

#[tokio::test]
async fn two_processes_sharing_an_account_never_exceed_its_windows_together() {
    let redis = TestRedis::new();
    let key = format!("{}:ratelimit:upstream", redis.prefix());
    let (a, b) = (limiter(&key).await, limiter(&key).await);
    let at = |ms: i64| 1_000_000_i64 + ms;

    // Five requests in the same second, alternating processes: all go.
    for i in 0..5 {
        let process = if i % 2 == 0 { &a } else { &b };
        assert_eq!(process.try_acquire_at(at(i)).await.expect("redis"), None, "request {i}");
    }
    // The sixth, from either process, waits until the first leaves the window (1 s + 100 ms
    // margin after it), and a refusal records nothing.
    assert_eq!(b.try_acquire_at(at(10)).await.expect("redis"), Some(Duration::from_millis(1090)));
    assert_eq!(a.try_acquire_at(at(20)).await.expect("redis"), Some(Duration::from_millis(1080)));
    assert_eq!(a.try_acquire_at(at(1100)).await.expect("redis"), None);
    // Six sent; the minute window allows eight.
    assert_eq!(b.try_acquire_at(at(2300)).await.expect("redis"), None);
    assert_eq!(a.try_acquire_at(at(2301)).await.expect("redis"), None);
    // The ninth waits for the minute window: the first request plus 60.1 s.
    assert_eq!(a.try_acquire_at(at(3500)).await.expect("redis"), Some(Duration::from_millis(56_600)));
    assert_eq!(b.try_acquire_at(at(60_099)).await.expect("redis"), Some(Duration::from_millis(1)));
    assert_eq!(b.try_acquire_at(at(60_100)).await.expect("redis"), None);
}

#[tokio::test]
async fn accounts_are_counted_apart() {
    let redis = TestRedis::new();
    let one = limiter(&format!("{}:ratelimit:one", redis.prefix())).await;
    let two = limiter(&format!("{}:ratelimit:two", redis.prefix())).await;
    for i in 0..5 {
        assert_eq!(one.try_acquire_at(1_000 + i).await.expect("redis"), None);
    }
    assert!(one.try_acquire_at(1_010).await.expect("redis").is_some());
    assert_eq!(two.try_acquire_at(1_010).await.expect("redis"), None, "another account has its own window");
}
