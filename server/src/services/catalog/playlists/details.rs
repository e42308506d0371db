//! What is fetched from the panel on demand: film and series details (cached in Redis for the
//! configured TTL; a series' episodes are also stored, for stream URLs and downloads), and
//! stream URLs for clients that play directly.

use chrono::Utc;
use medley_sdk::pb::{self, PlaylistItemKind};
use redis::AsyncCommands as _;

use super::{Playlists, Principal, convert, names};
use crate::{
    error::{FieldViolations, InfraError},
    proto_time::to_timestamp,
    services::catalog::{
        CatalogError,
        store::{
            playlist_favorites as favorites,
            playlist_items::{self as items, ItemRow},
            playlist_syncs::{self, EpisodeRow},
            playlists::PlaylistRow,
        },
        xtream::{StreamPath, decode},
    },
};

/// Parses an item name of `kind` and finds the item (NOT_FOUND when it is not synced).
async fn find_item(
    playlists: &Playlists,
    principal: &Principal,
    name: &str,
    kind: PlaylistItemKind,
) -> Result<(PlaylistRow, ItemRow), CatalogError> {
    let mut violations = FieldViolations::new();
    let parsed = names::parse_item("name", name, false, &mut violations);
    if let Some((_, names::ItemRef::Item(found, _))) = &parsed
        && *found != kind
    {
        violations.add("name", format!("must name a {} item", names::kind_word(kind)));
    }
    violations.finish().map_err(CatalogError::Invalid)?;
    let Some((playlist, names::ItemRef::Item(_, item_id))) = parsed else {
        return Err(CatalogError::Bug("an item name parsed as an episode"));
    };
    let row = playlists.owned(principal, playlist).await?;
    let mut conn = playlists.platform.db.get().await?;
    let item = items::find(&mut conn, row.id, kind as i16, &item_id).await?;
    item.map(|item| (row, item)).ok_or_else(|| CatalogError::ItemNotFound(name.to_owned()))
}

async fn listed(playlists: &Playlists, principal: &Principal, item: ItemRow) -> Result<pb::PlaylistItem, CatalogError> {
    let mut conn = playlists.platform.db.get().await?;
    let favorite = favorites::is_marked(&mut conn, principal.key_id, item.playlist_id, item.kind, &item.item_id).await?;
    Ok(convert::item(item, favorite))
}

async fn cached<M: prost::Message + Default>(playlists: &Playlists, key: &str) -> Option<M> {
    let mut redis = playlists.platform.redis.clone();
    // A Redis outage only costs a panel call.
    let bytes: Option<Vec<u8>> = redis.get(key).await.ok().flatten();
    bytes.and_then(|b| M::decode(b.as_slice()).ok())
}

async fn cache<M: prost::Message>(playlists: &Playlists, key: &str, message: &M) {
    let mut redis = playlists.platform.redis.clone();
    let result: Result<(), redis::RedisError> =
        redis.set_ex(key, message.encode_to_vec(), playlists.details_ttl.as_secs().max(1)).await;
    if let Err(error) = result {
        tracing::debug!(error = %InfraError::from(error), "cannot cache panel details");
    }
}

/// `GetVod`.
pub async fn vod(playlists: &Playlists, principal: &Principal, name: &str) -> Result<pb::VodDetails, CatalogError> {
    let (row, item) = find_item(playlists, principal, name, PlaylistItemKind::Vod).await?;
    let key = playlists.platform.keys.playlist_details(row.id, "vod", &item.item_id);
    let mut details = match cached::<pb::VodDetails>(playlists, &key).await {
        Some(details) => details,
        None => {
            let panel = playlists.panel(&row).await?;
            let answer = playlists.client.action(&panel, "get_vod_info", &[("vod_id", &item.item_id)]).await?;
            let info = decode::vod_info(&answer);
            let details = pb::VodDetails {
                item: None,
                container_extension: info.container_extension.or_else(|| item.container_extension.clone()).unwrap_or_default(),
                duration_seconds: info.duration_secs.unwrap_or(0),
                plot: info.item.plot.unwrap_or_default(),
                backdrop_urls: info.backdrops,
                tmdb_id: info.tmdb_id.unwrap_or_default(),
                youtube_trailer: info.youtube_trailer.unwrap_or_default(),
                fetch_time: Some(to_timestamp(Utc::now())),
            };
            cache(playlists, &key, &details).await;
            details
        }
    };
    details.item = Some(listed(playlists, principal, item).await?);
    Ok(details)
}

