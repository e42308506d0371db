//! `medley.v1.MappingService`: converts requests, delegates, converts answers.

use medley_sdk::pb::{self, mapping_service_server::MappingService};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use super::{
    MappingError, MappingState,
    convert::{parse_key, parse_platform_ref, parse_view, platform_infos, shape},
    lookup::{self, MAX_BATCH, require_stored},
    overrides, runs, store,
};
use crate::error::FieldViolations;

/// Records per export message by default, and at most.
const EXPORT_BATCH: (i32, i32) = (500, 1000);

/// The MappingService implementation.
#[derive(Clone)]
pub struct MappingApi {
    state: MappingState,
}

impl MappingApi {
    /// Serves MappingService from the service's state.
    pub fn new(state: MappingState) -> Self {
        Self { state }
    }
}

type ExportStream = ReceiverStream<Result<pb::ExportMappingsResponse, Status>>;

#[tonic::async_trait]
impl MappingService for MappingApi {
    async fn get_mapping(
        &self,
        request: Request<pb::GetMappingRequest>,
    ) -> Result<Response<pb::GetMappingResponse>, Status> {
        let mut violations = FieldViolations::new();
        let request = request.into_inner();
        let view = parse_view(request.view, &mut violations);
        let key = match request.key {
            Some(key) => parse_key(&key, "key", &mut violations),
            None => {
                violations.add("key", "is required");
                None
            }
        };
        if let Some(key) = &key {
            require_stored(key, "key", &mut violations);
        }
        violations.finish().map_err(MappingError::Invalid)?;
        let Some(key) = key else { return Err(FieldViolations::new().into_error().into()) };
        let record = lookup::get(&self.state, &key).await?;
        Ok(Response::new(pb::GetMappingResponse { record: Some(shape(&record, view)) }))
    }

    async fn batch_get_mappings(
        &self,
        request: Request<pb::BatchGetMappingsRequest>,
    ) -> Result<Response<pb::BatchGetMappingsResponse>, Status> {
        let pb::BatchGetMappingsRequest { keys, view } = request.into_inner();
        let mut violations = FieldViolations::new();
        let view = parse_view(view, &mut violations);
        if keys.is_empty() || keys.len() > MAX_BATCH {
            violations.add("keys", format!("must hold 1 to {MAX_BATCH} keys, got {}", keys.len()));
            return Err(violations.into_error().into());
        }
        let parsed: Vec<_> = keys
            .iter()
            .enumerate()
            .filter_map(|(i, key)| {
                let field = format!("keys[{i}]");
                let parsed = parse_key(key, &field, &mut violations)?;
                require_stored(&parsed, &field, &mut violations);
                Some(parsed)
            })
            .collect();
        violations.finish().map_err(MappingError::Invalid)?;
        let found = lookup::get_many(&self.state, &parsed).await?;
        let results = keys
            .into_iter()
            .zip(found)
            .map(|(key, record)| pb::BatchGetMappingsResult {
                key: Some(key),
                found: record.is_some(),
                record: record.map(|r| shape(&r, view)),
            })
            .collect();
        Ok(Response::new(pb::BatchGetMappingsResponse { results }))
    }

    async fn resolve_redirect(
        &self,
        request: Request<pb::ResolveRedirectRequest>,
    ) -> Result<Response<pb::ResolveRedirectResponse>, Status> {
        let request = request.into_inner();
        let mut violations = FieldViolations::new();
        let from = match &request.from {
            Some(key) => parse_key(key, "from", &mut violations),
            None => {
                violations.add("from", "is required");
                None
            }
        };
        if let Some(from) = &from {
            require_stored(from, "from", &mut violations);
        }
        let target = match &request.target {
            None => None,
            Some(pb::resolve_redirect_request::Target::ToPlatform(number)) => {
                let reference = pb::mapping_key::PlatformRef::Platform(*number);
                parse_platform_ref(Some(&reference), "to", &mut violations)
            }
            Some(pb::resolve_redirect_request::Target::ToPlatformName(name)) => {
                let reference = pb::mapping_key::PlatformRef::PlatformName(name.clone());
                parse_platform_ref(Some(&reference), "to", &mut violations)
            }
        };
        violations.finish().map_err(MappingError::Invalid)?;
        let Some(from) = from else { return Err(FieldViolations::new().into_error().into()) };
        let (url, target, id, record) = lookup::redirect(&self.state, &from, target).await?;
        Ok(Response::new(pb::ResolveRedirectResponse {
            url,
            platform: target.platform as i32,
            id,
            record: Some((*record).clone()),
        }))
    }

    async fn search_anime(
        &self,
        request: Request<pb::SearchAnimeRequest>,
    ) -> Result<Response<pb::SearchAnimeResponse>, Status> {
        Ok(Response::new(lookup::search(&self.state, request.into_inner()).await?))
    }

    async fn list_platforms(
        &self,
        _request: Request<pb::ListPlatformsRequest>,
    ) -> Result<Response<pb::ListPlatformsResponse>, Status> {
        Ok(Response::new(pb::ListPlatformsResponse { platforms: platform_infos() }))
    }

