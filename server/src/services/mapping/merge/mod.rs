//! Merging source records into one record per anime.
//!
//! Rules (also in the README, "Mapping merge rules"):
//!
//! 1. **Graph.** Every id of a *unique* platform (one id = one anime: MAL, AniDB, AniList,
//!    Kitsu, ...) is a node; a source record links its nodes. Records are the connected
//!    components (union-find). Ids of *attached* platforms (TVDB, TMDB, IMDb, Trakt) never join
//!    anything: a TV show id covers many seasons and would glue them into one record.
//! 2. **Priority.** Overrides first, then sources by kind — AOD, Fribb, ARM, AnimeAPI — and by
//!    their order in the configuration within a kind, each source's records in file order.
//! 3. **Conflicts.** A link that would put two different ids of one unique platform into one
//!    component is refused and reported: the component keeps the id that came first by
//!    priority; the refused id stays in its own component. Nothing is overwritten silently.
//! 4. **Attached ids and fields.** Per platform, the ids of the highest-priority record of the
//!    component that has the platform; a lower-priority record with a different id is reported
//!    as a conflict. Title, type, year, season and episodes likewise come from the first record
//!    that has them; every other title becomes a synonym.
//! 5. **Titles.** A source record that shares no id with any other record may join a component
//!    by title: an exact normalised match on its title or synonyms, else a Jaro-Winkler match of
//!    at least [`FUZZY_THRESHOLD`] among titles with the same first word, and in both cases only
//!    when there is exactly one best candidate, the types and years do not disagree, and the
//!    candidate holds no record of the same source (a source's own records are distinct by that
//!    source's judgement).
//! 6. **Overrides.** `link` joins before any source (so it wins every conflict); `unlink` and
//!    `title` apply to the finished component.

pub mod titles;

use std::collections::{HashMap, HashSet};

use medley_sdk::pb::{AiringSeason, MediaType, Platform};

use super::{
    platform::is_unique,
    sources::{SourceId, SourceRecord},
};

/// Least Jaro-Winkler similarity for a fuzzy title match.
pub const FUZZY_THRESHOLD: f64 = 0.95;
/// A fuzzy match must beat the runner-up by this much.
const FUZZY_MARGIN: f64 = 0.02;
/// Most synonyms kept per record.
const MAX_SYNONYMS: usize = 64;

/// Unique platforms in the order a record's first id (its anchor) is chosen.
const ANCHOR_ORDER: &[Platform] = &[
    Platform::Myanimelist,
    Platform::Anidb,
    Platform::Anilist,
    Platform::Kitsu,
    Platform::Anisearch,
    Platform::Animeplanet,
    Platform::Livechart,
    Platform::Animenewsnetwork,
    Platform::Simkl,
    Platform::Notify,
    Platform::Annict,
    Platform::Shoboi,
    Platform::Hikka,
    Platform::Kaize,
    Platform::KaizeId,
    Platform::Nautiljon,
    Platform::NautiljonId,
    Platform::Otakotaku,
    Platform::Silveryasha,
];

/// One source's records, with the label reports use ("fribb:2").
pub struct SourceInput {
    /// `kind:position`.
    pub label: String,
    /// Records in file order.
    pub records: Vec<SourceRecord>,
}

/// A manual correction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OverrideChange {
    /// The subject and this id are one anime.
    Link(SourceId),
    /// The subject's record holds no id of this platform.
    Unlink(Platform),
    /// The subject's record has this title.
    Title(String),
}

/// An override: a change to the record holding `subject` (a unique-platform id).
#[derive(Clone, Debug)]
pub struct OverrideInput {
    /// Platform and canonical id of the subject.
    pub subject: (Platform, String),
    /// The change.
    pub change: OverrideChange,
}

/// A merged record (without its internal id).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MergedRecord {
    /// Main title; empty when no source gives one.
    pub title: String,
    /// Other titles.
    pub synonyms: Vec<String>,
    /// Kind of work.
    pub media_type: Option<MediaType>,
    /// First year aired.
    pub year: Option<i32>,
    /// Season of the year.
    pub season: Option<AiringSeason>,
    /// Episode count.
    pub episodes: Option<i32>,
    /// Ids, sorted by platform then id.
    pub ids: Vec<SourceId>,
}

