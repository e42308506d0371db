//! Object storage on the local-directory backend: a 100 MiB object streamed in with flat memory,
//! ranged and streamed reads, no pre-signed URLs (the store cannot sign), delete, bad keys.

use bytes::Bytes;
use medley_server::storage::{Storage, StorageError};
use tokio_stream::{self as stream, StreamExt as _};

const MIB: usize = 1 << 20;

/// The peak resident memory of this process so far (nextest runs each test in its own process).
fn peak_rss_mib() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).expect("VmHWM");
    line.split_whitespace().nth(1).and_then(|kb| kb.parse::<usize>().ok()).expect("kB") / 1024
}

/// Chunk `i` of a deterministic object: 1 MiB of a byte pattern that differs per chunk.
fn chunk(i: usize) -> Bytes {
    Bytes::from((0..MIB).map(|j| ((i * 31 + j * 7) % 251) as u8).collect::<Vec<u8>>())
}

#[tokio::test]
async fn a_large_object_streams_in_and_out_with_flat_memory() {
    let root = std::env::temp_dir().join(format!("medley-storage-{}", uuid::Uuid::new_v4().simple()));
    let storage = Storage::local(&root).expect("local store");
    let before = peak_rss_mib();
    // 100 MiB produced chunk by chunk: never more than a few parts in memory.
    let data = stream::iter((0..100).map(|i| Ok::<_, std::io::Error>(chunk(i))));
    let size = storage.put_stream("samples/big.bin", data).await.expect("put");
    assert_eq!(size, 100 * MIB as u64);
    let grown = peak_rss_mib().saturating_sub(before);
    assert!(grown < 60, "the put held {grown} MiB at its peak");
    assert_eq!(storage.size("samples/big.bin").await.expect("size"), 100 * MIB as u64);

    // A ranged read across a chunk boundary.
    let range = storage.get_range("samples/big.bin", (MIB as u64 - 3)..(MIB as u64 + 5)).await.expect("range");
    let mut expected = chunk(0)[MIB - 3..].to_vec();
    expected.extend_from_slice(&chunk(1)[..5]);
    assert_eq!(range.as_ref(), expected.as_slice());

    // The whole object streams back identical, byte for byte.
    let mut read = std::pin::pin!(storage.get_stream("samples/big.bin").await.expect("get"));
    let mut offset = 0;
    while let Some(piece) = read.next().await {
        let piece = piece.expect("piece");
        for (k, byte) in piece.iter().enumerate() {
            let (i, j) = ((offset + k) / MIB, (offset + k) % MIB);
            assert_eq!(*byte, ((i * 31 + j * 7) % 251) as u8, "byte {}", offset + k);
        }
        offset += piece.len();
    }
    assert_eq!(offset, 100 * MIB);

    // A local store signs no URL: callers stream the object themselves.
    assert_eq!(storage.presigned_get("samples/big.bin", std::time::Duration::from_secs(60)).await.expect("sign"), None);

    storage.delete("samples/big.bin").await.expect("delete");
    storage.delete("samples/big.bin").await.expect("deleting twice is harmless");
    assert!(matches!(storage.size("samples/big.bin").await, Err(StorageError::NotFound(_))));
    let _ = std::fs::remove_dir_all(root);
}

#[tokio::test]
async fn a_failed_source_leaves_no_object_and_bad_keys_are_refused() {
    let root = std::env::temp_dir().join(format!("medley-storage-{}", uuid::Uuid::new_v4().simple()));
    let storage = Storage::local(&root).expect("local store");
    let broken = stream::iter(vec![Ok(chunk(0)), Err(std::io::Error::other("client went away"))]);
    let error = storage.put_stream("uploads/cut.bin", broken).await.expect_err("the source failed");
    assert!(matches!(error, StorageError::Source(_)), "{error}");
    assert!(matches!(storage.size("uploads/cut.bin").await, Err(StorageError::NotFound(_))));
    for key in ["", "../escape", "a//b"] {
        assert!(matches!(storage.put(key, Bytes::from_static(b"x")).await, Err(StorageError::BadKey(..))), "{key:?}");
    }
    let _ = std::fs::remove_dir_all(root);
}

/// A moto_server (an S3-compatible server from PyPI) on a free loopback port, stopped on drop.
struct Moto {
    child: std::process::Child,
    port: u16,
}

impl Moto {
    fn binary() -> std::path::PathBuf {
        let candidates = [
            std::env::var("MEDLEY_TEST_MOTO_SERVER").ok().map(std::path::PathBuf::from),
            Some(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.ci/tools/moto/bin/moto_server")),
        ];
        candidates.into_iter().flatten().find(|path| path.exists()).unwrap_or_else(|| {
            panic!("the S3 tests need moto_server: `bash .ci/install-moto` (or pip install 'moto[server]' and set MEDLEY_TEST_MOTO_SERVER)")
        })
    }

    async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("addr").port();
        let child = std::process::Command::new(Self::binary())
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("moto_server starts");
        let moto = Self { child, port };
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                return moto;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("moto_server did not listen on {port}");
    }

    fn addr(&self) -> std::net::SocketAddr {
        std::net::SocketAddr::from(([127, 0, 0, 1], self.port))
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn s3_stores_stream_in_flat_sign_urls_that_work_over_http_and_delete() {
    use medley_tests::http::request;
    let moto = Moto::start().await;
    let created = request(moto.addr(), "PUT", "/medley-test", &[], b"").await;
    assert_eq!(created.status, 200, "create bucket: {}", created.text());
    let mut config = medley_tests::TestServer::builder().prepare().await.0.platform;
    config.storage_url = "s3://medley-test/objects".to_owned();
    config.s3_endpoint = format!("http://{}", moto.addr());
    config.s3_access_key_id = "test".to_owned();
    config.s3_secret_access_key = secrecy::SecretString::from("test");
    let storage = Storage::from_config(&config).expect("s3 store");
    assert_eq!(storage.describe(), "s3://medley-test/objects");

    let before = peak_rss_mib();
    let data = stream::iter((0..100).map(|i| Ok::<_, std::io::Error>(chunk(i))));
    assert_eq!(storage.put_stream("samples/big.bin", data).await.expect("put"), 100 * MIB as u64);
    let grown = peak_rss_mib().saturating_sub(before);
    assert!(grown < 80, "the multipart put held {grown} MiB at its peak");
    assert_eq!(storage.size("samples/big.bin").await.expect("size"), 100 * MIB as u64);
    let range = storage.get_range("samples/big.bin", (MIB as u64 - 3)..(MIB as u64 + 5)).await.expect("range");
    let mut expected = chunk(0)[MIB - 3..].to_vec();
    expected.extend_from_slice(&chunk(1)[..5]);
    assert_eq!(range.as_ref(), expected.as_slice());

    // A pre-signed URL works for anyone, over plain HTTP, without the credentials.
    storage.put("samples/small.txt", Bytes::from_static(b"hello from s3")).await.expect("small put");
    let url = storage.presigned_get("samples/small.txt", std::time::Duration::from_secs(300)).await.expect("sign");
    let url = url.expect("S3 signs URLs");
    let path = format!("{}?{}", url.path(), url.query().unwrap_or_default());
    let fetched = request(moto.addr(), "GET", &path, &[], b"").await;
    assert_eq!((fetched.status, fetched.text()), (200, "hello from s3".to_owned()));

    storage.delete("samples/big.bin").await.expect("delete");
    storage.delete("samples/big.bin").await.expect("deleting twice is harmless");
    assert!(matches!(storage.size("samples/big.bin").await, Err(StorageError::NotFound(_))));
}
