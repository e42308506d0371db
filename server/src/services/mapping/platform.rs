//! Every platform Medley maps: canonical names, aliases, id shapes and page URLs.
//!
//! Names and aliases follow IDS.moe and AnimeAPI (reference/mapping.md §2) so existing clients
//! keep working, plus `tvdb` (users expect it; neither has it). URL templates are the ones the
//! sites use today; IDS.moe's broken ANN template (no `.com`, no `.php`) is fixed.

use medley_sdk::pb::{IdKind, Platform};

/// How ids of a platform take part in merging.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// One id is one anime: ids of these platforms are the nodes of the merge graph, and a
    /// record holds at most one of each.
    Unique,
    /// One id may cover several records (a TV show's seasons, a film series' IMDb id): attached
    /// to records, never used to join them.
    Attached,
    /// Copied from another platform's id (Shikimori ids are MyAnimeList ids).
    Derived(Platform),
    /// Not stored: a redirect target whose URL uses another platform's id.
    RedirectOnly(Platform),
}

/// What Medley knows about one platform.
#[derive(Debug)]
pub struct PlatformSpec {
    /// The enum value.
    pub platform: Platform,
    /// Canonical name (REST paths, record fields).
    pub name: &'static str,
    /// Other names accepted, lower-case.
    pub aliases: &'static [&'static str],
    /// Shape of the ids.
    pub id_kind: IdKind,
    /// Page URL; `{id}` and `{season}` are filled in.
    pub url_template: &'static str,
    /// Page URL of a season, for seasonal platforms.
    pub season_url_template: Option<&'static str>,
    /// Merge role.
    pub role: Role,
}

impl PlatformSpec {
    /// Returns whether ids on this platform take a season.
    pub fn seasonal(&self) -> bool {
        self.season_url_template.is_some()
    }

    /// Returns whether records hold ids of this platform.
    pub fn stored(&self) -> bool {
        !matches!(self.role, Role::RedirectOnly(_))
    }

    /// Returns the page of `id` (and `season`) on this platform.
    pub fn url(&self, id: &str, season: Option<i32>) -> String {
        match (season, self.season_url_template) {
            (Some(season), Some(template)) => template.replace("{id}", id).replace("{season}", &season.to_string()),
            _ => self.url_template.replace("{id}", id),
        }
    }
}

const fn spec(
    platform: Platform,
    name: &'static str,
    aliases: &'static [&'static str],
    id_kind: IdKind,
    url_template: &'static str,
    role: Role,
) -> PlatformSpec {
    PlatformSpec { platform, name, aliases, id_kind, url_template, season_url_template: None, role }
}

use IdKind::{Imdb, Numeric, Slug};
use Role::{Attached, Derived, RedirectOnly, Unique};

