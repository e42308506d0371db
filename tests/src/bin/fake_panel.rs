//! A fake Xtream Codes panel as a process, for trying playlists by hand: the reference
//! catalog of `tests/fixtures/xtream/` (classic or XUI family), or a generated one.
//!
//! ```sh
//! cargo run -p medley-tests --bin fake-panel -- [classic|xui] [SECONDS] [LIVE VOD SERIES]
//! ```
//!
//! Prints the panel's URL and the active account's user name and password, then serves for
//! SECONDS (default 600) and exits by itself. The server must be allowed to call loopback
//! addresses: `MEDLEY_OUTBOUND_ALLOW=127.0.0.0/8`.

use std::time::Duration;

use medley_tests::fake_xtream::{FakePanel, Family, PASSWORD, USERNAME, generated_catalog};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let family = if args.first().is_some_and(|a| a == "xui") { Family::Xui } else { Family::Classic };
    let seconds: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(600);
    let sizes: Vec<usize> = args.iter().skip(2).filter_map(|a| a.parse().ok()).collect();
    let panel = FakePanel::start(family).await;
    if let [live, vod, series] = sizes[..] {
        generated_catalog(&panel, live, vod, series);
    }
    println!("PANEL_URL={}", panel.url());
    println!("PANEL_USERNAME={USERNAME}");
    println!("MEDLEY_PLAYLIST_PASSWORD={PASSWORD}");
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    eprintln!("fake-panel: {} requests", panel.seen().len());
}
