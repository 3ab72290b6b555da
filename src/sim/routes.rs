//! HTTP endpoints of the simulator (auth server and API gateway on one port).

use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::authorize::{self, Validated};
use super::consent_page;
use super::state::{Issued, TokenError};
use super::{Shared, lock};

pub(crate) fn router(state: Shared) -> Router {
    Router::new()
        .route("/authorize", get(authorize_page))
        .route("/authorize/decide", post(authorize_decide))
        .route("/oauth/token", post(token))
        .route(
            "/oauth/token/accessible-resources",
            get(accessible_resources),
        )
        .route("/ex/jira/{cloudid}/rest/api/3/myself", get(myself))
        .route(
            "/ex/confluence/{cloudid}/wiki/rest/api/user/current",
            get(confluence_current_user),
        )
        .route("/_sim/requests", get(request_log))
        .fallback(not_found)
        .layer(middleware::map_response(crate::page::secure))
        .layer(middleware::from_fn_with_state(state.clone(), log_request))
        .with_state(state)
}

/// Records `METHOD /path` (never the query, which may carry codes).
async fn log_request(State(state): State<Shared>, req: Request, next: Next) -> Response {
    let line = format!("{} {}", req.method(), req.uri().path());
    tracing::debug!("sim: {line}");
    lock(&state).requests.push(line);
    next.run(req).await
}

/// The request log (`["METHOD /path", ...]`, this request included), for benchmarks.
async fn request_log(State(state): State<Shared>) -> Response {
    json_response(StatusCode::OK, json!(lock(&state).requests))
}

async fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "Not Found").into_response()
}

fn query_pairs(raw: Option<String>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

fn redirect(to: &url::Url) -> Response {
    let mut resp = StatusCode::FOUND.into_response();
    match HeaderValue::from_str(to.as_str()) {
        Ok(v) => {
            resp.headers_mut().insert(header::LOCATION, v);
            resp
        }
        Err(_) => (
            StatusCode::BAD_REQUEST,
            Html(consent_page::error("invalid redirect_uri")),
        )
            .into_response(),
    }
}

fn error_page(err: &super::SimError) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Html(consent_page::error(&err.to_string())),
    )
        .into_response()
}

async fn authorize_page(State(state): State<Shared>, RawQuery(raw): RawQuery) -> Response {
    let inner = lock(&state);
    match authorize::validate(&inner.config, &query_pairs(raw)) {
        Err(e) => error_page(&e),
        Ok(Validated::Redirect(url)) => redirect(&url),
        Ok(Validated::Consent(req)) => {
            Html(consent_page::consent(&inner.config, &req)).into_response()
        }
    }
}

/// The consent form's POST: the authorize query, `decision` and `site`, form-encoded.
async fn authorize_decide(State(state): State<Shared>, body: Bytes) -> Response {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let accept = match pairs
        .iter()
        .find(|(k, _)| k == "decision")
        .map(|(_, v)| v.as_str())
    {
        Some("accept") => true,
        Some("decline") => false,
        _ => {
            return error_page(&super::SimError::InvalidRequest(
                "missing or invalid decision".into(),
            ));
        }
    };
    match super::decide_pairs(&state, &pairs, accept) {
        Ok(url) => {
            // 303: the browser follows a form POST's answer with a GET.
            let mut resp = redirect(&url);
            if resp.status() == StatusCode::FOUND {
                *resp.status_mut() = StatusCode::SEE_OTHER;
            }
            resp
        }
        Err(e) => error_page(&e),
    }
}

fn json_response(status: StatusCode, body: Value) -> Response {
    let mut resp = (status, axum::Json(body)).into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    json_response(
        status,
        json!({"error": error, "error_description": description}),
    )
}

