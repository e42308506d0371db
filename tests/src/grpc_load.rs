//! A lean gRPC load client for benchmarks: raw HTTP/2 (the `h2` crate tonic itself uses) with
//! requests encoded once up front and answers read but not decoded, so the client spends as
//! little of the machine's CPU as possible and the server's cost shows. Checks every answer's
//! `grpc-status`.

use std::{
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant},
};

use bytes::{BufMut as _, Bytes, BytesMut};
use http::{Request, header::HeaderValue};

/// What a load run measured.
#[derive(Clone, Debug)]
pub struct LoadReport {
    /// Calls completed with grpc-status 0.
    pub ok: usize,
    /// Calls that failed (transport or non-zero status).
    pub failed: usize,
    /// Wall time.
    pub seconds: f64,
    /// Latency percentiles in milliseconds: p50, p99.
    pub p50_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
}

/// Frames a protobuf message as a gRPC message (no compression).
pub fn frame(message: &impl prost::Message) -> Bytes {
    let encoded = message.encode_to_vec();
    let mut out = BytesMut::with_capacity(encoded.len() + 5);
    out.put_u8(0);
    out.put_u32(encoded.len() as u32);
    out.extend_from_slice(&encoded);
    out.freeze()
}

/// Sends `bodies` (cycled) to `path` on `addr` from `in_flight` tasks over `connections` HTTP/2
/// connections for `duration`.
pub async fn run(
    addr: SocketAddr,
    path: &str,
    api_key: Option<&str>,
    bodies: Arc<Vec<Bytes>>,
    connections: usize,
    in_flight: usize,
    duration: Duration,
) -> LoadReport {
    let mut senders = Vec::new();
    for _ in 0..connections.max(1) {
        let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
        tcp.set_nodelay(true).expect("nodelay");
        let (sender, connection) = h2::client::Builder::new()
            .initial_window_size(4 << 20)
            .initial_connection_window_size(16 << 20)
            .handshake::<_, Bytes>(tcp)
            .await
            .expect("h2 handshake");
        tokio::spawn(async move {
            let _ = connection.await;
        });
        senders.push(sender);
    }
    let uri: http::Uri = format!("http://{addr}{path}").parse().expect("uri");
    let auth = api_key.map(|key| HeaderValue::from_str(&format!("Bearer {key}")).expect("header"));
    let deadline = Instant::now() + duration;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..in_flight {
        let sender = senders[worker % senders.len()].clone();
        let (uri, auth, bodies) = (uri.clone(), auth.clone(), bodies.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut failed = 0;
            let mut n = worker;
            while Instant::now() < deadline {
                let at = Instant::now();
                let ok = call(sender.clone(), &uri, auth.as_ref(), bodies[n % bodies.len()].clone()).await;
                if ok {
                    latencies.push(at.elapsed().as_secs_f64() * 1000.0);
                } else {
                    failed += 1;
                }
                n += in_flight;
            }
            (latencies, failed)
        }));
    }
    let mut all = Vec::new();
    let mut failed = 0;
    for task in tasks {
        let (latencies, f) = task.await.expect("load task");
        all.extend(latencies);
        failed += f;
    }
    let seconds = started.elapsed().as_secs_f64();
    all.sort_by(f64::total_cmp);
    let pick = |p: f64| if all.is_empty() { f64::NAN } else { all[((all.len() - 1) as f64 * p).round() as usize] };
    LoadReport { ok: all.len(), failed, seconds, p50_ms: pick(0.5), p99_ms: pick(0.99) }
}

async fn call(
    sender: h2::client::SendRequest<Bytes>,
    uri: &http::Uri,
    auth: Option<&HeaderValue>,
    body: Bytes,
) -> bool {
    let Ok(mut sender) = sender.ready().await else { return false };
    let mut request = Request::post(uri.clone())
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(())
        .expect("request");
    if let Some(auth) = auth {
        request.headers_mut().insert("authorization", auth.clone());
    }
    let Ok((response, mut stream)) = sender.send_request(request, false) else { return false };
    if stream.send_data(body, true).is_err() {
        return false;
    }
    let Ok(response) = response.await else { return false };
    // A trailers-only answer (an error) carries grpc-status in its headers.
    if let Some(status) = response.headers().get("grpc-status") {
        return status == "0";
    }
    let mut body = response.into_body();
    while let Some(chunk) = body.data().await {
        let Ok(chunk) = chunk else { return false };
        let _ = body.flow_control().release_capacity(chunk.len());
    }
    matches!(body.trailers().await, Ok(Some(trailers)) if trailers.get("grpc-status").is_some_and(|s| s == "0"))
}
