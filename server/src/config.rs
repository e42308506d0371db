//! Server configuration, read from `MEDLEY_*` environment variables or flags of the same names
//! (`MEDLEY_GRPC_ADDR` ↔ `--grpc-addr`). A `.env` file in the working directory is read first if
//! present. Every setting has a default that works on a machine with PostgreSQL on
//! 127.0.0.1:5432 (trust auth) and Redis on 127.0.0.1:6379.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `MEDLEY_GRPC_ADDR` | `127.0.0.1:50051` | gRPC (and gRPC-Web) listen address |
//! | `MEDLEY_HTTP_ADDR` | `127.0.0.1:8080` | HTTP listen address: `/metrics`, `/livez`, REST routes |
//! | `MEDLEY_DATABASE_URL` | `postgres://postgres@127.0.0.1/medley` | PostgreSQL; the database is created if missing |
//! | `MEDLEY_DATABASE_POOL_SIZE` | `16` | maximum pooled connections per process |
//! | `MEDLEY_DATABASE_TIMEOUT_MS` | `5000` | wait for a pooled connection, and to connect |
//! | `MEDLEY_REDIS_URL` | `redis://127.0.0.1:6379` | Redis |
//! | `MEDLEY_REDIS_PREFIX` | `medley` | prefix of every Redis key and channel |
//! | `MEDLEY_REQUEST_TIMEOUT_MS` | `30000` | deadline of a call when the client sets none (not of streams) |
//! | `MEDLEY_CONCURRENCY_LIMIT` | `1024` | calls handled at once; more wait |
//! | `MEDLEY_AUTH_CACHE_TTL_MS` | `5000` | how long a verified API key is trusted without a database read |
//! | `MEDLEY_WORKER_HTTP_ADDR` | `127.0.0.1:8081` | HTTP address of `medley worker` (`/metrics`, `/livez`) |
//! | `MEDLEY_WORKERS` | `8` | jobs this process runs at once; `0` runs no worker (`medley worker` then runs them) |
//! | `MEDLEY_JOB_LEASE_MS` | `30000` | lease of a running job; a crashed worker's job is taken back after it |
//! | `MEDLEY_JOB_POLL_MS` | `1000` | how often idle workers look for jobs when no notification arrives |
//! | `MEDLEY_JOB_SHUTDOWN_GRACE_MS` | `10000` | time running jobs get to finish at shutdown before they are put back |
//! | `MEDLEY_JOB_RETENTION_DAYS` | `14` | days finished jobs are kept before the daily cleanup deletes them |
//! | `MEDLEY_LOG_FORMAT` | `text` | `text` or `json` |
//! | `MEDLEY_LOG` | `info` | log filter, `tracing` syntax (e.g. `info,medley_server=debug`) |
//!
//! Each service's own settings live in its folder (`services/<name>/config.rs`).

use std::{net::SocketAddr, time::Duration};

use clap::{Args, ValueEnum};
use secrecy::{ExposeSecret as _, SecretString};

/// Default gRPC listen address.
pub const DEFAULT_GRPC_ADDR: &str = "127.0.0.1:50051";
/// Default HTTP listen address.
pub const DEFAULT_HTTP_ADDR: &str = "127.0.0.1:8080";
/// Default PostgreSQL URL.
pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1/medley";
/// Default Redis URL.
pub const DEFAULT_REDIS_URL: &str = "redis://127.0.0.1:6379";
/// Default log filter.
pub const DEFAULT_LOG: &str = "info";
/// Default Redis key prefix.
pub const DEFAULT_REDIS_PREFIX: &str = "medley";

/// The effective configuration of one `medley` process. `Debug` prints the redacted entries
/// of [`ConfigEntries`], so a password in a URL never reaches a log.
#[derive(Clone, Args)]
pub struct Config {
    /// gRPC (and gRPC-Web) listen address; port 0 picks a free port.
    #[arg(long, env = "MEDLEY_GRPC_ADDR", default_value = DEFAULT_GRPC_ADDR)]
    pub grpc_addr: SocketAddr,

