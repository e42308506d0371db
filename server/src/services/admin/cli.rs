//! `medley keys create | list | revoke`, straight against the database.

use chrono::{Duration, Utc};
use clap::Subcommand;
use secrecy::ExposeSecret as _;
use uuid::Uuid;

use crate::{
    auth::{Scope, keys, store},
    config::Config,
    db,
    error::FieldViolations,
};

/// `medley keys ...`
#[derive(Debug, Subcommand)]
pub enum AdminCli {
    /// Manage API keys directly in the database (works with or without a running server).
    #[command(subcommand)]
    Keys(KeysCommand),
}

/// `medley keys` subcommands.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a key and print its secret alone on the last line of stdout.
    Create {
        /// Scopes, comma separated: read, import, admin.
        #[arg(long, value_delimiter = ',', required = true)]
        scope: Vec<Scope>,
        /// A label for the key.
        #[arg(long, default_value = "cli")]
        name: String,
        /// Days until the key expires (never when absent).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=36_500))]
        expires_in_days: Option<u32>,
    },
    /// List keys, newest first.
    List {
        /// Include revoked keys.
        #[arg(long)]
        all: bool,
    },
    /// Revoke a key by id.
    Revoke {
        /// The key's id (from `medley keys list`).
        id: Uuid,
    },
}

pub(super) async fn run(config: &Config, command: AdminCli) -> anyhow::Result<()> {
    let AdminCli::Keys(command) = command;
    db::check_exists(config).await?;
    let mut conn = db::connect(&config.database_url, config.database_timeout()).await?;
    match command {
        KeysCommand::Create { scope, name, expires_in_days } => {
            let now = Utc::now();
            let expires_at = expires_in_days.map(|days| now + Duration::days(i64::from(days)));
            let spec = keys::KeySpec::parse(&name, scope, expires_at, now, FieldViolations::new())
                .map_err(|error| anyhow::anyhow!("{}", error.message()))?;
            let created =
                keys::create_key(&mut conn, &spec).await.map_err(|error| anyhow::anyhow!("{}", error.message()))?;
            let scopes = spec.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(",");
            println!(
                "created api key {} ({:?}, scopes {scopes}); the secret is shown only once:",
                created.row.id, created.row.name
            );
            println!("{}", created.secret.expose_secret());
        }
        KeysCommand::List { all } => {
            let rows = store::list_keys(&mut conn, all, None, i64::MAX).await?;
            println!(
                "{:<36}  {:<12}  {:<17}  {:<20}  {:<20}  {:<8}  NAME",
                "ID", "PREFIX", "SCOPES", "CREATED", "LAST USED", "STATUS"
            );
            let now = Utc::now();
            for row in rows {
                let status = if row.revoked_at.is_some() {
                    "revoked"
                } else if row.is_active_at(now) {
                    "active"
                } else {
                    "expired"
                };
                let scopes = row.parsed_scopes().iter().map(|s| s.as_str()).collect::<Vec<_>>().join(",");
                let last_used = row
                    .last_used_at
                    .map_or_else(|| "never".to_owned(), |at| at.format("%Y-%m-%d %H:%M:%S").to_string());
                println!(
                    "{:<36}  {:<12}  {:<17}  {:<20}  {:<20}  {:<8}  {}",
                    row.id,
                    row.prefix,
                    scopes,
                    row.created_at.format("%Y-%m-%d %H:%M:%S"),
                    last_used,
                    status,
                    row.name
                );
            }
        }
        KeysCommand::Revoke { id } => match store::revoke_key(&mut conn, id).await? {
            Some(row) => println!("revoked api key {} ({:?})", row.id, row.name),
            None => anyhow::bail!("no api key has id {id}"),
        },
    }
    Ok(())
}
