//! The one import path: the RPCs, `ImportBatch` and the importer all apply items here.
//!
//! [`apply`] takes a chunk of validated items and applies them with three bulk statements
//! (anime, then episodes, then players), so an item may refer to anything before it in the
//! chunk. Items whose parent is missing fail alone; the caller's transaction makes the chunk
//! atomic against infrastructure failures. A chunk must not hold the same key twice (the
//! caller splits chunks at repeats, see [`ChunkKeys`]).

use std::collections::{HashMap, HashSet};

use diesel_async::AsyncPgConnection;
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

/// Applies `items` in order; returns one result per item. Fails as a whole only when the
/// database does.
pub async fn apply(conn: &mut AsyncPgConnection, items: &[ImportItem]) -> diesel::QueryResult<Vec<ItemResult>> {
    let mut results: Vec<Option<ItemResult>> = (0..items.len()).map(|_| None).collect();
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
        for (i, outcome) in apply_anime(conn, &anime).await? {
            results[i] = Some(Ok(ItemOutcome::Anime(outcome)));
        }
    }
    if !episodes.is_empty() {
        for (i, result) in apply_episodes(conn, &episodes).await? {
            results[i] = Some(result.map(ItemOutcome::Episodes));
        }
    }
    if !videos.is_empty() {
        for (i, result) in apply_videos(conn, &videos).await? {
            results[i] = Some(result.map(ItemOutcome::Video));
        }
    }
    // Every index was filled by exactly one of the three passes above.
    Ok(results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err(CatalogError::Invalid(crate::error::FieldViolations::new().into_error()))))
        .collect())
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
) -> diesel::QueryResult<Vec<(usize, AnimeOutcome)>> {
    let rows: Vec<Value> = anime
        .iter()
        .map(|(_, a)| {
            json!({
                "id": Uuid::now_v7(), "source_name": a.source_name, "source_id": a.source_id, "title": a.title,
                "alternative_titles": a.alternative_titles, "description": a.description, "year": a.year,
                "status": a.status, "kind": a.kind, "poster": a.poster, "genres": a.genres,
                "episodes_total": a.episodes_total, "content_hash": hex(&content_hash(a)),
            })
        })
        .collect();
    let mut found: HashMap<(String, String), AnimeOutcome> = store::upsert_anime(conn, Value::Array(rows))
        .await?
        .into_iter()
        .map(|w| ((w.source_name, w.source_id), AnimeOutcome { id: w.id, outcome: outcome(w.created) }))
        .collect();
    let unchanged: Vec<Value> = anime
        .iter()
        .filter(|(_, a)| !found.contains_key(&(a.source_name.clone(), a.source_id.clone())))
        .map(|(_, a)| json!({ "source_name": a.source_name, "source_id": a.source_id }))
        .collect();
    if !unchanged.is_empty() {
        for key in store::find_anime_ids(conn, Value::Array(unchanged)).await? {
            found.insert((key.source_name, key.source_id), AnimeOutcome { id: key.id, outcome: Outcome::Unchanged });
        }
    }
    Ok(anime
        .iter()
        .filter_map(|(i, a)| found.get(&(a.source_name.clone(), a.source_id.clone())).map(|o| (*i, o.clone())))
        .collect())
}

