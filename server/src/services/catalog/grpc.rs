//! `medley.v1.CatalogService`: converts requests, delegates, converts answers.

use std::sync::Arc;

use medley_sdk::pb::{self, catalog_service_server::CatalogService};
use tonic::{Request, Response, Status, Streaming};

use super::{batch, importer::job, service};
use crate::{platform::Platform, request_guard::Schema};

/// The CatalogService implementation.
#[derive(Clone)]
pub struct CatalogApi {
    state: Platform,
    /// Whether the importer has what it needs (a Kodik token).
    importer_ready: bool,
    /// The API's messages, to check `ImportBatch` items one by one.
    schema: Arc<Schema>,
}

impl CatalogApi {
    /// Serves CatalogService on the platform; `importer_ready` says whether `StartImport` may
    /// start runs.
    pub fn new(state: Platform, importer_ready: bool) -> anyhow::Result<Self> {
        let schema = Arc::new(Schema::decode(medley_sdk::FILE_DESCRIPTOR_SET)?);
        Ok(Self { state, importer_ready, schema })
    }
}

type WatchStream = job::WatchStream;

#[tonic::async_trait]
impl CatalogService for CatalogApi {
    async fn import_anime(
        &self,
        request: Request<pb::ImportAnimeRequest>,
    ) -> Result<Response<pb::ImportAnimeResponse>, Status> {
        Ok(Response::new(service::import_anime(&self.state, request.into_inner()).await?))
    }

    async fn import_episodes(
        &self,
        request: Request<pb::ImportEpisodesRequest>,
    ) -> Result<Response<pb::ImportEpisodesResponse>, Status> {
        Ok(Response::new(service::import_episodes(&self.state, request.into_inner()).await?))
    }

    async fn import_video(
        &self,
        request: Request<pb::ImportVideoRequest>,
    ) -> Result<Response<pb::ImportVideoResponse>, Status> {
        Ok(Response::new(service::import_video(&self.state, request.into_inner()).await?))
    }

    type ImportBatchStream = batch::BatchStream;

    async fn import_batch(
        &self,
        request: Request<Streaming<pb::ImportBatchRequest>>,
    ) -> Result<Response<Self::ImportBatchStream>, Status> {
        Ok(Response::new(batch::import_stream(self.state.db.clone(), self.schema.clone(), request.into_inner())))
    }

    async fn update_anime(
        &self,
        request: Request<pb::UpdateAnimeRequest>,
    ) -> Result<Response<pb::UpdateAnimeResponse>, Status> {
        let anime = service::update_anime(&self.state, request.into_inner()).await?;
        Ok(Response::new(pb::UpdateAnimeResponse { anime: Some(anime) }))
    }

    async fn get_anime(&self, request: Request<pb::GetAnimeRequest>) -> Result<Response<pb::GetAnimeResponse>, Status> {
        let anime = service::get_anime(&self.state, request.into_inner()).await?;
        Ok(Response::new(pb::GetAnimeResponse { anime: Some(anime) }))
    }

    async fn list_anime(
        &self,
        request: Request<pb::ListAnimeRequest>,
    ) -> Result<Response<pb::ListAnimeResponse>, Status> {
        Ok(Response::new(service::list_anime(&self.state, request.into_inner()).await?))
    }

    async fn list_episodes(
        &self,
        request: Request<pb::ListEpisodesRequest>,
    ) -> Result<Response<pb::ListEpisodesResponse>, Status> {
        Ok(Response::new(service::list_episodes(&self.state, request.into_inner()).await?))
    }

    async fn list_videos(
        &self,
        request: Request<pb::ListVideosRequest>,
    ) -> Result<Response<pb::ListVideosResponse>, Status> {
        Ok(Response::new(service::list_videos(&self.state, request.into_inner()).await?))
    }

    async fn start_import(
        &self,
        request: Request<pb::StartImportRequest>,
    ) -> Result<Response<pb::StartImportResponse>, Status> {
        Ok(Response::new(job::start(&self.state, self.importer_ready, request.into_inner()).await?))
    }

    type WatchImportStream = WatchStream;

    async fn watch_import(
        &self,
        request: Request<pb::WatchImportRequest>,
    ) -> Result<Response<Self::WatchImportStream>, Status> {
        Ok(Response::new(job::watch(&self.state, request.into_inner()).await?))
    }

    async fn list_import_runs(
        &self,
        request: Request<pb::ListImportRunsRequest>,
    ) -> Result<Response<pb::ListImportRunsResponse>, Status> {
        Ok(Response::new(job::list(&self.state, request.into_inner()).await?))
    }

    async fn cancel_import(
        &self,
        request: Request<pb::CancelImportRequest>,
    ) -> Result<Response<pb::CancelImportResponse>, Status> {
        Ok(Response::new(job::cancel(&self.state, request.into_inner()).await?))
    }
}
