//! The authorization-code grant: the authorize URL, and the exchange of a code for tokens.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use url::Url;

use super::AtlassianClient;
use crate::error::{Error, Result};
use crate::http::network_error;
use crate::secret::{ExposeSecret, SecretString};

pub struct ClientCredentials {
    pub client_id: String,
    pub client_secret: SecretString,
}

/// A token response. Both tokens are secrets; `scope` is what was actually granted.
pub struct TokenSet {
    pub access_token: SecretString,
    pub refresh_token: Option<SecretString>,
    /// Seconds, within `0..=MAX_EXPIRES_IN` (see `expires_in_from`).
    pub expires_in: i64,
    pub scope: String,
    pub obtained_at: DateTime<Utc>,
}

/// Atlassian's access tokens live an hour (psoxy-contract §2); a day is the most we believe.
pub const MAX_EXPIRES_IN: i64 = 24 * 60 * 60;
const DEFAULT_EXPIRES_IN: i64 = 3600;

impl TokenSet {
    pub fn access_token_expires_at(&self) -> DateTime<Utc> {
        chrono::Duration::try_seconds(self.expires_in)
            .and_then(|d| self.obtained_at.checked_add_signed(d))
            .unwrap_or(self.obtained_at)
    }

    /// The access token the way the proxy stores it: `{"token":..,"expirationDate":<epoch ms>}`;
    /// a raw token would be ignored by the proxy (psoxy-contract §3).
    pub fn proxy_access_token(&self) -> SecretString {
        let json = serde_json::json!({
            "token": self.access_token.expose_secret(),
            "expirationDate": self.access_token_expires_at().timestamp_millis(),
        });
        SecretString::from(json.to_string())
    }
}

/// `expires_in` as the tool uses it, and whether the answer's value had to be changed. The value
/// is the server's, so anything goes: absent (an hour), a huge or negative number, a float, a
/// string. It only sets the `expirationDate` the proxy refreshes by, so an odd value is clamped
/// into `0..=MAX_EXPIRES_IN` (0: the proxy refreshes at once) instead of failing a run whose code
/// is already spent.
fn expires_in_from(value: Option<&serde_json::Value>) -> (i64, bool) {
    let Some(value) = value else {
        return (DEFAULT_EXPIRES_IN, false);
    };
    let seconds = value
        .as_i64()
        .or_else(|| value.as_u64().map(|_| i64::MAX))
        .or_else(|| {
            value
                .as_f64()
                .filter(|f| f.is_finite())
                .map(saturating_secs)
        });
    match seconds {
        Some(s) if (0..=MAX_EXPIRES_IN).contains(&s) => (s, false),
        Some(s) => (s.clamp(0, MAX_EXPIRES_IN), true),
        None => (0, true),
    }
}

#[allow(
    clippy::cast_possible_truncation,
    reason = "`as` saturates a float into i64, which is the clamping wanted here"
)]
fn saturating_secs(f: f64) -> i64 {
    f as i64
}

/// The fields of a successful token answer, each checked, so a broken answer is named.
fn parse_token_answer(text: &str) -> Result<TokenSet> {
    let spent =
        "the code is spent: check that --atlassian-auth-url is Atlassian's and authorize again";
    let object: serde_json::Map<String, serde_json::Value> = serde_json::from_str(text)
        .map_err(|_| {
            Error::Authorization(format!(
                "Atlassian's token endpoint answered 200 with something other than a JSON object; {spent}"
            ))
        })?;
    let text_field = |name: &str| match object.get(name) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("{name} is not a string")),
    };
    let mut problems = Vec::new();
    let access_token = text_field("access_token")
        .unwrap_or_else(|why| {
            problems.push(why);
            None
        })
        .filter(|t| !t.is_empty());
    let refresh_token = text_field("refresh_token").unwrap_or_else(|why| {
        problems.push(why);
        None
    });
    let scope = text_field("scope").ok().flatten().unwrap_or_default();
    let Some(access_token) = access_token else {
        if problems.is_empty() {
            problems.push("access_token is missing".into());
        }
        return Err(Error::Authorization(format!(
            "Atlassian's token endpoint answered 200 without a usable token ({}); {spent}",
            problems.join(", ")
        )));
    };
    let (expires_in, clamped) = expires_in_from(object.get("expires_in"));
    if clamped {
        tracing::warn!(
            "the token answer's expires_in was out of range: recorded as {expires_in}s, so the proxy refreshes the access token in time"
        );
    }
    Ok(TokenSet {
        access_token: SecretString::from(access_token),
        refresh_token: refresh_token.map(SecretString::from),
        expires_in,
        scope,
        obtained_at: Utc::now(),
    })
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
    let desc = parsed
        .as_ref()
        .and_then(|p| p.error_description.clone())
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
            &crate::atlassian::scopes::default_scopes(),
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

    #[test]
    fn an_out_of_range_expires_in_is_clamped_not_a_panic() {
        use serde_json::json;
        for (raw, want) in [
            (json!(3600), (3600, false)),
            (json!(9_223_372_036_854_775_807_i64), (MAX_EXPIRES_IN, true)),
            (json!(-9_223_372_036_854_775_808_i64), (0, true)),
            (
                json!(18_446_744_073_709_551_615_u64),
                (MAX_EXPIRES_IN, true),
            ),
            (json!(1e300), (MAX_EXPIRES_IN, true)),
            (json!(-1e300), (0, true)),
            (json!("3600"), (0, true)),
        ] {
            assert_eq!(expires_in_from(Some(&raw)), want, "{raw}");
        }
        assert_eq!(expires_in_from(None), (3600, false));
        let tokens = parse_token_answer(
            r#"{"access_token":"a","refresh_token":"r","expires_in":9223372036854775807}"#,
        )
        .unwrap();
        let at = tokens.access_token_expires_at();
        assert!(at >= tokens.obtained_at && at <= tokens.obtained_at + chrono::Duration::days(1));
        assert!(
            tokens
                .proxy_access_token()
                .expose_secret()
                .contains("expirationDate")
        );
    }

    #[test]
    fn a_200_answer_with_missing_or_odd_fields_says_which() {
        for (body, names) in [
            (r#"{"refresh_token":"r"}"#, "access_token is missing"),
            (
                r#"{"access_token":7,"refresh_token":"r"}"#,
                "access_token is not a string",
            ),
            ("[]", "other than a JSON object"),
            ("", "other than a JSON object"),
        ] {
            let e = parse_token_answer(body).err().unwrap();
            assert!(matches!(e, Error::Authorization(_)), "{body}: {e}");
            assert!(e.to_string().contains(names), "{body}: {e}");
            assert!(e.to_string().contains("authorize again"), "{e}");
            assert!(!e.to_string().contains("network"), "{e}");
        }
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
        let creds = ClientCredentials {
            client_id: "id".into(),
            client_secret: SecretString::from("s"),
        };
        let err = c
            .exchange_code(&creds, &SecretString::from("code"), "http://localhost")
            .await
            .err()
            .unwrap();
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
        let creds = ClientCredentials {
            client_id: "id".into(),
            client_secret: SecretString::from("s"),
        };
        let err = c
            .exchange_code(&creds, &SecretString::from("code"), "http://localhost")
            .await
            .err()
            .unwrap();
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
        let err = c
            .exchange_code(&creds, &SecretString::from("code"), "http://localhost")
            .await
            .err()
            .unwrap();
        assert!(matches!(err, Error::Network(_)), "{err}");
    }
}