/// A refused link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflict {
    /// The platform with two ids.
    pub platform: Platform,
    /// Id kept.
    pub kept_id: String,
    /// Source of the kept id.
    pub kept_source: String,
    /// Id refused.
    pub rejected_id: String,
    /// Source of the refused id.
    pub rejected_source: String,
    /// Title of the record.
    pub title: String,
    /// Rule that decided.
    pub rule: &'static str,
}

/// What a merge produced.
#[derive(Debug, Default)]
pub struct MergeOutput {
    /// Records, in the order of their highest-priority source record.
    pub records: Vec<MergedRecord>,
    /// Every conflict.
    pub conflicts: Vec<Conflict>,
    /// Source records joined by title.
    pub title_matches: u64,
    /// Overrides applied.
    pub overrides_applied: u64,
}

/// A source record being merged.
struct Entry<'a> {
    source: usize,
    record: &'a SourceRecord,
    anchor: Option<u32>,
}

/// Union-find over nodes, each root knowing its unique-platform ids.
struct Graph {
    parent: Vec<u32>,
    /// Per root: (platform, node) of each id in the component.
    slots: Vec<Vec<(Platform, u32)>>,
    keys: Vec<(Platform, String)>,
    index: HashMap<(Platform, String), u32>,
    /// Source of the first record that gave each node.
    node_source: Vec<usize>,
    /// Entry that first gave each node.
    node_entry: Vec<usize>,
    /// How many entries gave each node.
    node_refs: Vec<u32>,
}

impl Graph {
    fn with_capacity(n: usize) -> Self {
        Self {
            parent: Vec::with_capacity(n),
            slots: Vec::with_capacity(n),
            keys: Vec::with_capacity(n),
            index: HashMap::with_capacity(n),
            node_source: Vec::with_capacity(n),
            node_entry: Vec::with_capacity(n),
            node_refs: Vec::with_capacity(n),
        }
    }

    fn node(&mut self, platform: Platform, id: &str, source: usize, entry: usize) -> u32 {
        if let Some(&node) = self.index.get(&(platform, id.to_owned())) {
            self.node_refs[node as usize] += 1;
            return node;
        }
        let node = self.parent.len() as u32;
        self.parent.push(node);
        self.slots.push(vec![(platform, node)]);
        self.keys.push((platform, id.to_owned()));
        self.index.insert((platform, id.to_owned()), node);
        self.node_source.push(source);
        self.node_entry.push(entry);
        self.node_refs.push(1);
        node
    }

    fn find(&mut self, mut node: u32) -> u32 {
        while self.parent[node as usize] != node {
            let grand = self.parent[self.parent[node as usize] as usize];
            self.parent[node as usize] = grand;
            node = grand;
        }
        node
    }

    /// The first platform on which the two components hold different ids: (a's node, b's node).
    fn clash(&self, a: u32, b: u32) -> Option<(u32, u32)> {
        let (small, large, swapped) = if self.slots[a as usize].len() <= self.slots[b as usize].len() {
            (&self.slots[a as usize], &self.slots[b as usize], false)
        } else {
            (&self.slots[b as usize], &self.slots[a as usize], true)
        };
        for &(platform, node) in small {
            if let Some(&(_, other)) = large.iter().find(|(p, n)| *p == platform && *n != node) {
                return Some(if swapped { (other, node) } else { (node, other) });
            }
        }
        None
    }

    /// Joins the components of `a` and `b` unless they clash; returns the clash.
    fn union(&mut self, a: u32, b: u32) -> Result<(), (u32, u32)> {
        let (a, b) = (self.find(a), self.find(b));
        if a == b {
            return Ok(());
        }
        if let Some(clash) = self.clash(a, b) {
            return Err(clash);
        }
        let (big, small) = if self.slots[a as usize].len() >= self.slots[b as usize].len() { (a, b) } else { (b, a) };
        let moved = std::mem::take(&mut self.slots[small as usize]);
        self.slots[big as usize].extend(moved);
        self.parent[small as usize] = big;
        Ok(())
    }
}

fn anchor_rank(platform: Platform) -> usize {
    ANCHOR_ORDER.iter().position(|p| *p == platform).unwrap_or(ANCHOR_ORDER.len())
}

