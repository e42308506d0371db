//! Reading a source location: a file, or a URL with a conditional GET. Bodies compressed with
//! zstd (by magic number, whatever the name) are decompressed here.
//!
//! URLs are read through [`crate::outbound`] like every upstream (retries with backoff, limits,
//! errors without the URL). A URL answered with 304 gives no body: the pipeline uses the copy it
//! stored with the last successful run. Transport errors, non-2xx answers, and bodies above
//! [`MAX_BODY`] are errors naming the location (credentials redacted).

use std::{io::Read as _, time::Duration};

use reqwest::{StatusCode, header};
use sha2::{Digest, Sha256};

use super::SourceError;
use crate::outbound::{Upstream, UpstreamConfig};

/// Largest body accepted (after decompression), far above any known list (AOD minified is tens
/// of MB).
pub const MAX_BODY: usize = 512 * 1024 * 1024;
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// What the validators of the last read were.
#[derive(Clone, Debug, Default)]
pub struct Validators {
    /// ETag of the last body.
    pub etag: Option<String>,
    /// Last-Modified of the last body.
    pub last_modified: Option<String>,
}

/// The result of reading a location.
#[derive(Debug)]
pub enum Fetched {
    /// The server said the content did not change (304).
    NotModified,
    /// A body (decompressed) with its validators and SHA-256 (of the bytes as read).
    Body { bytes: Vec<u8>, sha256: String, validators: Validators },
}

/// The upstream every URL source is read through: retries of 429, 5xx and broken transfers
/// with backoff, a 5-minute timeout per attempt, two lists at a time, [`MAX_BODY`] at most.
pub fn upstream() -> reqwest::Result<Upstream> {
    Upstream::new(UpstreamConfig {
        concurrency: 2,
        timeout: Duration::from_secs(300),
        max_attempts: 3,
        backoff_base: Duration::from_millis(500),
        backoff_max: Duration::from_secs(10),
        max_body: MAX_BODY,
        ..UpstreamConfig::new("mapping source")
    })
}

/// Reads `location`; for a URL, `previous` validators make the request conditional.
pub async fn fetch(
    upstream: &Upstream,
    location: &str,
    previous: Option<&Validators>,
) -> Result<Fetched, SourceError> {
    let error = |reason: String| SourceError::Fetch { location: crate::config::redact_url(location), reason };
    if !(location.starts_with("http://") || location.starts_with("https://")) {
        let bytes = tokio::fs::read(location).await.map_err(|e| error(e.to_string()))?;
        return finish(bytes, Validators::default()).map_err(error);
    }
    let reply = upstream
        .send(|client| {
            let mut request = client.get(location);
            if let Some(previous) = previous {
                if let Some(etag) = &previous.etag {
                    request = request.header(header::IF_NONE_MATCH, etag);
                }
                if let Some(modified) = &previous.last_modified {
                    request = request.header(header::IF_MODIFIED_SINCE, modified);
                }
            }
            request
        })
        .await
        .map_err(|e| error(e.to_string()))?;
    if reply.status == StatusCode::NOT_MODIFIED {
        return Ok(Fetched::NotModified);
    }
    if !reply.status.is_success() {
        return Err(error(format!("HTTP {}", reply.status)));
    }
    let validators =
        Validators { etag: reply.header(header::ETAG), last_modified: reply.header(header::LAST_MODIFIED) };
    finish(reply.body.to_vec(), validators).map_err(error)
}

fn finish(bytes: Vec<u8>, validators: Validators) -> Result<Fetched, String> {
    let sha256 = hex(&Sha256::digest(&bytes));
    let bytes = decompress(bytes)?;
    Ok(Fetched::Body { bytes, sha256, validators })
}

/// Decompresses zstd content; anything else is returned as it is.
pub fn decompress(bytes: Vec<u8>) -> Result<Vec<u8>, String> {
    if !bytes.starts_with(&ZSTD_MAGIC) {
        return Ok(bytes);
    }
    let mut decoder =
        ruzstd::decoding::StreamingDecoder::new(bytes.as_slice()).map_err(|e| format!("bad zstd frame: {e}"))?;
    let mut out = Vec::with_capacity(bytes.len() * 4);
    (&mut decoder)
        .take(MAX_BODY as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("zstd data is corrupt or truncated: {e}"))?;
    if out.len() > MAX_BODY {
        return Err(format!("decompressed body is above the {MAX_BODY}-byte limit"));
    }
    Ok(out)
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

