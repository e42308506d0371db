//! Playlists themselves: create (after the panel accepted the account), get, list, update and
//! delete. Credentials are checked, sealed and never returned; a failed check stores nothing.

use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection as _;
use medley_sdk::pb;
use secrecy::{ExposeSecret as _, SecretString};
use uuid::Uuid;

use super::{Playlists, Principal, convert, names, sync};
use crate::{
    error::FieldViolations,
    pagination::{finish_page, parse_page_size, parse_page_token, rows_to_read},
    secrets::Vault,
    services::catalog::{
        CatalogError,
        store::playlists::{self as store, AccountFacts, NewPlaylist, PlaylistChanges, PlaylistRow},
        xtream::{Credentials, Panel, decode::Auth},
    },
};

/// The vault purpose of playlist credentials.
const SECRET_PURPOSE: &str = "playlist.credentials";
/// Fields `UpdatePlaylist` may change.
const UPDATABLE: [&str; 4] = ["display_name", "server_url", "credentials", "sync_enabled"];

fn check_display_name(name: &str, violations: &mut FieldViolations) {
    let length = name.trim().chars().count();
    if !(1..=200).contains(&length) {
        violations.add("playlist.display_name", "must be 1 to 200 characters");
    }
}

fn check_credentials(credentials: Option<&pb::PlaylistCredentials>, violations: &mut FieldViolations) -> Option<Credentials> {
    let Some(credentials) = credentials else {
        violations.add("playlist.credentials", "is required");
        return None;
    };
    let mut ok = true;
    for (field, value) in [("username", &credentials.username), ("password", &credentials.password)] {
        if value.is_empty() || value.len() > 256 {
            violations.add(format!("playlist.credentials.{field}"), "must be 1 to 256 bytes");
            ok = false;
        }
    }
    ok.then(|| Credentials {
        username: SecretString::from(credentials.username.clone()),
        password: SecretString::from(credentials.password.clone()),
    })
}

/// The account facts of an accepted auth answer.
fn facts(auth: &Auth, now: DateTime<Utc>) -> AccountFacts {
    let user = &auth.user_info;
    let server = auth.server_info.clone().unwrap_or_default();
    let clamp = |n: Option<i64>| n.and_then(|n| i32::try_from(n.max(0)).ok()).unwrap_or(0);
    AccountFacts {
        account_status: user.status.clone().unwrap_or_else(|| "Active".to_owned()),
        expires_at: user.exp_date.filter(|at| *at > 0).and_then(|at| DateTime::from_timestamp(at, 0)),
        max_connections: clamp(user.max_connections).max(1),
        active_connections: clamp(user.active_cons),
        trial: user.is_trial,
        server_time_zone: server.timezone.unwrap_or_default(),
        panel_family: if server.xui { pb::PanelFamily::Xui } else { pb::PanelFamily::Classic } as i16,
        output_formats: user.allowed_output_formats.iter().cloned().map(Some).collect(),
        checked_at: now,
    }
}

/// Checks the account against the panel: `Ok` only when it is usable.
async fn check(playlists: &Playlists, panel: &Panel) -> Result<AccountFacts, CatalogError> {
    let auth = playlists.client.auth(panel).await?;
    Ok(facts(&auth, Utc::now()))
}

