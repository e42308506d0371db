//! The one backoff of the server (job retries, upstream retries, reconnecting to PostgreSQL's
//! notifications and to Redis): exponential from a first delay, doubled each time up to a cap,
//! with jitter so clients that failed together do not come back together. Built on `backon`'s
//! `ExponentialBuilder`, whose jitter adds up to one more delay (a delay `d` becomes a random
//! value in `[d, 2d)`); the result never exceeds the cap.

use std::time::Duration;

use backon::{BackoffBuilder as _, ExponentialBuilder};

/// Retry delays: `first`, doubling to `max`, jittered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// Delay before the first retry, before jitter.
    pub first: Duration,
    /// Longest delay, jitter included.
    pub max: Duration,
}

impl Backoff {
    /// Delays from `first` to `max`.
    pub const fn new(first: Duration, max: Duration) -> Self {
        Self { first, max }
    }

    /// The delays of successive retries, endless: each call starts a new sequence (after a
    /// success, start again from the first delay).
    pub fn delays(&self) -> impl Iterator<Item = Duration> + Send + use<> {
        let max = self.max;
        ExponentialBuilder::default()
            .with_min_delay(self.first)
            .with_max_delay(max)
            .with_factor(2.0)
            .with_jitter()
            .without_max_times()
            .build()
            .map(move |delay| delay.min(max))
    }

    /// The delay before retry number `retry` (1 is the first retry), for callers that keep
    /// the count themselves (a job's attempts are in the database).
    pub fn delay(&self, retry: u32) -> Duration {
        // Past 32 doublings every delay is the cap.
        let skip = retry.saturating_sub(1).min(32) as usize;
        self.delays().nth(skip).unwrap_or(self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_within_jitter_and_stops_at_the_cap() {
        let backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));
        for _ in 0..50 {
            for (retry, expected) in [(1, 1.0), (2, 2.0), (3, 4.0), (5, 16.0)] {
                let delay = backoff.delay(retry).as_secs_f64();
                assert!(delay >= expected && delay < expected * 2.0, "retry {retry}: {delay}");
            }
            assert!(backoff.delay(7) <= Duration::from_secs(60));
            assert_eq!(backoff.delay(1000), Duration::from_secs(60).min(backoff.delay(1000)));
            let sequence: Vec<Duration> = backoff.delays().take(10).collect();
            assert!(sequence.iter().all(|d| *d >= Duration::from_secs(1) && *d <= Duration::from_secs(60)));
            assert_eq!(sequence[9], Duration::from_secs(60), "the cap holds late in a sequence");
        }
    }

    #[test]
    fn jitter_spreads_retries_that_failed_together() {
        let backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(10));
        let delays: std::collections::HashSet<Duration> = (0..20).map(|_| backoff.delay(3)).collect();
        assert!(delays.len() > 1, "every retry waited the same {delays:?}");
    }
}
