//! Secrets at rest through the vault, on the real database: round trip, rotation (resumable),
//! a server without a key, and no secret in any log line.

use diesel_async::RunQueryDsl as _;
use medley_server::{
    error::ApiError,
    platform::{DatabaseSetup, Platform},
    secrets::{self, SecretError, Vault},
};
use medley_tests::TestServer;
use secrecy::{ExposeSecret as _, SecretString};
use tonic_types::StatusExt as _;

const PLAINTEXT: &str = "hunter2-panel-password";

async fn server_with_key(key: &str) -> TestServer {
    let key = SecretString::from(key.to_owned());
    TestServer::builder().configure(move |c| c.platform.secret_key = key).start().await
}

/// A second process on the same database with other keys (e.g. after a rotation started).
async fn process_with_keys(server: &TestServer, keys: &str) -> Platform {
    let mut config = server.config.platform.clone();
    config.secret_key = SecretString::from(keys.to_owned());
    Platform::connect(config, DatabaseSetup::Existing).await.expect("second process")
}

#[tokio::test]
async fn secrets_round_trip_sealed_and_never_stored_in_clear() {
    let server = server_with_key(&secrets::new_key().unwrap()).await;
    let vault = &server.state().vault;
    let mut conn = server.state().db.get().await.expect("conn");
    let id = vault.store(&mut conn, "test.password", &SecretString::from(PLAINTEXT)).await.expect("store");
    assert_eq!(vault.read(&mut conn, id).await.expect("read").expose_secret(), PLAINTEXT);

    // The row holds no trace of the value.
    #[derive(diesel::QueryableByName)]
    struct Dump {
        #[diesel(sql_type = diesel::sql_types::Text)]
        dump: String,
    }
    let rows: Vec<Dump> =
        diesel::sql_query("SELECT encode(sealed, 'escape') || purpose || key_id AS dump FROM secrets")
            .load(&mut server.db.connect().await)
            .await
            .expect("dump");
    assert!(rows.iter().all(|r| !r.dump.contains("hunter2")), "the secret is stored in clear");

    vault.replace(&mut conn, id, &SecretString::from("new-password")).await.expect("replace");
    assert_eq!(vault.read(&mut conn, id).await.expect("read").expose_secret(), "new-password");
    Vault::delete(&mut conn, id).await.expect("delete");
    Vault::delete(&mut conn, id).await.expect("deleting twice is harmless");
    assert!(matches!(vault.read(&mut conn, id).await, Err(SecretError::NotFound(_))));
}

#[tokio::test]
async fn rotation_reseals_everything_in_resumable_batches() {
    let (old, new) = (secrets::new_key().unwrap(), secrets::new_key().unwrap());
    let server = server_with_key(&old).await;
    let mut conn = server.state().db.get().await.expect("conn");
    let mut ids = Vec::new();
    for i in 0..5 {
        let value = SecretString::from(format!("{PLAINTEXT}-{i}"));
        ids.push(server.state().vault.store(&mut conn, "test.password", &value).await.expect("store"));
    }
    let old_id = server.state().vault.current_key_id().expect("a key").to_owned();

    // The new key first, the old one after it: everything still opens.
    let rotating = process_with_keys(&server, &format!("{new},{old}")).await;
    let new_id = rotating.vault.current_key_id().expect("a key").to_owned();
    assert_ne!(new_id, old_id);
    // Two batches of two, then a stop: the work done stays done.
    assert_eq!(rotating.vault.rotate_batch(&mut conn, 2).await.expect("batch"), 2);
    assert_eq!(rotating.vault.rotate_batch(&mut conn, 2).await.expect("batch"), 2);
    let counts = Vault::key_counts(&mut conn).await.expect("counts");
    assert_eq!(counts.iter().find(|(k, _)| *k == old_id).map(|(_, n)| *n), Some(1));
    assert_eq!(counts.iter().find(|(k, _)| *k == new_id).map(|(_, n)| *n), Some(4));
    // Run again: it finishes what is left, then finds nothing.
    assert_eq!(rotating.vault.rotate_batch(&mut conn, 100).await.expect("batch"), 1);
    assert_eq!(rotating.vault.rotate_batch(&mut conn, 100).await.expect("batch"), 0);

    // The old key can go: the new one alone opens every secret.
    let rotated = process_with_keys(&server, &new).await;
    for (i, id) in ids.iter().enumerate() {
        let value = rotated.vault.read(&mut conn, *id).await.expect("opens with the new key");
        assert_eq!(value.expose_secret(), format!("{PLAINTEXT}-{i}"));
    }
    // The old key alone no longer opens them, and says which key is missing.
    let stale = process_with_keys(&server, &old).await;
    let error = stale.vault.read(&mut conn, ids[0]).await.expect_err("sealed with the new key");
    assert!(error.to_string().contains(&new_id), "{error}");
    for platform in [rotating, rotated, stale] {
        platform.shutdown.cancel();
    }
}

#[tokio::test]
async fn without_a_key_the_server_runs_and_storing_is_failed_precondition() {
    let server = TestServer::start().await;
    assert!(!server.state().vault.is_configured());
    let mut conn = server.state().db.get().await.expect("conn");
    let error = server.state().vault.store(&mut conn, "test.password", &SecretString::from(PLAINTEXT)).await;
    let error = error.expect_err("no key");
    assert!(matches!(error, SecretError::NotConfigured));
    let status = tonic::Status::from(ApiError::from(error));
    assert_eq!(status.code(), tonic::Code::FailedPrecondition);
    assert!(status.message().contains("MEDLEY_SECRET_KEY"), "{status:?}");
    assert_eq!(status.get_error_details().error_info().map(|i| i.reason.as_str()), Some("SECRET_KEY_MISSING"));
    // A malformed key stops start-up with the variable's name, not with the key.
    let mut config = server.config.platform.clone();
    config.secret_key = SecretString::from("not-a-key".to_owned());
    let failed = Platform::connect(config, DatabaseSetup::Existing).await.err().expect("refused");
    let message = format!("{failed:#}");
    assert!(message.contains("MEDLEY_SECRET_KEY") && !message.contains("not-a-key"), "{message}");
}

#[tokio::test]
async fn no_log_line_error_or_debug_output_holds_a_secret_or_a_key() {
    let (old, new) = (secrets::new_key().unwrap(), secrets::new_key().unwrap());
    let (captured, _guard) = medley_tests::logs::capture();

    let server = server_with_key(&old).await;
    let mut conn = server.state().db.get().await.expect("conn");
    let vault = &server.state().vault;
    let id = vault.store(&mut conn, "test.password", &SecretString::from(PLAINTEXT)).await.expect("store");
    let value = vault.read(&mut conn, id).await.expect("read");
    let rotating = process_with_keys(&server, &format!("{new},{old}")).await;
    rotating.vault.rotate_batch(&mut conn, 10).await.expect("rotate");
    let unknown = server.state().vault.read(&mut conn, id).await.expect_err("sealed with the new key");
    let described = format!("{unknown} {unknown:?}");
    let printed = format!(
        "{value:?} {described} {:?} {:?} {:?}",
        server.config.platform,
        rotating.config,
        ApiError::from(unknown)
    );
    rotating.shutdown.cancel();
    drop(server);

    let logs = captured.text();
    assert!(!logs.is_empty(), "the capture works");
    for (what, text) in [("logs", &logs), ("errors and Debug output", &printed)] {
        assert!(!text.contains("hunter2"), "a secret in the {what}: {text}");
        assert!(!text.contains(&old) && !text.contains(&new), "a key in the {what}");
    }
}
