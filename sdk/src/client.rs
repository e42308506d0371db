//! The ergonomic client: one channel, API-key auth and timeouts, typed service clients.

use std::time::Duration;

use tonic::{
    metadata::{Ascii, MetadataValue},
    service::{Interceptor, interceptor::InterceptedService},
    transport::{Channel, Endpoint},
};

use crate::pb::{
    self, admin_service_client::AdminServiceClient, catalog_service_client::CatalogServiceClient,
    mapping_service_client::MappingServiceClient,
};

/// Default time allowed to open the connection.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Default deadline of a unary call. Streaming calls should set their own with
/// `tonic::Request::set_timeout` or none at all.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Errors raised while building a [`Client`]. Call failures are plain [`tonic::Status`] values.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server URL could not be parsed.
    #[error("invalid server url {url:?}: {source}")]
    InvalidUrl {
        /// The URL given.
        url: String,
        /// Why it was rejected.
        source: tonic::transport::Error,
    },
    /// The API key contains characters that cannot travel in gRPC metadata.
    #[error("the api key is not valid ascii metadata")]
    InvalidApiKey,
    /// The server could not be reached.
    #[error("cannot connect to {url}: {source}")]
    Connect {
        /// The URL tried.
        url: String,
        /// The transport error.
        source: tonic::transport::Error,
    },
    /// A call failed.
    #[error(transparent)]
    Status(#[from] tonic::Status),
}

/// Adds `authorization: Bearer <key>` to every call when a key is set.
#[derive(Clone, Debug, Default)]
pub struct ApiKeyInterceptor {
    header: Option<MetadataValue<Ascii>>,
}

impl Interceptor for ApiKeyInterceptor {
    fn call(&mut self, mut request: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(header) = &self.header {
            request.metadata_mut().insert("authorization", header.clone());
        }
        Ok(request)
    }
}

/// The channel type every typed client of [`Client`] uses.
pub type AuthedChannel = InterceptedService<Channel, ApiKeyInterceptor>;

/// Configures a [`Client`]. Made by [`Client::builder`].
#[derive(Clone, Debug)]
pub struct ClientBuilder {
    url: String,
    api_key: Option<String>,
    connect_timeout: Duration,
    request_timeout: Option<Duration>,
    lazy: bool,
}

impl ClientBuilder {
    /// Sends this API key with every call.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// Sets the time allowed to open the connection (default 5 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets the deadline of each call (default 30 s); `None` sets no deadline, which long
    /// server streams need.
    pub fn request_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Connects on first use instead of now, so a client can be made before the server is up.
    pub fn lazy(mut self, lazy: bool) -> Self {
        self.lazy = lazy;
        self
    }

    /// Opens the channel (unless lazy) and returns the client.
    pub async fn connect(self) -> Result<Client, Error> {
        let header = match &self.api_key {
            Some(key) => {
                Some(format!("Bearer {key}").parse::<MetadataValue<Ascii>>().map_err(|_| Error::InvalidApiKey)?)
            }
            None => None,
        };
        let mut endpoint = Endpoint::from_shared(self.url.clone())
            .map_err(|source| Error::InvalidUrl { url: self.url.clone(), source })?
            .connect_timeout(self.connect_timeout)
            .tcp_nodelay(true);
        if let Some(timeout) = self.request_timeout {
            endpoint = endpoint.timeout(timeout);
        }
        let channel = if self.lazy {
            endpoint.connect_lazy()
        } else {
            endpoint.connect().await.map_err(|source| Error::Connect { url: self.url.clone(), source })?
        };
        Ok(Client { channel, interceptor: ApiKeyInterceptor { header } })
    }
}

/// A connection to a Medley server. Cheap to clone; clones share the connection.
#[derive(Clone, Debug)]
pub struct Client {
    channel: Channel,
    interceptor: ApiKeyInterceptor,
}

impl Client {
    /// Starts configuring a client for the server at `url`, e.g. `http://127.0.0.1:50051`.
    pub fn builder(url: impl Into<String>) -> ClientBuilder {
        ClientBuilder {
            url: url.into(),
            api_key: None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            request_timeout: Some(DEFAULT_REQUEST_TIMEOUT),
            lazy: false,
        }
    }

    /// Connects to `url` with default timeouts and no API key.
    pub async fn connect(url: impl Into<String>) -> Result<Self, Error> {
        Self::builder(url).connect().await
    }

    /// Returns a client sharing this connection that sends `key` instead.
    pub fn with_api_key(&self, key: &str) -> Result<Self, Error> {
        let header = format!("Bearer {key}").parse::<MetadataValue<Ascii>>().map_err(|_| Error::InvalidApiKey)?;
        Ok(Self { channel: self.channel.clone(), interceptor: ApiKeyInterceptor { header: Some(header) } })
    }

    /// Returns the underlying channel, for clients this SDK does not wrap (health, reflection).
    pub fn channel(&self) -> Channel {
        self.channel.clone()
    }

    /// Returns a client of `medley.v1.AdminService`.
    pub fn admin(&self) -> AdminServiceClient<AuthedChannel> {
        AdminServiceClient::with_interceptor(self.channel.clone(), self.interceptor.clone())
    }

    /// Returns a MappingService client (anime id lookups, search, pipeline runs).
    pub fn mapping(&self) -> MappingServiceClient<AuthedChannel> {
        MappingServiceClient::with_interceptor(self.channel.clone(), self.interceptor.clone())
    }

    /// Returns a CatalogService client (anime catalog, imports, importer runs).
    pub fn catalog(&self) -> CatalogServiceClient<AuthedChannel> {
        CatalogServiceClient::with_interceptor(self.channel.clone(), self.interceptor.clone())
    }

    /// Sends `items` through `ImportBatch` and gathers every chunk's answer into one: results
    /// in input order, counts summed. For calls whose results fit in memory; read the stream
    /// of `catalog().import_batch` directly to act on each chunk as it commits.
    pub async fn import_batch_all(
        &self,
        items: impl IntoIterator<Item = pb::ImportBatchRequest, IntoIter: Send + 'static>,
    ) -> Result<pb::ImportBatchResponse, tonic::Status> {
        let mut answers = self.catalog().import_batch(tokio_stream::iter(items)).await?.into_inner();
        let mut all = pb::ImportBatchResponse::default();
        while let Some(answer) = answers.message().await? {
            all.results.extend(answer.results);
            all.created += answer.created;
            all.updated += answer.updated;
            all.unchanged += answer.unchanged;
            all.failed += answer.failed;
        }
        Ok(all)
    }
}
