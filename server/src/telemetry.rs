//! Structured logs through `tracing`, to stderr (stdout is kept for command output, e.g. the key
//! printed by `medley keys create`). Colours only when stderr is a terminal, so a log file or a
//! collector never gets escape codes.

use std::io::IsTerminal as _;

use tracing_subscriber::{EnvFilter, fmt, prelude::*};

use crate::config::{Config, LogFormat};

/// How the process is used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogUse {
    /// A long-running server or worker: `MEDLEY_LOG` as set (default `info`).
    Service,
    /// A command printing its own output: at the default level only warnings and errors are
    /// logged, so INFO lines do not interleave with its progress (set `MEDLEY_LOG` for more).
    Command,
}

/// Installs the global subscriber; a second call (tests) is ignored.
pub fn init(config: &Config, usage: LogUse) {
    let level = if usage == LogUse::Command && config.log == crate::config::DEFAULT_LOG { "warn" } else { &config.log };
    let filter = EnvFilter::try_new(level).unwrap_or_else(|_| EnvFilter::new(crate::config::DEFAULT_LOG));
    let registry = tracing_subscriber::registry().with(filter);
    let ansi = std::io::stderr().is_terminal();
    let _ = match config.log_format {
        LogFormat::Text => registry.with(fmt::layer().with_ansi(ansi).with_writer(std::io::stderr)).try_init(),
        LogFormat::Json => registry.with(fmt::layer().json().with_writer(std::io::stderr)).try_init(),
    };
}
