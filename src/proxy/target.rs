//! Which proxy to ask, and how: `--proxy-url`/`--proxy-role-arn`, else the remembered target,
//! else `terraform output -json` beside `--tfvars` (psoxy-contract §9). The way to authenticate
//! follows from the URL's host, else the store's cloud, else `--proxy-auth`.

use std::path::Path;

use clap::ValueEnum;
use serde::{Deserialize, Serialize};
use url::Url;

use super::ProxyArgs;
use super::{ProxyError, remembered, terraform};
use crate::connector::Connector;
use crate::http::is_loopback;
use crate::store::Cloud;

/// How requests to the proxy are authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProxyAuth {
    /// SigV4 (AWS Lambda function URL or API Gateway with IAM auth).
    AwsIam,
    /// A Google ID token for the URL (Cloud Run, Cloud Functions).
    GoogleIdToken,
    /// No credentials (a local proxy).
    None,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyTarget {
    pub url: Url,
    pub role_arn: Option<String>,
    pub auth: ProxyAuth,
    /// Where the URL came from, for the report.
    pub from: String,
}

/// The target, in the order flags, remembered, Terraform. `store` is the cloud of the
/// deployment's store, when known (it tells how to call the proxy when the URL's host does not).
pub async fn resolve(
    args: &ProxyArgs,
    connector: &Connector,
    tfvars: Option<&Path>,
    store: Option<Cloud>,
) -> Result<ProxyTarget, ProxyError> {
    let remembered = remembered::load(connector);
    let (raw, mut role, mut auth, from) = if let Some(url) = &args.proxy_url {
        (url.clone(), None, None, "--proxy-url".to_string())
    } else if let Some(kept) = remembered {
        let from = "remembered from the last check".to_string();
        (kept.url, kept.role_arn, kept.auth, from)
    } else {
        let found = match tfvars {
            Some(tfvars) => {
                let dir = tfvars
                    .parent()
                    .filter(|d| !d.as_os_str().is_empty())
                    .unwrap_or(Path::new("."));
                terraform::read(dir, connector.id).await.map(|found| {
                    let from = format!(
                        "terraform output in {} (api_connector_instances.{})",
                        dir.display(),
                        found.instance
                    );
                    (found.url, found.role_arn, None, from)
                })
            }
            None => Err("no --tfvars to run `terraform output` beside".to_string()),
        };
        found.map_err(|why| {
            ProxyError::Input(format!(
                "which proxy to check is not known ({why}): pass --proxy-url (Terraform's api_connector_instances.{}.endpoint_url) and, on AWS, --proxy-role-arn (caller_role_arn)",
                connector.id
            ))
        })?
    };
    if args.proxy_role_arn.is_some() {
        role = args.proxy_role_arn.clone();
    }
    if args.proxy_auth.is_some() {
        auth = args.proxy_auth;
    }
    let url = proxy_url(&raw)?;
    let auth = match auth {
        Some(auth) => auth,
        None => auth_for(&url, store, role.is_some())?,
    };
    Ok(ProxyTarget {
        url,
        role_arn: role,
        auth,
        from,
    })
}

/// An https URL (plain http only on loopback: a local proxy, the tests).
fn proxy_url(raw: &str) -> Result<Url, ProxyError> {
    let url = Url::parse(raw.trim()).map_err(|e| {
        ProxyError::Input(format!(
            "the proxy URL {raw:?} is not a URL ({e}): give e.g. https://abc.lambda-url.us-east-1.on.aws"
        ))
    })?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        _ => Err(ProxyError::Input(format!(
            "the proxy URL {url} is not https: give the URL Terraform outputs"
        ))),
    }
}

fn auth_for(url: &Url, store: Option<Cloud>, has_role: bool) -> Result<ProxyAuth, ProxyError> {
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    let under = |domain: &str| host == domain || host.ends_with(&format!(".{domain}"));
    if under("on.aws") || under("amazonaws.com") {
        return Ok(ProxyAuth::AwsIam);
    }
    if under("run.app") || under("cloudfunctions.net") {
        return Ok(ProxyAuth::GoogleIdToken);
    }
    match store {
        Some(Cloud::Aws) => Ok(ProxyAuth::AwsIam),
        Some(Cloud::Google) => Ok(ProxyAuth::GoogleIdToken),
        _ if has_role => Ok(ProxyAuth::AwsIam),
        _ => Err(ProxyError::Input(format!(
            "how to authenticate to {url} cannot be told from its host: pass --proxy-auth aws-iam, google-id-token or none"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cloud_follows_from_the_host_then_the_store() {
        let url = |s| Url::parse(s).unwrap();
        let on_aws = url("https://abc.lambda-url.us-east-1.on.aws");
        assert_eq!(auth_for(&on_aws, None, false), Ok(ProxyAuth::AwsIam));
        let run = url("https://psoxy-abc-uc.a.run.app");
        assert_eq!(
            auth_for(&run, Some(Cloud::Aws), false),
            Ok(ProxyAuth::GoogleIdToken)
        );
        let local = url("http://127.0.0.1:9");
        assert_eq!(
            auth_for(&local, Some(Cloud::Google), false),
            Ok(ProxyAuth::GoogleIdToken)
        );
        assert_eq!(auth_for(&local, None, true), Ok(ProxyAuth::AwsIam));
        assert!(auth_for(&local, None, false).is_err());
        let evil = url("https://on.aws.evil.example");
        assert!(auth_for(&evil, None, false).is_err());
    }

    #[test]
    fn plain_http_is_for_loopback_only() {
        assert!(proxy_url("http://127.0.0.1:8080").is_ok());
        assert!(proxy_url("http://proxy.example").is_err());
        assert!(proxy_url("not a url").is_err());
    }
}
