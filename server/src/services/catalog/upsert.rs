//! The one import path: the RPCs, `ImportBatch` and the importer all apply items here.
//!
//! [`apply`] takes a chunk of validated items and applies them with three bulk statements
//! (anime, then episodes, then players), so an item may refer to anything before it in the
//! chunk. Items whose parent is missing fail alone; the caller's transaction makes the chunk
//! atomic against infrastructure failures. A chunk must not hold the same key twice (the
//! caller splits chunks at repeats, see [`ChunkKeys`]).

use std::collections::{HashMap, HashSet};

use diesel_async::{AsyncConnection as _, AsyncPgConnection};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{
    CatalogError,
    model::{
        AnimeInput, AnimeOutcome, EpisodesInput, EpisodesOutcome, ImportItem, ItemOutcome, Outcome, VideoInput,
        VideoOutcome, content_hash,
    },
    store::imports as store,
};

/// The result of one item.
pub type ItemResult = Result<ItemOutcome, CatalogError>;

/// Applies one validated item in its own transaction (the unary import RPCs).
pub async fn apply_one(db: &crate::db::DbPool, item: ImportItem) -> ItemResult {
    let mut conn = db.get().await?;
    let mut results = conn
        .transaction::<_, diesel::result::Error, _>(async |conn| apply(conn, std::slice::from_ref(&item)).await)
        .await?;
    results.pop().unwrap_or_else(|| Err(CatalogError::Invalid(crate::error::FieldViolations::new().into_error())))
}

/// Applies `items` in order; returns one result per item. Fails as a whole only when the
/// database does.
///
/// Each table takes at most three statements per chunk: read the stored ids and hashes of the
/// rows named, upsert the new and changed ones, and (for players) resolve episodes the chunk did
/// not import itself. Unchanged rows are only read, never locked or written.
pub async fn apply(conn: &mut AsyncPgConnection, items: &[ImportItem]) -> diesel::QueryResult<Vec<ItemResult>> {
    let mut results: Vec<Option<ItemResult>> = (0..items.len()).map(|_| None).collect();
    let mut known = Known::default();
    let anime: Vec<(usize, &AnimeInput)> = items
        .iter()
        .enumerate()
        .filter_map(|(i, item)| if let ImportItem::Anime(a) = item { Some((i, a)) } else { None })
        .collect();
    let episodes: Vec<(usize, &EpisodesInput)> = items
        .iter()
        .enumerate()
        .filter_map(|(i, item)| if let ImportItem::Episodes(e) = item { Some((i, e)) } else { None })
        .collect();
    let videos: Vec<(usize, &VideoInput)> = items
        .iter()
        .enumerate()
        .filter_map(|(i, item)| if let ImportItem::Video(v) = item { Some((i, v)) } else { None })
        .collect();
    if !anime.is_empty() {
        for (i, outcome) in apply_anime(conn, &anime, &mut known).await? {
            results[i] = Some(Ok(ItemOutcome::Anime(outcome)));
        }
    }
    if !episodes.is_empty() {
        for (i, result) in apply_episodes(conn, &episodes, &mut known).await? {
            results[i] = Some(result.map(ItemOutcome::Episodes));
        }
    }
    if !videos.is_empty() {
        for (i, result) in apply_videos(conn, &videos, &known).await? {
            results[i] = Some(result.map(ItemOutcome::Video));
        }
    }
    // Every index was filled by exactly one of the three passes above.
    Ok(results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err(CatalogError::Invalid(crate::error::FieldViolations::new().into_error()))))
        .collect())
}

