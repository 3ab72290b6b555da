//! Calls to a proxy on GCP (Cloud Run / Cloud Functions): a Google ID token whose audience is the
//! service's URL (psoxy-contract §9), from Application Default Credentials (a service-account key
//! or the metadata server), else from `gcloud auth print-identity-token`, as Psoxy's test tool
//! does. The token is a secret: it never reaches an argument, a log line or the output.

use std::process::Stdio;
use std::time::Duration;

use google_cloud_auth::credentials::idtoken;
use url::Url;

use super::ProxyError;
use crate::sanitize::remote_text;
use crate::secret::{ExposeSecret, SecretString};

/// How long each way of getting a token may take.
const TOKEN_TIMEOUT: Duration = Duration::from_secs(15);

pub struct IdToken {
    pub token: SecretString,
    /// For `-v`: where the token came from.
    pub described: String,
}

/// The audience Google checks: the service's URL without a path (Cloud Run), or with the
/// function's name for a first-generation `*.cloudfunctions.net` URL.
pub fn audience(url: &Url) -> String {
    let origin = url.origin().ascii_serialization();
    let gen1 = url
        .host_str()
        .is_some_and(|h| h == "cloudfunctions.net" || h.ends_with(".cloudfunctions.net"));
    match url.path_segments().and_then(|mut s| s.next()) {
        Some(function) if gen1 && !function.is_empty() => format!("{origin}/{function}"),
        _ => origin,
    }
}

impl IdToken {
    /// An ID token for `url`'s audience: Application Default Credentials first, then gcloud.
    pub async fn for_url(url: &Url) -> Result<IdToken, ProxyError> {
        let audience = audience(url);
        let adc = match tokio::time::timeout(TOKEN_TIMEOUT, from_adc(&audience)).await {
            Ok(result) => result,
            Err(_) => Err(format!(
                "no answer within {}s (no metadata server here?)",
                TOKEN_TIMEOUT.as_secs()
            )),
        };
        let adc_failed = match adc {
            Ok(token) => {
                return Ok(IdToken {
                    token,
                    described: format!(
                        "a Google ID token for {audience} from Application Default Credentials"
                    ),
                });
            }
            Err(why) => why,
        };
        tracing::info!(
            "Application Default Credentials gave no ID token ({adc_failed}); trying gcloud"
        );
        match from_gcloud(&audience).await {
            Ok(token) => Ok(IdToken {
                token,
                described: format!(
                    "a Google ID token for {audience} from `gcloud auth print-identity-token` (Application Default Credentials could not mint one: {adc_failed})"
                ),
            }),
            Err(gcloud_failed) => Err(ProxyError::Unreachable(format!(
                "cannot get a Google ID token to call {url}: Application Default Credentials: {adc_failed}; gcloud: {gcloud_failed}; set GOOGLE_APPLICATION_CREDENTIALS to a service-account key, or run `gcloud auth login` as an account that may invoke the proxy"
            ))),
        }
    }
}

async fn from_adc(audience: &str) -> Result<SecretString, String> {
    let credentials = idtoken::Builder::new(audience)
        .build()
        .map_err(|e| remote_text(&e.to_string()))?;
    let token = credentials
        .id_token()
        .await
        .map_err(|e| remote_text(&e.to_string()))?;
    Ok(SecretString::from(token))
}

/// `gcloud auth print-identity-token --audiences=AUDIENCE` (service accounts; a user account's
/// gcloud refuses `--audiences`, so it is asked again without).
async fn from_gcloud(audience: &str) -> Result<SecretString, String> {
    let with_audience = [
        "auth".to_string(),
        "print-identity-token".to_string(),
        format!("--audiences={audience}"),
    ];
    match gcloud(&with_audience).await {
        Ok(token) => Ok(token),
        Err(first) if first.contains("--audiences") || first.contains("service account") => {
            tracing::info!("gcloud refused --audiences ({first}); asking without");
            gcloud(&["auth".into(), "print-identity-token".into()]).await
        }
        Err(e) => Err(e),
    }
}

async fn gcloud(args: &[String]) -> Result<SecretString, String> {
    let mut command = tokio::process::Command::new("gcloud");
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let output = match tokio::time::timeout(TOKEN_TIMEOUT, command.output()).await {
        Ok(Ok(output)) => output,
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err("gcloud is not installed (not on PATH)".into());
        }
        Ok(Err(e)) => return Err(format!("gcloud could not run ({e})")),
        Err(_) => {
            return Err(format!(
                "gcloud gave no token within {}s",
                TOKEN_TIMEOUT.as_secs()
            ));
        }
    };
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr.lines().rev().find(|l| !l.trim().is_empty());
        return Err(remote_text(last.unwrap_or("no message")));
    }
    let token = SecretString::from(String::from_utf8_lossy(&output.stdout).trim().to_string());
    if token.expose_secret().is_empty() {
        return Err("gcloud printed no token".into());
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_audience_is_the_service_url_or_the_gen1_function_url() {
        let run = Url::parse("https://psoxy-jira-abc-uc.a.run.app/oauth/token/x").unwrap();
        assert_eq!(audience(&run), "https://psoxy-jira-abc-uc.a.run.app");
        let gen1 = Url::parse("https://us-central1-acme.cloudfunctions.net/psoxy-jira/x").unwrap();
        assert_eq!(
            audience(&gen1),
            "https://us-central1-acme.cloudfunctions.net/psoxy-jira"
        );
        let local = Url::parse("http://127.0.0.1:9000/").unwrap();
        assert_eq!(audience(&local), "http://127.0.0.1:9000");
    }
}
