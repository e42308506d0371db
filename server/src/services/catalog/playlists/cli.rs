//! `medley playlist add|list|sync|rm`: playlists for operators, on the same operations as the
//! RPCs (an operator acts as an admin). A sync started here is an ordinary `playlist-sync` job
//! this process runs and follows with a live line; Ctrl-C cancels it.
//!
//! The password is never a flag (flags show in `ps`): it is read from `MEDLEY_PLAYLIST_PASSWORD`
//! or, when that is not set, from the first line of standard input.

use std::io::BufRead as _;

use clap::Subcommand;
use medley_sdk::pb;
use uuid::Uuid;

use super::{Playlists, Principal, service, sync};
use crate::{
    error::ApiError,
    jobs::Registry,
    platform::Platform,
    runs::follow::{FollowedRun, follow},
    services::catalog::config::CatalogConfig,
};

/// `medley playlist` subcommands.
#[derive(Debug, Subcommand)]
pub enum PlaylistCommand {
    /// Add an Xtream Codes playlist (the panel checks the account first) and follow its first
    /// sync. The password comes from MEDLEY_PLAYLIST_PASSWORD or the first line of stdin.
    Add {
        /// A name for people.
        #[arg(long)]
        name: String,
        /// The panel's base URL, e.g. http://iptv.example.test:8080.
        #[arg(long)]
        url: String,
        /// The account's user name.
        #[arg(long)]
        username: String,
        /// The API key id that owns it (default: none, only admin keys see it).
        #[arg(long)]
        owner: Option<Uuid>,
    },
    /// List every playlist with its account and last sync.
    List,
    /// Sync a playlist now and follow it (exit status 1 unless it succeeds).
    Sync {
        /// `playlists/{id}` or the id.
        playlist: String,
    },
    /// Delete a playlist with its catalog, favorites and credentials.
    Rm {
        /// `playlists/{id}` or the id.
        playlist: String,
    },
}

/// The public message of a failed operation (what a client would read).
fn op<T>(result: Result<T, crate::services::catalog::CatalogError>) -> anyhow::Result<T> {
    result.map_err(|error| anyhow::anyhow!("{}", ApiError::from(error).message()))
}

/// An operator: sees every playlist; owns what it adds unless `--owner` says otherwise.
fn operator(owner: Option<Uuid>) -> Principal {
    Principal { key_id: owner.unwrap_or(Uuid::nil()), admin: true }
}

fn full_name(playlist: &str) -> String {
    if playlist.starts_with("playlists/") { playlist.to_owned() } else { format!("playlists/{playlist}") }
}

