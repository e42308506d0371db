//! From merged records to what is served: stable internal ids, the lookup keys, content hashes,
//! and the difference with what is served now.
//!
//! **Ids.** A merged record keeps the internal id of the served record it shares the most keys
//! with (ties: the lower id); each served id goes to one record at most, so a split keeps the
//! id on the larger part and a merge keeps one of the two. Records matching nothing get new ids.
//!
//! **Keys.** `(platform, key)` → record, unique by construction. Unique platforms: the id.
//! Attached platforms may hold one id on several records (a TV show's seasons), so each key is
//! given to one record by explicit rank: for a season key `{id}:{season}` the lowest episode
//! offset, then the lowest AniDB id, then the lowest internal id; for the bare `{id}` of a
//! seasonal platform season 1 first, then no season, then the lowest season (specials last).

use std::collections::{BTreeMap, HashMap};

use medley_sdk::pb::{self, Platform};
use prost::Message as _;
use sha2::{Digest, Sha256};

use super::{
    convert::platform_id_to_pb,
    merge::{MergedRecord, titles},
    platform::{PLATFORMS, is_unique},
    sources::SourceId,
};

/// A lookup key: platform number and key text.
pub type Key = (i16, String);

/// Returns the key text of an id, with its season when given.
pub fn key_text(id: &str, season: Option<i32>) -> String {
    match season {
        Some(season) => format!("{id}:{season}"),
        None => id.to_owned(),
    }
}

/// One record ready to be stored.
#[derive(Clone, Debug)]
pub struct FinalRecord {
    /// Internal id.
    pub id: i64,
    /// The record (without `update_time`, which the store sets).
    pub record: pb::MappingRecord,
    /// SHA-256 of the record's encoding.
    pub hash: Vec<u8>,
    /// Normalised titles and synonyms, for search.
    pub search_titles: Vec<(String, String)>,
}

/// What is served now.
#[derive(Debug, Default)]
pub struct Served {
    /// Every key.
    pub keys: HashMap<Key, i64>,
    /// Content hash of every record.
    pub hashes: HashMap<i64, Vec<u8>>,
}

/// The served ids each merged record may keep: `Some(id)`, or `None` for a new record.
pub fn assign_ids(records: &[MergedRecord], served: &Served) -> Vec<Option<i64>> {
    let mut votes: Vec<(usize, i64, usize)> = Vec::new();
    for (index, record) in records.iter().enumerate() {
        let mut counts: BTreeMap<i64, usize> = BTreeMap::new();
        for id in &record.ids {
            let platform = id.platform as i16;
            for key in [key_text(&id.id, None), key_text(&id.id, id.season)] {
                if let Some(&served_id) = served.keys.get(&(platform, key)) {
                    // Unique ids weigh more than shared ones.
                    let weight = if is_unique(id.platform) { 4 } else { 1 };
                    *counts.entry(served_id).or_default() += weight;
                }
            }
        }
        votes.extend(counts.into_iter().map(|(served_id, count)| (count, served_id, index)));
    }
    votes.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let mut assigned = vec![None; records.len()];
    let mut taken = std::collections::HashSet::new();
    for (_, served_id, index) in votes {
        if assigned[index].is_none() && taken.insert(served_id) {
            assigned[index] = Some(served_id);
        }
    }
    assigned
}

/// Builds the stored form of a merged record.
pub fn finalize(id: i64, merged: &MergedRecord) -> FinalRecord {
    let mut ids: Vec<pb::PlatformId> = Vec::with_capacity(merged.ids.len() + 1);
    for source in &merged.ids {
        ids.push(platform_id_to_pb(source));
        // Shikimori ids are MyAnimeList ids.
        if source.platform == Platform::Myanimelist {
            ids.push(platform_id_to_pb(&SourceId { platform: Platform::Shikimori, ..source.clone() }));
        }
    }
    ids.sort_by(|a, b| a.platform.cmp(&b.platform).then_with(|| a.season.cmp(&b.season)).then_with(|| a.id.cmp(&b.id)));
    let record = pb::MappingRecord {
        id,
        title: merged.title.clone(),
        r#type: merged.media_type.map_or(0, |t| t as i32),
        year: merged.year,
        season: merged.season.map_or(0, |s| s as i32),
        episodes: merged.episodes,
        synonyms: merged.synonyms.clone(),
        ids,
        update_time: None,
    };
    let hash = Sha256::digest(record.encode_to_vec()).to_vec();
    let search_titles = std::iter::once(&merged.title)
        .chain(&merged.synonyms)
        .filter(|t| !t.is_empty())
        .map(|t| (t.clone(), titles::normalize(t)))
        .filter(|(_, n)| !n.is_empty())
        .collect();
    FinalRecord { id, record, hash, search_titles }
}

