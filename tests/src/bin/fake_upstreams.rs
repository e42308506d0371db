//! Fake Kodik and Shikimori servers as a process, for trying `medley catalog import` by hand
//! and for the CI smoke test: the reference payloads plus COUNT generated titles.
//!
//! ```sh
//! cargo run -p medley-tests --bin fake-upstreams -- [TOKEN] [COUNT] [SECONDS]
//! ```
//!
//! Prints `MEDLEY_KODIK_TOKEN=…`, `MEDLEY_KODIK_BASE_URL=…` and `MEDLEY_SHIKIMORI_BASE_URL=…`
//! lines (an env file for `medley catalog import`), then serves for SECONDS (default 600) and
//! exits by itself.

use std::time::Duration;

use medley_tests::fake_catalog::{
    FakeKodik, FakeShikimori, add_gen_anime, add_reference_anime, gen_catalog, reference_releases,
};

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let token = args.next().unwrap_or_else(|| "TEST_KODIK_TOKEN".to_owned());
    let count: i64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(50);
    let seconds: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(600);
    let (titles, mut releases) = gen_catalog(count);
    releases.extend(reference_releases());
    let kodik = FakeKodik::start(&token, releases).await;
    let shikimori = FakeShikimori::start().await;
    add_reference_anime(&shikimori);
    add_gen_anime(&shikimori, &titles);
    println!("MEDLEY_KODIK_TOKEN={token}");
    println!("MEDLEY_KODIK_BASE_URL={}", kodik.handle.url());
    println!("MEDLEY_SHIKIMORI_BASE_URL={}", shikimori.handle.url());
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    eprintln!(
        "fake-upstreams: {} Kodik and {} Shikimori requests, {} over Shikimori's limits",
        kodik.handle.seen().len(),
        shikimori.handle.seen().len(),
        shikimori.handle.violations()
    );
}
