//! Psoxy's health check (psoxy-contract §8 item 8): a request with `X-Psoxy-Health-Check` gets
//! `HealthCheckResult` as JSON, 200 when it passed and 412 when not. Other requests are served
//! as the proxy serves API calls: with its access token, against the simulated API.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::instance::ProxyInstance;
use crate::secret::{ExposeSecret, SecretString};
use crate::store::SecretKey;

/// `ControlHeader.HEALTH_CHECK`: `"X-Psoxy-" + "Health-Check"`.
pub const HEALTH_CHECK_HEADER: &str = "X-Psoxy-Health-Check";

/// What the stand-in reports as its version (it is not Psoxy's build).
const VERSION: &str = "v0.6.9 (jira-psoxy-setup stand-in)";

impl ProxyInstance {
    /// `HealthCheckRequestHandler.handle`: the required properties missing from the config
    /// (through the cache; `fill me` counts as missing), and `passed()`. `REFRESH_ENDPOINT` and
    /// `GRANT_TYPE` are environment variables Terraform always sets; the salt is taken as
    /// configured. `configPropertiesLastModified` is `{}`: through the caching decorator no
    /// last-modified date is known.
    pub async fn health(&self, caller_ip: &str) -> (StatusCode, Value) {
        let mut missing = Vec::new();
        for (key, name) in [
            (SecretKey::ClientId, "CLIENT_ID"),
            (SecretKey::ClientSecret, "CLIENT_SECRET"),
            (SecretKey::RefreshToken, "REFRESH_TOKEN"),
        ] {
            if !matches!(self.config(key).await, Ok(Some(_))) {
                missing.push(name);
            }
        }
        missing.sort_unstable();
        let passed = missing.is_empty();
        // serde_json's map keeps keys sorted: `@JsonPropertyOrder(alphabetic = true)`.
        let body = json!({
            "bundleFilename": null,
            "callerIp": caller_ip,
            "configPropertiesLastModified": {},
            "configuredHost": "api.atlassian.com",
            "configuredSource": "jira-cloud",
            "javaSourceCodeVersion": VERSION,
            "missingConfigProperties": missing,
            "nonDefaultSalt": true,
            "pseudonymizeAppIds": null,
            "saltSha256Hash": null,
            "sourceAuthGrantType": "refresh_token",
            "sourceAuthStrategy": "oauth2_refresh_token",
            "userAgent": "psoxy/v0.6.9 (stand-in)",
            "version": VERSION,
            "warningMessages": [],
        });
        let status = if passed {
            StatusCode::OK
        } else {
            StatusCode::PRECONDITION_FAILED
        };
        (status, body)
    }
}

#[derive(Clone)]
struct Fleet {
    instances: Arc<Vec<Arc<ProxyInstance>>>,
    next: Arc<AtomicUsize>,
}

pub(super) fn router(instances: Vec<Arc<ProxyInstance>>) -> Router {
    let fleet = Fleet {
        instances: Arc::new(instances),
        next: Arc::new(AtomicUsize::new(0)),
    };
    Router::new().fallback(serve).with_state(fleet)
}

/// Instances take turns, as a load balancer spreads requests.
async fn serve(
    State(fleet): State<Fleet>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
) -> Response {
    let n = fleet.next.fetch_add(1, Ordering::Relaxed);
    let Some(instance) = fleet.instances.get(n % fleet.instances.len().max(1)) else {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    if req.headers().contains_key(HEALTH_CHECK_HEADER) {
        let (status, body) = instance.health(&peer.ip().to_string()).await;
        let mut resp = (status, format!("{body}\r\n")).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        return resp;
    }
    let path = req
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .trim_start_matches('/')
        .to_string();
    match instance.credentials().await {
        Ok(token) => forward(instance, &path, &token).await,
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\r\n")).into_response(),
    }
}

/// An API call: the proxy calls the source with its own access token and answers with what the
/// source said (Psoxy pseudonymizes the answer by its rules; the stand-in passes it through).
async fn forward(instance: &ProxyInstance, path: &str, token: &SecretString) -> Response {
    let url = match instance.source_api().join(path) {
        Ok(url) => url,
        Err(e) => return (StatusCode::BAD_REQUEST, format!("{e}\r\n")).into_response(),
    };
    let answer = reqwest::Client::new()
        .get(url)
        .bearer_auth(token.expose_secret())
        .send()
        .await;
    let answer = match answer {
        Ok(answer) => answer,
        Err(e) => {
            return (StatusCode::BAD_GATEWAY, format!("{}\r\n", e.without_url())).into_response();
        }
    };
    let status = StatusCode::from_u16(answer.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    match answer.bytes().await {
        Ok(body) => {
            let mut resp = (status, body).into_response();
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            resp
        }
        Err(e) => (StatusCode::BAD_GATEWAY, format!("{}\r\n", e.without_url())).into_response(),
    }
}