/// Every platform, in enum order.
pub static PLATFORMS: &[PlatformSpec] = &[
    spec(Platform::Anidb, "anidb", &["ad", "adb", "anidb.net"], Numeric, "https://anidb.net/anime/{id}", Unique),
    spec(Platform::Anilist, "anilist", &["al", "anilist.co"], Numeric, "https://anilist.co/anime/{id}", Unique),
    spec(
        Platform::Animenewsnetwork,
        "animenewsnetwork",
        &["an", "ann", "animenewsnetwork.com"],
        Numeric,
        "https://www.animenewsnetwork.com/encyclopedia/anime.php?id={id}",
        Unique,
    ),
    spec(
        Platform::Animeplanet,
        "animeplanet",
        &["ap", "anime-planet", "anime-planet.com", "animeplanet.com"],
        Slug,
        "https://www.anime-planet.com/anime/{id}",
        Unique,
    ),
    spec(
        Platform::Anisearch,
        "anisearch",
        &["as", "anisearch.de", "anisearch.es", "anisearch.fr", "anisearch.it", "anisearch.jp", "anisearch.com"],
        Numeric,
        "https://www.anisearch.com/anime/{id}",
        Unique,
    ),
    spec(
        Platform::Annict,
        "annict",
        &["ac", "act", "anc", "annict.com", "annict.jp", "en.annict.com"],
        Numeric,
        "https://annict.com/works/{id}",
        Unique,
    ),
    spec(Platform::Hikka, "hikka", &["hk", "hikka.io"], Slug, "https://hikka.io/anime/{id}", Unique),
    spec(Platform::Imdb, "imdb", &["im", "imdb.com"], Imdb, "https://www.imdb.com/title/{id}/", Attached),
    spec(Platform::Kaize, "kaize", &["kz", "kaize.io"], Slug, "https://kaize.io/anime/{id}", Unique),
    // Kaize pages are addressed by slug only.
    spec(Platform::KaizeId, "kaize_id", &[], Numeric, "", Unique),
    spec(
        Platform::Kitsu,
        "kitsu",
        &["kt", "kts", "kitsu.app", "kitsu.io"],
        Numeric,
        "https://kitsu.app/anime/{id}",
        Unique,
    ),
    spec(
        Platform::Livechart,
        "livechart",
        &["lc", "livechart.me"],
        Numeric,
        "https://www.livechart.me/anime/{id}",
        Unique,
    ),
    spec(
        Platform::Myanimelist,
        "myanimelist",
        &["ma", "mal", "ml", "myanimelist.net"],
        Numeric,
        "https://myanimelist.net/anime/{id}",
        Unique,
    ),
    spec(
        Platform::Nautiljon,
        "nautiljon",
        &["nj", "ntj", "nautiljon.com"],
        Slug,
        "https://www.nautiljon.com/animes/{id}.html",
        Unique,
    ),
    // Nautiljon pages are addressed by slug only.
    spec(Platform::NautiljonId, "nautiljon_id", &[], Numeric, "", Unique),
    spec(
        Platform::Notify,
        "notify",
        &["nf", "ntf", "ntm", "notifymoe", "notify.moe"],
        Slug,
        "https://notify.moe/anime/{id}",
        Unique,
    ),
    spec(
        Platform::Otakotaku,
        "otakotaku",
        &["oo", "otakotaku.com"],
        Numeric,
        "https://otakotaku.com/anime/view/{id}",
        Unique,
    ),
    spec(
        Platform::Shikimori,
        "shikimori",
        &["sh", "shk", "shiki", "shikimori.me", "shikimori.one", "shikimori.org"],
        Numeric,
        "https://shikimori.one/animes/{id}",
        Derived(Platform::Myanimelist),
    ),
    spec(
        Platform::Shoboi,
        "shoboi",
        &["sb", "shb", "syb", "syoboi", "shobocal", "syobocal", "cal.syoboi.jp"],
        Numeric,
        "https://cal.syoboi.jp/tid/{id}",
        Unique,
    ),
    spec(
        Platform::Silveryasha,
        "silveryasha",
        &["sy", "dbti", "db.silveryasha.id", "db.silveryasha.web.id"],
        Numeric,
        "https://db.silveryasha.id/anime/{id}",
        Unique,
    ),
    spec(
        Platform::Simkl,
        "simkl",
        &["sm", "smk", "simkl.com", "animecountdown", "animecountdown.com"],
        Numeric,
        "https://simkl.com/anime/{id}",
        Unique,
    ),
    spec(
        Platform::Themoviedb,
        "themoviedb",
        &["tm", "tmdb", "tmdb.org", "themoviedb.org", "tmdb_movie", "themoviedb_movie"],
        Numeric,
        "https://www.themoviedb.org/movie/{id}",
        Attached,
    ),
    PlatformSpec {
        season_url_template: Some("https://www.themoviedb.org/tv/{id}/season/{season}"),
        ..spec(
            Platform::ThemoviedbTv,
            "themoviedb_tv",
            &["tmdb_tv", "tmdbtv", "tmdb_show"],
            Numeric,
            "https://www.themoviedb.org/tv/{id}",
            Attached,
        )
    },
    PlatformSpec {
        season_url_template: Some("https://www.thetvdb.com/dereferrer/series/{id}"),
        ..spec(
            Platform::Thetvdb,
            "thetvdb",
            &["tvdb", "tv", "tt", "thetvdb.com", "tvtime", "tvtime.com"],
            Numeric,
            "https://www.thetvdb.com/dereferrer/series/{id}",
            Attached,
        )
    },
    PlatformSpec {
        season_url_template: Some("https://trakt.tv/shows/{id}/seasons/{season}"),
        ..spec(
            Platform::Trakt,
            "trakt",
            &["tr", "trk", "trakt.tv", "trakt_show", "trakt_shows"],
            Numeric,
            "https://trakt.tv/shows/{id}",
            Attached,
        )
    },
    spec(Platform::TraktMovie, "trakt_movie", &["trakt_movies"], Numeric, "https://trakt.tv/movies/{id}", Attached),
    spec(
        Platform::Kurozora,
        "kurozora",
        &["kr", "krz", "kurozora.app"],
        Numeric,
        "https://kurozora.app/myanimelist.net/anime/{id}",
        RedirectOnly(Platform::Myanimelist),
    ),
    spec(
        Platform::Letterboxd,
        "letterboxd",
        &["lb", "lx", "letterboxd.com"],
        Numeric,
        "https://letterboxd.com/tmdb/{id}",
        RedirectOnly(Platform::Themoviedb),
    ),
    spec(
        Platform::Myanili,
        "myanili",
        &["my", "myani.li"],
        Numeric,
        "https://myani.li/#/anime/details/{id}",
        RedirectOnly(Platform::Myanimelist),
    ),
];

/// Returns the spec of `platform` (`None` for `Unspecified`).
pub fn spec_of(platform: Platform) -> Option<&'static PlatformSpec> {
    PLATFORMS.iter().find(|spec| spec.platform == platform)
}

