//! A real Medley server in-process on free ports, with its own database and Redis prefix.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use diesel_async::{AsyncConnection as _, AsyncPgConnection};
use medley_sdk::Client;
use medley_server::{
    Platform, RunningServer, Settings,
    auth::{
        Scope,
        keys::{KeySpec, create_key},
    },
    error::FieldViolations,
    jobs::Registry,
    platform::DatabaseSetup,
};
use tokio_util::sync::CancellationToken;

use crate::{TestDb, TestRedis, redis::redis_url};

/// A change to the server's configuration.
type Configure = Box<dyn FnOnce(&mut Settings)>;

/// Configures a [`TestServer`].
#[derive(Default)]
pub struct TestServerBuilder {
    database_proxy: Option<SocketAddr>,
    database_url: Option<String>,
    redis_url: Option<String>,
    configure: Option<Configure>,
    registry: Option<Registry>,
    join: Option<(Arc<TestDb>, Arc<TestRedis>)>,
}

impl TestServerBuilder {
    /// Connects the server to this URL instead of the test database's (e.g. through a proxy).
    pub fn database_url(mut self, url: impl Into<String>) -> Self {
        self.database_url = Some(url.into());
        self
    }

    /// Connects the server to its test database through this address (a [`crate::ChaosProxy`]
    /// in front of PostgreSQL).
    pub fn database_through(mut self, proxy: SocketAddr) -> Self {
        self.database_proxy = Some(proxy);
        self
    }

    /// Connects the server to this Redis URL instead of the default.
    pub fn redis_url(mut self, url: impl Into<String>) -> Self {
        self.redis_url = Some(url.into());
        self
    }

    /// Runs these job handlers in the server's worker (default: Medley's own).
    pub fn registry(mut self, registry: Registry) -> Self {
        self.registry = Some(registry);
        self
    }

    /// Shares `other`'s database and Redis prefix: a second instance of the same deployment.
    pub fn join(mut self, other: &TestServer) -> Self {
        self.join = Some((other.db.clone(), other.redis.clone()));
        self
    }

    /// Changes any other setting.
    pub fn configure(mut self, f: impl FnOnce(&mut Settings) + 'static) -> Self {
        self.configure = Some(Box::new(f));
        self
    }

    /// Returns the server's configuration for a given database and prefix.
    fn config(&mut self, db: &TestDb, redis: &TestRedis) -> Settings {
        let mut settings = Settings::from_env().expect("MEDLEY_* variables of the test environment are valid");
        let config = &mut settings.platform;
        config.grpc_addr = SocketAddr::from(([127, 0, 0, 1], 0));
        config.http_addr = SocketAddr::from(([127, 0, 0, 1], 0));
        config.database_url = match (self.database_url.take(), self.database_proxy) {
            (Some(url), _) => url,
            (None, Some(proxy)) => replace_authority(db.url(), proxy),
            (None, None) => db.url().to_owned(),
        };
        config.database_pool_size = 4;
        config.database_timeout_ms = 2000;
        config.redis_url = self.redis_url.take().unwrap_or_else(redis_url);
        config.redis_prefix = redis.prefix().to_owned();
        // Quick wake-ups and short grace keep job tests fast; leases stay realistic unless a
        // test shortens them.
        config.job_poll_ms = 100;
        config.job_shutdown_grace_ms = 500;
        if let Some(configure) = self.configure.take() {
            configure(&mut settings);
        }
        settings
    }

    /// Creates the database and prefix (unless joining) and starts the server.
    pub async fn start(mut self) -> TestServer {
        let (db, redis) = match self.join.take() {
            Some(shared) => shared,
            None => (Arc::new(TestDb::new().await), Arc::new(TestRedis::new())),
        };
        let config = self.config(&db, &redis);
        let registry = self.registry.take();
        let server = medley_server::app::start_with(config.clone(), move |composed| registry.unwrap_or(composed))
            .await
            .expect("test server starts");
        let url = format!("http://{}", server.grpc_addr);
        let mut test = TestServer { server: Some(server), url, admin_key: String::new(), config, redis, db };
        test.admin_key = test.create_key(&[Scope::Admin]).await;
        test
    }

    /// Returns the configuration `start` would use, with a fresh database and prefix, for tests
    /// that start the server themselves (start-up failures).
    pub async fn prepare(mut self) -> (Settings, Arc<TestDb>, Arc<TestRedis>) {
        let db = Arc::new(TestDb::new().await);
        let redis = Arc::new(TestRedis::new());
        let config = self.config(&db, &redis);
        (config, db, redis)
    }
}

