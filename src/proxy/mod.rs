//! Asking the deployed proxy itself (psoxy-contract §9), as Psoxy's test tool does: its health
//! check, then one real call through it (`/oauth/token/accessible-resources`). A client of a
//! deployed proxy: SigV4 on AWS, a Google ID token on GCP. Every answer is read with a size and
//! time bound, no redirect is followed (each request carries a credential), and all remote text
//! is sanitized. The call's body is read only for the site ids, never shown.

mod args;
pub mod aws;
mod fetch;
mod findings;
pub mod gcp;
pub mod health;
mod print;
pub mod remembered;
pub mod target;
pub mod terraform;

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::error::Error;
use crate::store::SecretNames;
pub use args::ProxyArgs;
pub use print::print_human;
pub use target::{ProxyAuth, ProxyTarget};

/// The path of the connector's example call that needs no id (psoxy-contract §9).
pub const CALL_PATH: &str = "/oauth/token/accessible-resources";

/// Why a check could not pass; each becomes its own exit code (`error::exit`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProxyError {
    /// No answer, a redirect, or the proxy (or AWS/Google in front of it) refused the credentials.
    Unreachable(String),
    /// The health check did not pass.
    Health(String),
    /// The call through the proxy failed.
    Call(String),
    /// A value is missing or malformed (no URL, a bad URL).
    Input(String),
    Internal(String),
}

impl From<ProxyError> for Error {
    fn from(e: ProxyError) -> Error {
        match e {
            ProxyError::Unreachable(m) => Error::ProxyUnreachable(m),
            ProxyError::Health(m) => Error::ProxyHealth(m),
            ProxyError::Call(m) => Error::ProxyCall(m),
            ProxyError::Input(m) => Error::Input(m),
            ProxyError::Internal(m) => Error::Internal(m),
        }
    }
}

/// What the tool knows about the deployment, to judge the proxy's answers by.
#[derive(Debug, Clone, Default)]
pub struct Expectation {
    /// The names this tool writes (its prefix), when known.
    pub names: Option<SecretNames>,
    /// The store, as the report names it.
    pub store: Option<String>,
    /// When this tool (or the proxy, rotating) last wrote `REFRESH_TOKEN` / `ACCESS_TOKEN`.
    pub written: BTreeMap<&'static str, DateTime<Utc>>,
    /// The configured site, to look for among the call's sites.
    pub cloud_id: Option<String>,
}

/// How the requests are sent.
#[derive(Debug, Clone)]
pub struct Settings {
    pub timeout: Duration,
    pub aws_region: Option<String>,
    pub aws_profile: Option<String>,
}

/// The outcome, worst first: it decides the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Unreachable,
    HealthFailed,
    CallFailed,
    Passed,
}

/// Whether the proxy reads what the tool wrote (psoxy-contract §9, "Last modified").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Seen {
    /// The proxy's value was written when this tool's was, or later.
    Current,
    /// The proxy still serves an older value from its cache.
    Cached,
    /// Older, though the cache has expired: it reads another secret.
    Other,
    /// The proxy does not report a date.
    Unknown,
}

#[derive(Debug, Clone, Serialize)]
pub struct Freshness {
    pub property: &'static str,
    pub written_at: DateTime<Utc>,
    pub proxy_last_modified: Option<DateTime<Utc>>,
    pub seen: Seen,
    /// When the proxy's cache has let go of any older value.
    pub certain_by: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CallSummary {
    pub path: &'static str,
    pub http_status: Option<u16>,
    /// Whether the configured cloud id is among the answer's sites (`None`: no site configured).
    pub site_found: Option<bool>,
    pub sites: Option<usize>,
}

/// Everything `check` found; `--json` prints it (never a token, never the salt's hash).
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    pub url: String,
    /// Where the URL came from: `--proxy-url`, the remembered target, `terraform output`.
    pub url_from: String,
    pub auth: ProxyAuth,
    pub health: Option<health::HealthSummary>,
    pub freshness: Vec<Freshness>,
    pub call: Option<CallSummary>,
    pub verdict: Verdict,
    /// Worth a look, but not a failure (a cache that has not caught up yet).
    pub notes: Vec<String>,
    pub problems: Vec<String>,
}

impl CheckReport {
    /// `Ok` when it passed; else the error (and exit code) of the first failure.
    pub fn result(&self) -> Result<(), Error> {
        let first = || self.problems.first().cloned().unwrap_or_default();
        match self.verdict {
            Verdict::Passed => Ok(()),
            Verdict::Unreachable => Err(Error::ProxyUnreachable(first())),
            Verdict::HealthFailed => Err(Error::ProxyHealth(first())),
            Verdict::CallFailed => Err(Error::ProxyCall(first())),
        }
    }
}

/// The health check, then the call (unless the proxy could not be reached at all).
pub async fn check(target: &ProxyTarget, expect: &Expectation, settings: &Settings) -> CheckReport {
    let mut report = CheckReport {
        url: target.url.to_string(),
        url_from: target.from.clone(),
        auth: target.auth,
        health: None,
        freshness: Vec::new(),
        call: None,
        verdict: Verdict::Passed,
        notes: Vec::new(),
        problems: Vec::new(),
    };
    let caller = match fetch::Caller::new(target, settings).await {
        Ok(caller) => caller,
        Err(e) => {
            findings::fail(&mut report, e);
            return report;
        }
    };
    tracing::info!("calling {} with {}", target.url, caller.described());
    match caller.health_check().await {
        Ok((status, result)) => findings::health(&mut report, status, &result, expect, Utc::now()),
        Err(e) => {
            findings::fail(&mut report, e);
            if report.verdict == Verdict::Unreachable {
                return report;
            }
        }
    }
    let call = caller.call(CALL_PATH).await;
    findings::call(&mut report, call, expect);
    report
}
