//! The guard for URLs that users (not the operator) hand Medley: IPTV panels, media URLs,
//! sample sources, wiki and source APIs. Without it a user could make the server fetch its own
//! admin ports, the cloud metadata service or the private network (SSRF).
//!
//! - Only `http` and `https`, no credentials in the URL, a host required.
//! - Every address a host resolves to is checked (one blocked address refuses the URL): no
//!   loopback, private, link-local, CGNAT, multicast, broadcast, unspecified or "this network"
//!   address, IPv4 and IPv6, including IPv4 written in decimal, octal or hex (the `url` crate
//!   normalises those) and IPv4 embedded in IPv6 (mapped, compatible, NAT64, 6to4). Addresses
//!   and host names in `MEDLEY_OUTBOUND_ALLOW` (CIDRs, names) are let through; tests and local
//!   setups allow loopback there.
//! - The check runs inside the HTTP client's resolver, so the address connected to is the one
//!   checked (no DNS rebinding between check and connect); each redirect is checked the same
//!   way (literal addresses in the redirect policy, names in the resolver), at most 5.
//! - Size and time limits are the upstream's ([`super::UpstreamConfig`]).

use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    sync::Arc,
};

/// What a [`Lookup`] answers (reqwest's resolver types, so a lookup plugs into the client).
pub use reqwest::dns::{Addrs, Resolving};
use reqwest::dns::{Name, Resolve};
use url::{Host, Url};

/// Redirects followed at most.
const MAX_REDIRECTS: usize = 5;

/// Why a URL is refused; the text is the field violation's description.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Not a URL.
    #[error("is not a URL: {0}")]
    Malformed(String),
    /// Not http or https.
    #[error("must be an http or https URL, not {0}")]
    Scheme(String),
    /// `user:password@` in the URL.
    #[error("must not carry credentials (user:password@); give them in their own fields")]
    Credentials,
    /// No host.
    #[error("has no host")]
    NoHost,
    /// The host does not resolve.
    #[error("host {host} does not resolve: {reason}")]
    Unresolved { host: String, reason: String },
    /// An address the server must not reach.
    #[error("points to {addr}, a {kind} address the server does not call")]
    Blocked { addr: IpAddr, kind: &'static str },
}

/// What may be reached despite the rules (`MEDLEY_OUTBOUND_ALLOW`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Allow {
    nets: Vec<(IpAddr, u8)>,
    hosts: Vec<String>,
}

impl Allow {
    /// Parses a comma-separated list of CIDRs (`127.0.0.0/8`, `::1/128`), addresses and host
    /// names.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut allow = Self::default();
        for item in text.split(',').map(str::trim).filter(|item| !item.is_empty()) {
            let (addr, prefix) = item.split_once('/').map_or((item, None), |(a, p)| (a, Some(p)));
            match addr.parse::<IpAddr>() {
                Ok(ip) => {
                    let max = if ip.is_ipv4() { 32 } else { 128 };
                    let prefix = match prefix {
                        None => max,
                        Some(p) => {
                            p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(|| format!("{item}: bad prefix"))?
                        }
                    };
                    allow.nets.push((ip, prefix));
                }
                Err(_) if prefix.is_none() && !item.contains(['/', ':', ' ']) => {
                    allow.hosts.push(item.to_ascii_lowercase())
                }
                Err(_) => return Err(format!("{item}: not a CIDR, an address or a host name")),
            }
        }
        Ok(allow)
    }

    fn host(&self, host: &str) -> bool {
        self.hosts.iter().any(|allowed| allowed.eq_ignore_ascii_case(host))
    }

    fn addr(&self, addr: IpAddr) -> bool {
        self.nets.iter().any(|(net, prefix)| in_net(addr, *net, *prefix))
    }
}

fn in_net(addr: IpAddr, net: IpAddr, prefix: u8) -> bool {
    match (addr, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

/// What kind of address the server must not call, if `addr` is one.
pub fn forbidden_kind(addr: IpAddr) -> Option<&'static str> {
    match addr {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => forbidden_v6(v6),
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    Some(match () {
        () if ip.is_unspecified() || a == 0 => "unspecified (this network)",
        () if ip.is_loopback() => "loopback",
        () if ip.is_private() => "private",
        () if ip.is_link_local() => "link-local",
        () if a == 100 && (64..128).contains(&b) => "CGNAT (shared)",
        () if ip.is_multicast() => "multicast",
        () if ip.is_broadcast() || a >= 240 => "reserved",
        () if a == 192 && b == 0 && ip.octets()[2] == 0 => "IETF protocol",
        () if (a == 198 && (18..20).contains(&b)) => "benchmarking",
        _ => return None,
    })
}

fn forbidden_v6(ip: Ipv6Addr) -> Option<&'static str> {
    if let Some(v4) = embedded_v4(ip) {
        return forbidden_v4(v4);
    }
    let first = ip.segments()[0];
    Some(match () {
        () if ip.is_unspecified() => "unspecified",
        () if ip.is_loopback() => "loopback",
        () if first & 0xfe00 == 0xfc00 => "private (unique local)",
        () if first & 0xffc0 == 0xfe80 => "link-local",
        () if first & 0xffc0 == 0xfec0 => "site-local",
        () if ip.is_multicast() => "multicast",
        _ => return None,
    })
}

/// The IPv4 address inside an IPv6 one: mapped (`::ffff:a.b.c.d`), compatible (`::a.b.c.d`),
/// NAT64 (`64:ff9b::a.b.c.d`) or 6to4 (`2002:aabb:ccdd::`).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let tail = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    match s {
        [0, 0, 0, 0, 0, 0xffff, _, _] => Some(tail),
        [0, 0, 0, 0, 0, 0, _, _] if !ip.is_loopback() && !ip.is_unspecified() => Some(tail),
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] => Some(tail),
        [0x2002, hi, lo, ..] => Some(Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8)),
        _ => None,
    }
}