fn token_error(err: TokenError, non_json: bool) -> Response {
    match err {
        TokenError::InvalidRequest(msg) => {
            oauth_error(StatusCode::BAD_REQUEST, "invalid_request", &msg)
        }
        TokenError::UnsupportedGrantType => oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "Unsupported grant type",
        ),
        TokenError::Unauthorized => {
            oauth_error(StatusCode::UNAUTHORIZED, "access_denied", "Unauthorized")
        }
        TokenError::InvalidCode if non_json => (
            StatusCode::FORBIDDEN,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "Invalid authorization code",
        )
            .into_response(),
        TokenError::InvalidCode => oauth_error(
            StatusCode::FORBIDDEN,
            "invalid_grant",
            "Invalid authorization code",
        ),
        TokenError::RedirectMismatch => oauth_error(
            StatusCode::FORBIDDEN,
            "invalid_grant",
            "redirect_uri does not match the one used in the authorization request",
        ),
        TokenError::InvalidRefreshToken => oauth_error(
            StatusCode::FORBIDDEN,
            "invalid_grant",
            "Unknown or invalid refresh token.",
        ),
    }
}

/// Parses a JSON object (or, leniently, a form) of string values.
fn parse_token_body(
    headers: &HeaderMap,
    body: &[u8],
) -> Result<HashMap<String, String>, TokenError> {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if is_form {
        return Ok(url::form_urlencoded::parse(body).into_owned().collect());
    }
    let value: Value = serde_json::from_slice(body).map_err(|_| {
        TokenError::InvalidRequest("Request body must be a JSON object".to_string())
    })?;
    let Value::Object(map) = value else {
        return Err(TokenError::InvalidRequest(
            "Request body must be a JSON object".to_string(),
        ));
    };
    map.into_iter()
        .map(|(k, v)| match v {
            Value::String(s) => Ok((k, s)),
            _ => Err(TokenError::InvalidRequest(format!(
                "Parameter `{k}` must be a string"
            ))),
        })
        .collect()
}

async fn token(State(state): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let mut inner = lock(&state);
    let non_json = inner.config.non_json_token_errors;
    let result = parse_token_body(&headers, &body).and_then(|params| {
        let field = |name: &str| -> Result<&str, TokenError> {
            params.get(name).map(String::as_str).ok_or_else(|| {
                TokenError::InvalidRequest(format!("Missing required parameter: {name}"))
            })
        };
        match field("grant_type")? {
            "authorization_code" => inner.exchange_code(
                field("client_id")?,
                field("client_secret")?,
                field("code")?,
                field("redirect_uri")?,
            ),
            "refresh_token" => inner.refresh(
                field("client_id")?,
                field("client_secret")?,
                field("refresh_token")?,
            ),
            _ => Err(TokenError::UnsupportedGrantType),
        }
    });
    match result {
        Ok(issued) => json_response(
            StatusCode::OK,
            with_quirks(
                token_json(&issued, &inner.config.unlisted_scopes),
                &inner.config.token_quirks,
            ),
        ),
        Err(e) => token_error(e, non_json),
    }
}

fn token_json(issued: &Issued, unlisted: &[String]) -> Value {
    let mut body = serde_json::Map::new();
    body.insert("access_token".into(), json!(issued.access_token));
    body.insert("expires_in".into(), json!(issued.expires_in));
    body.insert("token_type".into(), json!("Bearer"));
    // Atlassian grants some scopes without listing them (psoxy-contract §7).
    let listed: Vec<&str> = issued
        .scopes
        .iter()
        .map(String::as_str)
        .filter(|s| !unlisted.iter().any(|u| u == s))
        .collect();
    body.insert("scope".into(), json!(listed.join(" ")));
    if let Some(rt) = &issued.refresh_token {
        body.insert("refresh_token".into(), Value::String(rt.clone()));
    }
    Value::Object(body)
}

