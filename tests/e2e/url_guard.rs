//! The outbound URL guard against hostile URLs: every spelling of a forbidden address, names
//! that resolve to one (through a resolver override), redirects to the metadata service, DNS
//! rebinding between the check and the connection, and the allow-list.

use std::{
    collections::HashMap,
    net::{IpAddr, SocketAddr},
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
};

use medley_server::outbound::{
    Allow, Refusal, Upstream, UpstreamConfig, UrlGuard,
    url_guard::{Addrs, Lookup, Resolving},
};
use medley_tests::{FakeSource, Reply};

/// A resolver override: fixed answers per name; a name with two answers gives the first once,
/// then the second (a rebinding attacker's DNS).
#[derive(Default)]
struct Table {
    answers: Mutex<HashMap<String, Vec<Vec<IpAddr>>>>,
    calls: AtomicUsize,
}

impl Table {
    fn with(self, host: &str, answers: &[&[&str]]) -> Self {
        let parsed = answers.iter().map(|a| a.iter().map(|ip| ip.parse().expect("ip")).collect()).collect();
        self.answers.lock().expect("lock").insert(host.to_owned(), parsed);
        self
    }
}

impl Lookup for Table {
    fn lookup(&self, host: &str) -> Resolving {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let mut answers = self.answers.lock().expect("lock");
        let found = answers.get_mut(host).map(|list| if list.len() > 1 { list.remove(0) } else { list[0].clone() });
        Box::pin(async move {
            let ips = found.ok_or("no such host")?;
            Ok(Box::new(ips.into_iter().map(|ip| SocketAddr::new(ip, 0)).collect::<Vec<_>>().into_iter()) as Addrs)
        })
    }
}

fn guard(allow: &str, table: Table) -> UrlGuard {
    UrlGuard::new(Allow::parse(allow).expect("allow list"), Arc::new(table))
}

#[tokio::test]
async fn hostile_urls_are_refused_with_the_reason() {
    let table = Table::default()
        .with("evil.test", &[&["127.0.0.1"]])
        .with("mixed.test", &[&["93.184.216.34", "10.0.0.7"]])
        .with("metadata.test", &[&["169.254.169.254"]])
        .with("v6.test", &[&["::ffff:192.168.0.1"]])
        .with("public.test", &[&["93.184.216.34"]]);
    let guard = guard("", table);
    let cases: [(&str, &str); 15] = [
        ("http://2130706433/", "loopback"),
        ("http://0177.0.0.1/", "loopback"),
        ("http://0x7f.0.0.1/", "loopback"),
        ("http://127.1/", "loopback"),
        ("http://[::ffff:127.0.0.1]/", "loopback"),
        ("http://[::1]:8080/", "loopback"),
        ("http://0.0.0.0/", "unspecified"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://[fd00::1]/", "private"),
        ("http://evil.test/", "loopback"),
        ("http://mixed.test/", "private"),
        ("http://v6.test/", "private"),
        ("ftp://public.test/file", "http or https"),
        ("http://user:secret@public.test/", "credentials"),
        ("http://nowhere.test/", "does not resolve"),
    ];
    for (url, why) in cases {
        let refusal = guard.vet(url).await.expect_err(url);
        assert!(refusal.to_string().contains(why), "{url}: {refusal}");
    }
    assert!(matches!(guard.vet("not a url").await, Err(Refusal::Malformed(_))));
    assert!(matches!(guard.vet("file:///etc/passwd").await, Err(Refusal::Scheme(_))));
    assert_eq!(guard.vet("https://public.test/list").await.expect("public").host_str(), Some("public.test"));
}

#[tokio::test]
async fn the_allow_list_lets_local_setups_through_by_address_or_name() {
    let table = Table::default().with("panel.local", &[&["192.168.1.20"]]);
    let guard = guard("127.0.0.0/8,panel.local", table);
    guard.vet("http://127.0.0.1:8080/").await.expect("allowed CIDR");
    guard.vet("http://panel.local/player_api.php").await.expect("allowed name");
    assert!(guard.vet("http://10.0.0.1/").await.is_err(), "only what is listed");
}

#[tokio::test]
async fn redirects_are_checked_hop_by_hop_and_rebinding_is_caught_at_connect() {
    let fake = FakeSource::start().await;
    fake.set("/to-metadata", Reply::Redirect("http://169.254.169.254/latest/meta-data/".to_owned()));
    fake.set("/to-name", Reply::Redirect("http://internal.test/admin".to_owned()));
    fake.set("/ok", Reply::Body { body: b"fine".to_vec(), etag: "\"1\"".to_owned() });
    let port = fake.url("/").trim_start_matches("http://127.0.0.1:").trim_end_matches('/').to_owned();
    let table = Table::default()
        .with("internal.test", &[&["10.1.2.3"]])
        // Public when checked, loopback when the client connects.
        .with("flip.test", &[&["93.184.216.34"], &["127.0.0.2"]]);
    // The fake listens on 127.0.0.1: allowed, 127.0.0.2 is not.
    let guard = guard("127.0.0.1/32", table);
    let upstream = Upstream::guarded(UpstreamConfig { max_attempts: 1, ..UpstreamConfig::new("user url") }, &guard)
        .expect("client");

    let ok = upstream.send(|client| client.get(fake.url("/ok"))).await.expect("allowed");
    assert_eq!(ok.body.as_ref(), b"fine");
    for (path, why) in [("/to-metadata", "link-local"), ("/to-name", "private")] {
        let error = upstream.send(|client| client.get(fake.url(path))).await.expect_err(path).to_string();
        assert!(error.contains(why), "{path}: {error}");
    }
    // DNS rebinding: the check passes, the connection would go to loopback, and is refused
    // because the client resolves through the guard.
    let url = format!("http://flip.test:{port}/ok");
    guard.vet(&url).await.expect("public when checked");
    let error = upstream.send(|client| client.get(&url)).await.expect_err("rebinding").to_string();
    assert!(error.contains("loopback"), "{error}");
}