async fn apply_episodes(
    conn: &mut AsyncPgConnection,
    items: &[(usize, &EpisodesInput)],
) -> diesel::QueryResult<Vec<(usize, Result<EpisodesOutcome, CatalogError>)>> {
    let keys: HashSet<(&str, &str)> = items.iter().map(|(_, e)| (&*e.source_name, &*e.anime_source_id)).collect();
    let keys: Vec<Value> = keys.iter().map(|(n, id)| json!({ "source_name": n, "source_id": id })).collect();
    let anime_ids: HashMap<(String, String), Uuid> = store::find_anime_ids(conn, Value::Array(keys))
        .await?
        .into_iter()
        .map(|k| ((k.source_name, k.source_id), k.id))
        .collect();
    let mut rows = Vec::new();
    for (_, item) in items {
        let Some(anime_id) = anime_ids.get(&(item.source_name.clone(), item.anime_source_id.clone())) else { continue };
        for episode in &item.episodes {
            rows.push(json!({
                "id": Uuid::now_v7(), "anime_id": anime_id, "source_episode_id": episode.source_episode_id,
                "season": episode.season, "number": episode.number, "title": episode.title,
                "is_available": episode.is_available, "content_hash": hex(&content_hash(episode)),
            }));
        }
    }
    let mut found: HashMap<(Uuid, String), (Uuid, Outcome)> = HashMap::new();
    if !rows.is_empty() {
        for w in store::upsert_episodes(conn, Value::Array(rows)).await? {
            found.insert((w.key.anime_id, w.key.source_episode_id), (w.key.id, outcome(w.created)));
        }
    }
    let unchanged: Vec<Value> = items
        .iter()
        .filter_map(|(_, item)| Some((anime_ids.get(&(item.source_name.clone(), item.anime_source_id.clone()))?, item)))
        .flat_map(|(anime_id, item)| item.episodes.iter().map(move |e| (*anime_id, &e.source_episode_id)))
        .filter(|(anime_id, id)| !found.contains_key(&(*anime_id, (*id).clone())))
        .map(|(anime_id, id)| json!({ "anime_id": anime_id, "source_episode_id": id }))
        .collect();
    if !unchanged.is_empty() {
        for key in store::find_episode_rows(conn, Value::Array(unchanged)).await? {
            found.insert((key.anime_id, key.source_episode_id), (key.id, Outcome::Unchanged));
        }
    }
    Ok(items
        .iter()
        .map(|(i, item)| {
            let result = match anime_ids.get(&(item.source_name.clone(), item.anime_source_id.clone())) {
                None => Err(CatalogError::MissingAnime {
                    source_name: item.source_name.clone(),
                    source_id: item.anime_source_id.clone(),
                }),
                Some(anime_id) => Ok(EpisodesOutcome {
                    anime_id: *anime_id,
                    episodes: item
                        .episodes
                        .iter()
                        .filter_map(|e| {
                            let (id, outcome) = found.get(&(*anime_id, e.source_episode_id.clone()))?;
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
) -> diesel::QueryResult<Vec<(usize, Result<VideoOutcome, CatalogError>)>> {
    let refs: Vec<Value> = items
        .iter()
        .enumerate()
        .map(|(idx, (_, v))| {
            json!({ "idx": idx, "source_name": v.source_name, "anime_source_id": v.anime_source_id,
                    "source_episode_id": v.source_episode_id })
        })
        .collect();
    let mut matches: HashMap<usize, Vec<Uuid>> = HashMap::new();
    for m in store::find_episode_ids(conn, Value::Array(refs)).await? {
        matches.entry(m.idx as usize).or_default().push(m.id);
    }
    let episode_of = |idx: usize, v: &VideoInput| -> Result<Uuid, CatalogError> {
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
    let rows: Vec<Value> = resolved
        .iter()
        .filter_map(|(_, episode, v)| {
            let episode_id = episode.as_ref().ok()?;
            let p = &v.player;
            Some(json!({
                "id": Uuid::now_v7(), "episode_id": episode_id, "provider": p.provider, "url": p.url,
                "player_type": p.player_type, "priority": p.priority, "quality": p.quality,
                "translation_id": p.translation_id, "translation_title": p.translation_title,
                "translation_type": p.translation_type, "content_hash": hex(&content_hash(p)),
            }))
        })
        .collect();
    let mut found: HashMap<(Uuid, String, String), (Uuid, Outcome)> = HashMap::new();
    if !rows.is_empty() {
        for w in store::upsert_videos(conn, Value::Array(rows)).await? {
            found.insert((w.key.episode_id, w.key.provider, w.key.url), (w.key.id, outcome(w.created)));
        }
    }
    let key = |episode_id: Uuid, v: &VideoInput| (episode_id, v.player.provider.clone(), v.player.url.clone());
    let unchanged: Vec<Value> = resolved
        .iter()
        .filter_map(|(_, episode, v)| Some((*episode.as_ref().ok()?, *v)))
        .filter(|(episode_id, v)| !found.contains_key(&key(*episode_id, v)))
        .map(|(episode_id, v)| json!({ "episode_id": episode_id, "provider": v.player.provider, "url": v.player.url }))
        .collect();
    if !unchanged.is_empty() {
        for k in store::find_video_rows(conn, Value::Array(unchanged)).await? {
            found.insert((k.episode_id, k.provider, k.url), (k.id, Outcome::Unchanged));
        }
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
