//! Talking to Atlassian: the OAuth 2.0 (3LO) authorization server and the cloud API.

pub mod oauth;
pub mod proxy_token;
pub mod scopes;
pub mod sites;
mod token_answer;

use url::Url;

use crate::http::RetryPolicy;

/// The two Atlassian endpoints (real, or a simulator on loopback) and the HTTP client.
#[derive(Clone)]
pub struct AtlassianClient {
    pub http: reqwest::Client,
    pub auth_base: Url,
    pub api_base: Url,
    pub retry: RetryPolicy,
}

impl AtlassianClient {
    pub fn new(http: reqwest::Client, auth_base: Url, api_base: Url) -> Self {
        AtlassianClient {
            http,
            auth_base,
            api_base,
            retry: RetryPolicy::default(),
        }
    }

    fn join(base: &Url, path: &str) -> Url {
        let mut url = base.clone();
        let joined = format!(
            "{}/{}",
            base.path().trim_end_matches('/'),
            path.trim_start_matches('/')
        );
        url.set_path(&joined);
        url
    }
}
