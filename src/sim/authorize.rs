//! Validation of `/authorize` requests, shared by the HTTP handlers and
//! [`Simulator::decide`](super::Simulator::decide).

use url::Url;

use super::SimError;
use super::config::{MissingScope, SimConfig};

/// A well-formed authorize request for the configured app.
#[derive(Debug, Clone)]
pub(crate) struct AuthRequest {
    pub redirect_uri: String,
    pub state: Option<String>,
    /// Scopes that will be granted on acceptance (deduplicated, request order).
    pub granted: Vec<String>,
    /// All query pairs except `decision` and `site`, to rebuild the consent form.
    pub pairs: Vec<(String, String)>,
}

/// Result of validating an authorize request that did not fail hard.
#[derive(Debug)]
pub(crate) enum Validated {
    /// Show the consent page.
    Consent(AuthRequest),
    /// Redirect the browser straight back to the app (e.g. `invalid_scope`).
    Redirect(Url),
}

/// Validates the query of an authorize request like Atlassian does.
///
/// Errors are the cases in which Atlassian shows its own error page instead of
/// redirecting: the redirect URI cannot be trusted, so nothing is sent to it.
pub(crate) fn validate(
    config: &SimConfig,
    pairs: &[(String, String)],
) -> Result<Validated, SimError> {
    let pairs: Vec<(String, String)> = pairs
        .iter()
        .filter(|(k, _)| k != "decision" && k != "site")
        .cloned()
        .collect();
    let get = |name: &str| -> Result<Option<&str>, SimError> {
        let mut values = pairs
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str());
        let first = values.next();
        if values.next().is_some() {
            return Err(SimError::InvalidRequest(format!(
                "parameter `{name}` given more than once"
            )));
        }
        Ok(first)
    };

    match get("client_id")? {
        Some(id) if id == config.client_id => {}
        _ => return Err(SimError::UnknownClient),
    }
    let redirect_uri = get("redirect_uri")?.unwrap_or_default();
    if redirect_uri != config.redirect_uri {
        return Err(SimError::RedirectUriMismatch {
            registered: config.redirect_uri.clone(),
            requested: redirect_uri.to_string(),
        });
    }
    let target = Url::parse(redirect_uri)
        .map_err(|e| SimError::InvalidRequest(format!("redirect_uri is not a URL: {e}")))?;
    match get("response_type")? {
        Some("code") => {}
        Some(other) => {
            return Err(SimError::InvalidRequest(format!(
                "unsupported response_type `{other}`"
            )));
        }
        None => {
            return Err(SimError::InvalidRequest(
                "missing response_type".to_string(),
            ));
        }
    }
    match get("audience")? {
        Some("api.atlassian.com") => {}
        Some(other) => {
            return Err(SimError::InvalidRequest(format!(
                "unknown audience `{other}`"
            )));
        }
        None => return Err(SimError::InvalidRequest("missing audience".to_string())),
    }
    if let Some(prompt) = get("prompt")?
        && prompt != "consent"
        && prompt != "none"
        && prompt != "login"
    {
        return Err(SimError::InvalidRequest(format!(
            "unsupported prompt `{prompt}`"
        )));
    }
    let state = get("state")?.map(str::to_string);

    let mut requested: Vec<String> = Vec::new();
    for scope in get("scope")?
        .unwrap_or_default()
        .split(' ')
        .filter(|s| !s.is_empty())
    {
        if !requested.iter().any(|s| s == scope) {
            requested.push(scope.to_string());
        }
    }
    if requested.is_empty() {
        let url = error_redirect(
            &target,
            "invalid_scope",
            "No scopes were requested.",
            state.as_deref(),
        );
        return Ok(Validated::Redirect(url));
    }
    let (granted, missing): (Vec<String>, Vec<String>) = requested
        .into_iter()
        .partition(|s| config.app_scopes.contains(s));
    if !missing.is_empty() && config.missing_scope == MissingScope::InvalidScope {
        let description = format!(
            "The app is not configured for the requested scope(s): {}",
            missing.join(" ")
        );
        let url = error_redirect(&target, "invalid_scope", &description, state.as_deref());
        return Ok(Validated::Redirect(url));
    }
    Ok(Validated::Consent(AuthRequest {
        redirect_uri: redirect_uri.to_string(),
        state,
        granted,
        pairs,
    }))
}

/// `redirect_uri?error=..&error_description=..&state=..`
pub(crate) fn error_redirect(
    target: &Url,
    error: &str,
    description: &str,
    state: Option<&str>,
) -> Url {
    with_query(
        target.clone(),
        &[("error", error), ("error_description", description)],
        state,
    )
}

/// `url` with these query pairs, then `state` when there is one.
fn with_query(mut url: Url, pairs: &[(&str, &str)], state: Option<&str>) -> Url {
    {
        let mut q = url.query_pairs_mut();
        q.extend_pairs(pairs);
        if let Some(state) = state {
            q.append_pair("state", state);
        }
    }
    url
}

/// `redirect_uri?code=..&state=..`
#[allow(
    clippy::expect_used,
    reason = "`validate` parsed this redirect URI before"
)]
pub(crate) fn code_redirect(redirect_uri: &str, code: &str, state: Option<&str>) -> Url {
    // The redirect URI was parsed successfully during validation.
    let url = Url::parse(redirect_uri).expect("validated redirect_uri");
    with_query(url, &[("code", code)], state)
}

/// Redirect for a declined consent.
#[allow(
    clippy::expect_used,
    reason = "`validate` parsed this redirect URI before"
)]
pub(crate) fn denied_redirect(req: &AuthRequest) -> Url {
    let target = Url::parse(&req.redirect_uri).expect("validated redirect_uri");
    error_redirect(
        &target,
        "access_denied",
        "User did not authorize the request",
        req.state.as_deref(),
    )
}
