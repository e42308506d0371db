//! The API-key RPCs (the keys themselves are the platform's `auth`).

use chrono::Utc;
use medley_sdk::pb;
use secrecy::ExposeSecret as _;

use super::{AdminError, convert};
use crate::{
    auth::{keys, store},
    pagination::rows_to_read,
    platform::Platform,
};

/// `CreateApiKey`.
pub async fn create(state: &Platform, request: pb::CreateApiKeyRequest) -> Result<pb::CreateApiKeyResponse, AdminError> {
    let spec = convert::parse_create_request(request, Utc::now())?;
    let mut conn = state.db.get().await?;
    let created = keys::create_key(&mut conn, &spec).await.map_err(AdminError::Platform)?;
    tracing::info!(api_key.id = %created.row.id, api_key.name = %created.row.name, "api key created");
    Ok(pb::CreateApiKeyResponse { api_key: Some(convert::api_key_to_pb(&created.row)), secret: created.secret.expose_secret().to_owned() })
}

/// `GetApiKey`.
pub async fn get(state: &Platform, request: pb::GetApiKeyRequest) -> Result<pb::GetApiKeyResponse, AdminError> {
    let id = convert::parse_key_id(&request.id)?;
    let mut conn = state.db.get().await?;
    let row = store::find_key(&mut conn, id).await?.ok_or(AdminError::KeyNotFound(id))?;
    Ok(pb::GetApiKeyResponse { api_key: Some(convert::api_key_to_pb(&row)) })
}

/// `ListApiKeys`, newest first.
pub async fn list(state: &Platform, request: pb::ListApiKeysRequest) -> Result<pb::ListApiKeysResponse, AdminError> {
    let list = convert::parse_list_request(request)?;
    let mut conn = state.db.get().await?;
    let rows = store::list_keys(&mut conn, list.show_revoked, list.after, rows_to_read(list.limit)).await?;
    Ok(convert::list_response(rows, &list))
}

/// `RevokeApiKey`: the key stops working on this instance at once, on others within the auth
/// cache's lifetime.
pub async fn revoke(state: &Platform, request: pb::RevokeApiKeyRequest) -> Result<pb::RevokeApiKeyResponse, AdminError> {
    let id = convert::parse_key_id(&request.id)?;
    let mut conn = state.db.get().await?;
    let row = store::revoke_key(&mut conn, id).await?.ok_or(AdminError::KeyNotFound(id))?;
    state.verifier.forget_key(id);
    tracing::info!(api_key.id = %id, "api key revoked");
    Ok(pb::RevokeApiKeyResponse { api_key: Some(convert::api_key_to_pb(&row)) })
}
