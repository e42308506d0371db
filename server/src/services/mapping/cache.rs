//! Lookups through three tiers: an in-process cache, Redis (tier 1 `(platform, key)` → record
//! id, tier 2 id → encoded record), then PostgreSQL, which is the truth.
//!
//! Staying correct while a run rewrites data:
//! - A run commits its rows and, in the same transaction, the list of cache entries it made
//!   stale (`mapping_cache_outbox`). After the commit it bumps the Redis epoch, deletes those
//!   entries, fills the new ones, and announces the change on the `mapping` topic; every
//!   process then clears its in-process cache. If Redis is down, the outbox waits for the next
//!   run (or the next `drain_outbox`), so no stale entry survives an outage.
//! - A lookup that misses reads the epoch with its Redis read, then PostgreSQL, and fills Redis
//!   only if the epoch has not moved (one Lua script), so a read that raced a run can never write
//!   back pre-run data. The in-process cache has its own generation for the same reason.
//! - Redis failures degrade to PostgreSQL reads; they never fail a lookup on their own.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use ::redis::{Script, aio::ConnectionManager};
use medley_sdk::pb;
use prost::Message as _;
use tokio_util::sync::CancellationToken;

use super::{snapshot::Key, store};
use crate::{
    db::DbPool,
    error::InfraError,
    progress::ProgressHub,
    redis::keys::{Keys, Topic},
};

/// Lifetime of Redis entries (refilled on miss).
const REDIS_TTL_SECS: u64 = 7 * 24 * 3600;
/// Lifetime of in-process entries: a safety net should an announcement be lost.
const LOCAL_TTL: Duration = Duration::from_secs(300);
/// Keys the in-process cache holds (small entries: a key and a record id).
const LOCAL_KEYS: usize = 300_000;
/// Decoded records the in-process cache holds (~1-3 KB each), shared by all their keys.
const LOCAL_RECORDS: usize = 50_000;
/// Commands per Redis pipeline when a run fills or invalidates.
const REDIS_BATCH: usize = 2000;

/// A looked-up record, shared by every caller that asked for it.
pub type Found = Option<Arc<pb::MappingRecord>>;

/// Tier-1 then tier-2 read of many keys; the first value is the epoch.
const GET_SCRIPT: &str = r"
local out = {redis.call('GET', KEYS[1])}
for i = 2, #KEYS do
  local id = redis.call('GET', KEYS[i])
  if id then out[i] = redis.call('GET', ARGV[1] .. id) else out[i] = false end
end
return out";

/// Fills entries only if the epoch is still the one read before PostgreSQL was asked.
const FILL_SCRIPT: &str = r"
if (redis.call('GET', KEYS[1]) or '') ~= ARGV[1] then return 0 end
for i = 2, #KEYS, 2 do
  redis.call('SET', KEYS[i], ARGV[i + 1], 'EX', ARGV[2])
  redis.call('SET', KEYS[i + 1], ARGV[i + 2], 'EX', ARGV[2])
end
return 1";

/// An in-process key entry: the record id, or `None` for a known miss.
#[derive(Clone, Copy)]
struct LocalKey {
    at: Instant,
    record: Option<i64>,
}

/// The lookup path shared by the gRPC service and the REST routes.
pub struct MappingCache {
    db: DbPool,
    redis: ConnectionManager,
    keys: Keys,
    local_keys: quick_cache::sync::Cache<Key, LocalKey>,
    local_records: quick_cache::sync::Cache<i64, Arc<pb::MappingRecord>>,
    generation: AtomicU64,
    get_script: Script,
    fill_script: Script,
}

