//! A sliding-window rate limiter: at most `limit` requests in any `window`, for every window
//! given at once (Shikimori: 5 per second *and* 90 per minute).
//!
//! Not a token bucket on purpose: upstreams such as Shikimori count requests in windows and ban
//! clients that exceed them, and a bucket refilled at 5/s with a burst of 5 lets 9 requests
//! through in one second. Keeping the send times of the last `limit` requests makes the promise
//! exact. Each window is widened by a small margin so requests that leave on time but arrive
//! late still fall into the next window as the upstream sees it.

use std::{collections::VecDeque, time::Duration};

use tokio::{sync::Mutex, time::Instant};

/// Extra time added to every window, for network jitter between us and the upstream's clock.
pub(super) const MARGIN: Duration = Duration::from_millis(100);

/// One limit: at most `limit` requests per `window`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// Requests allowed per window; 0 disables this limit.
    pub limit: usize,
    /// The window's length.
    pub window: Duration,
}

impl Window {
    /// `limit` requests per second.
    pub fn per_second(limit: u32) -> Self {
        Self { limit: limit as usize, window: Duration::from_secs(1) }
    }

    /// `limit` requests per minute.
    pub fn per_minute(limit: u32) -> Self {
        Self { limit: limit as usize, window: Duration::from_secs(60) }
    }
}

/// Limits requests to every one of its windows. Shared by all tasks calling one upstream.
#[derive(Debug)]
pub struct RateLimiter {
    windows: Vec<Window>,
    // Send times of recent requests, oldest first, as many as the largest limit.
    sent: Mutex<VecDeque<Instant>>,
}

impl RateLimiter {
    /// A limiter over `windows`; those with a limit of 0 are dropped. Returns `None` when no
    /// window is left (no limit at all).
    pub fn new(windows: impl IntoIterator<Item = Window>) -> Option<Self> {
        let windows: Vec<Window> = windows.into_iter().filter(|w| w.limit > 0).collect();
        (!windows.is_empty()).then(|| Self { windows, sent: Mutex::new(VecDeque::new()) })
    }

    /// Waits until a request may be sent without exceeding any window, and records it as sent.
    pub async fn acquire(&self) {
        loop {
            let wait = {
                let mut sent = self.sent.lock().await;
                let now = Instant::now();
                match self.wait_needed(&sent, now) {
                    None => {
                        sent.push_back(now);
                        let keep = self.windows.iter().map(|w| w.limit).max().unwrap_or(0);
                        while sent.len() > keep {
                            sent.pop_front();
                        }
                        return;
                    }
                    Some(wait) => wait,
                }
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// Returns how long to wait before a request at `now` fits every window, or `None` if it
    /// fits now.
    fn wait_needed(&self, sent: &VecDeque<Instant>, now: Instant) -> Option<Duration> {
        let mut wait = Duration::ZERO;
        for window in &self.windows {
            if sent.len() < window.limit {
                continue;
            }
            // The request `limit` back must have left the window before another may go.
            let oldest_in_window = sent[sent.len() - window.limit];
            let free_at = oldest_in_window + window.window + MARGIN;
            if free_at > now {
                wait = wait.max(free_at - now);
            }
        }
        (wait > Duration::ZERO).then_some(wait)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn never_exceeds_any_window() {
        let limiter = RateLimiter::new([Window::per_second(5), Window::per_minute(20)]).unwrap();
        let start = Instant::now();
        let mut times = Vec::new();
        for _ in 0..30 {
            limiter.acquire().await;
            times.push(start.elapsed());
        }
        for (i, t) in times.iter().enumerate() {
            let in_second = times[i..].iter().take_while(|u| **u < *t + Duration::from_secs(1)).count();
            let in_minute = times[i..].iter().take_while(|u| **u < *t + Duration::from_secs(60)).count();
            assert!(in_second <= 5, "{in_second} requests within 1 s from {t:?}");
            assert!(in_minute <= 20, "{in_minute} requests within 60 s from {t:?}");
        }
        // The first five go at once: the limiter does not space requests it does not have to.
        assert!(times[4] < Duration::from_millis(1));
        // The 21st waits for the minute window.
        assert!(times[20] >= Duration::from_secs(60));
    }

    #[test]
    fn zero_limits_mean_no_limiter() {
        assert!(RateLimiter::new([Window::per_second(0), Window::per_minute(0)]).is_none());
        assert!(RateLimiter::new([Window::per_second(0), Window::per_minute(3)]).is_some());
    }
}
