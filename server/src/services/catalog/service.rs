//! Reads and admin edits: the logic between the RPCs and the store.

use diesel_async::AsyncConnection as _;
use medley_sdk::pb;
use uuid::Uuid;

use super::{
    CatalogError,
    convert::{
        GroupLead, anime_outcome_to_pb, anime_to_pb, episode_to_pb, episodes_outcome_to_pb, group_videos,
        video_outcome_to_pb,
    },
    model::{AnimeEdit, ImportItem, ItemOutcome, texts},
    store::reads::{self as store, AnimeCursor, AnimeFilter, AnimeSort},
    upsert,
    validate::{anime_input, check_id, check_name, episodes_input, video_input},
};
use crate::{
    error::FieldViolations,
    pagination::{finish_page, parse_page_size, parse_page_token, rows_to_read},
    platform::Platform,
};

/// Fields `UpdateAnime` may change and lock.
pub const EDITABLE: [&str; 9] =
    ["title", "alternative_titles", "description", "year", "status", "kind", "poster", "genres", "episodes_total"];

fn parse_uuid(value: &str, field: &str, what: &str, violations: &mut FieldViolations) -> Uuid {
    Uuid::parse_str(value).unwrap_or_else(|_| {
        violations.add(field, format!("must be {what} id (a UUID)"));
        Uuid::nil()
    })
}

/// `GetAnime`.
pub async fn get_anime(state: &Platform, request: pb::GetAnimeRequest) -> Result<pb::Anime, CatalogError> {
    let mut violations = FieldViolations::new();
    let mut conn;
    let row = match request.lookup {
        Some(pb::get_anime_request::Lookup::Id(id)) => {
            let uuid = parse_uuid(&id, "id", "an anime", &mut violations);
            violations.finish().map_err(CatalogError::Invalid)?;
            conn = state.db.get().await?;
            store::find_anime(&mut conn, uuid).await?.ok_or(CatalogError::AnimeNotFound(id))?
        }
        Some(pb::get_anime_request::Lookup::Source(source)) => {
            check_name(&source.source_name, "source.source_name", &mut violations);
            check_id(&source.source_id, "source.source_id", &mut violations);
            violations.finish().map_err(CatalogError::Invalid)?;
            conn = state.db.get().await?;
            store::find_anime_by_source(&mut conn, &source.source_name, &source.source_id)
                .await?
                .ok_or_else(|| CatalogError::AnimeNotFound(format!("{}/{}", source.source_name, source.source_id)))?
        }
        None => {
            violations.add("lookup", "give id or source");
            return Err(CatalogError::Invalid(violations.into_error()));
        }
    };
    Ok(anime_to_pb(&row))
}

/// `ImportAnime`: validates, then applies the item in its own transaction.
pub async fn import_anime(state: &Platform, request: pb::ImportAnimeRequest) -> Result<pb::ImportAnimeResponse, CatalogError> {
    let mut violations = FieldViolations::new();
    let input = match request.anime {
        Some(anime) => anime_input(&anime, "anime.", &mut violations),
        None => {
            violations.add("anime", "is required");
            Default::default()
        }
    };
    violations.finish().map_err(CatalogError::Invalid)?;
    match upsert::apply_one(&state.db, ImportItem::Anime(input)).await? {
        ItemOutcome::Anime(outcome) => Ok(anime_outcome_to_pb(&outcome)),
        _ => Err(CatalogError::Bug("an anime import answered for another kind of item")),
    }
}

/// `ImportEpisodes`.
pub async fn import_episodes(
    state: &Platform,
    request: pb::ImportEpisodesRequest,
) -> Result<pb::ImportEpisodesResponse, CatalogError> {
    let mut violations = FieldViolations::new();
    let input = episodes_input(&request, "", &mut violations);
    violations.finish().map_err(CatalogError::Invalid)?;
    match upsert::apply_one(&state.db, ImportItem::Episodes(input)).await? {
        ItemOutcome::Episodes(outcome) => Ok(episodes_outcome_to_pb(&outcome)),
        _ => Err(CatalogError::Bug("an episodes import answered for another kind of item")),
    }
}

/// `ImportVideo`.
pub async fn import_video(state: &Platform, request: pb::ImportVideoRequest) -> Result<pb::ImportVideoResponse, CatalogError> {
    let mut violations = FieldViolations::new();
    let input = video_input(&request, "", &mut violations);
    violations.finish().map_err(CatalogError::Invalid)?;
    match upsert::apply_one(&state.db, ImportItem::Video(input)).await? {
        ItemOutcome::Video(outcome) => Ok(video_outcome_to_pb(&outcome)),
        _ => Err(CatalogError::Bug("a player import answered for another kind of item")),
    }
}

