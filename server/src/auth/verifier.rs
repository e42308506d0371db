//! Checks API keys against the database, with a short in-process cache so a hot key costs no
//! query per call. The cache trusts an answer for `MEDLEY_AUTH_CACHE_TTL_MS`; a key revoked on
//! this instance is forgotten at once, one revoked on another instance within that TTL.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use chrono::Utc;
use uuid::Uuid;

use super::{Caller, model::ApiKeyRow, policy::Access, secret, store};
use crate::{
    db::DbPool,
    error::{ApiError, ErrorCode},
};

/// Entries kept at most; past that the cache starts over (keys are few, so this only bounds
/// memory against a flood of distinct valid keys).
const MAX_CACHED_KEYS: usize = 10_000;
/// How often the last-use time of a key is written.
const TOUCH_INTERVAL: Duration = Duration::from_secs(60);

struct CachedKey {
    row: ApiKeyRow,
    fetched: Instant,
    touched: Option<Instant>,
}

/// Verifies `authorization` headers.
pub struct KeyVerifier {
    db: DbPool,
    ttl: Duration,
    cache: Mutex<HashMap<[u8; 32], CachedKey>>,
}

impl KeyVerifier {
    /// Verifies against `db`, trusting cached answers for `ttl`.
    pub fn new(db: DbPool, ttl: Duration) -> Arc<Self> {
        Arc::new(Self { db, ttl, cache: Mutex::new(HashMap::new()) })
    }

    /// Returns the caller if the `authorization` header carries a key that grants `access`.
    pub async fn authorize(
        &self,
        authorization: Option<&http::HeaderValue>,
        access: Access,
    ) -> Result<Option<Caller>, ApiError> {
        let required = match access {
            Access::Public => return Ok(None),
            // A key was sent: it must be valid and grant the scope.
            Access::Scope(scope) | Access::ScopeOrAnonymous(scope) => scope,
        };
        let secret = parse_bearer(authorization)?;
        let hash = secret::hash(secret);
        let row = self.find(hash).await?;
        let now = Utc::now();
        if row.revoked_at.is_some() {
            return Err(unauthenticated("API_KEY_REVOKED", "the api key was revoked"));
        }
        if row.expires_at.is_some_and(|at| at <= now) {
            return Err(unauthenticated("API_KEY_EXPIRED", "the api key has expired"));
        }
        let scopes = row.parsed_scopes();
        if !required.is_granted_by(&scopes) {
            let held = scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(",");
            return Err(ApiError::new(
                ErrorCode::PermissionDenied,
                format!("this method needs scope {required}; the api key has {held}"),
            )
            .with_reason(
                "SCOPE_MISSING",
                HashMap::from([("required_scope".to_owned(), required.to_string()), ("key_scopes".to_owned(), held)]),
            ));
        }
        self.touch_if_due(hash, row.id);
        Ok(Some(Caller { key_id: row.id, scopes }))
    }

    /// Drops every cached answer for key `id` (called when this instance revokes it).
    pub fn forget_key(&self, id: Uuid) {
        self.lock().retain(|_, cached| cached.row.id != id);
    }

    async fn find(&self, hash: [u8; 32]) -> Result<ApiKeyRow, ApiError> {
        if let Some(cached) = self.lock().get(&hash)
            && cached.fetched.elapsed() < self.ttl
        {
            return Ok(cached.row.clone());
        }
        let mut conn = self.db.get().await?;
        let row = store::find_key_by_secret_hash(&mut conn, &hash)
            .await?
            .ok_or_else(|| unauthenticated("API_KEY_UNKNOWN", "the api key is not known to this server"))?;
        let mut cache = self.lock();
        if cache.len() >= MAX_CACHED_KEYS {
            cache.clear();
        }
        let touched = cache.get(&hash).and_then(|old| old.touched);
        cache.insert(hash, CachedKey { row: row.clone(), fetched: Instant::now(), touched });
        Ok(row)
    }

    /// Records the key's use in the background, at most once per [`TOUCH_INTERVAL`]; the call
    /// never waits for it and a failure only loses a timestamp.
    fn touch_if_due(&self, hash: [u8; 32], id: Uuid) {
        {
            let mut cache = self.lock();
            let Some(cached) = cache.get_mut(&hash) else { return };
            if cached.touched.is_some_and(|at| at.elapsed() < TOUCH_INTERVAL) {
                return;
            }
            cached.touched = Some(Instant::now());
        }
        let db = self.db.clone();
        tokio::spawn(async move {
            let result = match db.get().await {
                Ok(mut conn) => store::touch_key_last_used(&mut conn, id).await.map(drop).map_err(|e| e.to_string()),
                Err(error) => Err(error.to_string()),
            };
            if let Err(error) = result {
                tracing::debug!(api_key.id = %id, %error, "cannot record api key use");
            }
        });
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], CachedKey>> {
        // A panic while holding this lock cannot leave the map inconsistent (single inserts and
        // removals), so a poisoned lock is still usable.
        self.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn parse_bearer(header: Option<&http::HeaderValue>) -> Result<&str, ApiError> {
    let header = header.ok_or_else(|| {
        unauthenticated("API_KEY_MISSING", "this method needs an api key: send `authorization: Bearer <key>`")
    })?;
    let value = header
        .to_str()
        .map_err(|_| unauthenticated("AUTHORIZATION_MALFORMED", "the authorization header is not ascii"))?;
    let (scheme, token) = value.trim().split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(unauthenticated("AUTHORIZATION_MALFORMED", "the authorization header must be `Bearer <key>`"));
    }
    let token = token.trim();
    if !secret::is_well_formed(token) {
        return Err(unauthenticated("API_KEY_MALFORMED", "the api key is malformed: medley keys start with `mdl_`"));
    }
    Ok(token)
}

fn unauthenticated(reason: &str, message: &str) -> ApiError {
    ApiError::new(ErrorCode::Unauthenticated, message).with_reason(reason, HashMap::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_parsing() {
        let key = secrecy::ExposeSecret::expose_secret(&secret::generate().unwrap().secret).to_owned();
        let ok = http::HeaderValue::from_str(&format!("Bearer {key}")).unwrap();
        assert_eq!(parse_bearer(Some(&ok)).unwrap(), key);
        let lower = http::HeaderValue::from_str(&format!("bearer  {key} ")).unwrap();
        assert_eq!(parse_bearer(Some(&lower)).unwrap(), key);
        for bad in ["", "Bearer", &format!("Basic {key}"), "Bearer mdl_x", &key] {
            let header = http::HeaderValue::from_str(bad).unwrap();
            assert_eq!(parse_bearer(Some(&header)).unwrap_err().code(), ErrorCode::Unauthenticated, "{bad}");
        }
        assert_eq!(parse_bearer(None).unwrap_err().code(), ErrorCode::Unauthenticated);
    }
}