    /// HTTP listen address for /metrics, /livez and REST routes; port 0 picks a free port.
    #[arg(long, env = "MEDLEY_HTTP_ADDR", default_value = DEFAULT_HTTP_ADDR)]
    pub http_addr: SocketAddr,

    /// HTTP listen address of `medley worker` for /metrics and /livez (apart from the server's,
    /// so both can run on one host); port 0 picks a free port.
    #[arg(long, env = "MEDLEY_WORKER_HTTP_ADDR", default_value = "127.0.0.1:8081")]
    pub worker_http_addr: SocketAddr,

    /// PostgreSQL URL (postgres://user[:password]@host[:port]/database); the database is created
    /// if it does not exist.
    #[arg(long, env = "MEDLEY_DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,

    /// Maximum number of pooled PostgreSQL connections in this process.
    #[arg(long, env = "MEDLEY_DATABASE_POOL_SIZE", default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..))]
    pub database_pool_size: u16,

    /// Milliseconds to wait for a pooled connection (and to open one).
    #[arg(long, env = "MEDLEY_DATABASE_TIMEOUT_MS", default_value_t = 5000, value_parser = clap::value_parser!(u64).range(1..))]
    pub database_timeout_ms: u64,

    /// Redis URL.
    #[arg(long, env = "MEDLEY_REDIS_URL", default_value = DEFAULT_REDIS_URL)]
    pub redis_url: String,

    /// Prefix of every Redis key and channel, so instances with different prefixes share one
    /// Redis without seeing each other's data.
    #[arg(long, env = "MEDLEY_REDIS_PREFIX", default_value = DEFAULT_REDIS_PREFIX, value_parser = parse_redis_prefix)]
    pub redis_prefix: String,

    /// Deadline in milliseconds of a call whose client sets none (streams are not cut); also
    /// how long calls in flight may finish after shutdown starts.
    #[arg(long, env = "MEDLEY_REQUEST_TIMEOUT_MS", default_value_t = 30_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub request_timeout_ms: u64,

    /// Calls handled at once by this process; further calls wait for a slot.
    #[arg(long, env = "MEDLEY_CONCURRENCY_LIMIT", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..))]
    pub concurrency_limit: u32,

    /// Milliseconds a verified API key is trusted without reading the database again; bounds
    /// how long a key revoked on another instance keeps working here.
    #[arg(long, env = "MEDLEY_AUTH_CACHE_TTL_MS", default_value_t = 5000)]
    pub auth_cache_ttl_ms: u64,

    /// Jobs this process runs at once; 0 runs no worker in `medley serve`.
    #[arg(long, env = "MEDLEY_WORKERS", default_value_t = 8)]
    pub workers: u16,

    /// Lease of a running job in milliseconds; a job whose worker stops renewing it is taken
    /// back after this long.
    #[arg(long, env = "MEDLEY_JOB_LEASE_MS", default_value_t = 30_000, value_parser = clap::value_parser!(u64).range(300..))]
    pub job_lease_ms: u64,

    /// How often idle workers look for jobs when no notification arrives, in milliseconds.
    #[arg(long, env = "MEDLEY_JOB_POLL_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(10..))]
    pub job_poll_ms: u64,

    /// Milliseconds running jobs may finish after shutdown starts before they are put back in
    /// the queue.
    #[arg(long, env = "MEDLEY_JOB_SHUTDOWN_GRACE_MS", default_value_t = 10_000)]
    pub job_shutdown_grace_ms: u64,

    /// Days finished jobs (succeeded, dead, cancelled) are kept before the daily cleanup deletes
    /// them.
    #[arg(long, env = "MEDLEY_JOB_RETENTION_DAYS", default_value_t = 14, value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub job_retention_days: u32,

    /// Log output format.
    #[arg(long, env = "MEDLEY_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Log filter in `tracing` syntax.
    #[arg(long, env = "MEDLEY_LOG", default_value = DEFAULT_LOG)]
    pub log: String,

