//! Rust SDK for Medley.
//!
//! - [`pb`] holds the messages, clients and (with the `server` feature) server traits generated
//!   from `proto/medley/v1`.
//! - [`Client`] connects to a server with an optional API key and timeouts and hands out typed
//!   clients for each service.
//!
//! ```no_run
//! # async fn run() -> Result<(), medley_sdk::Error> {
//! let client = medley_sdk::Client::builder("http://127.0.0.1:50051")
//!     .api_key("mdl_...")
//!     .connect()
//!     .await?;
//! let info = client.admin().get_server_info(medley_sdk::pb::GetServerInfoRequest {}).await?;
//! println!("{}", info.into_inner().version);
//! # Ok(())
//! # }
//! ```

mod client;

pub use client::{
    ApiKeyInterceptor, AuthedChannel, Client, ClientBuilder, DEFAULT_CONNECT_TIMEOUT, DEFAULT_REQUEST_TIMEOUT, Error,
};

/// Generated protobuf messages and gRPC stubs of package `medley.v1`.
#[expect(clippy::allow_attributes, reason = "generated code carries its own allows")]
pub mod pb {
    tonic::include_proto!("medley.v1");
}

/// Encoded `FileDescriptorSet` of every Medley proto file, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("medley_descriptor");
