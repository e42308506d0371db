use diesel::sql_query;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use medley_server::db::{quote_ident, with_database};
use medley_tests::{TestServer, db::maintenance_url};

async fn start_error(configure: impl FnOnce(&mut medley_server::Settings) + 'static) -> String {
    let (mut config, _db, _redis) = TestServer::builder().prepare().await;
    configure(&mut config);
    match medley_server::start(config).await {
        Ok(_) => panic!("the server should not start"),
        Err(error) => format!("{error:#}"),
    }
}

#[tokio::test]
async fn unreachable_postgres_names_the_url_and_the_fix_without_the_password() {
    let message =
        start_error(|c| c.platform.database_url = "postgres://medley:hunter2@127.0.0.1:1/medley".to_owned()).await;
    assert!(message.contains("postgres://medley:***@127.0.0.1:1/medley"), "{message}");
    assert!(message.contains("MEDLEY_DATABASE_URL"), "{message}");
    assert!(!message.contains("hunter2"), "{message}");
}

#[tokio::test]
async fn passwords_in_query_parameters_and_source_urls_are_redacted_everywhere_they_are_printed() {
    use medley_server::{config::ConfigEntries as _, services::mapping::sources::SourceSpec};

    let message = start_error(|c| {
        c.platform.database_url = "postgres://medley@127.0.0.1:1/medley?password=hunter2&sslmode=disable".to_owned()
    })
    .await;
    assert!(!message.contains("hunter2"), "{message}");
    assert!(message.contains("password=***&sslmode=disable"), "{message}");

    let (mut settings, _db, _redis) = TestServer::builder().prepare().await;
    settings.platform.redis_url = "redis://:hunter2@127.0.0.1:6379".to_owned();
    settings.services.catalog.kodik_base_url = "https://kodik:hunter2@kodik.example".to_owned();
    settings.services.catalog.shikimori_base_url = "https://shiki.example/?token=hunter2".to_owned();
    let source = SourceSpec::parse("aod=https://u:hunter2@example.com/aod.json?sig=hunter2").unwrap();
    settings.services.mapping.sources.0 = vec![source.clone()];
    let printed = settings.to_string();
    assert!(!printed.contains("hunter2"), "{printed}");
    assert!(
        settings.entries().iter().any(|(name, value)| *name == "MEDLEY_MAPPING_SOURCES"
            && value == "aod=https://u:***@example.com/aod.json?sig=***")
    );
    assert_eq!(source.to_string(), "aod=https://u:***@example.com/aod.json?sig=***");
}

#[tokio::test]
async fn unreachable_redis_names_the_url_and_the_fix() {
    let message = start_error(|c| c.platform.redis_url = "redis://127.0.0.1:1".to_owned()).await;
    assert!(message.contains("redis://127.0.0.1:1"), "{message}");
    assert!(message.contains("MEDLEY_REDIS_URL"), "{message}");
}

#[tokio::test]
async fn a_taken_port_names_the_setting() {
    let taken = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = taken.local_addr().expect("addr");
    let message = start_error(move |c| c.platform.grpc_addr = addr).await;
    assert!(message.contains("MEDLEY_GRPC_ADDR"), "{message}");
}

#[tokio::test]
async fn creates_its_database_when_missing() {
    // Named like per-test databases so a crashed run's leftover is swept.
    let name = format!("medley_t_{}_create_{}", std::process::id(), uuid::Uuid::new_v4().simple());
    let (url, _) = with_database(&maintenance_url(), &name).expect("url");
    let server = TestServer::builder().database_url(url).start().await;
    let info = server.client().await.admin().get_server_info(medley_sdk::pb::GetServerInfoRequest {}).await;
    assert!(info.is_ok(), "{info:?}");
    drop(server);
    let mut conn = AsyncPgConnection::establish(&maintenance_url()).await.expect("connect");
    sql_query(format!("DROP DATABASE {} WITH (FORCE)", quote_ident(&name)))
        .execute(&mut conn)
        .await
        .expect("database existed");
}
