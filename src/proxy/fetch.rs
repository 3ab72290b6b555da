//! The requests to the proxy: authenticated, bounded in time and size, never redirected.

use url::Url;

use super::aws::AwsSigner;
use super::gcp::IdToken;
use super::health::HealthCheckResult;
use super::{ProxyAuth, ProxyError, ProxyTarget, Settings};
use crate::http::CONNECT_TIMEOUT;
use crate::sanitize::remote_text;
use crate::secret::ExposeSecret;

/// The largest answer read; a health check is a few kB, a list of sites less.
pub const MAX_BODY: usize = 1024 * 1024;

/// Psoxy's health-check header (`ControlHeader.HEALTH_CHECK`, psoxy-contract §9).
pub const HEALTH_CHECK_HEADER: &str = "x-psoxy-health-check";

enum Credential {
    Aws(AwsSigner),
    Google(IdToken),
    None,
}

pub struct Caller {
    client: reqwest::Client,
    credential: Credential,
    base: Url,
    timeout_secs: u64,
}

/// An answer, its body cut at `MAX_BODY`.
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
    pub too_big: bool,
    pub location: Option<String>,
    pub html: bool,
}

impl Caller {
    pub async fn new(target: &ProxyTarget, settings: &Settings) -> Result<Caller, ProxyError> {
        let credential = match target.auth {
            ProxyAuth::AwsIam => Credential::Aws(
                AwsSigner::new(
                    &target.url,
                    target.role_arn.as_deref(),
                    settings.aws_region.as_deref(),
                    settings.aws_profile.as_deref(),
                )
                .await?,
            ),
            ProxyAuth::GoogleIdToken => Credential::Google(IdToken::for_url(&target.url).await?),
            ProxyAuth::None => Credential::None,
        };
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(CONNECT_TIMEOUT.min(settings.timeout))
            .timeout(settings.timeout)
            .user_agent(concat!("jira-psoxy-setup/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ProxyError::Internal(format!("building the HTTP client: {e}")))?;
        Ok(Caller {
            client,
            credential,
            base: target.url.clone(),
            timeout_secs: settings.timeout.as_secs(),
        })
    }

    pub fn described(&self) -> String {
        match &self.credential {
            Credential::Aws(signer) => signer.described.clone(),
            Credential::Google(token) => token.described.clone(),
            Credential::None => "no credentials (--proxy-auth none)".into(),
        }
    }

    /// `GET <url>/` with the health-check header, as psoxy-test's `--health-check` sends it.
    pub async fn health_check(&self) -> Result<(u16, HealthCheckResult), ProxyError> {
        let url = self.url_for("/");
        let answer = self.get(&url, &[(HEALTH_CHECK_HEADER, "true")]).await?;
        let what = format!("the health check at {url}");
        self.refused(&answer, &what)?;
        if answer.too_big {
            return Err(ProxyError::Health(format!(
                "{what} answered more than {} MiB: that is not Psoxy's health check; check --proxy-url",
                MAX_BODY / (1024 * 1024)
            )));
        }
        match (answer.status, HealthCheckResult::parse(&answer.body)) {
            (200 | 412, Some(result)) => Ok((answer.status, result)),
            (status, _) => Err(ProxyError::Health(format!(
                "{what} answered HTTP {status} with {}, not Psoxy's health check: check --proxy-url, and the proxy's logs",
                if answer.html {
                    "an HTML page"
                } else {
                    "something else"
                }
            ))),
        }
    }

    /// `GET <url><path>`, as the proxy's example calls are made.
    pub async fn call(&self, path: &str) -> Result<Answer, ProxyError> {
        let url = self.url_for(path);
        let answer = self.get(&url, &[]).await.map_err(|e| match e {
            ProxyError::Unreachable(m) => ProxyError::Call(m),
            other => other,
        })?;
        self.refused(&answer, &format!("the call {url}"))
            .map_err(|e| match e {
                ProxyError::Unreachable(m) => ProxyError::Call(m),
                other => other,
            })?;
        Ok(answer)
    }

    /// The endpoint URL (Terraform's has no trailing `/`) joined with `path`.
    fn url_for(&self, path: &str) -> Url {
        let mut url = self.base.clone();
        let joined = format!("{}{path}", self.base.path().trim_end_matches('/'));
        url.set_path(&joined);
        url
    }

    async fn get(&self, url: &Url, extra: &[(&str, &str)]) -> Result<Answer, ProxyError> {
        let mut request = self.client.get(url.clone());
        for (k, v) in extra {
            request = request.header(*k, *v);
        }
        match &self.credential {
            Credential::Aws(signer) => {
                for (k, v) in signer.sign_get(url, extra)? {
                    request = request.header(k, v);
                }
            }
            Credential::Google(token) => {
                request = request.bearer_auth(token.token.expose_secret());
            }
            Credential::None => {}
        }
        let unreachable = |e: reqwest::Error| {
            if e.is_timeout() {
                ProxyError::Unreachable(format!(
                    "the proxy at {url} did not answer within {}s: check that it is deployed and reachable from here (--proxy-timeout sets the limit)",
                    self.timeout_secs
                ))
            } else {
                ProxyError::Unreachable(format!(
                    "cannot reach the proxy at {url} ({}): check --proxy-url and the network",
                    remote_text(&without_url(&e))
                ))
            }
        };
        let mut response = request.send().await.map_err(unreachable)?;
        let status = response.status().as_u16();
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(remote_text)
        };
        let location = header(reqwest::header::LOCATION);
        let html = header(reqwest::header::CONTENT_TYPE).is_some_and(|t| t.contains("html"));
        let mut body = Vec::new();
        let mut too_big = false;
        while let Some(chunk) = response.chunk().await.map_err(unreachable)? {
            if body.len().saturating_add(chunk.len()) > MAX_BODY {
                too_big = true;
                break;
            }
            body.extend_from_slice(&chunk);
        }
        let html = html || body.trim_ascii_start().starts_with(b"<");
        Ok(Answer {
            status,
            body,
            too_big,
            location,
            html,
        })
    }

    /// A redirect (never followed), or the credentials refused (401/403), as one line.
    fn refused(&self, answer: &Answer, what: &str) -> Result<(), ProxyError> {
        let status = answer.status;
        if (300..400).contains(&status) {
            return Err(ProxyError::Unreachable(format!(
                "{what} answered HTTP {status}, a redirect to {}; it was not followed, since the request carries credentials: pass the proxy's own URL as --proxy-url",
                answer.location.as_deref().unwrap_or("nowhere")
            )));
        }
        if status != 401 && status != 403 {
            return Ok(());
        }
        let said = aws_message(&answer.body)
            .map(|m| format!(": \"{m}\""))
            .unwrap_or_default();
        let fix = match &self.credential {
            Credential::Aws(signer) => format!(
                "it refused {} — the role may not invoke the function URL (lambda:InvokeFunctionUrl), the region may not be the function's (--aws-region), or the credentials expired (log in again)",
                signer.described
            ),
            Credential::Google(_) => "it refused the Google ID token — the account needs the invoker role (roles/run.invoker) on the proxy, and the token's audience must be the proxy's URL".into(),
            Credential::None => "it needs credentials: pass --proxy-auth aws-iam or google-id-token".into(),
        };
        Err(ProxyError::Unreachable(format!(
            "{what} answered HTTP {status}{said}: {fix}"
        )))
    }
}

/// AWS's short JSON refusal (`{"Message":"Forbidden"}`), sanitized and short.
fn aws_message(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let message = value
        .get("Message")
        .or_else(|| value.get("message"))?
        .as_str()?;
    Some(remote_text(message).chars().take(160).collect())
}

/// reqwest's message without the URL it repeats (the line names the URL already).
fn without_url(e: &reqwest::Error) -> String {
    let line = crate::error::one_line(e);
    match e.url() {
        Some(url) => line.replace(&format!(" for url ({url})"), ""),
        None => line,
    }
}
