//! `medley.v1.AdminService`: converts requests, delegates, converts answers.

use medley_sdk::pb::{self, admin_service_server::AdminService};
use tonic::{Request, Response, Status};

use super::{jobs, keys, watch};
use crate::{
    platform::Platform,
    proto_time::{to_duration, to_timestamp},
};

/// The AdminService implementation.
#[derive(Clone)]
pub struct AdminApi {
    state: Platform,
}

impl AdminApi {
    /// Serves AdminService from the shared state.
    pub fn new(state: Platform) -> Self {
        Self { state }
    }
}

#[tonic::async_trait]
impl AdminService for AdminApi {
    async fn get_server_info(
        &self,
        _request: Request<pb::GetServerInfoRequest>,
    ) -> Result<Response<pb::GetServerInfoResponse>, Status> {
        let info = &self.state.info;
        Ok(Response::new(pb::GetServerInfoResponse {
            version: info.version.to_owned(),
            build: info.build.to_owned(),
            enabled_services: info.services.get().into_iter().flatten().map(|s| (*s).to_owned()).collect(),
            start_time: Some(to_timestamp(info.started_at)),
            uptime: Some(to_duration(info.started.elapsed())),
            instance_id: info.instance_id.clone(),
        }))
    }

    async fn create_api_key(
        &self,
        request: Request<pb::CreateApiKeyRequest>,
    ) -> Result<Response<pb::CreateApiKeyResponse>, Status> {
        Ok(Response::new(keys::create(&self.state, request.into_inner()).await?))
    }

    async fn get_api_key(
        &self,
        request: Request<pb::GetApiKeyRequest>,
    ) -> Result<Response<pb::GetApiKeyResponse>, Status> {
        Ok(Response::new(keys::get(&self.state, request.into_inner()).await?))
    }

    async fn list_api_keys(
        &self,
        request: Request<pb::ListApiKeysRequest>,
    ) -> Result<Response<pb::ListApiKeysResponse>, Status> {
        Ok(Response::new(keys::list(&self.state, request.into_inner()).await?))
    }

    async fn revoke_api_key(
        &self,
        request: Request<pb::RevokeApiKeyRequest>,
    ) -> Result<Response<pb::RevokeApiKeyResponse>, Status> {
        Ok(Response::new(keys::revoke(&self.state, request.into_inner()).await?))
    }

    async fn list_jobs(&self, request: Request<pb::ListJobsRequest>) -> Result<Response<pb::ListJobsResponse>, Status> {
        Ok(Response::new(jobs::list_jobs(&self.state, request.into_inner()).await?))
    }

    async fn get_job(&self, request: Request<pb::GetJobRequest>) -> Result<Response<pb::GetJobResponse>, Status> {
        Ok(Response::new(jobs::get_job(&self.state, request.into_inner()).await?))
    }

    async fn retry_job(&self, request: Request<pb::RetryJobRequest>) -> Result<Response<pb::RetryJobResponse>, Status> {
        Ok(Response::new(jobs::retry_job(&self.state, request.into_inner()).await?))
    }

    async fn cancel_job(
        &self,
        request: Request<pb::CancelJobRequest>,
    ) -> Result<Response<pb::CancelJobResponse>, Status> {
        Ok(Response::new(jobs::cancel_job(&self.state, request.into_inner()).await?))
    }

    async fn enqueue_canary_job(
        &self,
        request: Request<pb::EnqueueCanaryJobRequest>,
    ) -> Result<Response<pb::EnqueueCanaryJobResponse>, Status> {
        Ok(Response::new(jobs::enqueue_canary(&self.state, request.into_inner()).await?))
    }

    async fn list_schedules(
        &self,
        _request: Request<pb::ListSchedulesRequest>,
    ) -> Result<Response<pb::ListSchedulesResponse>, Status> {
        Ok(Response::new(jobs::list_schedules(&self.state).await?))
    }

    async fn pause_schedule(
        &self,
        request: Request<pb::PauseScheduleRequest>,
    ) -> Result<Response<pb::PauseScheduleResponse>, Status> {
        let schedule = jobs::set_schedule_paused(&self.state, &request.into_inner().name, true).await?;
        Ok(Response::new(pb::PauseScheduleResponse { schedule: Some(schedule) }))
    }

    async fn resume_schedule(
        &self,
        request: Request<pb::ResumeScheduleRequest>,
    ) -> Result<Response<pb::ResumeScheduleResponse>, Status> {
        let schedule = jobs::set_schedule_paused(&self.state, &request.into_inner().name, false).await?;
        Ok(Response::new(pb::ResumeScheduleResponse { schedule: Some(schedule) }))
    }

    type WatchJobsStream = watch::WatchJobsStream;

    async fn watch_jobs(
        &self,
        request: Request<pb::WatchJobsRequest>,
    ) -> Result<Response<Self::WatchJobsStream>, Status> {
        Ok(Response::new(watch::watch_jobs(&self.state, request.into_inner()).await?))
    }
}
