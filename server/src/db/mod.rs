//! PostgreSQL: the connection pool, creation of the database when missing, and the embedded
//! migrations.
//!
//! Store functions take `&mut AsyncPgConnection` and return `diesel::QueryResult`; callers get a
//! connection from [`DbPool`] and own transactions.

pub mod schema;

use std::time::Duration;

use anyhow::Context as _;
use diesel::{sql_query, sql_types::Text};
use diesel_async::{
    AsyncConnection, AsyncPgConnection, RunQueryDsl,
    async_connection_wrapper::AsyncConnectionWrapper,
    pooled_connection::{AsyncDieselConnectionManager, ManagerConfig, deadpool},
};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::config::{Config, redact_url};

/// Every migration in `migrations/`, compiled into the binary.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations");

/// The pool of PostgreSQL connections.
pub type DbPool = deadpool::Pool<AsyncPgConnection>;
/// A connection borrowed from the pool.
pub type DbConn = deadpool::Object<AsyncPgConnection>;
/// Failure to get a connection from the pool.
pub type PoolError = deadpool::PoolError;

/// Key of the advisory lock held while migrating, so replicas starting together do not race.
const MIGRATION_LOCK_KEY: i64 = 0x6d65_646c_6579; // "medley"

/// Builds the pool; connections open lazily, on first use.
pub fn build_pool(config: &Config) -> anyhow::Result<DbPool> {
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(
        &config.database_url,
        ManagerConfig::default(),
    );
    let timeout = Some(config.database_timeout());
    deadpool::Pool::builder(manager)
        .max_size(usize::from(config.database_pool_size))
        .wait_timeout(timeout)
        .create_timeout(timeout)
        .recycle_timeout(timeout)
        .runtime(::deadpool::Runtime::Tokio1)
        .build()
        .context("cannot build the database pool")
}

/// Connects to `url`, bounded by `timeout`, with an error that says what was tried and how to
/// fix it.
pub async fn connect(url: &str, timeout: Duration) -> anyhow::Result<AsyncPgConnection> {
    let shown = redact_url(url);
    match tokio::time::timeout(timeout, AsyncPgConnection::establish(url)).await {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(error)) => Err(anyhow::anyhow!(
            "cannot connect to PostgreSQL at {shown}: {error}\n\
             hint: start PostgreSQL or point MEDLEY_DATABASE_URL (or --database-url) at a running server"
        )),
        Err(_) => Err(anyhow::anyhow!(
            "cannot connect to PostgreSQL at {shown}: no answer within {} ms\n\
             hint: check that the host and port are right and reachable",
            timeout.as_millis()
        )),
    }
}

/// Splits `postgres://.../name?params` into the URL with the database replaced by `other` and
/// the original database name.
pub fn with_database(url: &str, other: &str) -> anyhow::Result<(String, String)> {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).context("database url has no scheme")?;
    let slash = base[scheme_end..]
        .find('/')
        .map(|i| i + scheme_end)
        .context("database url names no database (postgres://user@host/DATABASE)")?;
    let name = &base[slash + 1..];
    anyhow::ensure!(!name.is_empty(), "database url names no database (postgres://user@host/DATABASE)");
    let mut out = format!("{}/{other}", &base[..slash]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    Ok((out, name.to_owned()))
}

/// Quotes a PostgreSQL identifier.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[derive(diesel::QueryableByName)]
struct Exists {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    exists: bool,
}

/// Creates the database named in `url` if it does not exist, connecting to the `postgres`
/// maintenance database to do so.
pub async fn create_database_if_missing(url: &str, timeout: Duration) -> anyhow::Result<()> {
    // A successful connection proves the database exists: the common case needs no privileges.
    match tokio::time::timeout(timeout, AsyncPgConnection::establish(url)).await {
        Ok(Ok(_)) => return Ok(()),
        // diesel-async reports the server's "database ... does not exist" (SQLSTATE 3D000) as
        // text only, whatever the variant.
        Ok(Err(error)) if error.to_string().contains("does not exist") => {}
        _ => {
            // Unreachable server or bad credentials: report it with the standard hint.
            connect(url, timeout).await?;
            return Ok(());
        }
    }
    let (maintenance_url, name) = with_database(url, "postgres")?;
    let mut conn = connect(&maintenance_url, timeout).await?;
    let exists = sql_query("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS exists")
        .bind::<Text, _>(&name)
        .get_result::<Exists>(&mut conn)
        .await?
        .exists;
    if !exists {
        let created = sql_query(format!("CREATE DATABASE {}", quote_ident(&name))).execute(&mut conn).await;
        match created {
            Ok(_) => tracing::info!(database = %name, "created database"),
            // Another instance created it between our check and our CREATE: fine.
            Err(diesel::result::Error::DatabaseError(_, info)) if info.message().contains("already exists") => {}
            Err(error) => {
                return Err(error)
                    .with_context(|| format!("cannot create database {name}: create it by hand or grant CREATEDB"));
            }
        }
    }
    Ok(())
}

