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