/// `UpdateAnime`: applies the masked fields and locks them, unlocks `unlock_fields`.
pub async fn update_anime(state: &Platform, request: pb::UpdateAnimeRequest) -> Result<pb::Anime, CatalogError> {
    let pb::UpdateAnimeRequest { id, anime, update_mask, unlock_fields } = request;
    let unlock_fields = unlock_fields.map(|m| m.paths).unwrap_or_default();
    let mut violations = FieldViolations::new();
    let uuid = parse_uuid(&id, "id", "an anime", &mut violations);
    let paths = update_mask.map(|m| m.paths).unwrap_or_default();
    for (i, path) in paths.iter().enumerate() {
        if !EDITABLE.contains(&path.as_str()) {
            violations
                .add(format!("update_mask.paths[{i}]"), format!("{path:?} is not one of {}", EDITABLE.join(", ")));
        }
    }
    for (i, path) in unlock_fields.iter().enumerate() {
        if !EDITABLE.contains(&path.as_str()) {
            violations
                .add(format!("unlock_fields.paths[{i}]"), format!("{path:?} is not one of {}", EDITABLE.join(", ")));
        }
    }
    if paths.is_empty() && unlock_fields.is_empty() {
        violations.add("update_mask", "name at least one field to change, or give unlock_fields");
    }
    // The values are validated with the import rules, but only violations of masked fields
    // count: the source key and unmasked fields may be left empty.
    let masked = |field: &str| paths.iter().any(|p| p == field);
    let mut field_violations = FieldViolations::new();
    let input = anime_input(&anime.unwrap_or_default(), "anime.", &mut field_violations);
    if let Err(error) = field_violations.finish() {
        for field in error.violated_fields() {
            let name = field.trim_start_matches("anime.").split('[').next().unwrap_or_default().to_owned();
            if masked(&name) {
                violations.add(field, "is invalid (see the import rules of AnimeImport)");
            }
        }
    }
    violations.finish().map_err(CatalogError::Invalid)?;
    let mut conn = state.db.get().await?;
    let row = conn
        .transaction::<_, CatalogError, _>(async |conn| {
            let current =
                store::lock_anime(conn, uuid).await?.ok_or_else(|| CatalogError::AnimeNotFound(id.clone()))?;
            let mut locked: Vec<String> =
                texts(&current.admin_locked).into_iter().filter(|f| !unlock_fields.contains(f)).collect();
            for path in &paths {
                if !locked.contains(path) {
                    locked.push(path.clone());
                }
            }
            let pick = |field: &str| masked(field);
            let edit = AnimeEdit {
                title: if pick("title") { input.title.clone() } else { current.title.clone() },
                alternative_titles: if pick("alternative_titles") {
                    input.alternative_titles.clone()
                } else {
                    texts(&current.alternative_titles)
                },
                description: if pick("description") { input.description.clone() } else { current.description.clone() },
                year: if pick("year") { input.year } else { current.year },
                status: if pick("status") { input.status } else { current.status },
                kind: if pick("kind") { input.kind } else { current.kind },
                poster: if pick("poster") { input.poster.clone() } else { current.poster.clone() },
                genres: if pick("genres") { input.genres.clone() } else { texts(&current.genres) },
                episodes_total: if pick("episodes_total") { input.episodes_total } else { current.episodes_total },
                admin_locked: locked,
                updated_at: chrono::Utc::now(),
            };
            if !unlock_fields.is_empty() {
                // Unlocked fields go back to the source at its next import, even one that sends
                // what it sent before.
                store::forget_content_hash(conn, uuid).await?;
            }
            Ok(store::update_anime(conn, uuid, &edit).await?)
        })
        .await?;
    tracing::info!(anime.id = %row.id, fields = ?paths, unlocked = ?unlock_fields, "anime edited by an admin");
    Ok(anime_to_pb(&row))
}