/// Builds every key of `records`, each given to one record (see the module docs).
pub fn build_keys(records: &[FinalRecord]) -> HashMap<Key, i64> {
    // key → (rank, record id)
    let mut best: HashMap<Key, ((i64, i64, i64), i64)> = HashMap::with_capacity(records.len() * 8);
    for record in records {
        let anidb = record
            .record
            .ids
            .iter()
            .find(|i| i.platform == Platform::Anidb as i32)
            .and_then(|i| i.id.parse::<i64>().ok())
            .unwrap_or(i64::MAX);
        for id in &record.record.ids {
            let offset = i64::from(id.episode_offset.unwrap_or(0));
            let platform = id.platform as i16;
            let mut offer = |key: String, rank: (i64, i64, i64)| {
                let entry = best.entry((platform, key)).or_insert((rank, record.id));
                if (rank, record.id) < *entry {
                    *entry = (rank, record.id);
                }
            };
            let season_rank = match id.season {
                Some(1) => 0,
                None => 1,
                Some(0) => 10_000,
                Some(n) => i64::from(n).max(2),
            };
            offer(id.id.clone(), (season_rank, offset, anidb));
            if let Some(season) = id.season {
                offer(key_text(&id.id, Some(season)), (0, offset, anidb));
            }
        }
    }
    best.into_iter().map(|(key, (_, id))| (key, id)).collect()
}

/// Records per platform (platforms records hold only).
pub fn counts(records: &[FinalRecord]) -> Vec<(Platform, i64)> {
    PLATFORMS
        .iter()
        .filter(|spec| spec.stored())
        .map(|spec| {
            let number = spec.platform as i32;
            let count = records.iter().filter(|r| r.record.ids.iter().any(|i| i.platform == number)).count();
            (spec.platform, count as i64)
        })
        .collect()
}

/// What a run changes.
#[derive(Debug, Default)]
pub struct Diff {
    /// Indexes (into the new records) of records to insert.
    pub inserted: Vec<usize>,
    /// Indexes of records whose content changed.
    pub updated: Vec<usize>,
    /// Served records that vanished.
    pub deleted: Vec<i64>,
    /// Records left as they are.
    pub unchanged: usize,
    /// Keys to create or repoint.
    pub upsert_keys: Vec<(Key, i64)>,
    /// Keys to remove.
    pub removed_keys: Vec<Key>,
}

impl Diff {
    /// Returns whether the run changes nothing.
    pub fn is_empty(&self) -> bool {
        self.inserted.is_empty()
            && self.updated.is_empty()
            && self.deleted.is_empty()
            && self.upsert_keys.is_empty()
            && self.removed_keys.is_empty()
    }
}

/// Compares the new records and keys with what is served.
pub fn diff(records: &[FinalRecord], keys: &HashMap<Key, i64>, served: &Served) -> Diff {
    let mut diff = Diff::default();
    let mut present = std::collections::HashSet::with_capacity(records.len());
    for (index, record) in records.iter().enumerate() {
        present.insert(record.id);
        match served.hashes.get(&record.id) {
            None => diff.inserted.push(index),
            Some(hash) if *hash != record.hash => diff.updated.push(index),
            Some(_) => diff.unchanged += 1,
        }
    }
    diff.deleted = served.hashes.keys().filter(|id| !present.contains(id)).copied().collect();
    diff.deleted.sort_unstable();
    for (key, id) in keys {
        if served.keys.get(key) != Some(id) {
            diff.upsert_keys.push((key.clone(), *id));
        }
    }
    diff.removed_keys = served.keys.keys().filter(|key| !keys.contains_key(*key)).cloned().collect();
    diff.upsert_keys.sort();
    diff.removed_keys.sort();
    diff
}