    /// Calls without an API key (to methods that allow them, such as public mapping lookups)
    /// each client address may make per second, across every instance; 0 = no such limit.
    #[arg(long, env = "MEDLEY_ANONYMOUS_RPS", default_value_t = 20)]
    pub anonymous_rps: u32,

    /// Calls without an API key each client address may make per minute; 0 = no such limit.
    #[arg(long, env = "MEDLEY_ANONYMOUS_RPM", default_value_t = 600)]
    pub anonymous_rpm: u32,

    /// What URLs given by users may reach despite the guard (which refuses loopback, private,
    /// link-local, CGNAT, multicast and unspecified addresses): comma-separated CIDRs,
    /// addresses and host names, e.g. `127.0.0.0/8` for local setups and tests.
    #[arg(long, env = "MEDLEY_OUTBOUND_ALLOW", default_value = "")]
    pub outbound_allow: String,

    /// Directory of Medley's local files (objects of the local store, media).
    #[arg(long, env = "MEDLEY_DATA_DIR", default_value = "./data")]
    pub data_dir: String,

    /// Object storage: empty for a local directory ($MEDLEY_DATA_DIR/objects), or
    /// `s3://bucket/prefix` for S3-compatible storage (with the MEDLEY_S3_* settings).
    #[arg(long, env = "MEDLEY_STORAGE_URL", default_value = "")]
    pub storage_url: String,

    /// Endpoint of the S3-compatible server (e.g. `http://127.0.0.1:5055`); empty for AWS.
    #[arg(long, env = "MEDLEY_S3_ENDPOINT", default_value = "")]
    pub s3_endpoint: String,

    /// Region of the bucket.
    #[arg(long, env = "MEDLEY_S3_REGION", default_value = "us-east-1")]
    pub s3_region: String,

    /// Address buckets by path (`endpoint/bucket/key`) instead of by host name (most
    /// self-hosted servers need this).
    #[arg(long, env = "MEDLEY_S3_PATH_STYLE", default_value_t = true, action = clap::ArgAction::Set)]
    pub s3_path_style: bool,

    /// Access key id; empty to use the environment's AWS credentials.
    #[arg(long, env = "MEDLEY_S3_ACCESS_KEY_ID", default_value = "")]
    pub s3_access_key_id: String,

    /// Secret access key (secret).
    #[arg(long, env = "MEDLEY_S3_SECRET_ACCESS_KEY", default_value = "", hide_env_values = true, hide_default_value = true, value_parser = parse_secret)]
    pub s3_secret_access_key: SecretString,

    /// Keys sealing the secrets users give Medley (provider passwords, tokens), each the base64
    /// of 32 random bytes (`medley secrets new-key`), comma-separated: the first seals, every
    /// one opens. To rotate, put a new key first and the old one after it, then run `medley
    /// secrets rotate`. Without a key the server runs, but refuses to store a secret.
    #[arg(long, env = "MEDLEY_SECRET_KEY", default_value = "", hide_env_values = true, hide_default_value = true, value_parser = parse_secret)]
    pub secret_key: SecretString,

    /// A file holding the value of MEDLEY_SECRET_KEY (e.g. a mounted secret), read when
    /// MEDLEY_SECRET_KEY is empty.
    #[arg(long, env = "MEDLEY_SECRET_KEY_FILE", default_value = "")]
    pub secret_key_file: String,
}

/// A secret as given on the command line or in the environment; `Debug` shows `[REDACTED]`.
pub fn parse_secret(value: &str) -> Result<SecretString, std::convert::Infallible> {
    Ok(SecretString::from(value.to_owned()))
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

impl Config {
    /// Returns the configuration from `MEDLEY_*` environment variables and defaults, as
    /// `medley serve` with no flags would use (tests start from it and override what they
    /// need). Fails when a variable holds an invalid value.
    pub fn from_env() -> Result<Self, clap::Error> {
        #[derive(clap::Parser)]
        struct Only {
            #[command(flatten)]
            config: Config,
        }
        <Only as clap::Parser>::try_parse_from(["medley"]).map(|only| only.config)
    }

    /// Returns the pool wait and connect timeout.
    pub fn database_timeout(&self) -> Duration {
        Duration::from_millis(self.database_timeout_ms)
    }

    /// Returns the default call deadline.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }

    /// Returns how long a verified key stays cached.
    pub fn auth_cache_ttl(&self) -> Duration {
        Duration::from_millis(self.auth_cache_ttl_ms)
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.entries()).finish()
    }
}