/// Returns the spec of an enum number sent by a client.
pub fn spec_of_number(number: i32) -> Option<&'static PlatformSpec> {
    Platform::try_from(number).ok().and_then(spec_of)
}

/// Returns whether one id of `platform` is one anime (a node of the merge graph).
pub fn is_unique(platform: Platform) -> bool {
    spec_of(platform).is_some_and(|s| s.role == Role::Unique)
}

/// Resolves a canonical name or alias, case-insensitively.
pub fn by_name(name: &str) -> Option<&'static PlatformSpec> {
    let name = name.trim().to_ascii_lowercase();
    PLATFORMS.iter().find(|spec| spec.name == name || spec.aliases.contains(&name.as_str()))
}

/// Checks `raw` against the platform's id shape and returns its canonical form (numbers without
/// leading zeros, IMDb ids lower-case), or why it is rejected.
pub fn canonical_id(spec: &PlatformSpec, raw: &str) -> Result<String, String> {
    let id = raw.trim();
    if id.is_empty() {
        return Err("must not be empty".into());
    }
    match spec.id_kind {
        Numeric => match id.parse::<u64>() {
            Ok(0) => Err(format!("{} ids are positive integers", spec.name)),
            Ok(n) if n <= i64::MAX as u64 => Ok(n.to_string()),
            _ => Err(format!("{} ids are positive integers, got {id:?}", spec.name)),
        },
        Imdb => {
            let lower = id.to_ascii_lowercase();
            match lower.strip_prefix("tt") {
                Some(digits)
                    if digits.len() >= 7 && digits.len() <= 12 && digits.bytes().all(|b| b.is_ascii_digit()) =>
                {
                    Ok(lower)
                }
                _ => Err(format!("IMDb ids are \"tt\" and 7 to 12 digits, got {id:?}")),
            }
        }
        _ => {
            // Slugs carry punctuation in the wild (Nautiljon: `100-+pascal-sensei+(tv)`); only
            // what cannot sit in one URL path segment is refused.
            let valid = id.len() <= 256
                && !id.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '/' | '?' | '#'));
            if valid { Ok(id.to_owned()) } else { Err(format!("{} ids are URL slugs, got {id:?}", spec.name)) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_enum_value_has_one_spec_and_names_are_unique() {
        let mut names = std::collections::HashSet::new();
        for spec in PLATFORMS {
            assert!(names.insert(spec.name), "duplicate name {}", spec.name);
            for alias in spec.aliases {
                assert!(names.insert(alias), "duplicate alias {alias}");
            }
        }
        for number in 1..=29 {
            assert!(spec_of_number(number).is_some(), "no spec for platform {number}");
        }
        assert_eq!(PLATFORMS.len(), 29);
    }

    #[test]
    fn aliases_resolve_case_insensitively() {
        assert_eq!(by_name("MAL").map(|s| s.platform), Some(Platform::Myanimelist));
        assert_eq!(by_name("tvdb").map(|s| s.platform), Some(Platform::Thetvdb));
        assert_eq!(by_name("anime-planet.com").map(|s| s.platform), Some(Platform::Animeplanet));
        assert_eq!(by_name("animecountdown").map(|s| s.platform), Some(Platform::Simkl));
        assert!(by_name("netflix").is_none());
    }

    #[test]
    fn ids_are_checked_and_canonicalised() {
        let mal = by_name("mal").map(|s| canonical_id(s, "0001"));
        assert_eq!(mal, Some(Ok("1".into())));
        let spec = spec_of(Platform::Myanimelist).map(|s| (canonical_id(s, "abc"), canonical_id(s, "0")));
        assert!(matches!(spec, Some((Err(_), Err(_)))));
        let imdb = spec_of(Platform::Imdb).map(|s| (canonical_id(s, "TT0213338"), canonical_id(s, "tt12")));
        assert!(matches!(imdb, Some((Ok(ref id), Err(_))) if id == "tt0213338"));
        let slug = spec_of(Platform::Animeplanet).map(|s| (canonical_id(s, "cowboy-bebop"), canonical_id(s, "a/b")));
        assert!(matches!(slug, Some((Ok(_), Err(_)))));
    }

    #[test]
    fn urls_use_the_right_template() {
        let ann = spec_of(Platform::Animenewsnetwork).map(|s| s.url("1", None));
        assert_eq!(ann.as_deref(), Some("https://www.animenewsnetwork.com/encyclopedia/anime.php?id=1"));
        let tmdb = spec_of(Platform::ThemoviedbTv).map(|s| s.url("30991", Some(1)));
        assert_eq!(tmdb.as_deref(), Some("https://www.themoviedb.org/tv/30991/season/1"));
        let trakt = spec_of(Platform::Trakt).map(|s| s.url("30857", None));
        assert_eq!(trakt.as_deref(), Some("https://trakt.tv/shows/30857"));
    }
}