/// Runs every pending migration on `url`, holding an advisory lock so concurrent instances run
/// them once. Returns the versions applied.
pub async fn run_migrations(url: &str, timeout: Duration) -> anyhow::Result<Vec<String>> {
    let mut conn = connect(url, timeout).await?;
    sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})")).execute(&mut conn).await?;
    // Diesel's migration harness is synchronous; run it on a blocking thread over the same
    // connection so the lock taken above covers it.
    let (conn, result) = tokio::task::spawn_blocking(move || {
        let mut wrapper: AsyncConnectionWrapper<AsyncPgConnection> = AsyncConnectionWrapper::from(conn);
        let result = wrapper
            .run_pending_migrations(MIGRATIONS)
            .map(|versions| versions.iter().map(ToString::to_string).collect::<Vec<_>>())
            .map_err(|error| anyhow::anyhow!("migration failed: {error}"));
        (wrapper.into_inner(), result)
    })
    .await?;
    let mut conn = conn;
    // The lock is also released when the connection closes; unlocking explicitly is tidier.
    sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})")).execute(&mut conn).await?;
    result
}

/// Reverts every applied migration (for tests and for `medley migrate --revert-all`).
pub async fn revert_all_migrations(url: &str, timeout: Duration) -> anyhow::Result<Vec<String>> {
    let conn = connect(url, timeout).await?;
    tokio::task::spawn_blocking(move || {
        let mut wrapper: AsyncConnectionWrapper<AsyncPgConnection> = AsyncConnectionWrapper::from(conn);
        wrapper
            .revert_all_migrations(MIGRATIONS)
            .map(|versions| versions.iter().map(ToString::to_string).collect())
            .map_err(|error| anyhow::anyhow!("revert failed: {error}"))
    })
    .await?
}

/// Prepares the database for a server or a command: creates it if missing and migrates it.
pub async fn prepare(config: &Config) -> anyhow::Result<()> {
    create_database_if_missing(&config.database_url, config.database_timeout()).await?;
    let applied = run_migrations(&config.database_url, config.database_timeout()).await?;
    if !applied.is_empty() {
        tracing::info!(migrations = ?applied, "applied migrations");
    }
    Ok(())
}

/// Checks, for a command that must not create anything, that the database exists and has every
/// migration of this build; the error says how to get there.
pub async fn check_exists(config: &Config) -> anyhow::Result<()> {
    let shown = redact_url(&config.database_url);
    let conn = match tokio::time::timeout(config.database_timeout(), AsyncPgConnection::establish(&config.database_url))
        .await
    {
        Ok(Ok(conn)) => conn,
        Ok(Err(error)) if error.to_string().contains("does not exist") => {
            return Err(NotReady(format!(
                "the database of {shown} does not exist\n\
                 hint: `medley migrate` (or `medley serve`) creates it; check MEDLEY_DATABASE_URL"
            ))
            .into());
        }
        _ => {
            connect(&config.database_url, config.database_timeout()).await?;
            anyhow::bail!("cannot connect to PostgreSQL at {shown}")
        }
    };
    let pending = tokio::task::spawn_blocking(move || {
        let mut wrapper: AsyncConnectionWrapper<AsyncPgConnection> = AsyncConnectionWrapper::from(conn);
        wrapper.has_pending_migration(MIGRATIONS).map_err(|error| anyhow::anyhow!("cannot read migrations: {error}"))
    })
    .await??;
    if pending {
        return Err(NotReady(format!(
            "the database of {shown} is not migrated to this version\nhint: run `medley migrate`"
        ))
        .into());
    }
    Ok(())
}

/// The server answers, but the database is missing or not migrated yet (what `medley migrate`
/// fixes).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct NotReady(String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swaps_the_database_and_keeps_params() {
        let (url, name) = with_database("postgres://u:p@h:5432/medley?sslmode=disable", "postgres").unwrap();
        assert_eq!(url, "postgres://u:p@h:5432/postgres?sslmode=disable");
        assert_eq!(name, "medley");
        assert!(with_database("postgres://h", "postgres").is_err());
        assert!(with_database("postgres://h/", "postgres").is_err());
    }

    #[test]
    fn quotes_identifiers() {
        assert_eq!(quote_ident(r#"a"b"#), r#""a""b""#);
    }
}