fn with_quirks(mut body: Value, quirks: &super::TokenQuirks) -> Value {
    if let Value::Object(map) = &mut body {
        if let Some(expires_in) = &quirks.expires_in {
            map.insert("expires_in".into(), expires_in.clone());
        }
        for field in &quirks.omit {
            map.remove(field);
        }
    }
    body
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

fn unauthorized(message: &str) -> Response {
    json_response(
        StatusCode::UNAUTHORIZED,
        json!({"code": 401, "message": message}),
    )
}

async fn accessible_resources(State(state): State<Shared>, headers: HeaderMap) -> Response {
    let mut inner = lock(&state);
    inner.accessible_resources_calls += 1;
    if inner.accessible_resources_calls <= inner.config.rate_limit_accessible_resources {
        let mut resp = json_response(
            StatusCode::TOO_MANY_REQUESTS,
            json!({"code": 429, "message": "Rate limited"}),
        );
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return resp;
    }
    let Some(token) = bearer(&headers) else {
        return unauthorized("Unauthorized");
    };
    let Some(scopes) = inner.access_token_scopes(token) else {
        return unauthorized("Unauthorized");
    };
    let sites: Vec<Value> = inner
        .config
        .sites
        .iter()
        .filter(|s| inner.access_token_reaches(token, &s.id))
        .map(|s| {
            json!({
                "id": s.id,
                "name": s.name,
                "url": s.url,
                "scopes": scopes,
                "avatarUrl": "https://site-admin-avatar-cdn.prod.public.atl-paas.net/avatars/240/rocket.png",
            })
        })
        .collect();
    json_response(StatusCode::OK, Value::Array(sites))
}

/// Jira's `/myself`: needs a Jira user scope.
async fn myself(
    State(state): State<Shared>,
    Path(cloudid): Path<String>,
    headers: HeaderMap,
) -> Response {
    let user = match caller(
        &state,
        &cloudid,
        &headers,
        &["read:jira-user", "read:user:jira"],
    ) {
        Ok(user) => user,
        Err(resp) => return *resp,
    };
    json_response(
        StatusCode::OK,
        json!({
            "accountId": user.account_id,
            "displayName": user.display_name,
            "emailAddress": user.email,
            "active": true,
            "accountType": "atlassian",
        }),
    )
}

/// Confluence's `/wiki/rest/api/user/current`: needs `read:content-details:confluence`
/// (psoxy-contract §7), or the classic `read:confluence-user`.
async fn confluence_current_user(
    State(state): State<Shared>,
    Path(cloudid): Path<String>,
    headers: HeaderMap,
) -> Response {
    let accepted = ["read:content-details:confluence", "read:confluence-user"];
    let user = match caller(&state, &cloudid, &headers, &accepted) {
        Ok(user) => user,
        Err(resp) => return *resp,
    };
    json_response(
        StatusCode::OK,
        json!({
            "type": "known",
            "accountId": user.account_id,
            "accountType": "atlassian",
            "email": user.email,
            "publicName": user.display_name,
            "displayName": user.display_name,
        }),
    )
}

/// The user behind a live access token that holds one of `accepted` and reaches `cloudid`.
fn caller(
    state: &Shared,
    cloudid: &str,
    headers: &HeaderMap,
    accepted: &[&str],
) -> Result<super::SimUser, Box<Response>> {
    let inner = lock(state);
    let Some(scopes) = bearer(headers).and_then(|t| inner.access_token_scopes(t)) else {
        return Err(Box::new(unauthorized("Unauthorized")));
    };
    let reaches = bearer(headers).is_some_and(|t| inner.access_token_reaches(t, cloudid));
    if !inner.config.sites.iter().any(|s| s.id == cloudid) || !reaches {
        return Err(Box::new(json_response(
            StatusCode::NOT_FOUND,
            json!({"errorMessages": ["Site not found"], "errors": {}}),
        )));
    }
    if !scopes.iter().any(|s| accepted.contains(&s.as_str())) {
        return Err(Box::new(unauthorized("Unauthorized; scope does not match")));
    }
    Ok(inner.config.user.clone())
}