/// Looks host names up (the system resolver, or a fixed table in tests).
pub trait Lookup: Send + Sync + 'static {
    /// The addresses of `host`.
    fn lookup(&self, host: &str) -> Resolving;
}

/// The system resolver.
#[derive(Debug, Default)]
pub struct SystemLookup;

impl Lookup for SystemLookup {
    fn lookup(&self, host: &str) -> Resolving {
        let host = host.to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// Checks user-given URLs and makes HTTP clients that can only reach what passes.
#[derive(Clone)]
pub struct UrlGuard {
    allow: Arc<Allow>,
    lookup: Arc<dyn Lookup>,
}

impl std::fmt::Debug for UrlGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UrlGuard").field("allow", &self.allow).finish()
    }
}

impl UrlGuard {
    /// A guard letting `allow` through, looking names up with `lookup`.
    pub fn new(allow: Allow, lookup: Arc<dyn Lookup>) -> Self {
        Self { allow: Arc::new(allow), lookup }
    }

    /// Checks `text` as a URL a user gave: its form, and every address its host resolves to.
    /// Returns the parsed URL; the refusal says why, for a field violation.
    pub async fn vet(&self, text: &str) -> Result<Url, Refusal> {
        let url = Url::parse(text.trim()).map_err(|e| Refusal::Malformed(e.to_string()))?;
        self.check_form(&url)?;
        if let Some(Host::Domain(host)) = url.host() {
            self.resolve_checked(host).await?;
        }
        Ok(url)
    }

    /// The checks that need no lookup: scheme, credentials, host, a literal address.
    fn check_form(&self, url: &Url) -> Result<(), Refusal> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Refusal::Scheme(url.scheme().to_owned()));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Refusal::Credentials);
        }
        match url.host() {
            None => Err(Refusal::NoHost),
            Some(Host::Domain(_)) => Ok(()),
            Some(Host::Ipv4(v4)) => self.check_addr(IpAddr::V4(v4)),
            Some(Host::Ipv6(v6)) => self.check_addr(IpAddr::V6(v6)),
        }
    }

    fn check_addr(&self, addr: IpAddr) -> Result<(), Refusal> {
        if self.allow.addr(addr) {
            return Ok(());
        }
        match forbidden_kind(addr) {
            Some(kind) => Err(Refusal::Blocked { addr, kind }),
            None => Ok(()),
        }
    }

    async fn resolve_checked(&self, host: &str) -> Result<Vec<SocketAddr>, Refusal> {
        let unresolved = |reason: String| Refusal::Unresolved { host: host.to_owned(), reason };
        let addrs: Vec<SocketAddr> = self.lookup.lookup(host).await.map_err(|e| unresolved(e.to_string()))?.collect();
        if addrs.is_empty() {
            return Err(unresolved("no address".to_owned()));
        }
        if !self.allow.host(host) {
            for addr in &addrs {
                self.check_addr(addr.ip())?;
            }
        }
        Ok(addrs)
    }

    /// Applies the guard to an HTTP client: names resolve through the guard (the checked
    /// addresses are the ones connected to), redirects are checked hop by hop.
    pub fn apply(&self, builder: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
        let hops = self.clone();
        let policy = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= MAX_REDIRECTS {
                return attempt.error(format!("more than {MAX_REDIRECTS} redirects"));
            }
            match hops.check_form(attempt.url()) {
                Ok(()) => attempt.follow(),
                Err(refusal) => attempt.error(format!("redirect refused: the target {refusal}")),
            }
        });
        builder.dns_resolver(Arc::new(self.clone())).redirect(policy)
    }
}

impl Resolve for UrlGuard {
    fn resolve(&self, name: Name) -> Resolving {
        let guard = self.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs = guard.resolve_checked(&host).await.map_err(|refusal| refusal.to_string())?;
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_forbidden_range_is_caught_in_every_spelling() {
        let blocked = [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "224.0.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "::1",
            "::",
            "fc00::1",
            "fd12::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::",
        ];
        for addr in blocked {
            assert!(forbidden_kind(addr.parse().unwrap()).is_some(), "{addr} must be blocked");
        }
        for addr in ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111", "100.128.0.1", "172.32.0.1"] {
            assert_eq!(forbidden_kind(addr.parse().unwrap()), None, "{addr} is public");
        }
    }

    #[test]
    fn the_allow_list_takes_cidrs_addresses_and_names() {
        let allow = Allow::parse("127.0.0.0/8, ::1, panel.local").unwrap();
        assert!(allow.addr("127.3.4.5".parse().unwrap()));
        assert!(allow.addr("::1".parse().unwrap()));
        assert!(!allow.addr("10.0.0.1".parse().unwrap()));
        assert!(allow.host("PANEL.local"));
        assert!(Allow::parse("10.0.0.0/33").is_err());
        assert!(Allow::parse("not a host/8").is_err());
    }
}
