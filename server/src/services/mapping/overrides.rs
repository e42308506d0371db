//! Manual corrections: their stored JSON form, validation and conversions.

use chrono::Utc;
use medley_sdk::pb::{self, Platform, mapping_override::Change};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{
    MappingError,
    convert::{ParsedKey, parse_key, platform_id_to_pb},
    merge::{OverrideChange, OverrideInput},
    platform::{Role, canonical_id, spec_of_number},
    sources::SourceId,
    store::{self, OverrideRow},
};
use crate::{
    error::FieldViolations,
    pagination::{finish_page, parse_page_size, parse_page_token, rows_to_read},
    proto_time::to_timestamp,
};

/// The shared platform (named apart from the anime platforms of this module).
type Shared = crate::platform::Platform;

/// Longest title or note accepted.
const MAX_TEXT: usize = 1000;

/// The `change` column.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum StoredChange {
    /// See [`OverrideChange::Link`].
    Link { platform: i32, id: String, season: Option<i32>, episode_offset: Option<i32> },
    /// See [`OverrideChange::Unlink`].
    Unlink(i32),
    /// See [`OverrideChange::Title`].
    Title(String),
}

/// Validates a `PutOverride` request into a row (a new id when none is given).
pub fn parse_put(request: pb::PutOverrideRequest) -> Result<OverrideRow, crate::error::ApiError> {
    let mut violations = FieldViolations::new();
    let Some(item) = request.r#override else {
        violations.add("override", "is required");
        return Err(violations.into_error());
    };
    let id = if item.id.is_empty() {
        Uuid::new_v4()
    } else {
        Uuid::parse_str(&item.id).unwrap_or_else(|_| {
            violations.add("override.id", "must be a UUID, or empty to create an override");
            Uuid::nil()
        })
    };
    let subject = match item.subject.as_ref() {
        None => {
            violations.add("override.subject", "is required");
            None
        }
        Some(key) => parse_key(key, "override.subject", &mut violations),
    };
    if let Some(ParsedKey { spec, season, .. }) = &subject {
        if spec.role != Role::Unique {
            violations.add(
                "override.subject.platform",
                "must be a platform where one id is one anime (not TVDB, TMDB, IMDb, Trakt, Shikimori or redirect targets)",
            );
        }
        if season.is_some() {
            violations.add("override.subject.season", "is not used for subjects");
        }
    }
    let change = match item.change {
        None => {
            violations.add("override.change", "one of link, unlink or title is required");
            None
        }
        Some(Change::Link(link)) => parse_link(&link, &mut violations),
        Some(Change::Unlink(number)) => match spec_of_number(number) {
            Some(spec) if spec.stored() => Some(StoredChange::Unlink(number)),
            _ => {
                violations.add("override.unlink", "must be a platform records hold ids of");
                None
            }
        },
        Some(Change::Title(title)) => {
            let title = title.trim().to_owned();
            if title.is_empty() || title.len() > MAX_TEXT {
                violations.add("override.title", format!("must be 1 to {MAX_TEXT} bytes"));
            }
            Some(StoredChange::Title(title))
        }
    };
    if item.note.len() > MAX_TEXT {
        violations.add("override.note", format!("must be at most {MAX_TEXT} bytes"));
    }
    violations.finish()?;
    let (Some(subject), Some(change)) = (subject, change) else {
        return Err(FieldViolations::new().into_error());
    };
    let now = Utc::now();
    Ok(OverrideRow {
        id,
        subject_platform: subject.spec.platform as i16,
        subject_id: subject.id,
        change: serde_json::to_value(&change).unwrap_or_default(),
        note: item.note,
        created_at: now,
        updated_at: now,
    })
}

fn parse_link(link: &pb::PlatformId, violations: &mut FieldViolations) -> Option<StoredChange> {
    let Some(spec) = spec_of_number(link.platform).filter(|s| matches!(s.role, Role::Unique | Role::Attached)) else {
        violations
            .add("override.link.platform", "must be a platform records hold ids of (not derived or redirect-only)");
        return None;
    };
    let id = match canonical_id(spec, &link.id) {
        Ok(id) => id,
        Err(why) => {
            violations.add("override.link.id", why);
            return None;
        }
    };
    if link.season.is_some() && !spec.seasonal() {
        violations.add("override.link.season", format!("{} ids have no season", spec.name));
    }
    if link.season.is_some_and(|s| s < 0) || link.episode_offset.is_some_and(|o| o < 0) {
        violations.add("override.link", "season and episode_offset must not be negative");
    }
    Some(StoredChange::Link { platform: link.platform, id, season: link.season, episode_offset: link.episode_offset })
}