/// `GetSeries`: seasons from the episodes the panel sends (never from its `seasons` list).
pub async fn series(playlists: &Playlists, principal: &Principal, name: &str) -> Result<pb::SeriesDetails, CatalogError> {
    let (row, item) = find_item(playlists, principal, name, PlaylistItemKind::Series).await?;
    let key = playlists.platform.keys.playlist_details(row.id, "series", &item.item_id);
    let mut details = match cached::<pb::SeriesDetails>(playlists, &key).await {
        Some(details) => details,
        None => {
            let panel = playlists.panel(&row).await?;
            let answer = playlists.client.action(&panel, "get_series_info", &[("series_id", &item.item_id)]).await?;
            let episodes = decode::episodes(&answer);
            let rows: Vec<EpisodeRow> = episodes
                .iter()
                .map(|e| EpisodeRow {
                    playlist_id: row.id,
                    episode_id: e.id.clone(),
                    series_id: item.item_id.clone(),
                    season: i32::try_from(e.season).unwrap_or(0),
                    episode_num: e.episode_num.and_then(|n| i32::try_from(n).ok()),
                    title: crate::text::cleaned(e.title.clone()),
                    container_extension: e.container_extension.clone(),
                    duration_secs: e.duration_secs,
                })
                .collect();
            let mut conn = playlists.platform.db.get().await?;
            playlist_syncs::replace_episodes(&mut conn, row.id, &item.item_id, &rows).await?;
            let mut seasons: Vec<pb::SeriesSeason> = Vec::new();
            for episode in rows {
                let number = episode.season;
                let converted = pb::SeriesEpisode {
                    name: names::episode_name(row.id, &episode.episode_id),
                    season: number,
                    episode_number: episode.episode_num.unwrap_or(0),
                    title: episode.title,
                    container_extension: episode.container_extension.unwrap_or_default(),
                    duration_seconds: episode.duration_secs.unwrap_or(0),
                    episode_id: episode.episode_id,
                };
                match seasons.iter_mut().find(|s| s.number == number) {
                    Some(season) => season.episodes.push(converted),
                    None => seasons.push(pb::SeriesSeason { number, episodes: vec![converted] }),
                }
            }
            seasons.sort_by_key(|s| s.number);
            for season in &mut seasons {
                season.episodes.sort_by_key(|e| e.episode_number);
            }
            let details = pb::SeriesDetails { item: None, seasons, fetch_time: Some(to_timestamp(Utc::now())) };
            cache(playlists, &key, &details).await;
            details
        }
    };
    details.item = Some(listed(playlists, principal, item).await?);
    Ok(details)
}

/// `GetStreamUrl`.
pub async fn stream_url(
    playlists: &Playlists,
    principal: &Principal,
    request: pb::GetStreamUrlRequest,
) -> Result<pb::GetStreamUrlResponse, CatalogError> {
    let mut violations = FieldViolations::new();
    let parsed = names::parse_item("name", &request.name, true, &mut violations);
    let format = violations.parse_enum::<pb::StreamFormat>("format", request.format);
    let live = matches!(parsed, Some((_, names::ItemRef::Item(PlaylistItemKind::Live, _))));
    if !live && format.is_some_and(|f| f != pb::StreamFormat::Unspecified) {
        violations.add("format", "applies to live channels only (films and episodes play in their container)");
    }
    if matches!(parsed, Some((_, names::ItemRef::Item(PlaylistItemKind::Series, _)))) {
        violations.add("name", "a series does not play: name one of its episodes (from GetSeries)");
    }
    violations.finish().map_err(CatalogError::Invalid)?;
    let Some((playlist, item)) = parsed else { return Err(CatalogError::Bug("validated name missing")) };
    let row = playlists.owned(principal, playlist).await?;
    let mut conn = playlists.platform.db.get().await?;
    let (path, id, extension, format) = match item {
        names::ItemRef::Item(PlaylistItemKind::Live, id) => {
            if items::find(&mut conn, row.id, PlaylistItemKind::Live as i16, &id).await?.is_none() {
                return Err(CatalogError::ItemNotFound(request.name));
            }
            let allowed: Vec<&str> = row.account.output_formats.iter().flatten().map(String::as_str).collect();
            let may = |ext: &str| allowed.is_empty() || allowed.contains(&ext);
            let format = match format.unwrap_or(pb::StreamFormat::Unspecified) {
                pb::StreamFormat::Unspecified if may("m3u8") => pb::StreamFormat::Hls,
                pb::StreamFormat::Unspecified => pb::StreamFormat::Ts,
                chosen => chosen,
            };
            let extension = if format == pb::StreamFormat::Hls { "m3u8" } else { "ts" };
            if !may(extension) {
                return Err(CatalogError::Precondition(format!(
                    "the account does not allow {extension} streams (allowed: {})",
                    allowed.join(", ")
                )));
            }
            (StreamPath::Live, id, extension.to_owned(), format)
        }
        names::ItemRef::Item(_, id) => {
            let Some(film) = items::find(&mut conn, row.id, PlaylistItemKind::Vod as i16, &id).await? else {
                return Err(CatalogError::ItemNotFound(request.name));
            };
            drop(conn);
            let extension = match film.container_extension.clone() {
                Some(extension) => extension,
                None => vod(playlists, principal, &request.name).await?.container_extension,
            };
            (StreamPath::Movie, id, extension, pb::StreamFormat::Unspecified)
        }
        names::ItemRef::Episode(id) => {
            let Some(episode) = playlist_syncs::episode(&mut conn, row.id, &id).await? else {
                return Err(CatalogError::ItemNotFound(format!("{} (fetch its series with GetSeries first)", request.name)));
            };
            (StreamPath::Episode, id, episode.container_extension.unwrap_or_else(|| "mp4".to_owned()), pb::StreamFormat::Unspecified)
        }
    };
    if extension.is_empty() || !extension.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(CatalogError::Precondition(format!("the panel gave no usable container for {}", request.name)));
    }
    let panel = playlists.panel(&row).await?;
    let url = panel.stream_url(path, &id, &extension);
    Ok(pb::GetStreamUrlResponse { url: url.to_string(), format: format as i32, container_extension: extension })
}
