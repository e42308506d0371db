//! Secrets at rest: what users give Medley (provider passwords, OAuth tokens, third-party API
//! keys) is sealed with XChaCha20-Poly1305 (RustCrypto's `chacha20poly1305`) before it reaches
//! PostgreSQL, in one table (`secrets`) that services point to by id.
//!
//! - Keys come from `MEDLEY_SECRET_KEY` (or `MEDLEY_SECRET_KEY_FILE`): comma-separated base64
//!   keys of 32 bytes; the first seals, every one opens. A key's id is the start of its SHA-256,
//!   stored with each sealed value, so rotation is: put the new key first, keep the old one
//!   after it, run `medley secrets rotate` (re-seals in batches; stop it anywhere and run it
//!   again), then drop the old key.
//! - The row's id and purpose are bound into the ciphertext (associated data): a sealed value
//!   copied to another row or purpose does not open.
//! - Without a key the server runs; storing a secret is FAILED_PRECONDITION naming the variable.
//! - Plaintexts are `SecretString` end to end: no `Debug`, log line, error or metric shows one.
//!
//! [`store`] holds the SQL.

pub mod store;

use std::sync::Arc;

use base64::{
    Engine as _,
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
};
use chacha20poly1305::{
    KeyInit as _, XChaCha20Poly1305, XNonce,
    aead::{Aead as _, Payload},
};
use diesel_async::AsyncPgConnection;
use secrecy::{ExposeSecret as _, SecretString};
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

use crate::{
    config::Config,
    error::{ApiError, ErrorCode, InfraError},
};

/// Bytes of a key.
const KEY_BYTES: usize = 32;
/// Bytes of a nonce (XChaCha20: random nonces are safe).
const NONCE_BYTES: usize = 24;

/// One key, by id.
struct Key {
    id: String,
    cipher: XChaCha20Poly1305,
}

/// The configured keys: the first seals, all open.
pub struct KeyRing {
    keys: Vec<Key>,
}

impl KeyRing {
    /// Reads the keys of `config`; `Ok(None)` when none is configured.
    pub fn from_config(config: &Config) -> anyhow::Result<Option<Self>> {
        let mut text = config.secret_key.expose_secret().to_owned();
        if text.trim().is_empty() && !config.secret_key_file.is_empty() {
            text = std::fs::read_to_string(&config.secret_key_file)
                .map_err(|e| anyhow::anyhow!("cannot read MEDLEY_SECRET_KEY_FILE {}: {e}", config.secret_key_file))?;
        }
        Self::parse(&text)
    }

    /// Parses comma-separated base64 keys; `Ok(None)` for none.
    pub fn parse(text: &str) -> anyhow::Result<Option<Self>> {
        let mut keys = Vec::new();
        for (index, part) in text.split(',').map(str::trim).filter(|p| !p.is_empty()).enumerate() {
            let bytes = STANDARD.decode(part).or_else(|_| URL_SAFE_NO_PAD.decode(part.trim_end_matches('='))).map_err(
                |_| anyhow::anyhow!("key {} is not base64 (make one with `medley secrets new-key`)", index + 1),
            )?;
            if bytes.len() != KEY_BYTES {
                anyhow::bail!("key {} has {} bytes, not {KEY_BYTES}", index + 1, bytes.len());
            }
            let id = hex_prefix(&Sha256::digest(&bytes));
            let cipher = XChaCha20Poly1305::new_from_slice(&bytes).map_err(|_| anyhow::anyhow!("bad key length"))?;
            keys.push(Key { id, cipher });
        }
        Ok((!keys.is_empty()).then_some(Self { keys }))
    }

    /// What `config check` and `Debug` show: never the key, only how many and the sealing
    /// key's id. Reads no file (a key file is described as such; `problems` checks it).
    pub fn describe(config: &Config) -> String {
        if config.secret_key.expose_secret().trim().is_empty() {
            return if config.secret_key_file.is_empty() {
                "(not set: secrets cannot be stored)".to_owned()
            } else {
                "*** (from MEDLEY_SECRET_KEY_FILE)".to_owned()
            };
        }
        match Self::parse(config.secret_key.expose_secret()) {
            Ok(Some(ring)) => format!("*** ({} keys; sealing with {})", ring.keys.len(), ring.current().id),
            Ok(None) => "(not set: secrets cannot be stored)".to_owned(),
            Err(_) => "*** (unreadable: see the problems below)".to_owned(),
        }
    }

    fn current(&self) -> &Key {
        // `parse` never builds an empty ring.
        &self.keys[0]
    }

    fn key(&self, id: &str) -> Option<&Key> {
        self.keys.iter().find(|key| key.id == id)
    }
}

/// A fresh key, printed by `medley secrets new-key`.
pub fn new_key() -> Result<String, getrandom::Error> {
    let mut bytes = [0_u8; KEY_BYTES];
    getrandom::fill(&mut bytes)?;
    Ok(STANDARD.encode(bytes))
}