/// Ids learnt while applying a chunk, so later items need no lookup of their parents.
#[derive(Default)]
struct Known {
    /// (source_name, source_id) → anime id.
    anime: HashMap<(String, String), Uuid>,
    /// (anime id, source_episode_id) → episode id.
    episodes: HashMap<(Uuid, String), Uuid>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn outcome(created: bool) -> Outcome {
    if created { Outcome::Created } else { Outcome::Updated }
}

async fn apply_anime(
    conn: &mut AsyncPgConnection,
    anime: &[(usize, &AnimeInput)],
    known: &mut Known,
) -> diesel::QueryResult<Vec<(usize, AnimeOutcome)>> {
    let keys: Vec<Value> =
        anime.iter().map(|(_, a)| json!({ "source_name": a.source_name, "source_id": a.source_id })).collect();
    let stored: HashMap<(String, String), (Uuid, Vec<u8>)> = store::find_anime_ids(conn, Value::Array(keys))
        .await?
        .into_iter()
        .map(|k| ((k.source_name, k.source_id), (k.id, k.content_hash)))
        .collect();
    let mut found: HashMap<(String, String), AnimeOutcome> = HashMap::new();
    let mut rows = Vec::new();
    for (_, a) in anime {
        let hash = content_hash(a);
        let key = (a.source_name.clone(), a.source_id.clone());
        match stored.get(&key) {
            Some((id, stored_hash)) if *stored_hash == hash => {
                found.insert(key, AnimeOutcome { id: *id, outcome: Outcome::Unchanged });
            }
            _ => rows.push(json!({
                "id": Uuid::now_v7(), "source_name": a.source_name, "source_id": a.source_id, "title": a.title,
                "alternative_titles": a.alternative_titles, "description": a.description, "year": a.year,
                "status": a.status, "kind": a.kind, "poster": a.poster, "genres": a.genres,
                "episodes_total": a.episodes_total, "content_hash": hex(&hash),
            })),
        }
    }
    if !rows.is_empty() {
        for w in store::upsert_anime(conn, Value::Array(rows)).await? {
            found.insert((w.source_name, w.source_id), AnimeOutcome { id: w.id, outcome: outcome(w.created) });
        }
    }
    // A row the upsert skipped was written with the same content by a concurrent import.
    for (key, (id, _)) in stored {
        found.entry(key).or_insert(AnimeOutcome { id, outcome: Outcome::Unchanged });
    }
    for (key, o) in &found {
        known.anime.insert(key.clone(), o.id);
    }
    Ok(anime
        .iter()
        .filter_map(|(i, a)| found.get(&(a.source_name.clone(), a.source_id.clone())).map(|o| (*i, o.clone())))
        .collect())
}

async fn apply_episodes(
    conn: &mut AsyncPgConnection,
    items: &[(usize, &EpisodesInput)],
    known: &mut Known,
) -> diesel::QueryResult<Vec<(usize, Result<EpisodesOutcome, CatalogError>)>> {
    let missing: HashSet<(&str, &str)> = items
        .iter()
        .map(|(_, e)| (&*e.source_name, &*e.anime_source_id))
        .filter(|(n, id)| !known.anime.contains_key(&((*n).to_owned(), (*id).to_owned())))
        .collect();
    if !missing.is_empty() {
        let keys: Vec<Value> = missing.iter().map(|(n, id)| json!({ "source_name": n, "source_id": id })).collect();
        for k in store::find_anime_ids(conn, Value::Array(keys)).await? {
            known.anime.insert((k.source_name, k.source_id), k.id);
        }
    }
    let anime_of =
        |item: &EpisodesInput| known.anime.get(&(item.source_name.clone(), item.anime_source_id.clone())).copied();
    let keys: Vec<Value> = items
        .iter()
        .filter_map(|(_, item)| Some((anime_of(item)?, item)))
        .flat_map(|(anime_id, item)| {
            item.episodes.iter().map(move |e| json!({ "anime_id": anime_id, "source_episode_id": e.source_episode_id }))
        })
        .collect();
    let stored: HashMap<(Uuid, String), (Uuid, Vec<u8>)> = if keys.is_empty() {
        HashMap::new()
    } else {
        store::find_episode_rows(conn, Value::Array(keys))
            .await?
            .into_iter()
            .map(|k| ((k.anime_id, k.source_episode_id), (k.id, k.content_hash)))
            .collect()
    };
    let mut found: HashMap<(Uuid, String), (Uuid, Outcome)> = HashMap::new();
    let mut rows = Vec::new();
    for (_, item) in items {
        let Some(anime_id) = anime_of(item) else { continue };
        for episode in &item.episodes {
            let hash = content_hash(episode);
            let key = (anime_id, episode.source_episode_id.clone());
            match stored.get(&key) {
                Some((id, stored_hash)) if *stored_hash == hash => {
                    found.insert(key, (*id, Outcome::Unchanged));
                }
                _ => rows.push(json!({
                    "id": Uuid::now_v7(), "anime_id": anime_id, "source_episode_id": episode.source_episode_id,
                    "season": episode.season, "number": episode.number, "title": episode.title,
                    "is_available": episode.is_available, "content_hash": hex(&hash),
                })),
            }
        }
    }
    if !rows.is_empty() {
        for w in store::upsert_episodes(conn, Value::Array(rows)).await? {
            found.insert((w.anime_id, w.source_episode_id), (w.id, outcome(w.created)));
        }
    }
    for (key, (id, _)) in stored {
        found.entry(key).or_insert((id, Outcome::Unchanged));
    }
    for (key, (id, _)) in &found {
        known.episodes.insert(key.clone(), *id);
    }
    Ok(items
        .iter()
        .map(|(i, item)| {
            let result = match anime_of(item) {
                None => Err(CatalogError::MissingAnime {
                    source_name: item.source_name.clone(),
                    source_id: item.anime_source_id.clone(),
                }),
                Some(anime_id) => Ok(EpisodesOutcome {
                    anime_id,
                    episodes: item
                        .episodes
                        .iter()
                        .filter_map(|e| {
                            let (id, outcome) = found.get(&(anime_id, e.source_episode_id.clone()))?;
                            Some((e.source_episode_id.clone(), *id, *outcome))
                        })
                        .collect(),
                }),
            };
            (*i, result)
        })
        .collect())
}

async fn apply_videos(
    conn: &mut AsyncPgConnection,
    items: &[(usize, &VideoInput)],
    known: &Known,
) -> diesel::QueryResult<Vec<(usize, Result<VideoOutcome, CatalogError>)>> {
    // Episodes this chunk imported (or met) resolve in memory; the rest are looked up.
    let in_chunk = |v: &VideoInput| {
        let anime_id = known.anime.get(&(v.source_name.clone(), v.anime_source_id.clone()?))?;
        known.episodes.get(&(*anime_id, v.source_episode_id.clone())).copied()
    };
    let refs: Vec<Value> = items
        .iter()
        .enumerate()
        .filter(|(_, (_, v))| in_chunk(v).is_none())
        .map(|(idx, (_, v))| {
            json!({ "idx": idx, "source_name": v.source_name, "anime_source_id": v.anime_source_id,
                    "source_episode_id": v.source_episode_id })
        })
        .collect();
    let mut matches: HashMap<usize, Vec<Uuid>> = HashMap::new();
    if !refs.is_empty() {
        for m in store::find_episode_ids(conn, Value::Array(refs)).await? {
            matches.entry(m.idx as usize).or_default().push(m.id);
        }
    }
    let episode_of = |idx: usize, v: &VideoInput| -> Result<Uuid, CatalogError> {
        if let Some(id) = in_chunk(v) {
            return Ok(id);
        }
        match matches.get(&idx).map(Vec::as_slice) {
            Some([id]) => Ok(*id),
            None | Some([]) => Err(CatalogError::MissingEpisode {
                source_name: v.source_name.clone(),
                source_episode_id: v.source_episode_id.clone(),
            }),
            Some(many) => Err(CatalogError::AmbiguousEpisode {
                source_name: v.source_name.clone(),
                source_episode_id: v.source_episode_id.clone(),
                matches: many.len(),
            }),
        }
    };
    let resolved: Vec<(usize, Result<Uuid, CatalogError>, &VideoInput)> =
        items.iter().enumerate().map(|(idx, (i, v))| (*i, episode_of(idx, v), *v)).collect();
    let key = |episode_id: Uuid, v: &VideoInput| (episode_id, v.player.provider.clone(), v.player.url.clone());
    let keys: Vec<Value> = resolved
        .iter()
        .filter_map(|(_, episode, v)| {
            let episode_id = episode.as_ref().ok()?;
            Some(json!({ "episode_id": episode_id, "provider": v.player.provider, "url": v.player.url }))
        })
        .collect();
    let stored: HashMap<(Uuid, String, String), (Uuid, Vec<u8>)> = if keys.is_empty() {
        HashMap::new()
    } else {
        store::find_video_rows(conn, Value::Array(keys))
            .await?
            .into_iter()
            .map(|k| ((k.episode_id, k.provider, k.url), (k.id, k.content_hash)))
            .collect()
    };
    let mut found: HashMap<(Uuid, String, String), (Uuid, Outcome)> = HashMap::new();
    let mut rows = Vec::new();
    for (_, episode, v) in &resolved {
        let Ok(episode_id) = episode else { continue };
        let p = &v.player;
        let hash = content_hash(p);
        match stored.get(&key(*episode_id, v)) {
            Some((id, stored_hash)) if *stored_hash == hash => {
                found.insert(key(*episode_id, v), (*id, Outcome::Unchanged));
            }
            _ => rows.push(json!({
                "id": Uuid::now_v7(), "episode_id": episode_id, "provider": p.provider, "url": p.url,
                "player_type": p.player_type, "priority": p.priority, "quality": p.quality,
                "translation_id": p.translation_id, "translation_title": p.translation_title,
                "translation_type": p.translation_type, "content_hash": hex(&hash),
            })),
        }
    }
    if !rows.is_empty() {
        for w in store::upsert_videos(conn, Value::Array(rows)).await? {
            found.insert((w.episode_id, w.provider, w.url), (w.id, outcome(w.created)));
        }
    }
    for (k, (id, _)) in stored {
        found.entry(k).or_insert((id, Outcome::Unchanged));
    }
    Ok(resolved
        .into_iter()
        .map(|(i, episode, v)| {
            let result = episode.map(|episode_id| {
                let (id, outcome) =
                    found.get(&key(episode_id, v)).copied().unwrap_or((Uuid::nil(), Outcome::Unchanged));
                VideoOutcome { id, episode_id, outcome }
            });
            (i, result)
        })
        .collect())
}

/// The keys of one chunk, to split chunks where a key repeats (a bulk upsert may not touch
/// one row twice).
#[derive(Debug, Default)]
pub struct ChunkKeys {
    keys: HashSet<String>,
}

impl ChunkKeys {
    /// Returns whether `item` fits in the chunk (none of its keys is there yet); when it fits,
    /// records its keys.
    pub fn admit(&mut self, item: &ImportItem) -> bool {
        let keys = item_keys(item);
        if keys.iter().any(|k| self.keys.contains(k)) {
            return false;
        }
        self.keys.extend(keys);
        true
    }

