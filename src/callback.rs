//! Capturing the authorization code: a loopback listener on the registered callback URL, or a URL
//! pasted by the operator. Both end in the same checked result: a code whose `state` matched.

use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use subtle::ConstantTimeEq;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use url::Url;

use crate::error::{Error, Result};
use crate::page::{escape, respond};
use crate::secret::SecretString;

/// A code taken from a pasted line; `state_checked` is false for a bare code.
pub struct Pasted {
    pub code: SecretString,
    pub state_checked: bool,
}

fn states_equal(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// Text from the provider, through the one sanitizer for remote text.
fn clean(s: &str) -> String {
    crate::sanitize::remote_text(s)
}

/// Checks a callback's query: errors from the consent page, then `state`, then `code`.
pub fn check_callback(
    query: &HashMap<String, String>,
    expected_state: &str,
) -> Result<SecretString> {
    let state_ok = query
        .get("state")
        .is_some_and(|s| states_equal(s, expected_state));
    if let Some(err) = query.get("error") {
        if !state_ok {
            return Err(Error::Input("the URL carries an error but not this run's state: use the URL from this run's authorization".into()));
        }
        let desc = query
            .get("error_description")
            .map(|d| clean(d))
            .unwrap_or_default();
        return Err(match err.as_str() {
            "access_denied" => Error::Authorization(
                "access was declined on Atlassian's consent page: run again and choose Accept"
                    .into(),
            ),
            "invalid_scope" => Error::Authorization(format!(
                "Atlassian refused a requested scope ({desc}): add the missing scopes under Permissions in the developer console, or adjust --scopes"
            )),
            other => Error::Authorization(format!(
                "Atlassian returned {} ({desc}): check the app in the developer console and run again",
                clean(other)
            )),
        });
    }
    match query.get("state") {
        None => return Err(Error::Input(
            "the URL has no state parameter: paste the whole URL from the browser's address bar"
                .into(),
        )),
        Some(_) if !state_ok => {
            return Err(Error::Input("that URL is from another run (its state is not this run's): paste the URL the browser landed on after this run's link".into()));
        }
        Some(_) => {}
    }
    match query.get("code") {
        Some(code) if !code.trim().is_empty() => Ok(SecretString::from(code.trim().to_string())),
        _ => Err(Error::Input(
            "the URL has no code: paste the URL the browser landed on after you chose Accept"
                .into(),
        )),
    }
}

/// Parses what the operator pasted: the whole redirect URL, its query string, or a bare code.
pub fn parse_pasted(input: &str, expected_state: &str) -> Result<Pasted> {
    let input = input.trim();
    if input.is_empty() {
        return Err(Error::Input(
            "nothing was pasted: paste the URL from the browser's address bar".into(),
        ));
    }
    let query = if let Ok(url) = Url::parse(input) {
        if url.scheme() != "http" && url.scheme() != "https" {
            return Err(Error::Input("that is not the URL the browser landed on: paste the http(s) URL from the address bar".into()));
        }
        Some(url.query().unwrap_or_default().to_string())
    } else if input.contains('=') {
        Some(input.trim_start_matches('?').to_string())
    } else {
        None
    };
    match query {
        Some(q) => {
            let pairs: HashMap<String, String> = url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect();
            Ok(Pasted {
                code: check_callback(&pairs, expected_state)?,
                state_checked: true,
            })
        }
        None if looks_like_code(input) => Ok(Pasted {
            code: SecretString::from(input.to_string()),
            state_checked: false,
        }),
        None => Err(Error::Input(
            "that is neither a URL nor a code: paste the URL from the browser's address bar".into(),
        )),
    }
}

fn looks_like_code(s: &str) -> bool {
    (8..=2048).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.~".contains(c))
}

/// Where a loopback redirect URI says to listen, or why it cannot be served here.
pub fn listen_addrs(redirect: &Url) -> std::result::Result<Vec<SocketAddr>, String> {
    if redirect.scheme() != "http" {
        return Err(format!(
            "the callback URL uses {}, which a local listener cannot serve",
            redirect.scheme()
        ));
    }
    let port = redirect.port_or_known_default().unwrap_or(80);
    match redirect.host() {
        Some(url::Host::Domain(d)) if d.eq_ignore_ascii_case("localhost") => Ok(vec![
            SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            SocketAddr::from((Ipv6Addr::LOCALHOST, port)),
        ]),
        Some(url::Host::Ipv4(ip)) if ip.is_loopback() => Ok(vec![SocketAddr::from((ip, port))]),
        Some(url::Host::Ipv6(ip)) if ip.is_loopback() => Ok(vec![SocketAddr::from((ip, port))]),
        _ => Err("the callback URL is not a loopback address".into()),
    }
}

/// Listens on the callback URL's loopback port(s) for exactly one good callback.
pub struct LoopbackListener {
    listeners: Vec<TcpListener>,
    path: String,
    /// `/start/<random>`: the short link's path, printed only in this terminal, so another local
    /// process cannot fetch the authorize URL (and its `state`) from the listener.
    start_path: String,
    port: u16,
}

impl LoopbackListener {
    /// Binds every loopback address the redirect URI names; fails with the reason (port busy, port
    /// 80 without privileges) so the caller can fall back to pasting.
    pub async fn bind(redirect: &Url) -> std::result::Result<Self, String> {
        let addrs = listen_addrs(redirect)?;
        let mut listeners = Vec::new();
        let mut errors = Vec::new();
        for addr in &addrs {
            match TcpListener::bind(addr).await {
                Ok(l) => listeners.push(l),
                Err(e) => errors.push(format!("{addr}: {e}")),
            }
        }
        // `localhost` needs 127.0.0.1; ::1 is a bonus (IPv6 may be off), but a busy 127.0.0.1 is fatal.
        if listeners.is_empty()
            || (addrs.len() > 1 && errors.iter().any(|e| e.starts_with("127.0.0.1")))
        {
            return Err(format!(
                "cannot listen on {} ({})",
                redirect,
                errors.join("; ")
            ));
        }
        let port = listeners
            .first()
            .and_then(|l| l.local_addr().ok())
            .map(|a| a.port())
            .unwrap_or_default();
        Ok(LoopbackListener {
            listeners,
            path: redirect.path().to_string(),
            // 64 random bits: unguessable through a loopback port, and short enough that the
            // link fits a 60-column terminal on a line of its own.
            start_path: format!("/start/{}", crate::secret::random_hex(8)),
            port,
        })
    }

    /// A short URL that redirects to the long authorize URL, for copying without wrapping.
    pub fn short_url(&self) -> String {
        format!("http://127.0.0.1:{}{}", self.port, self.start_path)
    }

    /// Waits for the browser's callback; wrong-state and unrelated requests are answered and ignored.
    pub async fn wait(
        self,
        expected_state: &str,
        authorize_url: &Url,
        timeout: Duration,
    ) -> Result<SecretString> {
        let (tx, rx) = oneshot::channel();
        let shared = Arc::new(Shared {
            expected_state: expected_state.to_string(),
            authorize_url: authorize_url.to_string(),
            done: Mutex::new(Some(tx)),
        });
        let mut router = axum::Router::new()
            .route(&self.path, axum::routing::get(on_callback))
            .fallback(|| async {
                respond(StatusCode::NOT_FOUND, "Not found", "<h1>Not found</h1>")
            });
        if self.path != self.start_path {
            router = router.route(&self.start_path, axum::routing::get(on_start));
        }
        let router = router
            .layer(axum::middleware::map_response(crate::page::secure))
            .with_state(shared);
        let (stop_tx, _) = tokio::sync::broadcast::channel::<()>(1);
        let mut servers = Vec::new(); // detached tasks: dropping a JoinHandle does not stop them
        for listener in self.listeners {
            let mut stop = stop_tx.subscribe();
            let app = router.clone();
            servers.push(tokio::spawn(async move {
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(async move {
                        let _ = stop.recv().await;
                    })
                    .await;
            }));
        }
        let outcome = tokio::time::timeout(timeout, rx).await;
        // Stop accepting at once; the graceful shutdown still finishes the response in flight
        // (the "you may close this tab" page) in the background while the wizard goes on.
        let _ = stop_tx.send(());
        drop(servers);
        match outcome {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(Error::Internal(
                "the callback listener stopped unexpectedly".into(),
            )),
            Err(_) => Err(Error::Authorization(format!(
                "no authorization arrived within {}s (the code would have expired): run again and choose Accept in the browser",
                timeout.as_secs()
            ))),
        }
    }
}

struct Shared {
    expected_state: String,
    authorize_url: String,
    done: Mutex<Option<oneshot::Sender<Result<SecretString>>>>,
}

async fn on_start(State(shared): State<Arc<Shared>>) -> Response {
    Redirect::temporary(&shared.authorize_url).into_response()
}

async fn on_callback(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let state_ok = query
        .get("state")
        .is_some_and(|s| states_equal(s, &shared.expected_state));
    tracing::debug!(
        state_ok,
        has_code = query.contains_key("code"),
        error = query.get("error").map(|e| clean(e)),
        "callback request"
    );
    if !state_ok {
        // With --no-browser nothing was opened: point at the link, wherever it was opened.
        return respond(
            StatusCode::BAD_REQUEST,
            "Not this authorization",
            "<h1>Not this authorization</h1><p>This link is not from the authorization the \
             terminal is waiting for (an older run, another tab, or a forged link). Open the link \
             the terminal printed for this run and approve there.</p>",
        );
    }
    let result = check_callback(&query, &shared.expected_state);
    let response = match &result {
        // The run may still fail (a wrong secret, an unknown site): claim only what is known.
        Ok(_) => respond(
            StatusCode::OK,
            "Code received",
            "<h1>Code received \u{2014} finish in the terminal</h1><p>You may close this tab; \
             the terminal shows how the setup ends.</p>",
        ),
        Err(e) => {
            let (status, title) = if query.get("error").is_some_and(|e| e == "access_denied") {
                (StatusCode::FORBIDDEN, "Access declined")
            } else {
                (StatusCode::BAD_REQUEST, "Authorization failed")
            };
            let body = format!(
                "<h1>{title}</h1><p>{}.</p><p>Return to the terminal.</p>",
                escape(&e.to_string())
            );
            respond(status, title, &body)
        }
    };
    if let Some(tx) = shared
        .done
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take()
    {
        let _ = tx.send(result);
    }
    response
}

#[cfg(test)]
mod tests;
