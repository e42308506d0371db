use medley_sdk::pb::GetServerInfoRequest;
use medley_tests::TestServer;

#[tokio::test]
async fn reports_version_services_and_uptime() {
    let server = TestServer::start().await;
    let info = server.client().await.admin().get_server_info(GetServerInfoRequest {}).await.expect("info").into_inner();
    assert_eq!(info.version, env!("CARGO_PKG_VERSION"));
    assert!(!info.build.is_empty());
    assert_eq!(
        info.enabled_services,
        ["medley.v1.AdminService", "medley.v1.MappingService", "medley.v1.CatalogService"]
    );
    uuid::Uuid::parse_str(&info.instance_id).expect("instance id is a uuid");
    let start = info.start_time.expect("start time");
    let now = chrono::Utc::now().timestamp();
    assert!(start.seconds <= now && start.seconds > now - 60, "start {start:?} now {now}");
    let uptime = info.uptime.expect("uptime");
    assert!(uptime.seconds >= 0 && uptime.seconds < 60 && (uptime.seconds > 0 || uptime.nanos > 0));
}

#[tokio::test]
async fn two_servers_have_distinct_instance_ids_and_prefixes() {
    let a = TestServer::start().await;
    let b = TestServer::start().await;
    let ia = a.client().await.admin().get_server_info(GetServerInfoRequest {}).await.expect("a").into_inner();
    let ib = b.client().await.admin().get_server_info(GetServerInfoRequest {}).await.expect("b").into_inner();
    assert_ne!(ia.instance_id, ib.instance_id);
    // Each instance writes its liveness key under its own prefix only.
    let keys_a = a.redis.keys();
    assert!(keys_a.iter().any(|k| k.ends_with(&ia.instance_id)), "{keys_a:?}");
    assert!(!keys_a.iter().any(|k| k.ends_with(&ib.instance_id)), "{keys_a:?}");
    assert!(b.redis.keys().iter().all(|k| k.starts_with(&format!("{}:", b.redis.prefix()))));
}
