//! Panel items to stored rows: text folded for search and facets (lower-case ASCII, accents
//! removed: "Amélie" is "amelie"), and a content hash so a sync writes only what changed.

use sha2::{Digest as _, Sha256};

use crate::{
    services::catalog::{store::playlist_items::NewItem, xtream::decode::Item},
    text::cleaned,
};

/// Folds text for matching: ASCII transliteration, lower case, runs of spaces as one.
pub fn fold(text: &str) -> String {
    let ascii = deunicode::deunicode(text).to_lowercase();
    ascii.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The words of a search query, folded.
pub fn words(query: &str) -> Vec<String> {
    fold(query).split(' ').filter(|w| !w.is_empty()).map(str::to_owned).collect()
}

fn optional(text: Option<String>) -> Option<String> {
    text.map(cleaned).filter(|t| !t.is_empty())
}

/// The stored row of a panel item of `kind`.
pub fn new_item(playlist: i64, kind: i16, item: Item) -> NewItem {
    let name = cleaned(item.name);
    let original_title = optional(item.original_title);
    let search_text = match &original_title {
        Some(original) => format!("{} {}", fold(&name), fold(original)),
        None => fold(&name),
    };
    let genres: Vec<String> = item.genres.into_iter().map(cleaned).filter(|g| !g.is_empty()).collect();
    let actors: Vec<String> = item.actors.into_iter().map(cleaned).filter(|a| !a.is_empty()).collect();
    let mut row = NewItem {
        playlist_id: playlist,
        kind,
        sort_name: fold(&name),
        search_text,
        genre_keys: genres.iter().map(|g| fold(g)).collect(),
        actor_keys: actors.iter().map(|a| fold(a)).collect(),
        item_id: item.id,
        name,
        original_title,
        category_ids: item.category_ids,
        icon: optional(item.icon),
        container_extension: optional(item.container_extension),
        rating: item.rating.unwrap_or(0.0) as f32,
        year: item.year.and_then(|y| i32::try_from(y).ok()).unwrap_or(0),
        added: item.added.unwrap_or(0),
        genres,
        actors,
        director: optional(item.director),
        plot: optional(item.plot),
        epg_channel_id: optional(item.epg_channel_id),
        tv_archive: item.tv_archive,
        content_hash: String::new(),
    };
    row.content_hash = hash(&row);
    row
}

/// SHA-256 over the row's content (everything but the hash), hex.
fn hash(row: &NewItem) -> String {
    // Serializing a plain struct of strings and numbers cannot fail.
    let json = serde_json::to_vec(row).unwrap_or_default();
    Sha256::digest(json).iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_drops_case_accents_and_extra_spaces() {
        assert_eq!(fold("  Le Fabuleux   Destin d'AMÉLIE Poulain "), "le fabuleux destin d'amelie poulain");
        assert_eq!(words("Amélie  poulain"), ["amelie", "poulain"]);
        assert!(words("   ").is_empty());
    }

    #[test]
    fn the_hash_follows_the_content() {
        let item = Item { id: "1".into(), name: "Amélie".into(), genres: vec!["Comedy".into()], ..Item::default() };
        let a = new_item(1, 2, item.clone());
        assert_eq!(a.content_hash, new_item(1, 2, item.clone()).content_hash);
        assert_eq!((a.search_text.as_str(), a.genre_keys.as_slice()), ("amelie", &["comedy".to_owned()][..]));
        let renamed = new_item(1, 2, Item { name: "Amelie".into(), ..item });
        assert_ne!(a.content_hash, renamed.content_hash);
    }
}
