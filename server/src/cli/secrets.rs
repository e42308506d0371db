//! `medley secrets new-key|rotate|status`: keys for secrets at rest (see `crate::secrets`).

use clap::Subcommand;

use crate::{
    config::Config,
    platform::{DatabaseSetup, Platform},
    secrets::{self, Vault},
};

#[derive(Debug, Subcommand)]
pub(super) enum SecretsCommand {
    /// Print a fresh random key for MEDLEY_SECRET_KEY (base64 of 32 bytes). Keep it safe: the
    /// secrets sealed with it cannot be opened without it.
    NewKey,
    /// Re-seal every secret with the first key of MEDLEY_SECRET_KEY, in batches. Safe to stop
    /// and run again; when it says none are left, the older keys can be dropped.
    Rotate {
        /// Secrets re-sealed per batch (each batch commits on its own).
        #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(i64).range(1..=100_000))]
        batch: i64,
    },
    /// Show how many secrets each key seals.
    Status,
}

pub(super) async fn run(config: Config, command: SecretsCommand) -> anyhow::Result<()> {
    if let SecretsCommand::NewKey = command {
        let key = secrets::new_key().map_err(|e| anyhow::anyhow!("no randomness from the operating system: {e}"))?;
        println!("{key}");
        return Ok(());
    }
    let platform = Platform::connect(config, DatabaseSetup::Existing).await?;
    let result = match command {
        SecretsCommand::NewKey => Ok(()),
        SecretsCommand::Rotate { batch } => rotate(&platform, batch).await,
        SecretsCommand::Status => status(&platform).await,
    };
    platform.shutdown.cancel();
    result
}

async fn rotate(platform: &Platform, batch: i64) -> anyhow::Result<()> {
    let vault = &platform.vault;
    let current = vault.current_key_id().ok_or(secrets::SecretError::NotConfigured)?.to_owned();
    let mut total = 0;
    loop {
        let mut conn = platform.db.get().await?;
        let moved = vault.rotate_batch(&mut conn, batch).await?;
        total += moved;
        if moved == 0 {
            break;
        }
        println!("re-sealed {total} secrets with key {current}");
    }
    println!("done: every secret is sealed with key {current} ({total} re-sealed now)");
    Ok(())
}

async fn status(platform: &Platform) -> anyhow::Result<()> {
    let mut conn = platform.db.get().await?;
    let current = platform.vault.current_key_id().unwrap_or("(none configured)");
    println!("sealing key: {current}");
    for (key, count) in Vault::key_counts(&mut conn).await? {
        let mark = if key == current { " (sealing)" } else { "" };
        println!("  key {key}{mark}: {count} secrets");
    }
    Ok(())
}
