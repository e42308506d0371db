//! Assertions shared by the tests.

use tonic_types::StatusExt as _;

/// Asserts `status` is INVALID_ARGUMENT with a field violation on each of `fields`.
pub fn assert_invalid_fields(status: &tonic::Status, fields: &[&str]) {
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    let details = status.get_error_details();
    let violations: Vec<String> =
        details.bad_request().map(|b| b.field_violations.iter().map(|v| v.field.clone()).collect()).unwrap_or_default();
    for field in fields {
        assert!(violations.iter().any(|v| v == field), "no violation on {field}: {violations:?} ({status:?})");
    }
}

/// Returns the `ErrorInfo.reason` of a status, or "".
pub fn reason(status: &tonic::Status) -> String {
    status.get_error_details().error_info().map(|i| i.reason.clone()).unwrap_or_default()
}

/// Polls job `id` until `done` holds for it, failing after `timeout_ms`.
pub async fn wait_for_job(
    state: &medley_server::Platform,
    id: i64,
    timeout_ms: u64,
    done: impl Fn(&medley_server::jobs::JobRow) -> bool,
) -> medley_server::jobs::JobRow {
    let deadline = std::time::Instant::now() + std::time::Duration::from_millis(timeout_ms);
    loop {
        let row = state.jobs.get(id).await.expect("read job").expect("job exists");
        if done(&row) {
            return row;
        }
        assert!(std::time::Instant::now() < deadline, "job {id} never reached the expected state: {row:?}");
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
}

/// Polls job `id` until it is in `state`.
pub async fn wait_for_state(
    state: &medley_server::Platform,
    id: i64,
    expected: medley_server::jobs::JobState,
    timeout_ms: u64,
) -> medley_server::jobs::JobRow {
    wait_for_job(state, id, timeout_ms, |row| row.state() == expected).await
}