/// `ListAnime`.
pub async fn list_anime(
    state: &Platform,
    request: pb::ListAnimeRequest,
) -> Result<pb::ListAnimeResponse, CatalogError> {
    let pb::ListAnimeRequest {
        page_size,
        page_token,
        query,
        status,
        year_min,
        year_max,
        genre,
        kind,
        order_by,
        source_name,
    } = request;
    let mut violations = FieldViolations::new();
    let limit = parse_page_size(page_size, &mut violations);
    if query.chars().count() > 200 {
        violations.add("query", "must be at most 200 characters");
    }
    let words: Vec<String> = query.split_whitespace().take(10).map(str::to_lowercase).collect();
    let status = violations
        .parse_enum::<pb::AnimeStatus>("status", status)
        .filter(|s| *s != pb::AnimeStatus::Unspecified)
        .map(|s| s as i16);
    let kind =
        violations.parse_enum::<pb::AnimeKind>("kind", kind).filter(|k| *k != pb::AnimeKind::Unspecified).map(|k| k as i16);
    for (field, year) in [("year_min", year_min), ("year_max", year_max)] {
        if year.is_some_and(|y| !(1900..=2100).contains(&y)) {
            violations.add(field, "must be 1900 to 2100");
        }
    }
    if let (Some(min), Some(max)) = (year_min, year_max)
        && min > max
    {
        violations.add("year_max", "must not be below year_min");
    }
    if genre.chars().count() > 100 {
        violations.add("genre", "must be at most 100 characters");
    }
    if !source_name.is_empty() {
        check_name(&source_name, "source_name", &mut violations);
    }
    let sort = match violations.parse_enum::<pb::AnimeOrder>("order_by", order_by) {
        Some(pb::AnimeOrder::UpdatedDesc) => AnimeSort::UpdatedDesc,
        Some(pb::AnimeOrder::YearDesc) => AnimeSort::YearDesc,
        Some(pb::AnimeOrder::Unspecified | pb::AnimeOrder::Title) | None => AnimeSort::Title,
    };
    let filter = AnimeFilter {
        words,
        status,
        kind,
        year_min,
        year_max,
        genre: Some(genre.trim().to_lowercase()).filter(|g| !g.is_empty()),
        source_name: Some(source_name).filter(|s| !s.is_empty()),
    };
    // The token is bound to the filters and the sort: reusing it with others is an error.
    let fingerprint = format!("{}|{sort:?}", serde_json::to_string(&filter).unwrap_or_default());
    let cursor: Option<AnimeCursor> = parse_page_token(&page_token, &fingerprint, &mut violations);
    violations.finish().map_err(CatalogError::Invalid)?;
    let mut conn = state.db.get().await?;
    let rows = store::list_anime(&mut conn, &filter, sort, cursor.as_ref(), rows_to_read(limit)).await?;
    let (page, next_page_token) = finish_page(rows, limit, &fingerprint, |last| match sort {
        AnimeSort::Title => AnimeCursor::Title(last.title.clone(), last.id),
        AnimeSort::UpdatedDesc => AnimeCursor::Updated(last.updated_at, last.id),
        AnimeSort::YearDesc => AnimeCursor::Year(last.year.unwrap_or(-1), last.id),
    });
    Ok(pb::ListAnimeResponse { anime: page.iter().map(anime_to_pb).collect(), next_page_token })
}

/// `ListEpisodes`.
pub async fn list_episodes(
    state: &Platform,
    request: pb::ListEpisodesRequest,
) -> Result<pb::ListEpisodesResponse, CatalogError> {
    let pb::ListEpisodesRequest { anime_id, page_size, page_token, available_only } = request;
    let mut violations = FieldViolations::new();
    let uuid = parse_uuid(&anime_id, "anime_id", "an anime", &mut violations);
    let limit = parse_page_size(page_size, &mut violations);
    let fingerprint = format!("{anime_id}|{available_only}");
    let after: Option<(i32, i32, Uuid)> = parse_page_token(&page_token, &fingerprint, &mut violations);
    violations.finish().map_err(CatalogError::Invalid)?;
    let mut conn = state.db.get().await?;
    if store::find_anime(&mut conn, uuid).await?.is_none() {
        return Err(CatalogError::AnimeNotFound(anime_id));
    }
    let rows = store::list_episodes(&mut conn, uuid, available_only, after, rows_to_read(limit)).await?;
    let (page, next_page_token) =
        finish_page(rows, limit, &fingerprint, |last| (last.season, last.number, last.id));
    Ok(pb::ListEpisodesResponse { episodes: page.iter().map(episode_to_pb).collect(), next_page_token })
}

/// `ListVideos`.
pub async fn list_videos(
    state: &Platform,
    request: pb::ListVideosRequest,
) -> Result<pb::ListVideosResponse, CatalogError> {
    let mut violations = FieldViolations::new();
    let uuid = parse_uuid(&request.episode_id, "episode_id", "an episode", &mut violations);
    let limit = parse_page_size(request.page_size, &mut violations);
    let filters = format!("videos:{}", request.episode_id);
    let after: Option<GroupLead> = parse_page_token(&request.page_token, &filters, &mut violations);
    violations.finish().map_err(CatalogError::Invalid)?;
    let mut conn = state.db.get().await?;
    if !store::episode_exists(&mut conn, uuid).await? {
        return Err(CatalogError::EpisodeNotFound(request.episode_id));
    }
    // An episode has tens of players: group them all, then cut the page after the cursor.
    let groups = group_videos(store::list_videos(&mut conn, uuid).await?);
    let start = after.map_or(0, |after| groups.iter().take_while(|g| !GroupLead::of(g).comes_after(&after)).count());
    let rest: Vec<_> = groups.into_iter().skip(start).collect();
    let (groups, next_page_token) = finish_page(rest, limit, &filters, GroupLead::of);
    Ok(pb::ListVideosResponse { groups, next_page_token })
}
