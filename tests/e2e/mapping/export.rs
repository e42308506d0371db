//! ExportMappings: resume tokens, one version of the data per export, slow readers.

use medley_sdk::{
    Client,
    pb::{self, mapping_override::Change},
};
use tonic_types::StatusExt as _;

use super::{key, loaded_server, run_pipeline};

fn request(batch_size: i32, resume_token: String) -> pb::ExportMappingsRequest {
    pb::ExportMappingsRequest { platform: 0, batch_size, resume_token }
}

/// Every message of an export, to its end.
async fn messages(client: &Client, request: pb::ExportMappingsRequest) -> Vec<pb::ExportMappingsResponse> {
    let mut stream = client.mapping().export_mappings(request).await.expect("export").into_inner();
    let mut all = Vec::new();
    while let Some(message) = stream.message().await.expect("message") {
        all.push(message);
    }
    all
}

fn ids(messages: &[pb::ExportMappingsResponse]) -> Vec<i64> {
    messages.iter().flat_map(|m| m.records.iter().map(|r| r.id)).collect()
}

#[tokio::test]
async fn an_export_resumes_after_any_message_with_nothing_lost_or_repeated() {
    let server = loaded_server().await;
    let client = server.client().await;
    let whole = messages(&client, request(7, String::new())).await;
    assert!(whole.len() >= 4, "{} messages", whole.len());
    let version = whole[0].data_update_time;
    assert!(version.is_some() && whole.iter().all(|m| m.data_update_time == version));
    let all = ids(&whole);
    assert!(all.windows(2).all(|w| w[0] < w[1]), "ordered by id, none twice");

    for cut in [0, 1, whole.len() / 2, whole.len() - 1] {
        let resumed = messages(&client, request(7, whole[cut].resume_token.clone())).await;
        let mut joined = ids(&whole[..=cut]);
        joined.extend(ids(&resumed));
        assert_eq!(joined, all, "resumed after message {cut}");
        assert!(resumed.iter().all(|m| m.data_update_time == version));
    }
    // A batch size above the maximum is taken as the maximum.
    let big = messages(&client, request(100_000, String::new())).await;
    assert_eq!(ids(&big), all);
}

#[tokio::test]
async fn new_data_published_during_an_export_ends_it_with_aborted_instead_of_mixing_versions() {
    let server = loaded_server().await;
    let client = server.client().await;
    let mut stream = client.mapping().export_mappings(request(1, String::new())).await.expect("export").into_inner();
    let first = stream.message().await.expect("message").expect("a first message");

    // An override changes MAL 1; the run publishes a new version.
    let change = Change::Title("Cowboy Bebop (fixed)".into());
    let item = pb::MappingOverride { subject: Some(key("mal", "1")), change: Some(change), ..Default::default() };
    client.mapping().put_override(pb::PutOverrideRequest { r#override: Some(item) }).await.expect("put");
    let run = run_pipeline(&client, false).await;
    assert_eq!(run.state, pb::JobState::Succeeded as i32, "{run:?}");

    // Pages read ahead before the run may still come; then the export stops.
    let ended = loop {
        match stream.message().await {
            Ok(Some(message)) => assert_eq!(message.data_update_time, first.data_update_time),
            Ok(None) => panic!("the export must not end normally across two versions"),
            Err(status) => break status,
        }
    };
    assert_eq!(ended.code(), tonic::Code::Aborted, "{ended:?}");
    assert_eq!(ended.get_error_details().error_info().map(|i| i.reason.as_str()), Some("DATA_CHANGED"));
    // Resuming the old export is refused the same way; a new one reads the new version.
    let mut resumed =
        client.mapping().export_mappings(request(1, first.resume_token)).await.expect("export").into_inner();
    assert_eq!(resumed.message().await.expect_err("stale").code(), tonic::Code::Aborted);
    let fresh = messages(&client, request(1000, String::new())).await;
    let version = fresh[0].data_update_time;
    assert_ne!(version, first.data_update_time);
    assert!(fresh.iter().all(|m| m.data_update_time == version));
}

#[tokio::test]
async fn slow_readers_hold_no_database_connection() {
    let server = loaded_server().await;
    let client = server.client().await;
    // More stalled exports than the pool has connections (4 in tests), each read once and then
    // left unread.
    let mut stalled = Vec::new();
    for _ in 0..8 {
        let mut stream =
            client.mapping().export_mappings(request(1, String::new())).await.expect("export").into_inner();
        stream.message().await.expect("message").expect("a first message");
        stalled.push(stream);
    }
    // Reads that need PostgreSQL still get a connection at once.
    for _ in 0..4 {
        let status = client.mapping().get_status(pb::GetStatusRequest {}).await;
        assert!(status.is_ok(), "{status:?}");
        let overrides = client.mapping().list_overrides(pb::ListOverridesRequest::default()).await;
        assert!(overrides.is_ok(), "{overrides:?}");
    }
    drop(stalled);
}
