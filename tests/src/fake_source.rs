//! A fake HTTP server for mapping sources: serves bodies with ETags, answers 304 to a matching
//! `If-None-Match`, and can misbehave like real hosts do (error statuses, bodies cut off
//! mid-transfer). A raw socket server, so a truncated body is really truncated on the wire.

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, Mutex},
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
};

/// How a path answers.
#[derive(Clone, Debug)]
pub enum Reply {
    /// 200 with this body and ETag (304 when the request's If-None-Match matches).
    Body { body: Vec<u8>, etag: String },
    /// Announces the whole body's length, sends half of it, and closes.
    Truncated { body: Vec<u8> },
    /// An error status with a short HTML body.
    Status(u16),
    /// 302 to this location.
    Redirect(String),
}

/// A request the server saw: path and If-None-Match.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seen {
    /// Request path.
    pub path: String,
    /// The If-None-Match header, if sent.
    pub if_none_match: Option<String>,
    /// The status answered.
    pub status: u16,
}

#[derive(Default)]
struct Inner {
    replies: HashMap<String, Reply>,
    seen: Vec<Seen>,
}

/// The running fake.
#[derive(Clone)]
pub struct FakeSource {
    addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
    /// True while answers are held (see [`FakeSource::hold`]).
    held: Arc<tokio::sync::watch::Sender<bool>>,
}

impl FakeSource {
    /// Starts the server on a free port.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind fake source");
        let addr = listener.local_addr().expect("address");
        let inner: Arc<Mutex<Inner>> = Arc::default();
        let shared = inner.clone();
        let held = Arc::new(tokio::sync::watch::Sender::new(false));
        let gate = held.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let shared = shared.clone();
                let mut gate = gate.subscribe();
                tokio::spawn(async move {
                    let mut buffer = Vec::new();
                    let mut chunk = [0_u8; 4096];
                    while !buffer.windows(4).any(|w| w == b"\r\n\r\n") {
                        match socket.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&buffer).into_owned();
                    let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
                    let if_none_match = head
                        .lines()
                        .find_map(|l| l.split_once(':').filter(|(n, _)| n.eq_ignore_ascii_case("if-none-match")))
                        .map(|(_, v)| v.trim().to_owned());
                    let _ = gate.wait_for(|held| !held).await;
                    let reply = shared.lock().unwrap().replies.get(&path).cloned().unwrap_or(Reply::Status(404));
                    let (status, bytes) = render(&reply, if_none_match.as_deref());
                    shared.lock().unwrap().seen.push(Seen { path, if_none_match, status });
                    let _ = socket.write_all(&bytes).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        Self { addr, inner, held }
    }

    /// Holds every answer (requests are read, nothing is sent) until [`FakeSource::release`]:
    /// a slow upstream, for acting while a run is fetching.
    pub fn hold(&self) {
        self.held.send_replace(true);
    }

    /// Sends the held answers and answers at once again.
    pub fn release(&self) {
        self.held.send_replace(false);
    }

    /// Sets how `path` answers.
    pub fn set(&self, path: &str, reply: Reply) {
        self.inner.lock().unwrap().replies.insert(path.to_owned(), reply);
    }

    /// Returns the URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Returns and forgets the requests seen so far.
    pub fn take_seen(&self) -> Vec<Seen> {
        std::mem::take(&mut self.inner.lock().unwrap().seen)
    }
}

fn render(reply: &Reply, if_none_match: Option<&str>) -> (u16, Vec<u8>) {
    match reply {
        Reply::Body { etag, .. } if if_none_match == Some(etag.as_str()) => {
            (304, format!("HTTP/1.1 304 Not Modified\r\nETag: {etag}\r\nConnection: close\r\n\r\n").into_bytes())
        }
        Reply::Body { body, etag } => {
            let mut bytes = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nETag: {etag}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n",
                body.len()
            )
            .into_bytes();
            bytes.extend_from_slice(body);
            (200, bytes)
        }
        Reply::Truncated { body } => {
            let mut bytes =
                format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len()).into_bytes();
            bytes.extend_from_slice(&body[..body.len() / 2]);
            (200, bytes)
        }
        Reply::Redirect(location) => (
            302,
            format!("HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                .into_bytes(),
        ),
        Reply::Status(code) => {
            let body = "<html><body>upstream error</body></html>";
            let text = format!(
                "HTTP/1.1 {code} Error\r\nContent-Length: {}\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            (*code, text.into_bytes())
        }
    }
}
