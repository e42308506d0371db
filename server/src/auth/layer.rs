//! The tower layer that enforces [`super::policy`] before any Medley service runs.

use std::{
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use tower::{Layer, Service};

use super::{
    KeyVerifier,
    anonymous::AnonymousLimit,
    policy::{Access, Policy},
};

/// Adds API-key checks in front of a service.
#[derive(Clone)]
pub struct AuthLayer {
    verifier: Arc<KeyVerifier>,
    policy: Arc<Policy>,
    anonymous: Arc<AnonymousLimit>,
}

impl AuthLayer {
    /// Checks calls against `policy` with `verifier`; anonymous calls count against
    /// `anonymous`.
    pub fn new(verifier: Arc<KeyVerifier>, policy: Arc<Policy>, anonymous: Arc<AnonymousLimit>) -> Self {
        Self { verifier, policy, anonymous }
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService {
            inner,
            verifier: self.verifier.clone(),
            policy: self.policy.clone(),
            anonymous: self.anonymous.clone(),
        }
    }
}

/// The service made by [`AuthLayer`].
#[derive(Clone)]
pub struct AuthService<S> {
    inner: S,
    verifier: Arc<KeyVerifier>,
    policy: Arc<Policy>,
    anonymous: Arc<AnonymousLimit>,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for AuthService<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: Default + Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<ReqBody>) -> Self::Future {
        let access = self.policy.required_access(request.uri().path());
        if access == Access::Public {
            return Box::pin(self.inner.call(request));
        }
        // The inner service was made ready by `poll_ready`; take that one and leave a clone.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let verifier = self.verifier.clone();
        let anonymous = self.anonymous.clone();
        Box::pin(async move {
            let authorization = request.headers().get(http::header::AUTHORIZATION).cloned();
            let access = match (access, &authorization) {
                (Access::ScopeOrAnonymous(_), None) => {
                    let client = request
                        .extensions()
                        .get::<tonic::transport::server::TcpConnectInfo>()
                        .and_then(|info| info.remote_addr())
                        .map(|addr| addr.ip());
                    return match anonymous.admit(client).await {
                        Ok(()) => inner.call(request).await,
                        Err(error) => Ok(tonic::Status::from(error).into_http()),
                    };
                }
                (Access::ScopeOrAnonymous(scope), Some(_)) => Access::Scope(scope),
                (access, _) => access,
            };
            match verifier.authorize(authorization.as_ref(), access).await {
                Ok(caller) => {
                    if let Some(caller) = caller {
                        request.extensions_mut().insert(caller);
                    }
                    inner.call(request).await
                }
                Err(error) => Ok(tonic::Status::from(error).into_http()),
            }
        })
    }
}
