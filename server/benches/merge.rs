//! Criterion benchmarks of the mapping pipeline's CPU work on the real data sets: parsing each
//! source, merging them, and building the served snapshot (ids, hashes, keys).
//!
//! ```sh
//! cargo bench -p medley-server --bench merge            # data from ../shared/data
//! MEDLEY_BENCH_DATA=/path/to/data cargo bench -p medley-server --bench merge
//! ```
//!
//! Without the data sets it falls back to the extracts in `tests/fixtures/mapping`.

use std::{hint::black_box, path::PathBuf};

use criterion::{Criterion, criterion_group, criterion_main};
use medley_server::services::mapping::{
    merge::{SourceInput, merge},
    snapshot::{Served, assign_ids, build_keys, finalize},
    sources::{SourceKind, parse},
};

fn data(full: &str, extract: &str) -> Vec<u8> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = std::env::var("MEDLEY_BENCH_DATA").map_or_else(|_| root.join("../shared/data"), PathBuf::from);
    std::fs::read(dir.join(full))
        .or_else(|_| std::fs::read(root.join("tests/fixtures/mapping").join(extract)))
        .unwrap_or_default()
}

fn inputs() -> Vec<(SourceKind, &'static str, Vec<u8>)> {
    vec![
        (
            SourceKind::Fribb,
            "fribb 2026",
            data("fribb-anime-lists-reduced.2026-06-30.json", "fribb-anime-lists-reduced.2026-06-30.extract.json"),
        ),
        (
            SourceKind::Fribb,
            "fribb 2024",
            data("fribb-anime-list-mini.2024-05-07.json", "fribb-anime-list-mini.2024-05-07.extract.json"),
        ),
        (SourceKind::AnimeApi, "animeapi tsv", data("animeapi.2025-02-03.tsv", "animeapi.2025-02-03.extract.tsv")),
    ]
}

fn bench(c: &mut Criterion) {
    let raw = inputs();
    let mut group = c.benchmark_group("mapping");
    group.sample_size(10);
    for (kind, label, bytes) in &raw {
        group.bench_function(format!("parse {label}"), |b| b.iter(|| parse(*kind, label, black_box(bytes))));
    }
    let sources: Vec<SourceInput> = raw
        .iter()
        .enumerate()
        .map(|(i, (kind, label, bytes))| SourceInput {
            label: format!("{label}:{i}"),
            records: parse(*kind, label, bytes).map(|p| p.records).unwrap_or_default(),
        })
        .collect();
    group.bench_function("merge all", |b| b.iter(|| merge(black_box(&sources), &[])));
    let merged = merge(&sources, &[]);
    group.bench_function("snapshot (ids, hashes, keys)", |b| {
        b.iter(|| {
            let assigned = assign_ids(&merged.records, &Served::default());
            let finals: Vec<_> = merged
                .records
                .iter()
                .zip(assigned)
                .enumerate()
                .map(|(i, (record, id))| finalize(id.unwrap_or(i as i64 + 1), record))
                .collect();
            build_keys(&finals)
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