/// Settings that can list themselves for `medley config check` and the start-up log.
pub trait ConfigEntries {
    /// `(variable, value)` pairs of the effective settings, secrets redacted.
    fn entries(&self) -> Vec<(&'static str, String)>;

    /// What is wrong with values that parse but cannot work (e.g. a cron expression), as
    /// `VARIABLE: why` lines.
    fn problems(&self) -> Vec<String> {
        Vec::new()
    }
}

impl ConfigEntries for Config {
    fn entries(&self) -> Vec<(&'static str, String)> {
        vec![
            ("MEDLEY_GRPC_ADDR", self.grpc_addr.to_string()),
            ("MEDLEY_HTTP_ADDR", self.http_addr.to_string()),
            ("MEDLEY_WORKER_HTTP_ADDR", self.worker_http_addr.to_string()),
            ("MEDLEY_DATABASE_URL", redact_url(&self.database_url)),
            ("MEDLEY_DATABASE_POOL_SIZE", self.database_pool_size.to_string()),
            ("MEDLEY_DATABASE_TIMEOUT_MS", self.database_timeout_ms.to_string()),
            ("MEDLEY_REDIS_URL", redact_url(&self.redis_url)),
            ("MEDLEY_REDIS_PREFIX", self.redis_prefix.clone()),
            ("MEDLEY_REQUEST_TIMEOUT_MS", self.request_timeout_ms.to_string()),
            ("MEDLEY_CONCURRENCY_LIMIT", self.concurrency_limit.to_string()),
            ("MEDLEY_AUTH_CACHE_TTL_MS", self.auth_cache_ttl_ms.to_string()),
            ("MEDLEY_WORKERS", self.workers.to_string()),
            ("MEDLEY_JOB_LEASE_MS", self.job_lease_ms.to_string()),
            ("MEDLEY_JOB_POLL_MS", self.job_poll_ms.to_string()),
            ("MEDLEY_JOB_SHUTDOWN_GRACE_MS", self.job_shutdown_grace_ms.to_string()),
            ("MEDLEY_JOB_RETENTION_DAYS", self.job_retention_days.to_string()),
            ("MEDLEY_LOG_FORMAT", format!("{:?}", self.log_format).to_lowercase()),
            ("MEDLEY_LOG", self.log.clone()),
            ("MEDLEY_OUTBOUND_ALLOW", self.outbound_allow.clone()),
            ("MEDLEY_DATA_DIR", self.data_dir.clone()),
            ("MEDLEY_STORAGE_URL", self.storage_url.clone()),
            ("MEDLEY_S3_ENDPOINT", redact_url(&self.s3_endpoint)),
            ("MEDLEY_S3_REGION", self.s3_region.clone()),
            ("MEDLEY_S3_PATH_STYLE", self.s3_path_style.to_string()),
            ("MEDLEY_S3_ACCESS_KEY_ID", self.s3_access_key_id.clone()),
            (
                "MEDLEY_S3_SECRET_ACCESS_KEY",
                if self.s3_secret_access_key.expose_secret().is_empty() { "(not set)" } else { "***" }.to_owned(),
            ),
            ("MEDLEY_ANONYMOUS_RPS", self.anonymous_rps.to_string()),
            ("MEDLEY_ANONYMOUS_RPM", self.anonymous_rpm.to_string()),
            ("MEDLEY_SECRET_KEY", crate::secrets::KeyRing::describe(self)),
            ("MEDLEY_SECRET_KEY_FILE", self.secret_key_file.clone()),
        ]
    }

    fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if !(self.database_url.starts_with("postgres://") || self.database_url.starts_with("postgresql://")) {
            problems.push("MEDLEY_DATABASE_URL: not a postgres:// URL".to_owned());
        }
        if let Err(error) = ::redis::Client::open(self.redis_url.as_str()) {
            problems.push(format!("MEDLEY_REDIS_URL: {error}"));
        }
        if let Err(error) = tracing_subscriber::EnvFilter::try_new(&self.log) {
            problems.push(format!("MEDLEY_LOG: {error}"));
        }
        if let Err(error) = crate::outbound::Allow::parse(&self.outbound_allow) {
            problems.push(format!("MEDLEY_OUTBOUND_ALLOW: {error}"));
        }
        if let Err(error) = crate::secrets::KeyRing::from_config(self) {
            problems.push(format!("MEDLEY_SECRET_KEY: {error}"));
        }
        problems
    }
}

/// Returns `text` fit to print: when it is a URL, its password and the values of query
/// parameters that look secret (`password`, `token`, `key`, `secret`, `sig`...) become `***`.
/// Every URL Medley prints (settings, errors, statuses) goes through here; anything else comes
/// back unchanged.
pub fn redact_url(text: &str) -> String {
    const SECRET_PARAMS: [&str; 8] = ["pass", "pwd", "token", "secret", "key", "sig", "auth", "credential"];
    let Ok(mut url) = url::Url::parse(text) else { return text.to_owned() };
    let secret = |name: &str| {
        let name = name.to_ascii_lowercase();
        SECRET_PARAMS.iter().any(|part| name.contains(part))
    };
    let secret_query = url.query_pairs().any(|(name, _)| secret(&name));
    if url.password().is_none() && !secret_query {
        return text.to_owned();
    }
    if url.password().is_some() {
        // Only fails for URLs that cannot have credentials, which then have no password.
        let _ = url.set_password(Some("***"));
    }
    if secret_query {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(name, value)| {
                let value = if secret(&name) { "***".to_owned() } else { value.into_owned() };
                (name.into_owned(), value)
            })
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    url.to_string()
}

fn parse_redis_prefix(value: &str) -> Result<String, String> {
    let valid = !value.is_empty()
        && value.len() <= 64
        && value.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if valid {
        Ok(value.to_owned())
    } else {
        Err("1 to 64 characters of ASCII letters, digits, '_', '-' or '.'".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_prints_a_password() {
        use clap::Parser as _;
        #[derive(clap::Parser)]
        struct Only {
            #[command(flatten)]
            config: Config,
        }
        let url = "--database-url=postgres://u:hunter2@h/db";
        let config = Only::try_parse_from(["medley", url]).expect("parses").config;
        let shown = format!("{config:?}");
        assert!(shown.contains("postgres://u:***@h/db") && !shown.contains("hunter2"), "{shown}");
    }

    #[test]
    fn redacts_passwords_and_secret_query_parameters_only() {
        assert_eq!(redact_url("postgres://u:secret@h:5432/db"), "postgres://u:***@h:5432/db");
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact_url("redis://:pw@h:6379"), "redis://:***@h:6379");
        assert_eq!(redact_url("not a url"), "not a url");
        assert_eq!(redact_url("https://kodikapi.com"), "https://kodikapi.com");
        assert_eq!(
            redact_url("postgres://u@h/db?sslmode=require&password=hunter2"),
            "postgres://u@h/db?sslmode=require&password=***"
        );
        assert_eq!(
            redact_url("https://user:pw@example.com/list.json?api_key=abc&X-Amz-Signature=s&page=2"),
            "https://user:***@example.com/list.json?api_key=***&X-Amz-Signature=***&page=2"
        );
    }

    #[test]
    fn rejects_prefixes_that_could_collide_or_break_keys() {
        assert!(parse_redis_prefix("").is_err());
        assert!(parse_redis_prefix("a:b").is_err());
        assert!(parse_redis_prefix("a b").is_err());
        assert!(parse_redis_prefix("test_1-x.y").is_ok());
    }
}