fn password() -> anyhow::Result<String> {
    if let Ok(password) = std::env::var("MEDLEY_PLAYLIST_PASSWORD") {
        return Ok(password);
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    anyhow::ensure!(!password.is_empty(), "no password: set MEDLEY_PLAYLIST_PASSWORD or write it on stdin");
    Ok(password)
}

/// Runs one subcommand on `platform`.
pub async fn run(platform: &Platform, config: &CatalogConfig, command: PlaylistCommand) -> anyhow::Result<()> {
    let playlists = Playlists::new(platform, config)?;
    match command {
        PlaylistCommand::Add { name, url, username, owner } => {
            let password = password()?;
            let request = pb::CreatePlaylistRequest {
                playlist: Some(pb::Playlist {
                    display_name: name,
                    server_url: url,
                    credentials: Some(pb::PlaylistCredentials { username, password }),
                    ..Default::default()
                }),
                request_id: String::new(),
            };
            let created = op(service::create(&playlists, &operator(owner), request).await)?;
            println!("{} added ({})", created.name, account_line(&created));
            follow_sync(&playlists, created.last_sync_run_id).await
        }
        PlaylistCommand::List => {
            let mut token = String::new();
            loop {
                let request = pb::ListPlaylistsRequest { page_size: 1000, page_token: token };
                let page = op(service::list(&playlists, &operator(None), request).await)?;
                for playlist in &page.playlists {
                    println!(
                        "{}\t{}\t{}\t{}\tlive {} / vod {} / series {}\tlast sync {}",
                        playlist.name,
                        playlist.display_name,
                        crate::config::redact_url(&playlist.server_url),
                        account_line(playlist),
                        playlist.live_count,
                        playlist.vod_count,
                        playlist.series_count,
                        pb::JobState::try_from(playlist.last_sync_state).map_or("?", |s| s.as_str_name())
                    );
                }
                if page.next_page_token.is_empty() {
                    return Ok(());
                }
                token = page.next_page_token;
            }
        }
        PlaylistCommand::Sync { playlist } => {
            let request = pb::SyncPlaylistRequest { name: full_name(&playlist) };
            let started = op(sync::sync_now(&playlists, &operator(None), request).await)?;
            let run = started.run.unwrap_or_default();
            if !started.created {
                println!("sync run {} was already queued or running: following it", run.run_id);
            }
            follow_sync(&playlists, run.run_id).await
        }
        PlaylistCommand::Rm { playlist } => {
            let name = full_name(&playlist);
            op(service::delete(&playlists, &operator(None), &name).await)?;
            println!("{name} deleted");
            Ok(())
        }
    }
}

fn account_line(playlist: &pb::Playlist) -> String {
    let account = playlist.account.clone().unwrap_or_default();
    let expiry = account
        .expire_time
        .and_then(|t| chrono::DateTime::from_timestamp(t.seconds, 0))
        .map_or("never expires".to_owned(), |at| format!("expires {}", at.format("%Y-%m-%d")));
    format!("{}, {expiry}, {} connection(s)", account.status, account.max_connections)
}

/// Runs a worker for the sync and follows it to its end.
async fn follow_sync(playlists: &Playlists, run_id: i64) -> anyhow::Result<()> {
    let stop = tokio_util::sync::CancellationToken::new();
    let registry = Registry::new().register(sync::SyncHandler::new(playlists.clone()));
    let worker = tokio::spawn(playlists.platform.worker(registry).run(stop.clone()));
    let last = follow(&FollowSync { playlists, id: run_id }).await;
    stop.cancel();
    worker.await?;
    let last = last?;
    println!("{}", FollowSync::describe(&last));
    match pb::JobState::try_from(last.state) {
        Ok(pb::JobState::Succeeded) => Ok(()),
        state => anyhow::bail!(
            "sync run {} ended {}: {}",
            last.run_id,
            state.map_or("?", |s| s.as_str_name()),
            last.error
        ),
    }
}

/// A sync run as the CLI follows it.
struct FollowSync<'a> {
    playlists: &'a Playlists,
    id: i64,
}

impl FollowedRun for FollowSync<'_> {
    type Run = pb::PlaylistSyncRun;
    type Error = anyhow::Error;

    async fn current(&self) -> anyhow::Result<pb::PlaylistSyncRun> {
        op(sync::current(self.playlists, self.id).await)
    }

    fn describe(run: &pb::PlaylistSyncRun) -> String {
        let sections: Vec<String> = run
            .sections
            .iter()
            .map(|s| {
                let section = pb::SyncSection::try_from(s.section)
                    .map_or("?", |s| s.as_str_name().trim_start_matches("SYNC_SECTION_"))
                    .to_lowercase();
                match pb::SyncSectionState::try_from(s.state) {
                    Ok(pb::SyncSectionState::Done) => {
                        format!("{section} +{} ~{} -{} ={}", s.added, s.changed, s.removed, s.unchanged)
                    }
                    Ok(pb::SyncSectionState::Failed) => format!("{section} FAILED ({})", s.error),
                    Ok(pb::SyncSectionState::Running) => format!("{section} running"),
                    Ok(pb::SyncSectionState::Skipped) => format!("{section} skipped"),
                    _ => format!("{section} pending"),
                }
            })
            .collect();
        format!("sync {} of {}: {}", run.run_id, run.playlist, sections.join(", "))
    }

    fn is_terminal(run: &pb::PlaylistSyncRun) -> bool {
        crate::api::jobs::is_finished(run.state)
    }

    async fn cancel(&self) -> anyhow::Result<()> {
        sync::RUNS.cancel(&self.playlists.platform.jobs, self.id).await.map_err(|e| anyhow::anyhow!("{}", ApiError::from(e).message()))?;
        Ok(())
    }
}