/// Creates a playlist, or returns the one a previous call with the same `request_id` created.
pub async fn create(
    playlists: &Playlists,
    principal: &Principal,
    request: pb::CreatePlaylistRequest,
) -> Result<pb::Playlist, CatalogError> {
    let pb::CreatePlaylistRequest { playlist, request_id } = request;
    let playlist = playlist.unwrap_or_default();
    let mut violations = FieldViolations::new();
    check_display_name(&playlist.display_name, &mut violations);
    let base = violations.vet_url(&playlists.platform.url_guard, "playlist.server_url", &playlist.server_url).await;
    let credentials = check_credentials(playlist.credentials.as_ref(), &mut violations);
    let request_id = match request_id.as_str() {
        "" => None,
        text => {
            let parsed = Uuid::parse_str(text).ok();
            if parsed.is_none() {
                violations.add("request_id", "must be a UUID");
            }
            parsed
        }
    };
    violations.finish().map_err(CatalogError::Invalid)?;
    let (Some(base), Some(credentials)) = (base, credentials) else {
        return Err(CatalogError::Bug("validated fields missing"));
    };
    if let Some(request_id) = request_id {
        let mut conn = playlists.platform.db.get().await?;
        if let Some(row) = store::find_by_request(&mut conn, principal.key_id, request_id).await? {
            drop(conn);
            return read(playlists, row).await;
        }
    }
    if !playlists.platform.vault.is_configured() {
        return Err(crate::secrets::SecretError::NotConfigured.into());
    }
    let panel = Panel { base, credentials };
    let account = check(playlists, &panel).await?;
    let now = Utc::now();
    let new = NewPlaylist {
        owner_key_id: principal.key_id,
        request_id,
        display_name: playlist.display_name.trim().to_owned(),
        server_url: panel.base.to_string(),
        credentials_secret: Uuid::nil(),
        account,
        sync_enabled: true,
        next_sync_at: now + sync::jittered(playlists.sync_interval),
    };
    let vault = playlists.platform.vault.clone();
    let mut conn = playlists.platform.db.get().await?;
    let sealed = panel.credentials.to_sealed_text();
    let (mut row, created) = conn.transaction::<_, CatalogError, _>(async |conn| {
        let secret = vault.store(conn, SECRET_PURPOSE, &sealed).await?;
        let (row, created) = store::insert(conn, &NewPlaylist { credentials_secret: secret, ..new }).await?;
        if !created {
            Vault::delete(conn, secret).await?;
        }
        Ok::<_, CatalogError>((row, created))
    })
    .await?;
    drop(conn);
    if created {
        tracing::info!(playlist.id = row.id, "playlist created");
        // The catalog fills at once instead of at the first scheduled sync.
        let (run, _) = sync::start(playlists, row.id, false).await?;
        row.last_sync_run = Some(run.id);
    }
    read(playlists, row).await
}

/// A playlist as the client sees it (with its counts and last run).
pub async fn read(playlists: &Playlists, row: PlaylistRow) -> Result<pb::Playlist, CatalogError> {
    Ok(convert::playlists(playlists, vec![row]).await?.pop().unwrap_or_default())
}

/// Returns a playlist.
pub async fn get(playlists: &Playlists, principal: &Principal, name: &str) -> Result<pb::Playlist, CatalogError> {
    let mut violations = FieldViolations::new();
    let id = names::parse_playlist("name", name, &mut violations);
    violations.finish().map_err(CatalogError::Invalid)?;
    let row = playlists.owned(principal, id.unwrap_or_default()).await?;
    read(playlists, row).await
}

/// Lists the principal's playlists (all for an admin), oldest first.
pub async fn list(
    playlists: &Playlists,
    principal: &Principal,
    request: pb::ListPlaylistsRequest,
) -> Result<pb::ListPlaylistsResponse, CatalogError> {
    let mut violations = FieldViolations::new();
    let limit = parse_page_size(request.page_size, &mut violations);
    let filters = if principal.admin { "all".to_owned() } else { principal.key_id.to_string() };
    let after: Option<i64> = parse_page_token(&request.page_token, &filters, &mut violations);
    violations.finish().map_err(CatalogError::Invalid)?;
    let owner = (!principal.admin).then_some(principal.key_id);
    let mut conn = playlists.platform.db.get().await?;
    let rows = store::list(&mut conn, owner, after, rows_to_read(limit)).await?;
    drop(conn);
    let (rows, next_page_token) = finish_page(rows, limit, &filters, |last: &PlaylistRow| last.id);
    Ok(pb::ListPlaylistsResponse { playlists: convert::playlists(playlists, rows).await?, next_page_token })
}