#[cfg(test)]
mod tests {
    use super::*;

    fn merged(ids: &[(Platform, &str, Option<i32>)]) -> MergedRecord {
        MergedRecord {
            title: "t".into(),
            ids: ids
                .iter()
                .map(|(platform, id, season)| SourceId {
                    platform: *platform,
                    id: (*id).into(),
                    season: *season,
                    episode_offset: None,
                })
                .collect(),
            ..MergedRecord::default()
        }
    }

    #[test]
    fn ids_stay_with_the_record_sharing_most_keys() {
        let a = merged(&[(Platform::Myanimelist, "1", None), (Platform::Anidb, "23", None)]);
        let b = merged(&[(Platform::Myanimelist, "2", None)]);
        let records: Vec<FinalRecord> = [(7, &a), (9, &b)].iter().map(|(id, m)| finalize(*id, m)).collect();
        let served =
            Served { keys: build_keys(&records), hashes: records.iter().map(|r| (r.id, r.hash.clone())).collect() };
        // Reordered, plus a new record: the old ones keep their ids.
        let c = merged(&[(Platform::Myanimelist, "3", None)]);
        assert_eq!(assign_ids(&[c, b.clone(), a.clone()], &served), vec![None, Some(9), Some(7)]);
        // A split: the part with more keys keeps the id.
        let part = merged(&[(Platform::Anidb, "23", None)]);
        let rest = merged(&[(Platform::Myanimelist, "1", None), (Platform::Shikimori, "1", None)]);
        assert_eq!(assign_ids(&[part, rest], &served), vec![None, Some(7)]);
    }

    #[test]
    fn season_keys_go_to_one_record_by_rank() {
        let s1 = merged(&[(Platform::Anidb, "23", None), (Platform::Thetvdb, "76885", Some(1))]);
        let s0 = merged(&[(Platform::Anidb, "5", None), (Platform::Thetvdb, "76885", Some(0))]);
        let s2 = merged(&[(Platform::Anidb, "4", None), (Platform::Thetvdb, "76885", Some(2))]);
        let records: Vec<FinalRecord> = [(1, &s0), (2, &s2), (3, &s1)].iter().map(|(id, m)| finalize(*id, m)).collect();
        let keys = build_keys(&records);
        let tvdb = Platform::Thetvdb as i16;
        assert_eq!(keys.get(&(tvdb, "76885".into())), Some(&3), "bare key → season 1");
        assert_eq!(keys.get(&(tvdb, "76885:0".into())), Some(&1));
        assert_eq!(keys.get(&(tvdb, "76885:2".into())), Some(&2));
        let shikimori = Platform::Shikimori as i16;
        assert!(!keys.contains_key(&(shikimori, "23".into())), "only MAL ids give Shikimori keys");
    }

    #[test]
    fn diff_finds_exactly_the_changes() {
        let a = finalize(1, &merged(&[(Platform::Myanimelist, "1", None)]));
        let b = finalize(2, &merged(&[(Platform::Myanimelist, "2", None)]));
        let served_records = vec![a.clone(), b.clone()];
        let served = Served {
            keys: build_keys(&served_records),
            hashes: served_records.iter().map(|r| (r.id, r.hash.clone())).collect(),
        };
        let same = [a.clone(), b.clone()];
        assert!(diff(&same, &build_keys(&same), &served).is_empty());
        let changed = finalize(1, &merged(&[(Platform::Myanimelist, "1", None), (Platform::Anilist, "1", None)]));
        let next = [changed];
        let d = diff(&next, &build_keys(&next), &served);
        assert_eq!((d.updated.clone(), d.deleted.clone(), d.inserted.len()), (vec![0], vec![2], 0));
        assert_eq!(d.upsert_keys.len(), 1, "the new AniList key");
        assert_eq!(d.removed_keys.len(), 2, "MAL 2 and Shikimori 2");
    }
}
