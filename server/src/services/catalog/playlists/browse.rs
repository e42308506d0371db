//! Browsing a playlist's synced catalog: categories, item lists (search, filters, sort,
//! cursors), distinct genres and actors, and the caller's favorites.

use medley_sdk::pb::{self, PlaylistItemKind};
use sha2::{Digest as _, Sha256};

use super::{Playlists, Principal, convert, fold, names};
use crate::{
    error::FieldViolations,
    pagination::{finish_page, parse_page_size, parse_page_token, rows_to_read},
    services::catalog::{
        CatalogError,
        store::{
            playlist_browse::{self as browse, Facet, ItemCursor, ItemFilter, ItemOrder},
            playlist_favorites::{self as favorites, FavoriteCursor, FavoriteRow},
            playlist_items::{self as items, ItemRow},
            playlists::PlaylistRow,
        },
    },
};

/// Longest text accepted in a filter.
const MAX_TEXT: usize = 200;

/// A list request of any kind, as the three List RPCs send it.
pub struct ItemsRequest {
    /// `playlists/{id}`.
    pub parent: String,
    /// Filters.
    pub filter: Option<pb::PlaylistItemFilter>,
    /// Sort order.
    pub order_by: i32,
    /// Page size.
    pub page_size: i32,
    /// Page token.
    pub page_token: String,
}

fn fingerprint(parts: &str) -> String {
    Sha256::digest(parts.as_bytes()).iter().take(8).map(|b| format!("{b:02x}")).collect()
}

fn check_text(field: &str, text: &str, violations: &mut FieldViolations) -> Option<String> {
    if text.chars().count() > MAX_TEXT {
        violations.add(field, format!("must be at most {MAX_TEXT} characters"));
        return None;
    }
    let folded = fold::fold(text);
    (!folded.is_empty()).then_some(folded)
}

fn parse_filter(filter: Option<pb::PlaylistItemFilter>, violations: &mut FieldViolations) -> ItemFilter {
    let filter = filter.unwrap_or_default();
    let year = |field: &str, year: i32, violations: &mut FieldViolations| match year {
        0 => None,
        1900..=2100 => Some(year),
        _ => {
            violations.add(field, "must be 0 (none) or a year from 1900 to 2100");
            None
        }
    };
    let year_min = year("filter.year_min", filter.year_min, violations);
    let year_max = year("filter.year_max", filter.year_max, violations);
    if let (Some(min), Some(max)) = (year_min, year_max)
        && min > max
    {
        violations.add("filter.year_max", "must not be before year_min");
    }
    let min_rating = match filter.min_rating {
        0.0 => None,
        r if r.is_finite() && (0.0..=10.0).contains(&r) => Some(r as f32),
        _ => {
            violations.add("filter.min_rating", "must be from 0 to 10");
            None
        }
    };
    let added_after = filter.added_after.and_then(|at| {
        if at.seconds < 0 || !(0..1_000_000_000).contains(&at.nanos) {
            violations.add("filter.added_after", "must be a valid time after 1970");
            None
        } else {
            Some(at.seconds)
        }
    });
    if filter.category_id.len() > 64 {
        violations.add("filter.category_id", "must be at most 64 characters");
    }
    let words = if filter.query.chars().count() > MAX_TEXT {
        violations.add("filter.query", format!("must be at most {MAX_TEXT} characters"));
        Vec::new()
    } else {
        fold::words(&filter.query)
    };
    ItemFilter {
        category: Some(filter.category_id.trim().to_owned()).filter(|c| !c.is_empty()),
        words,
        genre: check_text("filter.genre", &filter.genre, violations),
        actor: check_text("filter.actor", &filter.actor, violations),
        year_min,
        year_max,
        min_rating,
        added_after,
    }
}