/// Changes the fields of the mask; a new URL or new credentials are checked first.
pub async fn update(
    playlists: &Playlists,
    principal: &Principal,
    request: pb::UpdatePlaylistRequest,
) -> Result<pb::Playlist, CatalogError> {
    let pb::UpdatePlaylistRequest { playlist, update_mask } = request;
    let playlist = playlist.unwrap_or_default();
    let mut violations = FieldViolations::new();
    let id = names::parse_playlist("playlist.name", &playlist.name, &mut violations);
    let paths = update_mask.map(|mask| mask.paths).unwrap_or_default();
    if paths.is_empty() {
        violations.add("update_mask", format!("must name the fields to change: {}", UPDATABLE.join(", ")));
    }
    for path in &paths {
        if !UPDATABLE.contains(&path.as_str()) {
            violations.add("update_mask", format!("{path:?} cannot be changed; fields: {}", UPDATABLE.join(", ")));
        }
    }
    let has = |field: &str| paths.iter().any(|p| p == field);
    if has("display_name") {
        check_display_name(&playlist.display_name, &mut violations);
    }
    let base = if has("server_url") {
        violations.vet_url(&playlists.platform.url_guard, "playlist.server_url", &playlist.server_url).await
    } else {
        None
    };
    let credentials =
        if has("credentials") { check_credentials(playlist.credentials.as_ref(), &mut violations) } else { None };
    violations.finish().map_err(CatalogError::Invalid)?;
    let row = playlists.owned(principal, id.unwrap_or_default()).await?;
    let mut account = None;
    if base.is_some() || credentials.is_some() {
        let current = playlists.panel(&row).await?;
        let panel = Panel { base: base.clone().unwrap_or(current.base), credentials: credentials.clone().unwrap_or(current.credentials) };
        account = Some(check(playlists, &panel).await?);
    }
    let changes = PlaylistChanges {
        display_name: has("display_name").then(|| playlist.display_name.trim().to_owned()),
        server_url: base.map(|url| url.to_string()),
        sync_enabled: has("sync_enabled").then_some(playlist.sync_enabled),
        updated_at: Some(Utc::now()),
    };
    let vault = playlists.platform.vault.clone();
    let mut conn = playlists.platform.db.get().await?;
    let updated = conn.transaction::<_, CatalogError, _>(async |conn| {
        if let Some(credentials) = &credentials {
            vault.replace(conn, row.credentials_secret, &credentials.to_sealed_text()).await?;
        }
        Ok::<_, CatalogError>(store::update(conn, row.id, &changes, account.as_ref()).await?)
    })
    .await?;
    drop(conn);
    tracing::info!(playlist.id = row.id, fields = ?paths, "playlist updated");
    read(playlists, updated).await
}

/// Deletes a playlist with its catalog, favorites and credentials; cancels a live sync.
pub async fn delete(playlists: &Playlists, principal: &Principal, name: &str) -> Result<(), CatalogError> {
    let mut violations = FieldViolations::new();
    let id = names::parse_playlist("name", name, &mut violations);
    violations.finish().map_err(CatalogError::Invalid)?;
    let row = playlists.owned(principal, id.unwrap_or_default()).await?;
    sync::cancel_live(playlists, row.id).await?;
    let mut conn = playlists.platform.db.get().await?;
    conn.transaction::<_, CatalogError, _>(async |conn| {
        if let Some(secret) = store::delete(conn, row.id).await? {
            Vault::delete(conn, secret).await?;
        }
        Ok::<_, CatalogError>(())
    })
    .await?;
    tracing::info!(playlist.id = row.id, "playlist deleted");
    Ok(())
}

/// The username the panel knows the account by, for operators' listings (never the password).
pub fn username_hint(credentials: &Credentials) -> String {
    let name = credentials.username.expose_secret();
    let shown: String = name.chars().take(2).collect();
    format!("{shown}…")
}
