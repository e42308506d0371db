//! Resource names of playlists and their items (see playlist.proto), parsed with violations.

use medley_sdk::pb::PlaylistItemKind;

use crate::error::FieldViolations;

/// `playlists/{id}`.
pub fn playlist_name(id: i64) -> String {
    format!("playlists/{id}")
}

/// The path word of a kind in item names.
pub fn kind_word(kind: PlaylistItemKind) -> &'static str {
    match kind {
        PlaylistItemKind::Live => "live",
        PlaylistItemKind::Vod => "vod",
        PlaylistItemKind::Series | PlaylistItemKind::Unspecified => "series",
    }
}

/// `playlists/{id}/{live|vod|series}/{item}`.
pub fn item_name(playlist: i64, kind: PlaylistItemKind, item: &str) -> String {
    format!("playlists/{playlist}/{}/{item}", kind_word(kind))
}

/// `playlists/{id}/episodes/{episode}`.
pub fn episode_name(playlist: i64, episode: &str) -> String {
    format!("playlists/{playlist}/episodes/{episode}")
}

/// What an item name names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ItemRef {
    /// A live channel, film or series.
    Item(PlaylistItemKind, String),
    /// An episode.
    Episode(String),
}

fn parse_id(text: &str) -> Option<i64> {
    text.parse().ok().filter(|id| *id > 0)
}

/// Parses `playlists/{id}`; records a violation of `field` otherwise.
pub fn parse_playlist(field: &str, name: &str, violations: &mut FieldViolations) -> Option<i64> {
    let id = name.strip_prefix("playlists/").and_then(parse_id);
    if id.is_none() {
        violations.add(field, "must be a playlist name, `playlists/{id}`");
    }
    id
}

/// Parses an item name; `episodes` allows `playlists/{id}/episodes/{episode}` too.
pub fn parse_item(field: &str, name: &str, episodes: bool, violations: &mut FieldViolations) -> Option<(i64, ItemRef)> {
    let parsed = (|| {
        let rest = name.strip_prefix("playlists/")?;
        let mut parts = rest.splitn(3, '/');
        let playlist = parse_id(parts.next()?)?;
        let word = parts.next()?;
        let id = parts.next().filter(|id| !id.is_empty() && id.len() <= 64 && !id.contains('/'))?.to_owned();
        let item = match word {
            "live" => ItemRef::Item(PlaylistItemKind::Live, id),
            "vod" => ItemRef::Item(PlaylistItemKind::Vod, id),
            "series" => ItemRef::Item(PlaylistItemKind::Series, id),
            "episodes" if episodes => ItemRef::Episode(id),
            _ => return None,
        };
        Some((playlist, item))
    })();
    if parsed.is_none() {
        let expected = if episodes {
            "`playlists/{id}/{live|vod|series|episodes}/{item}`"
        } else {
            "`playlists/{id}/{live|vod|series}/{item}`"
        };
        violations.add(field, format!("must be an item name, {expected}"));
    }
    parsed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_bad_ones_are_violations() {
        let mut violations = FieldViolations::new();
        assert_eq!(parse_playlist("name", &playlist_name(7), &mut violations), Some(7));
        let name = item_name(7, PlaylistItemKind::Vod, "130529");
        assert_eq!(
            parse_item("name", &name, false, &mut violations),
            Some((7, ItemRef::Item(PlaylistItemKind::Vod, "130529".into())))
        );
        assert_eq!(
            parse_item("name", &episode_name(7, "1024"), true, &mut violations),
            Some((7, ItemRef::Episode("1024".into())))
        );
        assert!(violations.is_empty());
        for bad in ["", "playlists/", "playlists/0", "playlists/-1", "playlists/x", "anime/1"] {
            assert_eq!(parse_playlist("name", bad, &mut violations), None, "{bad}");
        }
        for bad in ["playlists/7/vod/", "playlists/7/films/1", "playlists/7/episodes/1", "playlists/7/vod/a/b"] {
            assert_eq!(parse_item("name", bad, false, &mut violations), None, "{bad}");
        }
        assert_eq!(violations.into_error().violated_fields().len(), 10);
    }
}