    /// Forgets every key (a new chunk starts).
    pub fn clear(&mut self) {
        self.keys.clear();
    }
}

fn item_keys(item: &ImportItem) -> Vec<String> {
    // \u{1f} cannot occur in validated ids, so joined keys cannot collide.
    match item {
        ImportItem::Anime(a) => vec![format!("a\u{1f}{}\u{1f}{}", a.source_name, a.source_id)],
        ImportItem::Episodes(e) => e
            .episodes
            .iter()
            .map(|ep| format!("e\u{1f}{}\u{1f}{}\u{1f}{}", e.source_name, e.anime_source_id, ep.source_episode_id))
            .collect(),
        ImportItem::Video(v) => vec![format!(
            "v\u{1f}{}\u{1f}{}\u{1f}{}\u{1f}{}",
            v.source_name, v.source_episode_id, v.player.provider, v.player.url
        )],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::catalog::model::{EpisodeInput, PlayerInput};

    #[test]
    fn chunks_split_where_a_key_repeats() {
        let anime =
            ImportItem::Anime(AnimeInput { source_name: "s".into(), source_id: "1".into(), ..Default::default() });
        let episodes = |ids: &[&str]| {
            ImportItem::Episodes(EpisodesInput {
                source_name: "s".into(),
                anime_source_id: "1".into(),
                episodes: ids
                    .iter()
                    .map(|id| EpisodeInput {
                        source_episode_id: (*id).into(),
                        season: 1,
                        number: 1,
                        title: None,
                        is_available: true,
                    })
                    .collect(),
            })
        };
        let video = ImportItem::Video(VideoInput {
            source_name: "s".into(),
            anime_source_id: None,
            source_episode_id: "1:1".into(),
            player: PlayerInput {
                player_type: 1,
                url: "https://x/1".into(),
                provider: "kodik".into(),
                priority: 0,
                quality: None,
                translation_id: String::new(),
                translation_title: String::new(),
                translation_type: 0,
            },
        });
        let mut keys = ChunkKeys::default();
        assert!(keys.admit(&anime));
        assert!(keys.admit(&episodes(&["1:1", "1:2"])));
        assert!(keys.admit(&video));
        assert!(!keys.admit(&anime));
        assert!(!keys.admit(&episodes(&["1:3", "1:2"])));
        assert!(!keys.admit(&video));
        keys.clear();
        assert!(keys.admit(&anime));
    }
}