    async fn get_status(
        &self,
        _request: Request<pb::GetStatusRequest>,
    ) -> Result<Response<pb::GetStatusResponse>, Status> {
        Ok(Response::new(lookup::status(&self.state).await?))
    }

    type ExportMappingsStream = ExportStream;

    async fn export_mappings(
        &self,
        request: Request<pb::ExportMappingsRequest>,
    ) -> Result<Response<Self::ExportMappingsStream>, Status> {
        let request = request.into_inner();
        let mut violations = FieldViolations::new();
        let platform = match pb::Platform::try_from(request.platform) {
            Ok(pb::Platform::Unspecified) => None,
            Ok(platform) => Some(platform as i16),
            Err(_) => {
                violations.add("platform", format!("{} is not a platform", request.platform));
                None
            }
        };
        let batch = match request.batch_size {
            0 => EXPORT_BATCH.0,
            n if (1..=EXPORT_BATCH.1).contains(&n) => n,
            _ => {
                violations.add("batch_size", format!("must be 1 to {}, or 0 for {}", EXPORT_BATCH.1, EXPORT_BATCH.0));
                EXPORT_BATCH.0
            }
        };
        violations.finish().map_err(MappingError::Invalid)?;
        let (tx, rx) = mpsc::channel(4);
        let state = self.state.clone();
        tokio::spawn(async move {
            if let Err(error) = export(&state, platform, i64::from(batch), &tx).await {
                let _ = tx.send(Err(error.into())).await;
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    async fn start_pipeline_run(
        &self,
        request: Request<pb::StartPipelineRunRequest>,
    ) -> Result<Response<pb::StartPipelineRunResponse>, Status> {
        Ok(Response::new(runs::start(&self.state.platform, request.into_inner().force).await?))
    }

    async fn run_pipeline(
        &self,
        request: Request<pb::RunPipelineRequest>,
    ) -> Result<Response<pb::RunPipelineResponse>, Status> {
        let started = runs::start(&self.state.platform, request.into_inner().force).await?;
        Ok(Response::new(pb::RunPipelineResponse { run: started.run, created: started.created }))
    }

    async fn list_pipeline_runs(
        &self,
        request: Request<pb::ListPipelineRunsRequest>,
    ) -> Result<Response<pb::ListPipelineRunsResponse>, Status> {
        Ok(Response::new(runs::list(&self.state.platform, request.into_inner()).await?))
    }

    async fn cancel_pipeline_run(
        &self,
        request: Request<pb::CancelPipelineRunRequest>,
    ) -> Result<Response<pb::CancelPipelineRunResponse>, Status> {
        Ok(Response::new(runs::cancel(&self.state.platform, request.into_inner()).await?))
    }

    type WatchPipelineRunStream = runs::WatchStream;

    async fn watch_pipeline_run(
        &self,
        request: Request<pb::WatchPipelineRunRequest>,
    ) -> Result<Response<Self::WatchPipelineRunStream>, Status> {
        Ok(Response::new(runs::watch(&self.state.platform, request.into_inner()).await?))
    }

    async fn put_override(
        &self,
        request: Request<pb::PutOverrideRequest>,
    ) -> Result<Response<pb::PutOverrideResponse>, Status> {
        Ok(Response::new(overrides::put(&self.state.platform, request.into_inner()).await?))
    }

    async fn list_overrides(
        &self,
        request: Request<pb::ListOverridesRequest>,
    ) -> Result<Response<pb::ListOverridesResponse>, Status> {
        Ok(Response::new(overrides::list(&self.state.platform, request.into_inner()).await?))
    }

    async fn delete_override(
        &self,
        request: Request<pb::DeleteOverrideRequest>,
    ) -> Result<Response<pb::DeleteOverrideResponse>, Status> {
        Ok(Response::new(overrides::delete(&self.state.platform, request.into_inner()).await?))
    }
}

/// Streams every record in id order, a page per message, in one repeatable-read transaction so
/// the export is one consistent snapshot even while a run writes.
async fn export(
    state: &MappingState,
    platform: Option<i16>,
    batch: i64,
    tx: &mpsc::Sender<Result<pb::ExportMappingsResponse, Status>>,
) -> Result<(), MappingError> {
    let mut conn = state.platform.db.get().await?;
    conn.build_transaction()
        .repeatable_read()
        .read_only()
        .run::<_, MappingError, _>(async |conn| {
            let mut after = 0;
            loop {
                let page = store::export_page(conn, after, platform, batch).await?;
                let Some(&(last, _)) = page.last() else { return Ok(()) };
                after = last;
                let records =
                    page.into_iter().filter_map(|(_, body)| prost::Message::decode(body.as_slice()).ok()).collect();
                if tx.send(Ok(pb::ExportMappingsResponse { records })).await.is_err() {
                    return Ok(());
                }
            }
        })
        .await
}
