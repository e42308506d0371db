//! Keeps `grpc.health.v1` truthful: the server and each service report SERVING only while
//! PostgreSQL and Redis answer. The same loop refreshes this instance's liveness key in Redis.

use std::time::Duration;

use ::redis::AsyncCommands as _;
use diesel_async::RunQueryDsl as _;
use tokio_util::sync::CancellationToken;
use tonic_health::{ServingStatus, server::HealthReporter};

use crate::platform::Platform;

/// How often dependencies are checked.
const CHECK_INTERVAL: Duration = Duration::from_secs(5);
/// Lifetime of the liveness key: a few missed checks mark the instance gone.
const INSTANCE_TTL_SECS: u64 = 30;

/// The health reporter of one server and the services it reports for.
pub struct Health {
    platform: Platform,
    reporter: HealthReporter,
    services: Vec<&'static str>,
}

impl Health {
    /// Reports for the server ("") and each of `services`.
    pub fn new(platform: Platform, reporter: HealthReporter, services: Vec<&'static str>) -> Self {
        Self { platform, reporter, services }
    }

    /// Checks dependencies and publishes the result if it changed from `last`; returns it.
    pub async fn check_and_report(&self, last: Option<bool>) -> bool {
        let healthy = check(&self.platform).await;
        if last != Some(healthy) {
            let status = if healthy { ServingStatus::Serving } else { ServingStatus::NotServing };
            self.set_all(status).await;
            if healthy {
                tracing::info!("dependencies healthy: serving");
            } else {
                tracing::warn!("a dependency is down: reporting NOT_SERVING");
            }
        }
        healthy
    }

    /// Re-checks every few seconds from the state `last` until `shutdown`, then reports
    /// NOT_SERVING so load balancers drain this instance.
    pub async fn watch(self, mut last: bool, shutdown: CancellationToken) {
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(CHECK_INTERVAL) => {}
            }
            last = self.check_and_report(Some(last)).await;
        }
        self.set_all(ServingStatus::NotServing).await;
    }

    async fn set_all(&self, status: ServingStatus) {
        self.reporter.set_service_status("", status).await;
        for service in &self.services {
            self.reporter.set_service_status(*service, status).await;
        }
    }
}

async fn check(state: &Platform) -> bool {
    let database = async {
        let mut conn = state.db.get().await.map_err(|e| e.to_string())?;
        diesel::sql_query("SELECT 1").execute(&mut conn).await.map_err(|e| e.to_string())
    };
    let redis = async {
        let mut conn = state.redis.clone();
        conn.set_ex::<_, _, ()>(state.keys.instance(&state.info.instance_id), state.info.version, INSTANCE_TTL_SECS)
            .await
            .map_err(|e| e.to_string())
    };
    let (database, redis) = tokio::join!(database, redis);
    if let Err(error) = &database {
        tracing::warn!(%error, "database health check failed");
    }
    if let Err(error) = &redis {
        tracing::warn!(%error, "redis health check failed");
    }
    database.is_ok() && redis.is_ok()
}
