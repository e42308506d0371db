//! Retry delays: exponential in the attempt number, capped, with ±25 % jitter so jobs that failed
//! together (an upstream outage) do not all come back at the same instant.

use std::time::Duration;

/// Longest delay between attempts.
pub const MAX_DELAY: Duration = Duration::from_secs(600);

/// Returns the delay before the attempt after `attempt` (1-based) failed, for a handler whose
/// first retry waits about `base`.
pub fn retry_delay(base: Duration, attempt: i32) -> Duration {
    let exponent = u32::try_from(attempt.saturating_sub(1)).unwrap_or(0).min(20);
    let raw = base.saturating_mul(1 << exponent).min(MAX_DELAY);
    let mut byte = [0_u8; 2];
    // Without randomness the delay is merely unjittered.
    let _ = getrandom::fill(&mut byte);
    let unit = f64::from(u16::from_le_bytes(byte)) / f64::from(u16::MAX); // 0..=1
    raw.mul_f64(0.75 + unit * 0.5)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_exponentially_within_jitter_and_caps() {
        let base = Duration::from_secs(1);
        for (attempt, expected) in [(1, 1.0), (2, 2.0), (3, 4.0), (6, 32.0)] {
            for _ in 0..50 {
                let delay = retry_delay(base, attempt).as_secs_f64();
                assert!(delay >= expected * 0.75 - 1e-9 && delay <= expected * 1.25 + 1e-9, "{attempt}: {delay}");
            }
        }
        assert!(retry_delay(base, 1000) <= MAX_DELAY.mul_f64(1.25));
        assert!(retry_delay(base, 0) <= Duration::from_millis(1250));
    }
}
