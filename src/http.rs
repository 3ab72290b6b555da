//! The HTTP client and the retry policy. Every request has a connect and a total timeout.
//! Requests safe to repeat are retried with exponential backoff and jitter on 429 (honouring
//! `Retry-After`), 502/503/504 and connection errors; others are sent once.

use std::time::Duration;

use reqwest::{Response, StatusCode};
use url::Url;

use crate::error::{Error, Result};

pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The client for every Atlassian call. It never follows a redirect: each request carries a
/// credential (the client secret and code, or a bearer token), and a redirect could carry it to
/// another host or to plain http, around the https-only rule of `endpoint`.
#[allow(
    clippy::expect_used,
    reason = "fails only if the TLS backend cannot start, once at startup, before any token exists"
)]
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .user_agent(concat!("jira-psoxy-setup/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("building the HTTP client")
}

/// Parses an endpoint URL, accepting `http://` only for loopback hosts (tests, simulators).
pub fn endpoint(raw: &str, flag: &str) -> Result<Url> {
    let url = Url::parse(raw).map_err(|e| {
        Error::Input(format!(
            "{flag} {raw:?} is not a URL ({e}): give e.g. https://auth.atlassian.com"
        ))
    })?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        "http" => Err(Error::Input(format!(
            "{flag} {raw} uses plain http on a non-loopback host: use https"
        ))),
        other => Err(Error::Input(format!(
            "{flag} {raw} has scheme {other}: use https"
        ))),
    }
}

pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Backoff schedule for retries.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub base: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 4,
            base: Duration::from_millis(500),
            max_delay: Duration::from_secs(20),
        }
    }
}

impl RetryPolicy {
    /// Delay before retry number `attempt` (1-based): exponential, with full jitter.
    pub fn delay(&self, attempt: u32) -> Duration {
        let exp = self
            .base
            .saturating_mul(1u32 << attempt.min(16).saturating_sub(1));
        let cap = exp.min(self.max_delay);
        let mut b = [0u8; 2];
        // Jitter only spreads retries out: without randomness, the middle of the range will do.
        let fraction = match getrandom::fill(&mut b) {
            Ok(()) => f64::from(u16::from_le_bytes(b)) / f64::from(u16::MAX),
            Err(_) => 0.5,
        };
        cap.mul_f64(0.5 + fraction / 2.0)
    }
}

fn retryable_status(s: StatusCode) -> bool {
    matches!(s.as_u16(), 429 | 502 | 503 | 504)
}

fn retry_after(resp: &Response) -> Option<Duration> {
    let secs: u64 = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(secs.min(60)))
}

/// Sends an idempotent request (built anew for each attempt) with retries; returns the last
/// response, whatever its status, or the last connection error as `Error::Network`.
pub async fn send_idempotent(
    policy: &RetryPolicy,
    what: &str,
    build: impl Fn() -> reqwest::RequestBuilder,
) -> Result<Response> {
    let mut attempt: u32 = 0;
    loop {
        attempt = attempt.saturating_add(1);
        match build().send().await {
            Ok(resp) if retryable_status(resp.status()) && attempt < policy.attempts => {
                let wait = retry_after(&resp).unwrap_or_else(|| policy.delay(attempt));
                tracing::info!(status = %resp.status(), ?wait, "{what}: retrying");
                tokio::time::sleep(wait).await;
            }
            Ok(resp) => {
                tracing::debug!(status = %resp.status(), path = resp.url().path(), "{what}");
                return Ok(resp);
            }
            Err(e) if attempt < policy.attempts && (e.is_connect() || e.is_timeout()) => {
                tracing::info!(error = %e, "{what}: retrying");
                tokio::time::sleep(policy.delay(attempt)).await;
            }
            Err(e) => return Err(network_error(what, e)),
        }
    }
}

/// A redirect answered to a request that carried a credential: an error naming the endpoint,
/// since following it would hand the credential to whatever the `Location` names.
pub fn redirect_refused(what: &str, endpoint: &Url, status: StatusCode, flag: &str) -> Error {
    let mut shown = endpoint.clone();
    shown.set_query(None);
    Error::Network(format!(
        "{what} at {shown} answered HTTP {}, a redirect, which is not followed so that no credential goes elsewhere: check {flag} and any proxy in between, then run again",
        status.as_u16()
    ))
}

pub fn network_error(what: &str, e: reqwest::Error) -> Error {
    let cause = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "failed"
    };
    // reqwest's Display can include the URL; ours carry no secrets (codes travel in bodies).
    Error::Network(format!(
        "{what} {cause} ({}): check the network or proxy settings and run again",
        e.without_url()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_for_loopback() {
        assert!(endpoint("http://127.0.0.1:9/", "--x").is_ok());
        assert!(endpoint("http://localhost:9/", "--x").is_ok());
        assert!(endpoint("http://[::1]:9/", "--x").is_ok());
        assert!(endpoint("https://auth.atlassian.com", "--x").is_ok());
        let err = endpoint("http://example.com/", "--atlassian-auth-url").unwrap_err();
        assert!(err.to_string().contains("use https"), "{err}");
        assert!(endpoint("ftp://127.0.0.1/", "--x").is_err());
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy {
            attempts: 5,
            base: Duration::from_millis(100),
            max_delay: Duration::from_millis(300),
        };
        assert!(
            p.delay(1) <= Duration::from_millis(100) && p.delay(1) >= Duration::from_millis(50)
        );
        assert!(
            p.delay(3) <= Duration::from_millis(300) && p.delay(3) >= Duration::from_millis(150)
        );
    }

    /// A server answering with `statuses` in turn (the last one repeats), counting requests.
    async fn flaky(statuses: Vec<u16>) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let hits = std::sync::Arc::new(AtomicUsize::new(0));
        let counter = hits.clone();
        let app = axum::Router::new().fallback(move || {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            let status = statuses[n.min(statuses.len() - 1)];
            async move {
                let mut resp = axum::response::IntoResponse::into_response(
                    axum::http::StatusCode::from_u16(status).unwrap(),
                );
                resp.headers_mut()
                    .insert("retry-after", "0".parse().unwrap());
                resp
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/x", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (url, hits)
    }

    fn quick() -> RetryPolicy {
        RetryPolicy {
            attempts: 4,
            base: Duration::from_millis(10),
            max_delay: Duration::from_millis(20),
        }
    }

    #[tokio::test]
    async fn idempotent_requests_are_retried_on_429_and_gateway_errors() {
        let (url, hits) = flaky(vec![429, 502, 503, 200]).await;
        let c = client();
        let resp = send_idempotent(&quick(), "test", || c.get(&url))
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn retries_stop_after_the_last_attempt_and_other_errors_are_not_retried() {
        let (url, hits) = flaky(vec![504]).await;
        let c = client();
        let resp = send_idempotent(&quick(), "test", || c.get(&url))
            .await
            .unwrap();
        assert_eq!(resp.status(), 504);
        assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 4);
        let (url, hits) = flaky(vec![500, 200]).await;
        let resp = send_idempotent(&quick(), "test", || c.get(&url))
            .await
            .unwrap();
        assert_eq!(resp.status(), 500);
        assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_refused_connection_is_retried_then_reported_as_a_network_error() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let c = client();
        let url = format!("http://127.0.0.1:{port}/x");
        let err = send_idempotent(&quick(), "listing sites", || c.get(&url))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Network(_)), "{err}");
        assert!(err.to_string().contains("could not connect"), "{err}");
    }
}
