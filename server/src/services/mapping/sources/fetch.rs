//! Reading a source location: a file, or a URL with a conditional GET. Bodies compressed with
//! zstd (by magic number, whatever the name) are decompressed here.
//!
//! A URL answered with 304 gives no body: the pipeline uses the copy it stored with the last
//! successful run. Transport errors, non-2xx answers, and bodies above [`MAX_BODY`] are
//! errors naming the location.

use std::{io::Read as _, time::Duration};

use reqwest::{StatusCode, header};
use sha2::{Digest, Sha256};

use super::SourceError;

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

/// Builds the HTTP client used for sources.
pub fn http_client() -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .user_agent(concat!("medley/", env!("CARGO_PKG_VERSION"), " (+https://github.com/medley)"))
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(300))
        .build()
}

/// Reads `location`; for a URL, `previous` validators make the request conditional.
pub async fn fetch(
    client: &reqwest::Client,
    location: &str,
    previous: Option<&Validators>,
) -> Result<Fetched, SourceError> {
    let error = |reason: String| SourceError::Fetch { location: crate::config::redact_url(location), reason };
    if !(location.starts_with("http://") || location.starts_with("https://")) {
        let bytes = tokio::fs::read(location).await.map_err(|e| error(e.to_string()))?;
        return finish(bytes, Validators::default()).map_err(error);
    }
    let mut request = client.get(location);
    if let Some(previous) = previous {
        if let Some(etag) = &previous.etag {
            request = request.header(header::IF_NONE_MATCH, etag);
        }
        if let Some(modified) = &previous.last_modified {
            request = request.header(header::IF_MODIFIED_SINCE, modified);
        }
    }
    let response = request.send().await.map_err(|e| error(crate::outbound::describe(e)))?;
    let status = response.status();
    if status == StatusCode::NOT_MODIFIED {
        return Ok(Fetched::NotModified);
    }
    if !status.is_success() {
        return Err(error(format!("HTTP {status}")));
    }
    let text_header =
        |name| response.headers().get(name).and_then(|v: &header::HeaderValue| v.to_str().ok()).map(str::to_owned);
    let validators = Validators { etag: text_header(header::ETAG), last_modified: text_header(header::LAST_MODIFIED) };
    if let Some(length) = response.content_length()
        && length > MAX_BODY as u64
    {
        return Err(error(format!("body of {length} bytes is above the {MAX_BODY}-byte limit")));
    }
    let expected = response.content_length();
    let bytes = response.bytes().await.map_err(|e| error(format!("body cut off: {}", crate::outbound::describe(e))))?;
    if let Some(expected) = expected
        && expected != bytes.len() as u64
    {
        return Err(error(format!("body cut off: {} of {expected} bytes", bytes.len())));
    }
    finish(bytes.to_vec(), validators).map_err(error)
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

