//! In-process simulator of Atlassian's OAuth 2.0 (3LO) authorization server
//! and of the parts of the API gateway the wizard calls.
//!
//! One HTTP server on `127.0.0.1` serves both the auth endpoints
//! (`/authorize`, `/oauth/token`) and the API endpoints
//! (`/oauth/token/accessible-resources`, `/ex/jira/{cloudid}/rest/api/3/myself`,
//! `/ex/confluence/{cloudid}/wiki/rest/api/user/current`).
//! It is used by `init --demo` and by the integration tests. Behaviour follows
//! psoxy-contract §2: exact redirect URI matching, single-use codes, rotating
//! refresh tokens with a reuse leeway and family invalidation.

// The simulator's clock (Instant + Duration) and counters are its own, advanced by tests, never
// by a request's numbers.
#![allow(
    clippy::arithmetic_side_effects,
    reason = "the simulator's clock and counters are its own, not an input's"
)]

mod authorize;
mod config;
mod consent_page;
pub mod proxy;
mod routes;
mod state;
#[cfg(test)]
mod test_util;
#[cfg(test)]
mod tests_api;
#[cfg(test)]
mod tests_oauth;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use config::{
    CONFLUENCE_SCOPES, DEFAULT_SCOPES, MissingScope, OLDER_PAGE_SCOPES, SimConfig, SimSite,
    SimUser, TokenQuirks,
};

/// Why an authorize request is rejected with Atlassian's own error page
/// (HTTP 400, no redirect to the app).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    #[error("We couldn't identify the app requesting access (unknown client_id).")]
    UnknownClient,
    #[error("The redirect_uri `{requested}` does not match the app's callback URL `{registered}`.")]
    RedirectUriMismatch {
        registered: String,
        requested: String,
    },
    #[error("Invalid authorization request: {0}")]
    InvalidRequest(String),
}

pub(crate) type Shared = Arc<Mutex<state::Inner>>;

/// Locks the shared state, ignoring poisoning (state stays consistent
/// because no handler panics half-way through an update).
pub(crate) fn lock(state: &Shared) -> MutexGuard<'_, state::Inner> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

/// Validates authorize query pairs and applies the user's decision; a `site` pair (the consent
/// page's picker) limits the grant to that site.
pub(crate) fn decide_pairs(
    state: &Shared,
    pairs: &[(String, String)],
    accept: bool,
) -> Result<url::Url, SimError> {
    let mut inner = lock(state);
    let site = pairs
        .iter()
        .find(|(k, _)| k == "site")
        .map(|(_, v)| v.clone());
    if let Some(id) = &site
        && !inner.config.sites.iter().any(|s| &s.id == id)
    {
        return Err(SimError::InvalidRequest(format!("unknown site `{id}`")));
    }
    match authorize::validate(&inner.config, pairs)? {
        authorize::Validated::Redirect(url) => Ok(url),
        authorize::Validated::Consent(req) if accept => {
            let code = inner.issue_code(&req.redirect_uri, &req.granted, site);
            Ok(authorize::code_redirect(
                &req.redirect_uri,
                &code,
                req.state.as_deref(),
            ))
        }
        authorize::Validated::Consent(req) => Ok(authorize::denied_redirect(&req)),
    }
}

/// A running simulator. Dropping it stops the server too.
pub struct Simulator {
    state: Shared,
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Simulator {
    /// Starts on `127.0.0.1` with an OS-chosen port.
    pub async fn start(config: SimConfig) -> std::io::Result<Simulator> {
        Self::serve_on(config, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Starts on a fixed address.
    pub async fn serve_on(config: SimConfig, addr: SocketAddr) -> std::io::Result<Simulator> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let state: Shared = Arc::new(Mutex::new(state::Inner::new(config)));
        let app = routes::router(state.clone());
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let server = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = rx.await;
            });
            if let Err(e) = server.await {
                tracing::warn!("simulator stopped: {e}");
            }
        });
        Ok(Simulator {
            state,
            addr,
            shutdown: Some(tx),
            task: Some(task),
        })
    }

    /// `http://127.0.0.1:PORT/`: base of both the auth and the API endpoints.
    #[allow(
        clippy::expect_used,
        reason = "an IP address and port always form a valid URL"
    )]
    pub fn base_url(&self) -> url::Url {
        url::Url::parse(&format!("http://{}/", self.addr))
            .expect("socket address forms a valid URL")
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// In-process consent. Validates `authorize_url`'s query exactly like
    /// `GET /authorize` and returns where the browser would be sent:
    /// `redirect_uri?code=..&state=..` on accept,
    /// `redirect_uri?error=access_denied&..` on decline, or
    /// `redirect_uri?error=invalid_scope&..` when a scope is not configured.
    /// `Err` is the case where Atlassian shows its own error page instead.
    pub fn decide(&self, authorize_url: &url::Url, accept: bool) -> Result<url::Url, SimError> {
        let pairs: Vec<(String, String)> = authorize_url.query_pairs().into_owned().collect();
        decide_pairs(&self.state, &pairs, accept)
    }

    /// `"METHOD /path"` of every request handled so far, in order.
    pub fn requests(&self) -> Vec<String> {
        lock(&self.state).requests.clone()
    }

    /// Whether a refresh with this token would succeed right now.
    pub fn is_live_refresh_token(&self, token: &str) -> bool {
        lock(&self.state).is_live_refresh_token(token)
    }

    /// Which token family a refresh token belongs to: the question "which family is the
    /// proxy on?" asked of the token in the store.
    pub fn family_of_refresh_token(&self, token: &str) -> Option<u64> {
        lock(&self.state).family_of_refresh_token(token)
    }

    /// Which token family an access token came with.
    pub fn family_of_access_token(&self, token: &str) -> Option<u64> {
        lock(&self.state).family_of_access_token(token)
    }

    /// The family minted last by a code exchange (what `init`/`renew` just stored).
    pub fn newest_family(&self) -> Option<u64> {
        lock(&self.state).newest_family()
    }

    /// Every authorization code, access token and refresh token issued so far.
    pub fn issued_secrets(&self) -> Vec<String> {
        lock(&self.state).issued_secrets()
    }

    /// Whether this access token is known and unexpired.
    pub fn is_live_access_token(&self, token: &str) -> bool {
        lock(&self.state).access_token_scopes(token).is_some()
    }

    /// Replaces the accessible resources (e.g. a site added later).
    pub fn set_sites(&self, sites: Vec<SimSite>) {
        lock(&self.state).config.sites = sites;
    }

    /// Moves the simulator's clock forward (codes, tokens, leeway and family
    /// expiry all use it), so tests need not sleep.
    pub fn advance_time(&self, by: Duration) {
        lock(&self.state).advance_time(by);
    }

    /// Stops the server and waits for it to finish.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}
