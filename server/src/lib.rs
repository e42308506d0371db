//! Medley server: one gRPC backend for five media services.
//!
//! # Layout
//! - [`platform`] — the shared platform every service is built on; [`service`] — what a service
//!   contributes; [`app`] — the composition root; [`grpc`] and [`http_server`] — the listeners.
//! - [`config`] — `MEDLEY_*` settings; [`telemetry`] — logs; [`metrics`] — Prometheus.
//! - [`db`] — PostgreSQL pool and migrations; [`redis`] — Redis connection and keys.
//! - [`jobs`] — the durable job queue and workers; [`progress`] — event fan-out to watchers.
//! - [`auth`] — API keys and scopes; [`error`] — the one mapping of failures to statuses.
//! - [`services`] — one folder per gRPC service.
//! - [`cli`] — the `medley` command line.

pub mod api;
pub mod app;
pub mod auth;
pub mod backoff;
pub mod cli;
pub mod config;
pub mod db;
pub mod error;
pub mod grpc;
pub mod health;
pub mod http_server;
pub mod jobs;
pub mod metrics;
pub mod outbound;
pub mod pagination;
pub mod platform;
pub mod progress;
pub mod proto_time;
pub mod redis;
pub mod request_guard;
pub mod runs;
pub mod secrets;
pub mod service;
pub mod services;
pub mod storage;
pub mod telemetry;
pub mod text;

pub use app::{RunningServer, Settings, start};
pub use config::Config;
pub use platform::Platform;
