//! Playlist rows, items and favorites to proto.

use medley_sdk::pb;

use super::{Playlists, names};
use crate::{
    api::jobs::state_to_pb,
    proto_time::to_timestamp,
    services::catalog::{
        CatalogError,
        store::{
            playlist_favorites::FavoriteRow,
            playlist_items::ItemRow,
            playlists::{self as store, PlaylistRow},
        },
    },
};

/// The kind of a stored number (unknown numbers read as unspecified).
pub fn kind(number: i16) -> pb::PlaylistItemKind {
    pb::PlaylistItemKind::try_from(i32::from(number)).unwrap_or(pb::PlaylistItemKind::Unspecified)
}

/// Playlists with their item counts and last sync's state.
pub async fn playlists(playlists: &Playlists, rows: Vec<PlaylistRow>) -> Result<Vec<pb::Playlist>, CatalogError> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let counts = {
        let mut conn = playlists.platform.db.get().await?;
        store::item_counts(&mut conn, &ids).await?
    };
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let count = |k: pb::PlaylistItemKind| {
            counts.iter().find(|(p, kind, _)| *p == row.id && *kind == k as i16).map_or(0, |(_, _, n)| *n)
        };
        let last_state = match row.last_sync_run {
            Some(run) => playlists.platform.jobs.get(run).await?.map(|job| state_to_pb(job.state())),
            None => None,
        };
        let account = &row.account;
        out.push(pb::Playlist {
            name: names::playlist_name(row.id),
            display_name: row.display_name.clone(),
            server_url: row.server_url.clone(),
            credentials: None,
            account: Some(pb::PlaylistAccount {
                status: account.account_status.clone(),
                expire_time: account.expires_at.map(to_timestamp),
                max_connections: account.max_connections,
                active_connections: account.active_connections,
                trial: account.trial,
                server_time_zone: account.server_time_zone.clone(),
                panel_family: i32::from(account.panel_family),
                allowed_output_formats: account.output_formats.iter().flatten().cloned().collect(),
                check_time: Some(to_timestamp(account.checked_at)),
            }),
            sync_enabled: row.sync_enabled,
            last_sync_time: row.last_sync_at.map(to_timestamp),
            last_sync_run_id: row.last_sync_run.unwrap_or(0),
            last_sync_state: last_state.unwrap_or(pb::JobState::Unspecified) as i32,
            next_sync_time: row.sync_enabled.then(|| to_timestamp(row.next_sync_at)),
            live_count: count(pb::PlaylistItemKind::Live),
            vod_count: count(pb::PlaylistItemKind::Vod),
            series_count: count(pb::PlaylistItemKind::Series),
            create_time: Some(to_timestamp(row.created_at)),
            update_time: Some(to_timestamp(row.updated_at)),
        });
    }
    Ok(out)
}

fn texts(values: Vec<Option<String>>) -> Vec<String> {
    values.into_iter().flatten().collect()
}

/// An item as listed.
pub fn item(row: ItemRow, favorite: bool) -> pb::PlaylistItem {
    let kind = kind(row.kind);
    pb::PlaylistItem {
        name: names::item_name(row.playlist_id, kind, &row.item_id),
        kind: kind as i32,
        display_name: row.name,
        original_title: row.original_title.unwrap_or_default(),
        category_ids: texts(row.category_ids),
        icon_url: row.icon.unwrap_or_default(),
        rating: f64::from(row.rating),
        year: row.year,
        genres: texts(row.genres),
        actors: texts(row.actors),
        director: row.director.unwrap_or_default(),
        plot: row.plot.unwrap_or_default(),
        add_time: (row.added > 0).then_some(prost_types::Timestamp { seconds: row.added, nanos: 0 }),
        container_extension: row.container_extension.unwrap_or_default(),
        epg_channel_id: row.epg_channel_id.unwrap_or_default(),
        tv_archive: row.tv_archive,
        favorite,
        item_id: row.item_id,
    }
}

/// A favorite.
pub fn favorite(row: FavoriteRow) -> pb::Favorite {
    let kind = kind(row.kind);
    pb::Favorite {
        item: names::item_name(row.playlist_id, kind, &row.item_id),
        kind: kind as i32,
        display_name: row.display_name,
        gone: row.gone,
        create_time: Some(to_timestamp(row.created_at)),
    }
}
