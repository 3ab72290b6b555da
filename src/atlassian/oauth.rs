//! The authorization-code grant: the authorize URL, and the exchange of a code for tokens.

use serde::Deserialize;
use url::Url;

use super::AtlassianClient;
pub use super::token_answer::TokenSet;
use super::token_answer::parse_token_answer;
use crate::error::{Error, Result};
use crate::http::{network_error, redirect_refused};
use crate::sanitize::remote_text;
use crate::secret::{ExposeSecret, SecretString};

pub struct ClientCredentials {
    pub client_id: String,
    pub client_secret: SecretString,
}

#[derive(Deserialize)]
struct OAuthErrorBody {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

impl AtlassianClient {
    /// The URL the operator opens to grant access (psoxy-contract §1 step 5).
    pub fn authorize_url(
        &self,
        client_id: &str,
        redirect_uri: &str,
        scopes: &[String],
        state: &str,
    ) -> Url {
        let mut url = Self::join(&self.auth_base, "authorize");
        url.query_pairs_mut()
            .append_pair("audience", "api.atlassian.com")
            .append_pair("client_id", client_id)
            .append_pair("scope", &scopes.join(" "))
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("state", state)
            .append_pair("response_type", "code")
            .append_pair("prompt", "consent");
        // Spaces as %20 (as Atlassian documents), not '+'; a literal '+' is already %2B.
        let query = url.query().unwrap_or_default().replace('+', "%20");
        url.set_query(Some(&query));
        url
    }