/// Converts stored overrides to merge inputs (rows that no longer parse are skipped).
pub fn to_inputs(rows: &[OverrideRow]) -> Vec<OverrideInput> {
    rows.iter()
        .filter_map(|row| {
            let subject = Platform::try_from(i32::from(row.subject_platform)).ok()?;
            let change = match serde_json::from_value::<StoredChange>(row.change.clone()).ok()? {
                StoredChange::Link { platform, id, season, episode_offset } => OverrideChange::Link(SourceId {
                    platform: Platform::try_from(platform).ok()?,
                    id,
                    season,
                    episode_offset,
                }),
                StoredChange::Unlink(platform) => OverrideChange::Unlink(Platform::try_from(platform).ok()?),
                StoredChange::Title(title) => OverrideChange::Title(title),
            };
            Some(OverrideInput { subject: (subject, row.subject_id.clone()), change })
        })
        .collect()
}

/// Converts a row to its proto form.
pub fn to_pb(row: &OverrideRow) -> pb::MappingOverride {
    let change = serde_json::from_value::<StoredChange>(row.change.clone()).ok().map(|change| match change {
        StoredChange::Link { platform, id, season, episode_offset } => {
            let source =
                SourceId { platform: Platform::try_from(platform).unwrap_or_default(), id, season, episode_offset };
            Change::Link(platform_id_to_pb(&source))
        }
        StoredChange::Unlink(platform) => Change::Unlink(platform),
        StoredChange::Title(title) => Change::Title(title),
    });
    let platform = i32::from(row.subject_platform);
    pb::MappingOverride {
        id: row.id.to_string(),
        subject: Some(pb::MappingKey {
            platform_ref: Some(pb::mapping_key::PlatformRef::Platform(platform)),
            id: row.subject_id.clone(),
            season: None,
        }),
        change,
        note: row.note.clone(),
        update_time: Some(to_timestamp(row.updated_at)),
    }
}

/// `PutOverride`.
pub async fn put(platform: &Shared, request: pb::PutOverrideRequest) -> Result<pb::PutOverrideResponse, MappingError> {
    let row = parse_put(request).map_err(MappingError::Invalid)?;
    let mut conn = platform.db.get().await?;
    let stored = store::put_override(&mut conn, &row).await?;
    tracing::info!(override.id = %stored.id, "mapping override stored");
    Ok(pb::PutOverrideResponse { r#override: Some(to_pb(&stored)) })
}

/// `ListOverrides`, newest first.
pub async fn list(
    platform: &Shared,
    request: pb::ListOverridesRequest,
) -> Result<pb::ListOverridesResponse, MappingError> {
    let mut violations = FieldViolations::new();
    let limit = parse_page_size(request.page_size, &mut violations);
    let cursor: Option<(chrono::DateTime<Utc>, Uuid)> =
        parse_page_token(&request.page_token, "overrides", &mut violations);
    violations.finish().map_err(MappingError::Invalid)?;
    let mut conn = platform.db.get().await?;
    let rows = store::list_overrides(&mut conn, cursor, rows_to_read(limit)).await?;
    let (page, next_page_token) = finish_page(rows, limit, "overrides", |last| (last.created_at, last.id));
    Ok(pb::ListOverridesResponse { overrides: page.iter().map(to_pb).collect(), next_page_token })
}

/// `DeleteOverride`: deleting twice succeeds, so a retried call is harmless.
pub async fn delete(
    platform: &Shared,
    request: pb::DeleteOverrideRequest,
) -> Result<pb::DeleteOverrideResponse, MappingError> {
    let Ok(id) = Uuid::parse_str(&request.id) else {
        let mut violations = FieldViolations::new();
        violations.add("id", "must be an override id (a UUID)");
        return Err(MappingError::Invalid(violations.into_error()));
    };
    let mut conn = platform.db.get().await?;
    store::delete_override(&mut conn, id).await?;
    Ok(pb::DeleteOverrideResponse {})
}
