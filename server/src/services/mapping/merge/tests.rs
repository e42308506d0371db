use super::*;

fn id(platform: Platform, id: &str) -> SourceId {
    SourceId { platform, id: id.to_owned(), season: None, episode_offset: None }
}

fn seasonal(platform: Platform, value: &str, season: i32) -> SourceId {
    SourceId { season: Some(season), ..id(platform, value) }
}

fn record(title: Option<&str>, ids: Vec<SourceId>) -> SourceRecord {
    SourceRecord { title: title.map(str::to_owned), ids, ..SourceRecord::default() }
}

fn source(label: &str, records: Vec<SourceRecord>) -> SourceInput {
    SourceInput { label: label.to_owned(), records }
}

fn find<'a>(output: &'a MergeOutput, platform: Platform, value: &str) -> Vec<&'a MergedRecord> {
    output.records.iter().filter(|r| r.ids.iter().any(|i| i.platform == platform && i.id == value)).collect()
}

#[test]
fn records_sharing_an_id_merge_and_keep_attached_seasons() {
    let output = merge(
        &[
            source(
                "fribb:1",
                vec![record(None, vec![id(Platform::Anidb, "23"), seasonal(Platform::Thetvdb, "76885", 1)])],
            ),
            source(
                "animeapi:2",
                vec![record(Some("Cowboy Bebop"), vec![id(Platform::Myanimelist, "1"), id(Platform::Anidb, "23")])],
            ),
        ],
        &[],
    );
    assert_eq!(output.records.len(), 1);
    let merged = &output.records[0];
    assert_eq!(merged.title, "Cowboy Bebop");
    assert!(merged.ids.contains(&seasonal(Platform::Thetvdb, "76885", 1)));
    assert!(merged.ids.contains(&id(Platform::Myanimelist, "1")));
    assert!(output.conflicts.is_empty());
}

#[test]
fn tv_show_ids_never_join_seasons() {
    let output = merge(
        &[source(
            "fribb:1",
            vec![
                record(None, vec![id(Platform::Anidb, "1"), seasonal(Platform::Thetvdb, "72025", 1)]),
                record(None, vec![id(Platform::Anidb, "4"), seasonal(Platform::Thetvdb, "72025", 2)]),
            ],
        )],
        &[],
    );
    assert_eq!(output.records.len(), 2);
}

#[test]
fn a_second_id_on_one_platform_is_refused_and_reported() {
    let output = merge(
        &[
            source(
                "aod:1",
                vec![record(Some("12-sai."), vec![id(Platform::Myanimelist, "23579"), id(Platform::Anilist, "20941")])],
            ),
            source(
                "animeapi:2",
                vec![record(
                    Some("12-sai. Kiss, Kirai, Suki"),
                    vec![
                        id(Platform::Anidb, "10584"),
                        id(Platform::Anilist, "99999"),
                        id(Platform::Myanimelist, "23579"),
                    ],
                )],
            ),
        ],
        &[],
    );
    assert_eq!(output.conflicts.len(), 1, "{:?}", output.conflicts);
    let conflict = &output.conflicts[0];
    assert_eq!(
        (conflict.platform, conflict.kept_id.as_str(), conflict.rejected_id.as_str()),
        (Platform::Anilist, "20941", "99999")
    );
    assert_eq!((conflict.kept_source.as_str(), conflict.rejected_source.as_str()), ("aod:1", "animeapi:2"));
    // Every id is in exactly one record; the refused one stands alone.
    assert_eq!(find(&output, Platform::Anilist, "99999").len(), 1);
    assert_eq!(find(&output, Platform::Anilist, "20941").len(), 1);
    assert_eq!(find(&output, Platform::Anidb, "10584")[0].title, "12-sai.");
    let alone = find(&output, Platform::Anilist, "99999")[0];
    assert_eq!(alone.ids.len(), 1);
    assert_eq!(alone.title, "12-sai. Kiss, Kirai, Suki", "a refused id keeps the title of the record that gave it");
}

#[test]
fn different_attached_ids_are_reported_and_priority_wins() {
    let output = merge(
        &[
            source("fribb:1", vec![record(None, vec![id(Platform::Anidb, "5"), id(Platform::Themoviedb, "100")])]),
            source(
                "animeapi:2",
                vec![record(Some("X"), vec![id(Platform::Anidb, "5"), id(Platform::Themoviedb, "200")])],
            ),
        ],
        &[],
    );
    assert_eq!(output.records[0].ids.iter().filter(|i| i.platform == Platform::Themoviedb).count(), 1);
    assert!(output.records[0].ids.contains(&id(Platform::Themoviedb, "100")));
    assert_eq!(output.conflicts.len(), 1);
    assert_eq!(output.conflicts[0].rejected_id, "200");
}

