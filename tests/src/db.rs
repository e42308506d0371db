//! One PostgreSQL database per test, cloned from a template migrated once per set of
//! migrations.

use std::sync::atomic::{AtomicU32, Ordering};

use diesel::{QueryableByName, sql_query, sql_types::Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use medley_server::db::{quote_ident, run_migrations, with_database};

const DEFAULT_MAINTENANCE_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
/// Per-test databases are named `medley_t_{pid}_{n}` so leftovers of dead processes can be found.
const TEST_DB_PREFIX: &str = "medley_t_";
const TEMPLATE_PREFIX: &str = "medley_tpl_";
/// Serialises template creation and sweeping across the test processes of a run.
const TEMPLATE_LOCK_KEY: i64 = 0x6d65_646c_7470;

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// Returns the URL of the maintenance database tests connect to.
pub fn maintenance_url() -> String {
    std::env::var("MEDLEY_TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_MAINTENANCE_URL.to_owned())
}

/// Returns the `host:port` of the PostgreSQL server tests use (for proxies in front of it).
pub fn server_addr() -> std::net::SocketAddr {
    let url = maintenance_url();
    let rest = url.split_once("://").map_or(url.as_str(), |(_, rest)| rest);
    let authority = rest.split('/').next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
    let with_port = if host_port.contains(':') { host_port.to_owned() } else { format!("{host_port}:5432") };
    let with_port = with_port.replace("localhost", "127.0.0.1");
    with_port.parse().unwrap_or_else(|e| panic!("MEDLEY_TEST_DATABASE_URL host {with_port:?} is not an ip:port: {e}"))
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

/// A database of its own for one test; dropped (forcibly) when this value is dropped.
pub struct TestDb {
    name: String,
    url: String,
}

impl TestDb {
    /// Creates a fresh, migrated database.
    pub async fn new() -> Self {
        let maintenance = maintenance_url();
        let template = format!("{TEMPLATE_PREFIX}{}", env!("MEDLEY_MIGRATIONS_HASH"));
        let mut conn = AsyncPgConnection::establish(&maintenance)
            .await
            .unwrap_or_else(|e| panic!("tests need PostgreSQL at {maintenance}: {e}"));
        sql_query(format!("SELECT pg_advisory_lock({TEMPLATE_LOCK_KEY})")).execute(&mut conn).await.expect("lock");
        ensure_template(&mut conn, &maintenance, &template).await;
        sweep_dead_databases(&mut conn).await;
        sql_query(format!("SELECT pg_advisory_unlock({TEMPLATE_LOCK_KEY})")).execute(&mut conn).await.expect("unlock");

        let name = format!("{TEST_DB_PREFIX}{}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed));
        sql_query(format!("CREATE DATABASE {} TEMPLATE {}", quote_ident(&name), quote_ident(&template)))
            .execute(&mut conn)
            .await
            .expect("create test database");
        let (url, _) = with_database(&maintenance, &name).expect("maintenance url names a database");
        Self { name, url }
    }

    /// Returns the database's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Returns the database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Opens a connection to the database, for tests that inspect or change rows directly.
    pub async fn connect(&self) -> AsyncPgConnection {
        AsyncPgConnection::establish(&self.url).await.expect("connect to test database")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop runs inside the test's runtime, which cannot block on async work: use a thread
        // with a runtime of its own.
        let result = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            runtime.block_on(async {
                let mut conn = AsyncPgConnection::establish(&maintenance_url()).await.ok()?;
                sql_query(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", quote_ident(&name)))
                    .execute(&mut conn)
                    .await
                    .ok()
            })
        })
        .join();
        if !matches!(result, Ok(Some(_))) {
            eprintln!("warning: could not drop test database {}", self.name);
        }
    }
}

async fn ensure_template(conn: &mut AsyncPgConnection, maintenance: &str, template: &str) {
    let ready: Vec<Name> = sql_query("SELECT datname AS name FROM pg_database WHERE datname = $1 AND datistemplate")
        .bind::<Text, _>(template)
        .load(conn)
        .await
        .expect("query templates");
    if !ready.is_empty() {
        return;
    }
    // Stale templates (older migrations) and a half-built one from a crashed run go first.
    let stale: Vec<Name> = sql_query("SELECT datname AS name FROM pg_database WHERE datname LIKE $1")
        .bind::<Text, _>(format!("{TEMPLATE_PREFIX}%"))
        .load(conn)
        .await
        .expect("query stale templates");
    for Name { name } in stale {
        sql_query(format!("ALTER DATABASE {} IS_TEMPLATE false", quote_ident(&name))).execute(conn).await.ok();
        sql_query(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", quote_ident(&name)))
            .execute(conn)
            .await
            .expect("drop stale template");
    }
    sql_query(format!("CREATE DATABASE {}", quote_ident(template))).execute(conn).await.expect("create template");
    let (url, _) = with_database(maintenance, template).expect("maintenance url names a database");
    run_migrations(&url, std::time::Duration::from_secs(10)).await.expect("migrate template");
    sql_query(format!("ALTER DATABASE {} IS_TEMPLATE true", quote_ident(template)))
        .execute(conn)
        .await
        .expect("mark template");
}

/// Drops per-test databases whose process is gone (a test that crashed or was killed).
async fn sweep_dead_databases(conn: &mut AsyncPgConnection) {
    let names: Vec<Name> = sql_query("SELECT datname AS name FROM pg_database WHERE datname LIKE $1")
        .bind::<Text, _>(format!("{TEST_DB_PREFIX}%"))
        .load(conn)
        .await
        .unwrap_or_default();
    for Name { name } in names {
        let pid = name.trim_start_matches(TEST_DB_PREFIX).split('_').next().unwrap_or_default();
        if !pid.is_empty() && !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            sql_query(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", quote_ident(&name))).execute(conn).await.ok();
        }
    }
}