/// Merges `sources` (in priority order) with `overrides` applied.
pub fn merge(sources: &[SourceInput], overrides: &[OverrideInput]) -> MergeOutput {
    let total: usize = sources.iter().map(|s| s.records.len()).sum();
    let mut labels: Vec<&str> = vec!["override"];
    labels.extend(sources.iter().map(|s| s.label.as_str()));
    let mut graph = Graph::with_capacity(total * 4);
    let mut output = MergeOutput::default();

    // Overrides become the highest-priority source (index 0).
    let override_records: Vec<SourceRecord> = overrides
        .iter()
        .filter_map(|o| match &o.change {
            OverrideChange::Link(link) => Some(SourceRecord {
                ids: vec![
                    SourceId { platform: o.subject.0, id: o.subject.1.clone(), season: None, episode_offset: None },
                    link.clone(),
                ],
                ..SourceRecord::default()
            }),
            _ => None,
        })
        .collect();
    let mut entries: Vec<Entry<'_>> = Vec::with_capacity(total + override_records.len());
    entries.extend(override_records.iter().map(|record| Entry { source: 0, record, anchor: None }));
    for (index, source) in sources.iter().enumerate() {
        entries.extend(source.records.iter().map(|record| Entry { source: index + 1, record, anchor: None }));
    }

    // 1-3: the graph, in priority order.
    for entry_index in 0..entries.len() {
        let (source, record) = (entries[entry_index].source, entries[entry_index].record);
        let mut nodes: Vec<(usize, u32)> = record
            .ids
            .iter()
            .filter(|id| is_unique(id.platform))
            .map(|id| (anchor_rank(id.platform), graph.node(id.platform, &id.id, source, entry_index)))
            .collect();
        nodes.sort_unstable();
        let Some(&(_, anchor)) = nodes.first() else { continue };
        entries[entry_index].anchor = Some(anchor);
        if source == 0 {
            output.overrides_applied += 1;
        }
        for &(_, node) in &nodes[1..] {
            if let Err((kept, rejected)) = graph.union(anchor, node) {
                output.conflicts.push(conflict(&graph, &labels, &entries, kept, rejected, source));
            }
        }
    }

    // Several records of one source often repeat the same refused link: report it once.
    let mut seen = HashSet::new();
    output.conflicts.retain(|c| seen.insert((c.platform, c.kept_id.clone(), c.rejected_id.clone())));

    // 5: title matches for records that share no id with any other.
    output.title_matches = match_titles(&mut graph, &entries);

    // Components and their entries, in priority order.
    let mut components: HashMap<u32, Vec<usize>> = HashMap::new();
    let mut order: Vec<u32> = Vec::new();
    for (index, entry) in entries.iter().enumerate() {
        if let Some(anchor) = entry.anchor {
            let root = graph.find(anchor);
            let list = components.entry(root).or_default();
            if list.is_empty() {
                order.push(root);
            }
            list.push(index);
        }
    }
    // Ids refused by every link stay as records of their own.
    for node in 0..graph.parent.len() as u32 {
        let root = graph.find(node);
        if let std::collections::hash_map::Entry::Vacant(entry) = components.entry(root) {
            entry.insert(Vec::new());
            order.push(root);
        }
    }

    // 6: unlink and title overrides, by the subject's component.
    let mut unlinks: HashMap<u32, Vec<Platform>> = HashMap::new();
    let mut retitles: HashMap<u32, String> = HashMap::new();
    for o in overrides {
        let Some(&node) = graph.index.get(&o.subject) else { continue };
        let root = graph.find(node);
        match &o.change {
            OverrideChange::Unlink(platform) => unlinks.entry(root).or_default().push(*platform),
            OverrideChange::Title(title) => {
                retitles.insert(root, title.clone());
            }
            OverrideChange::Link(_) => continue,
        }
        output.overrides_applied += 1;
    }

    for root in order {
        let members = &components[&root];
        let mut record = build(&graph, &labels, &entries, root, members, &mut output.conflicts);
        if let Some(platforms) = unlinks.get(&root) {
            record.ids.retain(|id| !platforms.contains(&id.platform));
        }
        if let Some(title) = retitles.remove(&root) {
            if !record.title.is_empty() && record.title != title {
                let old = std::mem::replace(&mut record.title, title);
                record.synonyms.insert(0, old);
            } else {
                record.title = title;
            }
            let title = record.title.clone();
            record.synonyms.retain(|s| *s != title);
        }
        if !record.ids.is_empty() {
            output.records.push(record);
        }
    }
    output
}

