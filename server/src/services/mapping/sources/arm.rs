//! kawaiioverflow/arm `arm.json`: `[{mal_id, anilist_id, annict_id, syobocal_tid}]`, the only
//! public source of Annict and Syobocal ids.

use super::{Parsed, RecordBuilder, json_objects};
use medley_sdk::pb::Platform;

/// Parses `arm.json`.
pub fn parse(bytes: &[u8]) -> Result<Parsed, String> {
    let mut parsed = Parsed::default();
    for entry in json_objects(bytes)? {
        let mut builder = RecordBuilder::default();
        for (field, platform) in [
            ("mal_id", Platform::Myanimelist),
            ("anilist_id", Platform::Anilist),
            ("annict_id", Platform::Annict),
            ("syobocal_tid", Platform::Shoboi),
        ] {
            builder.id_value(platform, entry.get(field));
        }
        builder.finish_into(&mut parsed);
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_arm_entries() {
        let parsed = parse(br#"[{"mal_id":1,"anilist_id":1,"annict_id":360,"syobocal_tid":538},{"annict_id":null}]"#);
        let records = parsed.map(|p| p.records).unwrap_or_default();
        assert_eq!(records.len(), 1, "an entry without ids is skipped");
        assert_eq!(records[0].ids.len(), 4);
    }
}
