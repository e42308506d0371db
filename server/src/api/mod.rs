//! The public API's forms of the platform's things, shared by the services that answer with
//! them: jobs, their states and schedules as `medley.v1` messages. The platform below never
//! uses the generated API types; services and this module do.

pub mod jobs;
