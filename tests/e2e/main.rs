//! End-to-end tests: one binary, one module per area. Each test starts its own server with its
//! own database and Redis prefix (see the `medley-tests` harness).

mod admin_bad_input;
mod api_keys;
mod auth;
mod catalog;
mod health;
mod http_port;
mod jobs;
mod jobs_bad_input;
mod jobs_watch;
mod mapping;
mod migrations;
mod outages;
mod reflection;
mod request_guard;
mod schedules;
mod secrets;
mod server_info;
mod shared_rate_limit;
mod skeleton;
mod startup;
mod storage;
mod support;
mod url_guard;
