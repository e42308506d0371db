//! `medley.v1.CatalogService`: converts requests, delegates, converts answers.

use std::sync::Arc;

use medley_sdk::pb::{self, catalog_service_server::CatalogService};
use tonic::{Request, Response, Status, Streaming};

use super::{
    batch,
    importer::job,
    playlists::{Playlists, Principal, browse, details, service as playlist, sync},
    service,
    store::playlist_browse::Facet,
};
use crate::{auth::Caller, platform::Platform, request_guard::Schema};

/// The CatalogService implementation.
#[derive(Clone)]
pub struct CatalogApi {
    state: Platform,
    /// Whether the importer has what it needs (a Kodik token).
    importer_ready: bool,
    /// The API's messages, to check `ImportBatch` items one by one.
    schema: Arc<Schema>,
    /// The playlist operations.
    playlists: Playlists,
}

impl CatalogApi {
    /// Serves CatalogService on the platform; `importer_ready` says whether `StartImport` may
    /// start runs.
    pub fn new(state: Platform, importer_ready: bool, playlists: Playlists) -> anyhow::Result<Self> {
        let schema = Arc::new(Schema::decode(medley_sdk::FILE_DESCRIPTOR_SET)?);
        Ok(Self { state, importer_ready, schema, playlists })
    }
}

/// Moves the named fields of one message into a struct with the same field names (the three
/// item lists and the two facet lists share their request fields).
macro_rules! same_fields {
    ($($target:ident)::+, $from:ident, $($field:ident),+) => {
        $($target)::+ { $($field: $from.$field),+ }
    };
}