    /// Exchanges a single-use code for tokens. Retried only when the request provably never reached
    /// the server (connection refused): a code sent once may already be spent.
    pub async fn exchange_code(
        &self,
        creds: &ClientCredentials,
        code: &SecretString,
        redirect_uri: &str,
    ) -> Result<TokenSet> {
        let url = Self::join(&self.auth_base, "oauth/token");
        let body = serde_json::json!({
            "grant_type": "authorization_code",
            "client_id": creds.client_id,
            "client_secret": creds.client_secret.expose_secret(),
            "code": code.expose_secret(),
            "redirect_uri": redirect_uri,
        });
        let mut attempt: u32 = 0;
        let resp = loop {
            attempt = attempt.saturating_add(1);
            match self.http.post(url.clone()).json(&body).send().await {
                Ok(resp) => break resp,
                Err(e) if e.is_connect() && attempt < self.retry.attempts => {
                    tokio::time::sleep(self.retry.delay(attempt)).await;
                }
                Err(e) if e.is_connect() => return Err(network_error("the token exchange", e)),
                Err(e) => {
                    return Err(Error::CodeRejected(format!(
                        "the token exchange failed after the request was sent ({}): the code may be spent, so authorize again",
                        e.without_url()
                    )));
                }
            }
        };
        let status = resp.status();
        tracing::debug!(%status, path = url.path(), attempt, "token exchange answered");
        if status.is_redirection() {
            return Err(redirect_refused(
                "the token endpoint",
                &url,
                status,
                "--atlassian-auth-url",
            ));
        }
        // The code was accepted or not: either way it is spent, so a body that does not arrive
        // in full means a new authorization, not a retry.
        let text = resp.text().await.map_err(|e| {
            Error::Network(format!(
                "the token response {} before it arrived in full ({}): the code is spent, so authorize again",
                if e.is_timeout() { "timed out" } else { "broke off" },
                e.without_url()
            ))
        })?;
        if !status.is_success() {
            return Err(classify_token_error(status.as_u16(), &text));
        }
        parse_token_answer(&text)
    }
}

/// Turns a token-endpoint failure (JSON or not) into a message that says what to do. Error bodies
/// are never echoed whole: only the OAuth error code and description, which carry no secret.
pub fn classify_token_error(status: u16, body: &str) -> Error {
    let parsed: Option<OAuthErrorBody> = serde_json::from_str(body).ok();
    let code = parsed.as_ref().map(|p| p.error.as_str()).unwrap_or("");
    let code = remote_text(code);
    let desc = parsed
        .as_ref()
        .and_then(|p| p.error_description.as_deref())
        .map(remote_text)
        .unwrap_or_default();
    let lower =
        format!("{code} {desc} {}", if parsed.is_none() { body } else { "" }).to_lowercase();
    if status == 401
        || code == "access_denied"
        || code == "invalid_client"
        || code == "unauthorized_client"
    {
        return Error::Authorization(format!(
            "Atlassian rejected the client credentials (HTTP {status}): copy the Client ID and Secret again from the developer console (Settings) and run again"
        ));
    }
    if lower.contains("authorization code")
        || lower.contains("authorization_code")
        || code == "invalid_grant"
    {
        return Error::CodeRejected(format!(
            "Atlassian rejected the authorization code (HTTP {status}: expired after ~10 minutes, already used, or issued for another redirect URI): authorize again"
        ));
    }
    if lower.contains("redirect") {
        return Error::Authorization(format!(
            "Atlassian rejected the redirect URI (HTTP {status}): --redirect-uri must equal the app's callback URL exactly"
        ));
    }
    if status >= 500 {
        return Error::Network(format!(
            "Atlassian's token endpoint failed (HTTP {status}); the code may be spent: authorize again in a minute"
        ));
    }
    let what = if code.is_empty() {
        "a non-JSON error".to_string()
    } else {
        format!("{code}: {desc}")
    };
    Error::Authorization(format!(
        "the token exchange failed (HTTP {status}, {what}): check the app's settings in the developer console and authorize again"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The error of exchanging a dummy code with `c`.
    async fn exchange_error(c: &AtlassianClient) -> Error {
        let creds = ClientCredentials {
            client_id: "id".into(),
            client_secret: SecretString::from("s"),
        };
        c.exchange_code(&creds, &SecretString::from("code"), "http://localhost")
            .await
            .err()
            .unwrap()
    }

    #[test]
    fn wrong_secret_is_named() {
        let e = classify_token_error(
            401,
            r#"{"error":"access_denied","error_description":"Unauthorized"}"#,
        );
        assert!(matches!(e, Error::Authorization(_)));
        assert!(e.to_string().contains("Client ID and Secret"));
    }

    #[test]
    fn reused_code_json_and_plain_text_mean_authorize_again() {
        for (status, body) in [
            (
                403,
                r#"{"error":"invalid_grant","error_description":"Invalid authorization code"}"#,
            ),
            (
                400,
                r#"{"error":"invalid_request","error_description":"authorization_code is invalid"}"#,
            ),
            (403, "Invalid authorization code"),
        ] {
            let e = classify_token_error(status, body);
            assert!(matches!(e, Error::CodeRejected(_)), "{status} {body}: {e}");
        }
    }

    #[test]
    fn unknown_non_json_errors_do_not_echo_the_body() {
        let e = classify_token_error(418, "<html>sentinel-body</html>");
        assert!(!e.to_string().contains("sentinel"));
        assert!(
            classify_token_error(503, "")
                .to_string()
                .contains("authorize again")
        );
    }

    #[test]
    fn authorize_url_has_every_parameter() {
        let c = AtlassianClient::new(
            crate::http::client(),
            Url::parse("https://auth.atlassian.com").unwrap(),
            Url::parse("https://api.atlassian.com").unwrap(),
        );
        let url = c.authorize_url(
            "cid",
            "http://localhost",
            &crate::atlassian::scopes::default_scopes(&crate::connector::JIRA_CLOUD),
            "st",
        );
        let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(url.path(), "/authorize");
        assert_eq!(q["audience"], "api.atlassian.com");
        assert_eq!(q["redirect_uri"], "http://localhost");
        assert_eq!(q["state"], "st");
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["prompt"], "consent");
        assert!(q["scope"].starts_with("offline_access read:group:jira"));
        assert!(
            url.as_str()
                .contains("scope=offline_access%20read%3Agroup%3Ajira%20")
        );
    }

    /// Headers arrive, the body never does: the code is spent, and the message says so.
    #[tokio::test]
    async fn a_read_timeout_on_the_token_answer_says_the_code_is_spent() {
        let app = axum::Router::new().fallback(|| async {
            let stalled = futures_util::stream::pending::<Result<Vec<u8>, std::io::Error>>();
            axum::response::Response::builder()
                .header("content-type", "application/json")
                .body(axum::body::Body::from_stream(stalled))
                .unwrap()
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let http = reqwest::Client::builder()
            .read_timeout(std::time::Duration::from_millis(300))
            .build()
            .unwrap();
        let c = AtlassianClient::new(http, base.clone(), base);
        let err = exchange_error(&c).await;
        let text = err.to_string();
        assert!(
            text.contains("the code is spent, so authorize again"),
            "{text}"
        );
        assert!(!text.contains("check the network"), "{text}");
    }

    #[tokio::test]
    async fn the_exchange_is_sent_once_when_the_server_answered_and_retried_when_it_never_did() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let hits = std::sync::Arc::new(AtomicUsize::new(0));
        let counter = hits.clone();
        let app = axum::Router::new().fallback(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            async { axum::http::StatusCode::SERVICE_UNAVAILABLE }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let mut c = AtlassianClient::new(crate::http::client(), base.clone(), base);
        c.retry = crate::http::RetryPolicy {
            attempts: 3,
            base: std::time::Duration::from_millis(5),
            max_delay: std::time::Duration::from_millis(10),
        };
        let err = exchange_error(&c).await;
        assert_eq!(
            hits.load(Ordering::SeqCst),
            1,
            "a code that reached the server is never resent"
        );
        assert!(err.to_string().contains("authorize again"), "{err}");

        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let closed = Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
        c.auth_base = closed;
        let err = exchange_error(&c).await;
        assert!(matches!(err, Error::Network(_)), "{err}");
    }
}
