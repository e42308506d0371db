//! Object storage for what services keep as files (downloads, samples, waveforms, uploads):
//! the `object_store` crate behind one small API. A local directory by default
//! (`$MEDLEY_DATA_DIR/objects`); S3-compatible storage with `MEDLEY_STORAGE_URL=s3://bucket/prefix`
//! and the `MEDLEY_S3_*` settings (endpoint, region, path style, credentials).
//!
//! Puts stream in parts (multipart on S3), so a large object never sits in memory; reads
//! stream too, and may ask for a byte range. Stores that sign URLs (S3) hand out pre-signed GET
//! URLs; a local store answers `None`, and callers stream the object themselves.

use std::{ops::Range, sync::Arc, time::Duration};

use bytes::Bytes;
use futures_util::{Stream, StreamExt as _, TryStreamExt as _};
use object_store::{
    ObjectStore, ObjectStoreExt as _, WriteMultipart, aws::AmazonS3, local::LocalFileSystem, path::Path,
    signer::Signer as _,
};
use secrecy::ExposeSecret as _;

use crate::config::Config;

/// Bytes per part of a streamed put (S3's minimum part is 5 MiB).
const PART_BYTES: usize = 8 << 20;
/// Parts uploaded at once during a streamed put: memory stays near this many parts.
const PARTS_IN_FLIGHT: usize = 2;

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// No object has this key.
    #[error("object {0} not found")]
    NotFound(String),
    /// The key is not a valid object path.
    #[error("bad object key {0:?}: {1}")]
    BadKey(String, String),
    /// The store failed (I/O, network, the S3 server).
    #[error("object storage: {0}")]
    Store(String),
    /// The data being written failed to arrive.
    #[error("while reading the data to store: {0}")]
    Source(String),
}

impl StorageError {
    fn from_store(key: &str, error: object_store::Error) -> Self {
        match error {
            object_store::Error::NotFound { .. } => Self::NotFound(key.to_owned()),
            other => Self::Store(other.to_string()),
        }
    }
}

/// The configured object store.
#[derive(Clone, Debug)]
pub struct Storage {
    store: Arc<dyn ObjectStore>,
    /// Set when the store signs URLs.
    signer: Option<Arc<AmazonS3>>,
    prefix: Path,
    description: String,
}

impl Storage {
    /// The store `config` names.
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        let url = config.storage_url.trim();
        if url.is_empty() {
            let root = std::path::Path::new(&config.data_dir).join("objects");
            return Self::local(&root);
        }
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| anyhow::anyhow!("MEDLEY_STORAGE_URL must be s3://bucket/prefix"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            anyhow::bail!("MEDLEY_STORAGE_URL names no bucket");
        }
        // rustls needs one process-wide crypto provider; installing it again is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = object_store::aws::AmazonS3Builder::new()
            .with_bucket_name(bucket)
            .with_region(&config.s3_region)
            .with_virtual_hosted_style_request(!config.s3_path_style);
        if !config.s3_endpoint.is_empty() {
            builder =
                builder.with_endpoint(&config.s3_endpoint).with_allow_http(config.s3_endpoint.starts_with("http://"));
        }
        if !config.s3_access_key_id.is_empty() {
            builder = builder
                .with_access_key_id(&config.s3_access_key_id)
                .with_secret_access_key(config.s3_secret_access_key.expose_secret());
        }
        let s3 = Arc::new(builder.build()?);
        Ok(Self {
            store: s3.clone(),
            signer: Some(s3),
            prefix: Path::parse(prefix.trim_matches('/'))?,
            description: format!("s3://{bucket}/{prefix}"),
        })
    }

    /// A store in the local directory `root` (created if missing).
    pub fn local(root: &std::path::Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(root)?;
        Ok(Self {
            store: Arc::new(LocalFileSystem::new_with_prefix(root)?),
            signer: None,
            prefix: Path::default(),
            description: root.display().to_string(),
        })
    }

    /// Where objects go, for logs and `config check`.
    pub fn describe(&self) -> &str {
        &self.description
    }

    fn path(&self, key: &str) -> Result<Path, StorageError> {
        let relative = Path::parse(key).map_err(|e| StorageError::BadKey(key.to_owned(), e.to_string()))?;
        if relative.as_ref().is_empty() {
            return Err(StorageError::BadKey(key.to_owned(), "empty".to_owned()));
        }
        Ok(self.prefix.parts().chain(relative.parts()).collect())
    }

    /// Writes the object `key` from a stream of chunks, part by part; returns its size. A failed
    /// stream aborts the upload and leaves no object.
    pub async fn put_stream<S, E>(&self, key: &str, mut data: S) -> Result<u64, StorageError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let path = self.path(key)?;
        let upload = self.store.put_multipart(&path).await.map_err(|e| StorageError::from_store(key, e))?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_BYTES);
        let mut size = 0_u64;
        while let Some(chunk) = data.next().await {
            let chunk = match chunk {
                Ok(chunk) => chunk,
                Err(error) => {
                    let _ = writer.abort().await;
                    return Err(StorageError::Source(error.to_string()));
                }
            };
            size += chunk.len() as u64;
            writer.wait_for_capacity(PARTS_IN_FLIGHT).await.map_err(|e| StorageError::from_store(key, e))?;
            writer.put(chunk);
        }
        writer.finish().await.map_err(|e| StorageError::from_store(key, e))?;
        Ok(size)
    }

    /// Writes a small object in one request.
    pub async fn put(&self, key: &str, data: Bytes) -> Result<(), StorageError> {
        let path = self.path(key)?;
        self.store.put(&path, data.into()).await.map(drop).map_err(|e| StorageError::from_store(key, e))
    }

    /// The object's size in bytes.
    pub async fn size(&self, key: &str) -> Result<u64, StorageError> {
        let path = self.path(key)?;
        Ok(self.store.head(&path).await.map_err(|e| StorageError::from_store(key, e))?.size)
    }

    /// Streams the whole object.
    pub async fn get_stream(
        &self,
        key: &str,
    ) -> Result<impl Stream<Item = Result<Bytes, StorageError>> + Send + use<>, StorageError> {
        let path = self.path(key)?;
        let result = self.store.get(&path).await.map_err(|e| StorageError::from_store(key, e))?;
        Ok(result.into_stream().map_err(|e| StorageError::Store(e.to_string())))
    }

    /// Reads bytes `range` of the object.
    pub async fn get_range(&self, key: &str, range: Range<u64>) -> Result<Bytes, StorageError> {
        let path = self.path(key)?;
        self.store.get_range(&path, range).await.map_err(|e| StorageError::from_store(key, e))
    }

    /// A URL anyone holding it may GET the object from until `ttl` passes, when the store signs
    /// URLs; `None` for stores that do not (serve the object with [`Storage::get_stream`]).
    pub async fn presigned_get(&self, key: &str, ttl: Duration) -> Result<Option<url::Url>, StorageError> {
        let Some(signer) = &self.signer else { return Ok(None) };
        let path = self.path(key)?;
        let url =
            signer.signed_url(http::Method::GET, &path, ttl).await.map_err(|e| StorageError::from_store(key, e))?;
        Ok(Some(url))
    }

    /// Deletes the object (deleting one that does not exist succeeds).
    pub async fn delete(&self, key: &str) -> Result<(), StorageError> {
        let path = self.path(key)?;
        match self.store.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(error) => Err(StorageError::from_store(key, error)),
        }
    }
}
