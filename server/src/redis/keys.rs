//! Every Redis key and pub/sub channel Medley uses is built here, under the configured prefix
//! (`MEDLEY_REDIS_PREFIX`), so two deployments — or two tests — sharing one Redis never touch
//! each other's data, and a prefix can be wiped with one `SCAN MATCH prefix:*`.
//!
//! Layout: `{prefix}:{namespace}:{id...}`. Namespaces are listed in [`Namespace`].

/// The areas of the key space. Adding a namespace here is the only way to add a key shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Namespace {
    /// Liveness marks of server instances (`instance:{id}`).
    Instance,
    /// Pub/sub channels of the progress hub (`events:{topic}`).
    Events,
    /// The mapping cache: `mapping:k:{platform}:{key}` → record id, `mapping:r:{id}` → encoded
    /// record, `mapping:epoch` (bumped by every publishing run).
    Mapping,
    /// Send times of recent requests to a rate-limited upstream account
    /// (`ratelimit:{upstream}`), shared by every worker.
    RateLimit,
    /// Panel details of playlist items, cached with a TTL
    /// (`playlist:{playlist}:{vod|series}:{id}` → encoded details).
    Playlist,
}

impl Namespace {
    fn as_str(self) -> &'static str {
        match self {
            Self::Instance => "instance",
            Self::Events => "events",
            Self::Mapping => "mapping",
            Self::RateLimit => "ratelimit",
            Self::Playlist => "playlist",
        }
    }
}

/// The topics of the progress hub (each the channel `{prefix}:events:{topic}`). Adding a topic
/// here is the only way to add one, so every event channel is listed in one place.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Topic {
    /// Every job change: an encoded job snapshot.
    Jobs,
    /// Counter updates of catalog import runs: an encoded `runs::RunProgress`.
    Imports,
    /// "The mapping data changed" announcements (empty payload): caches clear.
    Mapping,
    /// Section updates of playlist sync runs: an encoded `runs::RunProgress`.
    PlaylistSyncs,
}

impl Topic {
    /// Every topic.
    pub const ALL: [Topic; 4] = [Topic::Jobs, Topic::Imports, Topic::Mapping, Topic::PlaylistSyncs];

    /// The topic's name in its channel.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Jobs => "jobs",
            Self::Imports => "imports",
            Self::Mapping => "mapping",
            Self::PlaylistSyncs => "playlist-syncs",
        }
    }

    /// The topic named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|topic| topic.as_str() == name)
    }
}

/// Builds keys under one prefix.
#[derive(Clone, Debug)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    /// Uses `prefix` (already validated by the configuration) for every key.
    pub fn new(prefix: impl Into<String>) -> Self {
        Self { prefix: prefix.into() }
    }

    /// Returns the prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Returns the `SCAN MATCH` pattern of every key under this prefix.
    pub fn all_pattern(&self) -> String {
        format!("{}:*", self.prefix)
    }

    /// Returns the liveness key of a server instance.
    pub fn instance(&self, instance_id: &str) -> String {
        self.key(Namespace::Instance, &[instance_id])
    }

    /// Returns the cache key of a playlist item's panel details (`kind` is `vod` or `series`).
    pub fn playlist_details(&self, playlist: i64, kind: &str, item: &str) -> String {
        self.key(Namespace::Playlist, &[&playlist.to_string(), kind, item])
    }

    /// Returns the pub/sub channel of an event topic.
    pub fn events(&self, topic: Topic) -> String {
        self.key(Namespace::Events, &[topic.as_str()])
    }

    /// Returns the pattern matching every event channel.
    pub fn events_pattern(&self) -> String {
        self.key(Namespace::Events, &["*"])
    }

    /// Returns the cache key of a mapping lookup key (tier 1: → record id).
    pub fn mapping_key(&self, platform: i16, key: &str) -> String {
        self.key(Namespace::Mapping, &["k", &platform.to_string(), key])
    }

    /// Returns the prefix of cached mapping records; the record id follows (tier 2).
    pub fn mapping_record_prefix(&self) -> String {
        self.key(Namespace::Mapping, &["r", ""])
    }

    /// Returns the cache key of a mapping record.
    pub fn mapping_record(&self, id: i64) -> String {
        self.key(Namespace::Mapping, &["r", &id.to_string()])
    }

    /// Returns the key of the mapping cache epoch.
    pub fn mapping_epoch(&self) -> String {
        self.key(Namespace::Mapping, &["epoch"])
    }

    /// Returns the key of the shared rate limit of one upstream account (e.g. `shikimori`).
    pub fn rate_limit(&self, upstream: &str) -> String {
        self.key(Namespace::RateLimit, &[upstream])
    }

    /// Returns the topic of an event channel of this prefix.
    pub fn event_topic(&self, channel: &str) -> Option<Topic> {
        Topic::parse(channel.strip_prefix(&self.prefix)?.strip_prefix(":events:")?)
    }

    fn key(&self, namespace: Namespace, parts: &[&str]) -> String {
        let mut key = format!("{}:{}", self.prefix, namespace.as_str());
        for part in parts {
            key.push(':');
            key.push_str(part);
        }
        key
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_of_different_prefixes_never_collide() {
        let a = Keys::new("a");
        let b = Keys::new("ab");
        assert_eq!(a.instance("x"), "a:instance:x");
        assert!(!b.instance("x").starts_with(&format!("{}:", a.prefix())));
        assert_eq!(a.all_pattern(), "a:*");
        assert_eq!(a.event_topic(&a.events(Topic::Jobs)), Some(Topic::Jobs));
        assert_eq!(a.event_topic(&b.events(Topic::Jobs)), None);
        assert_eq!(a.event_topic("a:events:nope"), None);
    }
}