/// A running server with its database and Redis prefix; all three go away on drop.
pub struct TestServer {
    server: Option<RunningServer>,
    /// `http://127.0.0.1:{port}` of the gRPC listener.
    pub url: String,
    /// A key with scope `admin`.
    pub admin_key: String,
    /// The settings the server runs with.
    pub config: Settings,
    // Field order matters: the server stops before its database is dropped.
    /// The Redis prefix (shared with joined instances).
    pub redis: Arc<TestRedis>,
    /// The database (shared with joined instances).
    pub db: Arc<TestDb>,
}

impl TestServer {
    /// Starts a server with default test settings.
    pub async fn start() -> Self {
        Self::builder().start().await
    }

    /// Starts configuring a server.
    pub fn builder() -> TestServerBuilder {
        TestServerBuilder::default()
    }

    /// Returns the running server.
    pub fn running(&self) -> &RunningServer {
        self.server.as_ref().expect("server is running")
    }

    /// Returns the HTTP listener's address.
    pub fn http_addr(&self) -> SocketAddr {
        self.running().http_addr
    }

    /// Creates a key with `scopes` directly in the server's database and returns its secret.
    pub async fn create_key(&self, scopes: &[Scope]) -> String {
        let spec =
            KeySpec::parse("test", scopes.to_vec(), None, chrono_now(), FieldViolations::new()).expect("valid key");
        let mut conn =
            AsyncPgConnection::establish(&self.config.platform.database_url).await.expect("connect to server database");
        secrecy::ExposeSecret::expose_secret(&create_key(&mut conn, &spec).await.expect("create key").secret).to_owned()
    }

    /// Returns a client sending the admin key.
    pub async fn client(&self) -> Client {
        self.client_with_key(&self.admin_key).await
    }

    /// Returns a client sending `key`.
    pub async fn client_with_key(&self, key: &str) -> Client {
        Client::builder(&self.url).api_key(key).connect().await.expect("connect to test server")
    }

    /// Returns a client sending no key.
    pub async fn anonymous_client(&self) -> Client {
        Client::connect(&self.url).await.expect("connect to test server")
    }

    /// Returns the server's state (job queue, hub, pool) for tests that drive internals.
    pub fn state(&self) -> &Platform {
        &self.running().platform
    }

    /// Starts a worker of its own (its own pool and Redis connection, as another process would
    /// have) on this server's database, running `registry` with this server's settings changed
    /// by `configure`.
    pub async fn spawn_worker(&self, registry: Registry, configure: impl FnOnce(&mut Settings)) -> TestWorker {
        let mut settings = self.config.clone();
        if settings.platform.workers == 0 {
            settings.platform.workers = 8;
        }
        configure(&mut settings);
        let state = Platform::connect(settings.platform, DatabaseSetup::Existing).await.expect("worker connects");
        let stop = CancellationToken::new();
        let task = tokio::spawn(state.worker(registry).run(stop.clone()));
        TestWorker { state, stop, task: Some(task) }
    }

    /// Stops the server and waits until it has stopped.
    pub async fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown();
            tokio::time::timeout(Duration::from_secs(10), server.wait())
                .await
                .expect("server stops within 10 s")
                .expect("server stops cleanly");
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(server) = &self.server {
            server.shutdown();
        }
    }
}

/// Replaces `host:port` of `scheme://user@host:port/db` with `addr`.
fn replace_authority(url: &str, addr: SocketAddr) -> String {
    let (scheme, rest) = url.split_once("://").expect("url has a scheme");
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let userinfo = authority.rsplit_once('@').map(|(user, _)| format!("{user}@")).unwrap_or_default();
    format!("{scheme}://{userinfo}{addr}/{path}")
}

/// A worker running apart from any server, like a `medley worker` process.
pub struct TestWorker {
    /// Its platform.
    pub state: Platform,
    stop: CancellationToken,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl TestWorker {
    /// Kills the worker at once, like SIGKILL: running jobs are abandoned with their leases.
    pub fn kill(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
        self.state.shutdown.cancel();
    }

    /// Stops the worker gracefully and waits for it.
    pub async fn stop(&mut self) {
        self.stop.cancel();
        if let Some(task) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(10), task).await.expect("worker stops").expect("worker task");
        }
        self.state.shutdown.cancel();
    }
}

impl Drop for TestWorker {
    fn drop(&mut self) {
        self.kill();
    }
}

fn chrono_now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}
