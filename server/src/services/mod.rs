//! The gRPC services. Each folder holds one service: `grpc.rs` converts and delegates,
//! `store.rs` owns its SQL, `model.rs` its rows, `convert.rs` its proto conversions and
//! validation, `error.rs` its error enum.

pub mod admin;
pub mod catalog;
pub mod mapping;