fn hex_prefix(digest: &[u8]) -> String {
    digest.iter().take(4).map(|b| format!("{b:02x}")).collect()
}

/// Why a secret could not be stored or read.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// No key is configured.
    #[error(
        "no secret key is configured: set MEDLEY_SECRET_KEY or MEDLEY_SECRET_KEY_FILE (`medley secrets new-key` makes one)"
    )]
    NotConfigured,
    /// The value was sealed under a key that is no longer configured.
    #[error("the secret was sealed with key {0}, which is not configured: add it to MEDLEY_SECRET_KEY")]
    UnknownKey(String),
    /// The sealed value does not open (damaged, or moved from another row).
    #[error("secret {0} does not open: it was damaged or does not belong to this row")]
    Corrupt(Uuid),
    /// No secret has this id.
    #[error("secret {0} not found")]
    NotFound(Uuid),
    /// The operating system gave no randomness.
    #[error("no randomness for a nonce: {0}")]
    Random(getrandom::Error),
    /// PostgreSQL failed.
    #[error(transparent)]
    Infra(#[from] InfraError),
}

crate::error::infra_from!(SecretError);

impl From<SecretError> for ApiError {
    fn from(error: SecretError) -> Self {
        let message = error.to_string();
        match error {
            SecretError::NotConfigured => ApiError::new(ErrorCode::FailedPrecondition, message).with_reason(
                "SECRET_KEY_MISSING",
                [("variable".to_owned(), "MEDLEY_SECRET_KEY".to_owned())].into_iter().collect(),
            ),
            SecretError::UnknownKey(_) => ApiError::new(ErrorCode::FailedPrecondition, message),
            SecretError::NotFound(id) => ApiError::not_found("secret", &id.to_string()),
            SecretError::Corrupt(_) | SecretError::Random(_) => ApiError::internal(&error),
            SecretError::Infra(infra) => infra.into(),
        }
    }
}

/// Seals and opens secrets. Cheap to clone.
#[derive(Clone)]
pub struct Vault {
    ring: Option<Arc<KeyRing>>,
}

impl Vault {
    /// A vault over `ring`; `None` when no key is configured.
    pub fn new(ring: Option<KeyRing>) -> Self {
        Self { ring: ring.map(Arc::new) }
    }

    /// Whether a key is configured (storing secrets is possible).
    pub fn is_configured(&self) -> bool {
        self.ring.is_some()
    }

    /// The id of the sealing key.
    pub fn current_key_id(&self) -> Option<&str> {
        self.ring.as_deref().map(|ring| ring.current().id.as_str())
    }

    fn ring(&self) -> Result<&KeyRing, SecretError> {
        self.ring.as_deref().ok_or(SecretError::NotConfigured)
    }

    /// Seals `plaintext` for row `id` and `purpose`: `(key id, nonce ‖ ciphertext)`.
    fn seal(&self, id: Uuid, purpose: &str, plaintext: &SecretString) -> Result<(String, Vec<u8>), SecretError> {
        let key = self.ring()?.current();
        let mut nonce = [0_u8; NONCE_BYTES];
        getrandom::fill(&mut nonce).map_err(SecretError::Random)?;
        let aad = associated_data(id, purpose);
        let payload = Payload { msg: plaintext.expose_secret().as_bytes(), aad: &aad };
        let sealed = key.cipher.encrypt(XNonce::from_slice(&nonce), payload).map_err(|_| SecretError::Corrupt(id))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok((key.id.clone(), out))
    }

    fn open(&self, row: &store::SecretRow) -> Result<SecretString, SecretError> {
        let key = self.ring()?.key(&row.key_id).ok_or_else(|| SecretError::UnknownKey(row.key_id.clone()))?;
        if row.sealed.len() < NONCE_BYTES {
            return Err(SecretError::Corrupt(row.id));
        }
        let (nonce, sealed) = row.sealed.split_at(NONCE_BYTES);
        let aad = associated_data(row.id, &row.purpose);
        let plain = key
            .cipher
            .decrypt(XNonce::from_slice(nonce), Payload { msg: sealed, aad: &aad })
            .map_err(|_| SecretError::Corrupt(row.id))?;
        String::from_utf8(plain).map(SecretString::from).map_err(|_| SecretError::Corrupt(row.id))
    }

    /// Stores a new secret and returns its id.
    pub async fn store(
        &self,
        conn: &mut AsyncPgConnection,
        purpose: &str,
        plaintext: &SecretString,
    ) -> Result<Uuid, SecretError> {
        let id = Uuid::new_v4();
        let (key_id, sealed) = self.seal(id, purpose, plaintext)?;
        store::insert(conn, id, purpose, &key_id, &sealed).await?;
        Ok(id)
    }

