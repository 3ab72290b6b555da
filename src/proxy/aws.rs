//! Calls to a proxy on AWS: a Lambda function URL with `AWS_IAM` auth (or an API Gateway v2
//! route), signed with SigV4 as Psoxy's test tool signs them (psoxy-contract §9): credentials from
//! the standard chain, after `sts:AssumeRole` into the caller role when one is given.

use std::time::{Duration, SystemTime};

use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;
use aws_credential_types::provider::ProvideCredentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use url::Url;

use super::ProxyError;
use crate::sanitize::remote_text;

/// How long resolving credentials (and assuming the role) may take.
const CREDENTIALS_TIMEOUT: Duration = Duration::from_secs(20);

/// What signs each request: resolved once per check.
pub struct AwsSigner {
    credentials: Credentials,
    region: String,
    service: &'static str,
    /// For `-v`: which identity signs.
    pub described: String,
}

/// The region and service a URL names: `{id}.lambda-url.{region}.on.aws` (service `lambda`) and
/// `{id}.execute-api.{region}.amazonaws.com` (service `execute-api`), as psoxy-test reads them.
pub fn region_and_service(url: &Url) -> (Option<String>, &'static str) {
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    let parts: Vec<&str> = host.split('.').collect();
    let service = if parts.get(1) == Some(&"execute-api") {
        "execute-api"
    } else {
        "lambda"
    };
    let region = match parts.get(1).copied() {
        Some("lambda-url" | "execute-api") => parts.get(2).map(|r| r.to_string()),
        _ => None,
    };
    (region, service)
}

impl AwsSigner {
    /// Credentials from the standard chain (`--aws-profile`), then, with `role_arn`, the caller
    /// role's session credentials. The region: the URL's, else `--aws-region`/the profile's.
    pub async fn new(
        url: &Url,
        role_arn: Option<&str>,
        region: Option<&str>,
        profile: Option<&str>,
    ) -> Result<AwsSigner, ProxyError> {
        let (url_region, service) = region_and_service(url);
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(region) = url_region.as_deref().or(region) {
            loader = loader.region(Region::new(region.to_string()));
        }
        if let Some(profile) = profile {
            loader = loader.profile_name(profile);
        }
        let config = loader.load().await;
        let region = config.region().map(|r| r.to_string()).ok_or_else(|| {
            ProxyError::Unreachable(format!(
                "no AWS region to sign the call to {url} with: pass --aws-region (or set AWS_REGION)"
            ))
        })?;
        let resolved = match role_arn {
            Some(role) => {
                let provider = aws_config::sts::AssumeRoleProvider::builder(role)
                    .session_name("jira-psoxy-setup")
                    .configure(&config)
                    .build()
                    .await;
                with_deadline(provider.provide_credentials(), &format!("assuming {role}")).await
            }
            None => match config.credentials_provider() {
                Some(provider) => {
                    with_deadline(provider.provide_credentials(), "the AWS credential chain").await
                }
                None => Err("no AWS credentials provider is configured".to_string()),
            },
        };
        let credentials = resolved.map_err(|why| {
            let role = role_arn
                .map(|r| format!(" and may assume {r}"))
                .unwrap_or_default();
            ProxyError::Unreachable(format!(
                "cannot get AWS credentials to call {url} ({why}): log in to the account whose credentials{role} (aws sso login, AWS_PROFILE), or pass --proxy-role-arn"
            ))
        })?;
        let described = match role_arn {
            Some(role) => format!("SigV4 ({service}, {region}) as the caller role {role}"),
            None => format!("SigV4 ({service}, {region}) with the default AWS credentials"),
        };
        Ok(AwsSigner {
            credentials,
            region,
            service,
            described,
        })
    }

    /// The headers to add to a GET of `url` that carries `extra` headers (signed too).
    pub fn sign_get(
        &self,
        url: &Url,
        extra: &[(&str, &str)],
    ) -> Result<Vec<(String, String)>, ProxyError> {
        let host = host_header(url);
        let mut headers: Vec<(&str, &str)> = vec![("host", host.as_str())];
        headers.extend_from_slice(extra);
        let identity = self.credentials.clone().into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(self.service)
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| ProxyError::Internal(format!("SigV4 parameters: {e}")))?
            .into();
        let request = SignableRequest::new(
            "GET",
            url.as_str(),
            headers.into_iter(),
            SignableBody::Bytes(&[]),
        )
        .map_err(|e| ProxyError::Internal(format!("SigV4 cannot sign {url}: {e}")))?;
        let (instructions, _) = sign(request, &params)
            .map_err(|e| ProxyError::Internal(format!("SigV4 cannot sign {url}: {e}")))?
            .into_parts();
        Ok(instructions
            .headers()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect())
    }
}

/// `host[:port]` as the request's Host header carries it (the port only when not the default).
fn host_header(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    }
}

async fn with_deadline<E: std::error::Error>(
    work: impl std::future::Future<Output = Result<Credentials, E>>,
    what: &str,
) -> Result<Credentials, String> {
    match tokio::time::timeout(CREDENTIALS_TIMEOUT, work).await {
        Ok(Ok(credentials)) => Ok(credentials),
        Ok(Err(e)) => Err(remote_text(&crate::error::one_line(&e))),
        Err(_) => Err(format!(
            "{what} took longer than {}s",
            CREDENTIALS_TIMEOUT.as_secs()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_region_and_service_come_from_the_host_as_psoxy_test_reads_them() {
        let url = Url::parse("https://abc123.lambda-url.eu-west-2.on.aws/").unwrap();
        assert_eq!(
            region_and_service(&url),
            (Some("eu-west-2".into()), "lambda")
        );
        let url =
            Url::parse("https://x1y2.execute-api.us-east-2.amazonaws.com/live/psoxy").unwrap();
        assert_eq!(
            region_and_service(&url),
            (Some("us-east-2".into()), "execute-api")
        );
        let url = Url::parse("http://127.0.0.1:8080/").unwrap();
        assert_eq!(region_and_service(&url), (None, "lambda"));
    }
}
