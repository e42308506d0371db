//! Redis: one multiplexed, self-reconnecting connection per process, and the key builder every
//! key and channel must come from ([`keys::Keys`]).

pub mod keys;

use std::time::Duration;

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::config::{Config, redact_url};

/// Opens the connection manager and checks Redis answers, with an error that names the URL and
/// how to fix it. After start, the manager reconnects on its own. The client is returned too,
/// for pub/sub connections.
pub async fn connect(config: &Config) -> anyhow::Result<(::redis::Client, ConnectionManager)> {
    let shown = redact_url(&config.redis_url);
    let hint = "hint: start Redis or point MEDLEY_REDIS_URL (or --redis-url) at a running server";
    let client = ::redis::Client::open(config.redis_url.as_str())
        .map_err(|error| anyhow::anyhow!("invalid Redis url {shown}: {error}"))?;
    let timeout = Duration::from_secs(5);
    let manager_config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(timeout))
        .set_response_timeout(Some(timeout))
        .set_number_of_retries(2);
    let mut manager =
        match tokio::time::timeout(timeout, ConnectionManager::new_with_config(client.clone(), manager_config)).await {
            Ok(Ok(manager)) => manager,
            Ok(Err(error)) => anyhow::bail!("cannot connect to Redis at {shown}: {error}\n{hint}"),
            Err(_) => anyhow::bail!("cannot connect to Redis at {shown}: no answer within 5 s\n{hint}"),
        };
    ping(&mut manager)
        .await
        .map_err(|error| anyhow::anyhow!("Redis at {shown} does not answer PING: {error}\n{hint}"))?;
    Ok((client, manager))
}

/// Sends `PING`, for health checks.
pub async fn ping(conn: &mut ConnectionManager) -> ::redis::RedisResult<()> {
    ::redis::cmd("PING").query_async::<String>(conn).await.map(drop)
}
