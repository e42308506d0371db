//! Settings of the mapping service.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `MEDLEY_MAPPING_SOURCES` | the public upstream files ([`DEFAULT_SOURCES`]) | sources of the pipeline, `kind=location,...` |
//! | `MEDLEY_PUBLIC_MAPPING` | `true` | lookups without an API key (rate-limited per client) |

use std::fmt;

use clap::Args;

use super::sources::SourceSpec;
use crate::config::ConfigEntries;

/// The public lists the mapping pipeline reads by default: the maintained fork of
/// anime-offline-database (the original is archived), Fribb's TVDB/TMDB/IMDb list, ARM (Annict,
/// Syobocal) and AnimeAPI (Kaize, Nautiljon, Otak Otaku, SilverYasha, Trakt).
pub const DEFAULT_SOURCES: &str = "aod=https://github.com/cedya77/anime-offline-database/releases/download/latest/anime-offline-database-minified.json.zst,\
fribb=https://raw.githubusercontent.com/Fribb/anime-lists/master/anime-lists-reduced.json,\
arm=https://raw.githubusercontent.com/kawaiioverflow/arm/master/arm.json,\
animeapi=https://raw.githubusercontent.com/nattadasu/animeApi/v3/database/animeapi.tsv";

/// The mapping service's settings.
#[derive(Clone, Debug, Args)]
pub struct MappingConfig {
    /// Sources of the mapping pipeline, in order, as `kind=location` (kinds aod, fribb,
    /// animeapi, arm; location a URL or a file path), comma-separated. Within a kind, earlier
    /// sources win conflicts.
    #[arg(long = "mapping-sources", env = "MEDLEY_MAPPING_SOURCES", default_value = DEFAULT_SOURCES, value_parser = parse_sources)]
    pub sources: MappingSources,

    /// Let lookups (GetMapping, BatchGetMappings, ResolveRedirect, SearchAnime, ListPlatforms,
    /// GetStatus, ExportMappings) run without an API key, as IDS.moe answers them, with the
    /// per-client limit of MEDLEY_ANONYMOUS_RPS / MEDLEY_ANONYMOUS_RPM; false requires a read key.
    #[arg(long, env = "MEDLEY_PUBLIC_MAPPING", default_value_t = true, action = clap::ArgAction::Set)]
    pub public_mapping: bool,
}

/// The configured mapping sources.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MappingSources(pub Vec<SourceSpec>);

impl fmt::Display for MappingSources {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        f.write_str(&list.join(","))
    }
}

fn parse_sources(text: &str) -> Result<MappingSources, String> {
    SourceSpec::parse_list(text).map(MappingSources)
}

impl ConfigEntries for MappingConfig {
    fn entries(&self) -> Vec<(&'static str, String)> {
        // The sources print redacted (see `SourceSpec`'s Display).
        vec![
            ("MEDLEY_MAPPING_SOURCES", self.sources.to_string()),
            ("MEDLEY_PUBLIC_MAPPING", self.public_mapping.to_string()),
        ]
    }
}