    /// Replaces the value of secret `id` (its purpose stays).
    pub async fn replace(
        &self,
        conn: &mut AsyncPgConnection,
        id: Uuid,
        plaintext: &SecretString,
    ) -> Result<(), SecretError> {
        let row = store::find(conn, id).await?.ok_or(SecretError::NotFound(id))?;
        let (key_id, sealed) = self.seal(id, &row.purpose, plaintext)?;
        store::update(conn, id, &key_id, &sealed, None).await?;
        Ok(())
    }

    /// Opens secret `id`.
    pub async fn read(&self, conn: &mut AsyncPgConnection, id: Uuid) -> Result<SecretString, SecretError> {
        let row = store::find(conn, id).await?.ok_or(SecretError::NotFound(id))?;
        self.open(&row)
    }

    /// Deletes secret `id` (deleting one that does not exist succeeds).
    pub async fn delete(conn: &mut AsyncPgConnection, id: Uuid) -> Result<(), SecretError> {
        store::delete(conn, id).await?;
        Ok(())
    }

    /// Re-seals up to `limit` secrets sealed under other keys with the current key; returns how
    /// many. Each row is updated only if it did not change meanwhile, so running this
    /// concurrently with writers, or again after a stop, is safe.
    pub async fn rotate_batch(&self, conn: &mut AsyncPgConnection, limit: i64) -> Result<usize, SecretError> {
        let current = self.ring()?.current().id.clone();
        let rows = store::sealed_with_other_keys(conn, &current, limit).await?;
        let mut moved = 0;
        for row in &rows {
            let plaintext = self.open(row)?;
            let (key_id, sealed) = self.seal(row.id, &row.purpose, &plaintext)?;
            moved += store::update(conn, row.id, &key_id, &sealed, Some(&row.key_id)).await?;
        }
        Ok(moved)
    }

    /// How many secrets are sealed under each key id.
    pub async fn key_counts(conn: &mut AsyncPgConnection) -> Result<Vec<(String, i64)>, SecretError> {
        Ok(store::count_by_key(conn).await?)
    }
}

/// Binds a sealed value to its row and purpose.
fn associated_data(id: Uuid, purpose: &str) -> Vec<u8> {
    format!("medley-secret:v1:{id}:{purpose}").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(keys: &[&str]) -> KeyRing {
        KeyRing::parse(&keys.join(",")).expect("keys parse").expect("a key")
    }

    fn row(vault: &Vault, id: Uuid, purpose: &str, secret: &str) -> store::SecretRow {
        let (key_id, sealed) = vault.seal(id, purpose, &SecretString::from(secret)).expect("seal");
        store::SecretRow { id, purpose: purpose.to_owned(), key_id, sealed }
    }

    #[test]
    fn sealed_values_open_only_for_their_row_purpose_and_keys() {
        let (a, b) = (new_key().unwrap(), new_key().unwrap());
        let vault = Vault::new(Some(ring(&[&a])));
        let id = Uuid::new_v4();
        let sealed = row(&vault, id, "test.password", "hunter2");
        assert_eq!(vault.open(&sealed).unwrap().expose_secret(), "hunter2");
        assert!(!sealed.sealed.windows(7).any(|w| w == b"hunter2"), "the value is not stored in clear");
        // Moved to another row or purpose, it does not open.
        let moved = store::SecretRow { id: Uuid::new_v4(), ..sealed.clone() };
        assert!(matches!(vault.open(&moved), Err(SecretError::Corrupt(_))));
        let repurposed = store::SecretRow { purpose: "other".into(), ..sealed.clone() };
        assert!(matches!(vault.open(&repurposed), Err(SecretError::Corrupt(_))));
        // A tampered byte fails.
        let mut tampered = sealed.clone();
        let last = tampered.sealed.len() - 1;
        tampered.sealed[last] ^= 1;
        assert!(matches!(vault.open(&tampered), Err(SecretError::Corrupt(_))));
        // A vault without that key names it; with it among older keys, it opens.
        let other = Vault::new(Some(ring(&[&b])));
        assert!(matches!(other.open(&sealed), Err(SecretError::UnknownKey(id)) if id == sealed.key_id));
        let rotated = Vault::new(Some(ring(&[&b, &a])));
        assert_eq!(rotated.open(&sealed).unwrap().expose_secret(), "hunter2");
        assert_ne!(rotated.current_key_id(), Some(sealed.key_id.as_str()), "the new key seals");
        // No key: nothing seals.
        let none = Vault::new(None);
        assert!(matches!(none.seal(id, "p", &SecretString::from("x")), Err(SecretError::NotConfigured)));
    }

    #[test]
    fn bad_keys_are_refused_with_their_position() {
        assert!(KeyRing::parse("").unwrap().is_none());
        let short = STANDARD.encode([0_u8; 16]);
        let error = KeyRing::parse(&format!("{},{short}", new_key().unwrap())).err().unwrap().to_string();
        assert!(error.contains("key 2") && error.contains("16 bytes"), "{error}");
        assert!(KeyRing::parse("not base64!").is_err());
    }
}