#[test]
fn records_without_shared_ids_join_by_title_but_not_within_one_source() {
    let aod = SourceRecord {
        media_type: Some(MediaType::Tv),
        synonyms: vec!["Bebop".into()],
        ..record(Some("Cowboy Bebop"), vec![id(Platform::Myanimelist, "1")])
    };
    let output = merge(
        &[
            source("aod:1", vec![aod, record(Some("Trigun"), vec![id(Platform::Myanimelist, "6")])]),
            source(
                "animeapi:2",
                vec![
                    record(Some("Cowboy  Bebop!"), vec![id(Platform::Kaize, "cowboy-bebop")]),
                    record(Some("Trigan"), vec![id(Platform::Kaize, "trigun")]),
                    record(Some("Trigun"), vec![id(Platform::Kaize, "trigun-2")]),
                ],
            ),
        ],
        &[],
    );
    let bebop = find(&output, Platform::Kaize, "cowboy-bebop");
    assert!(bebop[0].ids.contains(&id(Platform::Myanimelist, "1")), "exact normalised title joins");
    // "Trigan" shares no first word with any title, so it is not compared and stays alone;
    // "Trigun" joins MAL 6 exactly.
    let trigun = find(&output, Platform::Myanimelist, "6")[0];
    assert!(trigun.ids.contains(&id(Platform::Kaize, "trigun-2")));
    assert_eq!(find(&output, Platform::Kaize, "trigun")[0].ids.len(), 1);
    assert_eq!(output.title_matches, 2);
}

#[test]
fn a_second_record_of_the_same_source_never_joins_by_title() {
    let output = merge(
        &[
            source("aod:1", vec![record(Some("Trigun"), vec![id(Platform::Myanimelist, "6")])]),
            source(
                "animeapi:2",
                vec![
                    record(Some("Trigun"), vec![id(Platform::Kaize, "a")]),
                    record(Some("Trigun"), vec![id(Platform::Kaize, "b")]),
                ],
            ),
        ],
        &[],
    );
    assert_eq!(find(&output, Platform::Myanimelist, "6")[0].ids.len(), 2);
    assert_eq!(output.records.len(), 2);
}

#[test]
fn fuzzy_titles_join_when_one_candidate_is_clearly_best() {
    let output = merge(
        &[
            source("aod:1", vec![record(Some("Shingeki no Kyojin"), vec![id(Platform::Myanimelist, "16498")])]),
            source("animeapi:2", vec![record(Some("Shingeki no Kyoujin"), vec![id(Platform::Nautiljon, "snk")])]),
        ],
        &[],
    );
    assert_eq!(output.records.len(), 1);
    assert_eq!(output.title_matches, 1);
}

#[test]
fn overrides_link_unlink_and_retitle() {
    let sources = [source(
        "animeapi:1",
        vec![
            record(
                Some("A"),
                vec![id(Platform::Myanimelist, "1"), id(Platform::Anilist, "1"), id(Platform::Imdb, "tt0000001")],
            ),
            record(Some("B"), vec![id(Platform::Anilist, "2")]),
        ],
    )];
    let overrides = [
        OverrideInput {
            subject: (Platform::Myanimelist, "1".into()),
            change: OverrideChange::Link(id(Platform::Anilist, "2")),
        },
        OverrideInput { subject: (Platform::Myanimelist, "1".into()), change: OverrideChange::Unlink(Platform::Imdb) },
        OverrideInput {
            subject: (Platform::Myanimelist, "1".into()),
            change: OverrideChange::Title("A (fixed)".into()),
        },
    ];
    let output = merge(&sources, &overrides);
    let a = find(&output, Platform::Myanimelist, "1")[0];
    assert!(a.ids.contains(&id(Platform::Anilist, "2")), "the link override wins over the source");
    assert!(!a.ids.iter().any(|i| i.platform == Platform::Imdb));
    assert_eq!(a.title, "A (fixed)");
    assert_eq!(output.overrides_applied, 3);
    // The source's own AniList 1 lost to the override and stands alone.
    assert_eq!(find(&output, Platform::Anilist, "1").len(), 1);
    assert_eq!(output.conflicts.len(), 1);
}
