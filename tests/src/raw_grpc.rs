//! One gRPC call with arbitrary bytes, over raw HTTP/2: for requests no typed client would
//! build (bytes that are not a valid message, frames larger than the client allows) and for
//! answers whose header sizes a test must see.

use std::net::SocketAddr;

use bytes::{BufMut as _, Bytes, BytesMut};

/// What the server answered.
#[derive(Debug)]
pub struct RawAnswer {
    /// `grpc-status` (0 when the call was still streaming when the answer was read).
    pub code: i32,
    /// `grpc-message`, percent-decoded.
    pub message: String,
    /// Bytes of every header and trailer name and value, as a C-core client counts them.
    pub header_bytes: usize,
}

/// Frames encoded message bytes as one gRPC message (no compression).
pub fn frame(message: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(message.len() + 5);
    out.put_u8(0);
    out.put_u32(u32::try_from(message.len()).expect("a message under 4 GiB"));
    out.extend_from_slice(message);
    out.freeze()
}

/// Calls `path` with `body` (framed messages) and reads the answer's status. For a
/// `server_streaming` method that answers with a stream, only its headers are read (code 0; the
/// stream is dropped).
pub async fn call(addr: SocketAddr, path: &str, api_key: &str, body: Bytes, server_streaming: bool) -> RawAnswer {
    let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let (sender, connection) = h2::client::handshake(tcp).await.expect("h2 handshake");
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let mut sender = sender.ready().await.expect("h2 ready");
    let request = http::Request::post(format!("http://{addr}{path}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .header("authorization", format!("Bearer {api_key}"))
        .body(())
        .expect("request");
    let (response, mut stream) = sender.send_request(request, false).expect("send request");
    // A server that answers before reading everything resets the stream; that is its right.
    let _ = stream.send_data(body, true);
    let response = response.await.expect("response headers");
    let mut header_bytes = size(response.headers());
    if response.headers().contains_key("grpc-status") {
        return answer(response.headers(), header_bytes);
    }
    if server_streaming {
        return RawAnswer { code: 0, message: String::new(), header_bytes };
    }
    let mut body = response.into_body();
    while let Some(chunk) = body.data().await {
        let Ok(chunk) = chunk else { break };
        let _ = body.flow_control().release_capacity(chunk.len());
    }
    let trailers = body.trailers().await.ok().flatten().unwrap_or_default();
    header_bytes += size(&trailers);
    answer(&trailers, header_bytes)
}

fn size(headers: &http::HeaderMap) -> usize {
    headers.iter().map(|(name, value)| name.as_str().len() + value.len()).sum()
}

fn answer(headers: &http::HeaderMap, header_bytes: usize) -> RawAnswer {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let code = text("grpc-status").parse().unwrap_or(-1);
    let message = percent_encoding::percent_decode_str(&text("grpc-message")).decode_utf8_lossy().into_owned();
    RawAnswer { code, message, header_bytes }
}
