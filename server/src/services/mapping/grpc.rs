//! `medley.v1.MappingService`: converts requests, delegates, converts answers.

use medley_sdk::pb::{self, mapping_service_server::MappingService};
use tonic::{Request, Response, Status};

use super::{
    MappingError, MappingState,
    convert::{parse_key, parse_platform_ref, parse_view, platform_infos, shape},
    lookup::{self, MAX_BATCH, require_stored},
    export, overrides, runs,
};
use crate::error::FieldViolations;


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

    type ExportMappingsStream = export::ExportStream;

    async fn export_mappings(
        &self,
        request: Request<pb::ExportMappingsRequest>,
    ) -> Result<Response<Self::ExportMappingsStream>, Status> {
        Ok(Response::new(export::start(&self.state, request.into_inner())?))
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
