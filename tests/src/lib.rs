//! Test harness for Medley's end-to-end tests: a real server in-process on free ports, against a
//! fresh PostgreSQL database per test (cloned from a migrated template) and a Redis key prefix
//! per test, both removed when the test ends. Tests talk to the server only through the SDK (or
//! raw HTTP for the HTTP port).
//!
//! Environment: `MEDLEY_TEST_DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`,
//! a maintenance database of the cluster to use) and `MEDLEY_TEST_REDIS_URL` (default
//! `redis://127.0.0.1:6379`).

pub mod db;
pub mod fake_catalog;
pub mod fake_source;
pub mod fake_xtream;
pub mod grpc_load;
pub mod handlers;
pub mod http;
pub mod logs;
pub mod proxy;
pub mod raw_grpc;
pub mod redis;
pub mod server;

pub use db::TestDb;
pub use fake_source::{FakeSource, Reply};
pub use proxy::ChaosProxy;
pub use redis::TestRedis;
pub use server::{TestServer, TestServerBuilder, TestWorker};

/// Returns the path of a file under `tests/fixtures/`.
pub fn fixture(path: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(path)
}