/// `ListLiveStreams`, `ListVod`, `ListSeries`: a page of items of `kind`.
pub async fn list_items(
    playlists: &Playlists,
    principal: &Principal,
    kind: PlaylistItemKind,
    request: ItemsRequest,
) -> Result<(Vec<pb::PlaylistItem>, String), CatalogError> {
    let mut violations = FieldViolations::new();
    let playlist = names::parse_playlist("parent", &request.parent, &mut violations);
    let filter = parse_filter(request.filter, &mut violations);
    let order = match violations.parse_enum::<pb::PlaylistItemOrder>("order_by", request.order_by) {
        Some(pb::PlaylistItemOrder::Added) => ItemOrder::Added,
        Some(pb::PlaylistItemOrder::Rating) => ItemOrder::Rating,
        Some(pb::PlaylistItemOrder::Year) => ItemOrder::Year,
        _ => ItemOrder::Name,
    };
    let limit = parse_page_size(request.page_size, &mut violations);
    let filters = fingerprint(&format!("{}|{}|{filter:?}|{order:?}", request.parent, kind as i32));
    let cursor: Option<ItemCursor> = parse_page_token(&request.page_token, &filters, &mut violations);
    violations.finish().map_err(CatalogError::Invalid)?;
    let row = playlists.owned(principal, playlist.unwrap_or_default()).await?;
    let mut conn = playlists.platform.db.get().await?;
    let rows =
        browse::list_items(&mut conn, row.id, kind as i16, &filter, order, cursor.as_ref(), rows_to_read(limit)).await?;
    let (rows, token) = finish_page(rows, limit, &filters, |last: &ItemRow| ItemCursor::after(last, order));
    let ids: Vec<String> = rows.iter().map(|r| r.item_id.clone()).collect();
    let marked = favorites::marked(&mut conn, principal.key_id, row.id, kind as i16, &ids).await?;
    let items = rows
        .into_iter()
        .map(|r| {
            let favorite = marked.contains(&r.item_id);
            convert::item(r, favorite)
        })
        .collect();
    Ok((items, token))
}

/// `ListCategories`.
pub async fn categories(
    playlists: &Playlists,
    principal: &Principal,
    request: pb::ListCategoriesRequest,
) -> Result<pb::ListCategoriesResponse, CatalogError> {
    let mut violations = FieldViolations::new();
    let playlist = names::parse_playlist("parent", &request.parent, &mut violations);
    let kind = violations.parse_enum::<PlaylistItemKind>("kind", request.kind);
    violations.finish().map_err(CatalogError::Invalid)?;
    let row = playlists.owned(principal, playlist.unwrap_or_default()).await?;
    let kind = kind.filter(|k| *k != PlaylistItemKind::Unspecified).map(|k| k as i16);
    let mut conn = playlists.platform.db.get().await?;
    let stored = items::categories(&mut conn, row.id, kind).await?;
    let counts = items::category_counts(&mut conn, row.id).await?;
    let categories = stored
        .into_iter()
        .map(|c| pb::PlaylistCategory {
            item_count: counts
                .iter()
                .find(|(k, id, _)| *k == c.kind && *id == c.category_id)
                .map_or(0, |(_, _, n)| *n),
            kind: i32::from(c.kind),
            category_id: c.category_id,
            display_name: c.name,
            parent_id: c.parent_id.unwrap_or_default(),
        })
        .collect();
    Ok(pb::ListCategoriesResponse { categories })
}

/// A facet request of either RPC.
pub struct FacetRequest {
    /// `playlists/{id}`.
    pub parent: String,
    /// Kind filter.
    pub kind: i32,
    /// Text filter.
    pub query: String,
    /// Page size.
    pub page_size: i32,
    /// Page token.
    pub page_token: String,
}

/// `ListGenres`, `ListActors`.
pub async fn facets(
    playlists: &Playlists,
    principal: &Principal,
    facet: Facet,
    request: FacetRequest,
) -> Result<(Vec<pb::Facet>, String), CatalogError> {
    let mut violations = FieldViolations::new();
    let playlist = names::parse_playlist("parent", &request.parent, &mut violations);
    let kind = violations.parse_enum::<PlaylistItemKind>("kind", request.kind);
    let query = check_text("query", &request.query, &mut violations);
    let limit = parse_page_size(request.page_size, &mut violations);
    let filters = fingerprint(&format!("{}|{facet:?}|{}|{query:?}", request.parent, request.kind));
    let after: Option<String> = parse_page_token(&request.page_token, &filters, &mut violations);
    violations.finish().map_err(CatalogError::Invalid)?;
    let row = playlists.owned(principal, playlist.unwrap_or_default()).await?;
    let kind = kind.filter(|k| *k != PlaylistItemKind::Unspecified).map(|k| k as i16);
    let mut conn = playlists.platform.db.get().await?;
    let rows =
        browse::facets(&mut conn, row.id, facet, kind, query.as_deref(), after.as_deref(), rows_to_read(limit)).await?;
    let (rows, token) = finish_page(rows, limit, &filters, |last| last.key.clone());
    Ok((rows.into_iter().map(|r| pb::Facet { value: r.value, item_count: r.items }).collect(), token))
}

