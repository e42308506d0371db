//! Conversions between `chrono` times and protobuf well-known types.

use chrono::{DateTime, Utc};
use prost_types::{Duration as PbDuration, Timestamp};

/// Converts a time to a protobuf timestamp.
pub fn to_timestamp(at: DateTime<Utc>) -> Timestamp {
    Timestamp { seconds: at.timestamp(), nanos: at.timestamp_subsec_nanos().min(999_999_999) as i32 }
}

/// Converts a protobuf timestamp to a time; `None` when it is out of range or not normalised.
pub fn from_timestamp(ts: &Timestamp) -> Option<DateTime<Utc>> {
    let nanos = u32::try_from(ts.nanos).ok().filter(|n| *n < 1_000_000_000)?;
    DateTime::from_timestamp(ts.seconds, nanos)
}

/// Converts a standard duration to a protobuf duration, saturating.
pub fn to_duration(duration: std::time::Duration) -> PbDuration {
    PbDuration { seconds: i64::try_from(duration.as_secs()).unwrap_or(i64::MAX), nanos: duration.subsec_nanos() as i32 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_bad_values() {
        let now = Utc::now();
        assert_eq!(from_timestamp(&to_timestamp(now)), Some(now));
        assert_eq!(from_timestamp(&Timestamp { seconds: 0, nanos: -1 }), None);
        assert_eq!(from_timestamp(&Timestamp { seconds: i64::MAX, nanos: 0 }), None);
    }
}