fn conflict(
    graph: &Graph,
    labels: &[&str],
    entries: &[Entry<'_>],
    kept: u32,
    rejected: u32,
    rejected_source: usize,
) -> Conflict {
    let (platform, kept_id) = graph.keys[kept as usize].clone();
    // The kept id's record may have no title (Fribb lists have none); the refused one's may.
    let title = entries[graph.node_entry[kept as usize]]
        .record
        .title
        .clone()
        .or_else(|| entries[graph.node_entry[rejected as usize]].record.title.clone())
        .unwrap_or_default();
    Conflict {
        platform,
        kept_id,
        kept_source: labels[graph.node_source[kept as usize]].to_owned(),
        rejected_id: graph.keys[rejected as usize].1.clone(),
        rejected_source: labels[rejected_source].to_owned(),
        title,
        rule: "source priority: the id given first by the higher-priority source stays",
    }
}

/// Builds one component's record from its entries (highest priority first).
fn build(
    graph: &Graph,
    labels: &[&str],
    entries: &[Entry<'_>],
    root: u32,
    members: &[usize],
    conflicts: &mut Vec<Conflict>,
) -> MergedRecord {
    let mut record = MergedRecord::default();
    let mut ids: Vec<SourceId> = graph.slots[root as usize]
        .iter()
        .map(|&(platform, node)| SourceId {
            platform,
            id: graph.keys[node as usize].1.clone(),
            season: None,
            episode_offset: None,
        })
        .collect();

    // A component no record anchors (refused ids) takes title and type from its ids' records.
    let fallback: Vec<usize> = if members.is_empty() {
        graph.slots[root as usize].iter().map(|&(_, node)| graph.node_entry[node as usize]).collect()
    } else {
        Vec::new()
    };
    let describing = if members.is_empty() { &fallback } else { members };
    let mut titles: Vec<&str> = Vec::new();
    for &index in describing {
        let source = entries[index].record;
        record.media_type = record.media_type.or(source.media_type);
        record.year = record.year.or(source.year);
        record.season = record.season.or(source.season);
        record.episodes = record.episodes.or(source.episodes);
        titles.extend(source.title.as_deref());
        titles.extend(source.synonyms.iter().map(String::as_str));
    }
    let mut seen = HashSet::new();
    let mut titles = titles.into_iter().filter(|t| seen.insert(titles::normalize(t)));
    record.title = titles.next().unwrap_or_default().to_owned();
    record.synonyms = titles.take(MAX_SYNONYMS).map(str::to_owned).collect();

    // Attached ids: per platform, those of the first member that has it.
    let mut owner: HashMap<Platform, usize> = HashMap::new();
    for &index in members {
        let entry = &entries[index];
        for id in entry.record.ids.iter().filter(|id| !is_unique(id.platform)) {
            match owner.get(&id.platform) {
                None => {
                    owner.insert(id.platform, index);
                    ids.push(id.clone());
                }
                Some(&first) if first == index => ids.push(id.clone()),
                Some(&first) => {
                    if let Some(kept) = ids.iter_mut().find(|k| k.platform == id.platform && k.id == id.id) {
                        // The same id: a lower-priority source may still add the season.
                        if kept.season.is_none() {
                            kept.season = id.season;
                            kept.episode_offset = kept.episode_offset.or(id.episode_offset);
                        }
                    } else if let Some(kept) = ids.iter().find(|k| k.platform == id.platform) {
                        conflicts.push(Conflict {
                            platform: id.platform,
                            kept_id: kept.id.clone(),
                            kept_source: labels[entries[first].source].to_owned(),
                            rejected_id: id.id.clone(),
                            rejected_source: labels[entry.source].to_owned(),
                            title: record.title.clone(),
                            rule: "source priority: the ids of the highest-priority record that has the platform stay",
                        });
                    }
                }
            }
        }
    }
    ids.sort();
    ids.dedup_by(|a, b| a.platform == b.platform && a.id == b.id && a.season == b.season);
    record.ids = ids;
    record
}

/// Joins records that share no id with any other to a component by title. Returns how many
/// were joined.
fn match_titles(graph: &mut Graph, entries: &[Entry<'_>]) -> u64 {
    // Sources present in each component, and the titles of every component.
    let mut sources_of: HashMap<u32, Vec<usize>> = HashMap::new();
    let mut exact: HashMap<String, Vec<usize>> = HashMap::new();
    let mut blocks: HashMap<String, Vec<(String, usize)>> = HashMap::new();
    let mut orphans = Vec::new();
    for (index, entry) in entries.iter().enumerate() {
        let Some(anchor) = entry.anchor else { continue };
        let root = graph.find(anchor);
        let list = sources_of.entry(root).or_default();
        if !list.contains(&entry.source) {
            list.push(entry.source);
        }
        let shares_nothing = entry.record.ids.iter().filter(|id| is_unique(id.platform)).all(|id| {
            graph.index.get(&(id.platform, id.id.clone())).is_some_and(|&n| graph.node_refs[n as usize] == 1)
        });
        if shares_nothing && entry.source != 0 && entry.record.title.is_some() {
            orphans.push(index);
        }
        for title in entry.record.title.iter().chain(&entry.record.synonyms) {
            let normalized = titles::normalize(title);
            if normalized.is_empty() {
                continue;
            }
            blocks.entry(titles::block(&normalized).to_owned()).or_default().push((normalized.clone(), index));
            exact.entry(normalized).or_default().push(index);
        }
    }

    let mut joined = 0;
    for orphan in orphans {
        let entry = &entries[orphan];
        let Some(anchor) = entry.anchor else { continue };
        let own_root = graph.find(anchor);
        let acceptable = |graph: &mut Graph, candidate: usize| -> Option<u32> {
            let other = &entries[candidate];
            let root = graph.find(other.anchor?);
            let compatible = root != own_root
                && !sources_of.get(&root).is_some_and(|s| s.contains(&entry.source))
                && !matches!((entry.record.media_type, other.record.media_type), (Some(a), Some(b)) if a != b)
                && !matches!((entry.record.year, other.record.year), (Some(a), Some(b)) if a != b);
            compatible.then_some(root)
        };
        let names: Vec<String> =
            entry.record.title.iter().chain(&entry.record.synonyms).map(|t| titles::normalize(t)).collect();

        // Exact normalised title or synonym.
        let mut roots: Vec<u32> = names
            .iter()
            .flat_map(|name| exact.get(name).into_iter().flatten())
            .filter_map(|&candidate| acceptable(graph, candidate))
            .collect();
        roots.sort_unstable();
        roots.dedup();
        let target = match roots.as_slice() {
            [one] => Some(*one),
            [] => {
                // Fuzzy, within the block of the main title.
                let Some(main) = names.first().filter(|n| !n.is_empty()) else { continue };
                let mut scored: Vec<(f64, u32)> = blocks
                    .get(titles::block(main))
                    .into_iter()
                    .flatten()
                    .filter_map(|(title, candidate)| {
                        acceptable(graph, *candidate).map(|root| (titles::similarity(main, title), root))
                    })
                    .collect();
                scored.sort_by(|a, b| b.0.total_cmp(&a.0));
                scored.dedup_by_key(|(_, root)| *root);
                match scored.as_slice() {
                    [(best, root), rest @ ..]
                        if *best >= FUZZY_THRESHOLD
                            && rest.first().is_none_or(|(next, _)| best - next >= FUZZY_MARGIN) =>
                    {
                        Some(*root)
                    }
                    _ => None,
                }
            }
            _ => None,
        };
        if let Some(root) = target
            && graph.union(root, own_root).is_ok()
        {
            let merged = graph.find(root);
            let mut list = sources_of.remove(&root).unwrap_or_default();
            list.push(entry.source);
            sources_of.insert(merged, list);
            joined += 1;
        }
    }
    joined
}

#[cfg(test)]
mod tests;