impl MappingCache {
    /// Builds the cache and starts clearing it on every announced change (until `shutdown`).
    pub fn start(
        db: DbPool,
        redis: ConnectionManager,
        keys: Keys,
        hub: &ProgressHub,
        shutdown: CancellationToken,
    ) -> Arc<Self> {
        let cache = Arc::new(Self {
            db,
            redis,
            keys,
            local_keys: quick_cache::sync::Cache::new(LOCAL_KEYS),
            local_records: quick_cache::sync::Cache::new(LOCAL_RECORDS),
            generation: AtomicU64::new(0),
            get_script: Script::new(GET_SCRIPT),
            fill_script: Script::new(FILL_SCRIPT),
        });
        let mut events = hub.subscribe(Topic::Mapping);
        let mut resyncs = hub.resyncs();
        let weak = Arc::downgrade(&cache);
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    // A lost announcement (lag, Redis reconnect) clears too.
                    event = events.recv() => if let Err(tokio::sync::broadcast::error::RecvError::Closed) = event { return },
                    changed = resyncs.changed() => if changed.is_err() { return },
                }
                match weak.upgrade() {
                    Some(cache) => cache.clear_local(),
                    None => return,
                }
            }
        });
        cache
    }

    /// Drops every in-process entry (after a run changed the data).
    pub fn clear_local(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.local_keys.clear();
        self.local_records.clear();
    }

    /// Looks up `keys`; the result is aligned with them.
    pub async fn get_many(&self, keys: &[Key]) -> Result<Vec<Found>, InfraError> {
        let generation = self.generation.load(Ordering::SeqCst);
        let mut results: Vec<Option<Found>> = keys.iter().map(|key| self.local_get(key)).collect();
        let missing: Vec<usize> = (0..keys.len()).filter(|&i| results[i].is_none()).collect();
        if !missing.is_empty() {
            let found = self.fetch(&missing.iter().map(|&i| keys[i].clone()).collect::<Vec<_>>()).await?;
            let same_generation = self.generation.load(Ordering::SeqCst) == generation;
            for (index, found) in missing.into_iter().zip(found) {
                if same_generation {
                    let record = found.as_ref().map(|r| r.id);
                    self.local_keys.insert(keys[index].clone(), LocalKey { at: Instant::now(), record });
                    if let Some(found) = &found {
                        self.local_records.insert(found.id, found.clone());
                    }
                }
                results[index] = Some(found);
            }
        }
        Ok(results.into_iter().map(Option::flatten).collect())
    }

    /// The in-process answer: `Some(found)` on a hit (including a known miss), `None` to fetch.
    fn local_get(&self, key: &Key) -> Option<Found> {
        let entry = self.local_keys.get(key).filter(|e| e.at.elapsed() < LOCAL_TTL)?;
        match entry.record {
            None => Some(None),
            Some(id) => self.local_records.get(&id).map(Some),
        }
    }

    /// Redis, then PostgreSQL for what Redis lacks.
    async fn fetch(&self, keys: &[Key]) -> Result<Vec<Found>, InfraError> {
        let mut redis = self.redis.clone();
        let mut invocation = self.get_script.prepare_invoke();
        invocation.key(self.keys.mapping_epoch());
        for (platform, key) in keys {
            invocation.key(self.keys.mapping_key(*platform, key));
        }
        invocation.arg(self.keys.mapping_record_prefix());
        let cached: Option<Vec<Option<Vec<u8>>>> = match invocation.invoke_async(&mut redis).await {
            Ok(values) => Some(values),
            Err(error) => {
                tracing::debug!(%error, "mapping cache read failed; reading PostgreSQL");
                None
            }
        };
        let (epoch, bodies) = match cached {
            Some(mut values) if values.len() == keys.len() + 1 => {
                let epoch = values.remove(0).map(|e| String::from_utf8_lossy(&e).into_owned()).unwrap_or_default();
                (Some(epoch), values)
            }
            _ => (None, vec![None; keys.len()]),
        };
        let mut results: Vec<Found> = bodies
            .iter()
            .map(|body| body.as_deref().and_then(|b| pb::MappingRecord::decode(b).ok()).map(Arc::new))
            .collect();
        let misses: Vec<usize> = (0..keys.len()).filter(|&i| results[i].is_none()).collect();
        if misses.is_empty() {
            return Ok(results);
        }
        let wanted: Vec<Key> = misses.iter().map(|&i| keys[i].clone()).collect();
        let mut conn = self.db.get().await?;
        let rows = store::lookup(&mut conn, &wanted).await?;
        drop(conn);
        let mut fill = Vec::new();
        for (index, key) in misses.into_iter().zip(wanted) {
            if let Some((id, body)) = rows.get(&key) {
                results[index] = pb::MappingRecord::decode(body.as_slice()).ok().map(Arc::new);
                fill.push((key, *id, body.clone()));
            }
        }
        if let Some(epoch) = epoch
            && !fill.is_empty()
        {
            let mut invocation = self.fill_script.prepare_invoke();
            invocation.key(self.keys.mapping_epoch()).arg(epoch).arg(REDIS_TTL_SECS);
            for ((platform, key), id, body) in fill {
                invocation.key(self.keys.mapping_key(platform, &key)).key(self.keys.mapping_record(id));
                invocation.arg(id).arg(body);
            }
            if let Err(error) = invocation.invoke_async::<i64>(&mut redis).await {
                tracing::debug!(%error, "mapping cache fill failed");
            }
        }
        Ok(results)
    }

    /// After a run committed: bumps the epoch, drops every stale entry the outbox lists, and
    /// announces the change. Returns the number of Redis keys deleted.
    pub async fn drain_outbox(&self, hub: &ProgressHub) -> Result<u64, InfraError> {
        let mut conn = self.db.get().await?;
        let rows = store::pending_outbox(&mut conn).await?;
        let mut redis = self.redis.clone();
        let _: i64 = ::redis::cmd("INCR").arg(self.keys.mapping_epoch()).query_async(&mut redis).await?;
        let mut deleted = 0;
        for row in &rows {
            let mut names: Vec<String> =
                row.record_ids.iter().flatten().map(|id| self.keys.mapping_record(*id)).collect();
            names.extend(
                row.platforms
                    .iter()
                    .zip(&row.keys)
                    .filter_map(|(p, k)| Some(self.keys.mapping_key((*p)?, k.as_deref()?))),
            );
            for chunk in names.chunks(REDIS_BATCH) {
                let removed: u64 = ::redis::cmd("DEL").arg(chunk).query_async(&mut redis).await?;
                deleted += removed;
            }
        }
        if !rows.is_empty() {
            store::delete_outbox(&mut conn, &rows.iter().map(|r| r.id).collect::<Vec<_>>()).await?;
        }
        self.announce(hub).await;
        Ok(deleted)
    }

    /// Writes fresh entries for records a run wrote (best effort: a failure only costs misses).
    pub async fn fill(&self, records: &[(i64, Vec<u8>)], keys: &[(Key, i64)]) -> Result<(), InfraError> {
        let mut redis = self.redis.clone();
        for chunk in records.chunks(REDIS_BATCH) {
            let mut pipe = ::redis::pipe();
            for (id, body) in chunk {
                pipe.cmd("SET")
                    .arg(self.keys.mapping_record(*id))
                    .arg(body.as_slice())
                    .arg("EX")
                    .arg(REDIS_TTL_SECS)
                    .ignore();
            }
            pipe.query_async::<()>(&mut redis).await?;
        }
        for chunk in keys.chunks(REDIS_BATCH) {
            let mut pipe = ::redis::pipe();
            for ((platform, key), id) in chunk {
                pipe.cmd("SET")
                    .arg(self.keys.mapping_key(*platform, key))
                    .arg(*id)
                    .arg("EX")
                    .arg(REDIS_TTL_SECS)
                    .ignore();
            }
            pipe.query_async::<()>(&mut redis).await?;
        }
        Ok(())
    }

    /// Tells every process the data changed.
    pub async fn announce(&self, hub: &ProgressHub) {
        self.clear_local();
        if let Err(error) = hub.publish(Topic::Mapping, Vec::new()).await {
            tracing::warn!(%error, "cannot announce a mapping change; other instances catch up within their cache TTL");
        }
    }
}