/// The caller of a playlist RPC and its message.
fn caller<T>(request: Request<T>) -> Result<(Principal, T), Status> {
    let principal = Principal::of(request.extensions().get::<Caller>())?;
    Ok((principal, request.into_inner()))
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

    async fn create_playlist(
        &self,
        request: Request<pb::CreatePlaylistRequest>,
    ) -> Result<Response<pb::CreatePlaylistResponse>, Status> {
        let (who, request) = caller(request)?;
        let playlist = playlist::create(&self.playlists, &who, request).await?;
        Ok(Response::new(pb::CreatePlaylistResponse { playlist: Some(playlist) }))
    }

    async fn get_playlist(
        &self,
        request: Request<pb::GetPlaylistRequest>,
    ) -> Result<Response<pb::GetPlaylistResponse>, Status> {
        let (who, request) = caller(request)?;
        let playlist = playlist::get(&self.playlists, &who, &request.name).await?;
        Ok(Response::new(pb::GetPlaylistResponse { playlist: Some(playlist) }))
    }

    async fn list_playlists(
        &self,
        request: Request<pb::ListPlaylistsRequest>,
    ) -> Result<Response<pb::ListPlaylistsResponse>, Status> {
        let (who, request) = caller(request)?;
        Ok(Response::new(playlist::list(&self.playlists, &who, request).await?))
    }

    async fn update_playlist(
        &self,
        request: Request<pb::UpdatePlaylistRequest>,
    ) -> Result<Response<pb::UpdatePlaylistResponse>, Status> {
        let (who, request) = caller(request)?;
        let playlist = playlist::update(&self.playlists, &who, request).await?;
        Ok(Response::new(pb::UpdatePlaylistResponse { playlist: Some(playlist) }))
    }

    async fn delete_playlist(
        &self,
        request: Request<pb::DeletePlaylistRequest>,
    ) -> Result<Response<pb::DeletePlaylistResponse>, Status> {
        let (who, request) = caller(request)?;
        playlist::delete(&self.playlists, &who, &request.name).await?;
        Ok(Response::new(pb::DeletePlaylistResponse {}))
    }

    async fn sync_playlist(
        &self,
        request: Request<pb::SyncPlaylistRequest>,
    ) -> Result<Response<pb::SyncPlaylistResponse>, Status> {
        let (who, request) = caller(request)?;
        Ok(Response::new(sync::sync_now(&self.playlists, &who, request).await?))
    }

    type WatchPlaylistSyncStream = sync::WatchStream;

    async fn watch_playlist_sync(
        &self,
        request: Request<pb::WatchPlaylistSyncRequest>,
    ) -> Result<Response<Self::WatchPlaylistSyncStream>, Status> {
        let (who, request) = caller(request)?;
        Ok(Response::new(sync::watch(&self.playlists, &who, request).await?))
    }

    async fn list_categories(
        &self,
        request: Request<pb::ListCategoriesRequest>,
    ) -> Result<Response<pb::ListCategoriesResponse>, Status> {
        let (who, request) = caller(request)?;
        Ok(Response::new(browse::categories(&self.playlists, &who, request).await?))
    }

    async fn list_live_streams(
        &self,
        request: Request<pb::ListLiveStreamsRequest>,
    ) -> Result<Response<pb::ListLiveStreamsResponse>, Status> {
        let (who, r) = caller(request)?;
        let request = same_fields!(browse::ItemsRequest, r, parent, filter, order_by, page_size, page_token);
        let (live_streams, next_page_token) =
            browse::list_items(&self.playlists, &who, pb::PlaylistItemKind::Live, request).await?;
        Ok(Response::new(pb::ListLiveStreamsResponse { live_streams, next_page_token }))
    }

    async fn list_vod(&self, request: Request<pb::ListVodRequest>) -> Result<Response<pb::ListVodResponse>, Status> {
        let (who, r) = caller(request)?;
        let request = same_fields!(browse::ItemsRequest, r, parent, filter, order_by, page_size, page_token);
        let (vod, next_page_token) = browse::list_items(&self.playlists, &who, pb::PlaylistItemKind::Vod, request).await?;
        Ok(Response::new(pb::ListVodResponse { vod, next_page_token }))
    }

    async fn list_series(
        &self,
        request: Request<pb::ListSeriesRequest>,
    ) -> Result<Response<pb::ListSeriesResponse>, Status> {
        let (who, r) = caller(request)?;
        let request = same_fields!(browse::ItemsRequest, r, parent, filter, order_by, page_size, page_token);
        let (series, next_page_token) =
            browse::list_items(&self.playlists, &who, pb::PlaylistItemKind::Series, request).await?;
        Ok(Response::new(pb::ListSeriesResponse { series, next_page_token }))
    }

    async fn get_vod(&self, request: Request<pb::GetVodRequest>) -> Result<Response<pb::GetVodResponse>, Status> {
        let (who, request) = caller(request)?;
        let vod = details::vod(&self.playlists, &who, &request.name).await?;
        Ok(Response::new(pb::GetVodResponse { vod: Some(vod) }))
    }

    async fn get_series(
        &self,
        request: Request<pb::GetSeriesRequest>,
    ) -> Result<Response<pb::GetSeriesResponse>, Status> {
        let (who, request) = caller(request)?;
        let series = details::series(&self.playlists, &who, &request.name).await?;
        Ok(Response::new(pb::GetSeriesResponse { series: Some(series) }))
    }

    async fn list_genres(
        &self,
        request: Request<pb::ListGenresRequest>,
    ) -> Result<Response<pb::ListGenresResponse>, Status> {
        let (who, r) = caller(request)?;
        let request = same_fields!(browse::FacetRequest, r, parent, kind, query, page_size, page_token);
        let (genres, next_page_token) = browse::facets(&self.playlists, &who, Facet::Genres, request).await?;
        Ok(Response::new(pb::ListGenresResponse { genres, next_page_token }))
    }

    async fn list_actors(
        &self,
        request: Request<pb::ListActorsRequest>,
    ) -> Result<Response<pb::ListActorsResponse>, Status> {
        let (who, r) = caller(request)?;
        let request = same_fields!(browse::FacetRequest, r, parent, kind, query, page_size, page_token);
        let (actors, next_page_token) = browse::facets(&self.playlists, &who, Facet::Actors, request).await?;
        Ok(Response::new(pb::ListActorsResponse { actors, next_page_token }))
    }

    async fn set_favorite(
        &self,
        request: Request<pb::SetFavoriteRequest>,
    ) -> Result<Response<pb::SetFavoriteResponse>, Status> {
        let (who, request) = caller(request)?;
        let favorite = browse::set_favorite(&self.playlists, &who, request).await?;
        Ok(Response::new(pb::SetFavoriteResponse { favorite: Some(favorite) }))
    }

    async fn delete_favorite(
        &self,
        request: Request<pb::DeleteFavoriteRequest>,
    ) -> Result<Response<pb::DeleteFavoriteResponse>, Status> {
        let (who, request) = caller(request)?;
        browse::delete_favorite(&self.playlists, &who, request).await?;
        Ok(Response::new(pb::DeleteFavoriteResponse {}))
    }

    async fn list_favorites(
        &self,
        request: Request<pb::ListFavoritesRequest>,
    ) -> Result<Response<pb::ListFavoritesResponse>, Status> {
        let (who, request) = caller(request)?;
        Ok(Response::new(browse::list_favorites(&self.playlists, &who, request).await?))
    }

    async fn get_stream_url(
        &self,
        request: Request<pb::GetStreamUrlRequest>,
    ) -> Result<Response<pb::GetStreamUrlResponse>, Status> {
        let (who, request) = caller(request)?;
        Ok(Response::new(details::stream_url(&self.playlists, &who, request).await?))
    }
}