/// The playlist and item of a favorite's item name (the playlist must be the principal's).
async fn favorite_item(
    playlists: &Playlists,
    principal: &Principal,
    item: &str,
) -> Result<(PlaylistRow, PlaylistItemKind, String), CatalogError> {
    let mut violations = FieldViolations::new();
    let parsed = names::parse_item("item", item, false, &mut violations);
    violations.finish().map_err(CatalogError::Invalid)?;
    let Some((playlist, names::ItemRef::Item(kind, item_id))) = parsed else {
        return Err(CatalogError::Bug("an item name parsed as an episode"));
    };
    Ok((playlists.owned(principal, playlist).await?, kind, item_id))
}

/// `SetFavorite`: the item must exist now (it may disappear later; the favorite stays).
pub async fn set_favorite(
    playlists: &Playlists,
    principal: &Principal,
    request: pb::SetFavoriteRequest,
) -> Result<pb::Favorite, CatalogError> {
    let (row, kind, item_id) = favorite_item(playlists, principal, &request.item).await?;
    let mut conn = playlists.platform.db.get().await?;
    let Some(item) = items::find(&mut conn, row.id, kind as i16, &item_id).await? else {
        return Err(CatalogError::ItemNotFound(request.item));
    };
    let favorite = favorites::set(&mut conn, principal.key_id, row.id, kind as i16, &item_id, &item.name).await?;
    Ok(convert::favorite(favorite))
}

/// `DeleteFavorite` (an item that is not marked: nothing to do).
pub async fn delete_favorite(
    playlists: &Playlists,
    principal: &Principal,
    request: pb::DeleteFavoriteRequest,
) -> Result<(), CatalogError> {
    let (row, kind, item_id) = favorite_item(playlists, principal, &request.item).await?;
    let mut conn = playlists.platform.db.get().await?;
    favorites::delete(&mut conn, principal.key_id, row.id, kind as i16, &item_id).await?;
    Ok(())
}

/// `ListFavorites`: the caller's own, newest first.
pub async fn list_favorites(
    playlists: &Playlists,
    principal: &Principal,
    request: pb::ListFavoritesRequest,
) -> Result<pb::ListFavoritesResponse, CatalogError> {
    let mut violations = FieldViolations::new();
    let playlist = if request.parent.is_empty() {
        None
    } else {
        names::parse_playlist("parent", &request.parent, &mut violations)
    };
    let kind = violations.parse_enum::<PlaylistItemKind>("kind", request.kind);
    let limit = parse_page_size(request.page_size, &mut violations);
    let filters = fingerprint(&format!("{}|{}|{}", principal.key_id, request.parent, request.kind));
    let cursor: Option<FavoriteCursor> = parse_page_token(&request.page_token, &filters, &mut violations);
    violations.finish().map_err(CatalogError::Invalid)?;
    if let Some(id) = playlist {
        playlists.owned(principal, id).await?;
    }
    let kind = kind.filter(|k| *k != PlaylistItemKind::Unspecified).map(|k| k as i16);
    let mut conn = playlists.platform.db.get().await?;
    let rows = favorites::list(&mut conn, principal.key_id, playlist, kind, cursor.as_ref(), rows_to_read(limit)).await?;
    let (rows, next_page_token) = finish_page(rows, limit, &filters, |last: &FavoriteRow| FavoriteCursor {
        at: last.created_at.timestamp_micros(),
        playlist: last.playlist_id,
        kind: last.kind,
        item: last.item_id.clone(),
    });
    Ok(pb::ListFavoritesResponse { favorites: rows.into_iter().map(convert::favorite).collect(), next_page_token })
}
