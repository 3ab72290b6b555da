//! Which Google Cloud project holds the secrets, and how the Secret Manager client authenticates.
//!
//! The project: `--gcp-project` (or GOOGLE_CLOUD_PROJECT, via clap), else CLOUDSDK_CORE_PROJECT,
//! else the project of the Application Default Credentials where one is written down: the
//! `project_id` of a service-account key file, else gcloud's active configuration (`[core]
//! project`), which is what `gcloud auth application-default login` users have. The auth crate
//! exposes no project, so these two files are read here; nothing asks the metadata server.

use std::path::{Path, PathBuf};
use std::time::Duration;

use google_cloud_gax::exponential_backoff::ExponentialBackoffBuilder;
use google_cloud_gax::retry_policy::{Aip194Strict, RetryPolicyExt};
use google_cloud_secretmanager_v1::client::SecretManagerService;

use super::{StoreError, StoreResult};

/// Where the project came from, for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedProject {
    pub id: String,
    pub source: &'static str,
}

/// `lookup` reads an environment variable (injected so tests need not touch the process env).
pub fn resolve_project(
    explicit: Option<&str>,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> StoreResult<ResolvedProject> {
    let found = |id: String, source| ResolvedProject { id, source };
    let env = |k: &str| {
        lookup(k)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let project = if let Some(p) = explicit.map(str::trim).filter(|p| !p.is_empty()) {
        Some(found(p.to_string(), "--gcp-project / GOOGLE_CLOUD_PROJECT"))
    } else if let Some(p) = env("CLOUDSDK_CORE_PROJECT") {
        Some(found(p, "CLOUDSDK_CORE_PROJECT"))
    } else if let Some(p) = adc_file(lookup).and_then(|f| key_file_project(&f)) {
        Some(found(p, "the Application Default Credentials key file"))
    } else {
        gcloud_dir(lookup)
            .and_then(|dir| gcloud_config_project(&dir, lookup))
            .map(|p| found(p, "gcloud's active configuration"))
    };
    let project = project.ok_or_else(|| {
        StoreError::Credentials(
            "no Google Cloud project: pass --gcp-project (or set GOOGLE_CLOUD_PROJECT)".into(),
        )
    })?;
    if !valid_project(&project.id) {
        return Err(StoreError::Credentials(format!(
            "{:?} (from {}) is not a Google Cloud project id: pass --gcp-project",
            project.id, project.source
        )));
    }
    Ok(project)
}

/// The project this machine's configuration names (CLOUDSDK_CORE_PROJECT, the credentials key
/// file, gcloud's active configuration), if any: what a terminal run offers when it asks.
pub fn configured_project() -> Option<String> {
    resolve_project(None, &|k| std::env::var(k).ok())
        .ok()
        .map(|p| p.id)
}

/// Project ids are 6-30 of `a-z 0-9 -`; project numbers are digits. Refusing anything else keeps
/// `/` and `..` out of request paths.
pub(crate) fn valid_project(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 63
        && id.chars().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.' || c == ':'
        })
}

fn gcloud_dir(lookup: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    if let Some(dir) = lookup("CLOUDSDK_CONFIG").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    if cfg!(windows) {
        lookup("APPDATA").map(|a| Path::new(&a).join("gcloud"))
    } else {
        lookup("HOME").map(|h| Path::new(&h).join(".config").join("gcloud"))
    }
}

fn adc_file(lookup: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    match lookup("GOOGLE_APPLICATION_CREDENTIALS").filter(|f| !f.is_empty()) {
        Some(f) => Some(PathBuf::from(f)),
        None => gcloud_dir(lookup).map(|d| d.join("application_default_credentials.json")),
    }
}

fn key_file_project(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    json.get("project_id")?.as_str().map(str::to_string)
}

fn gcloud_config_project(dir: &Path, lookup: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    let name = lookup("CLOUDSDK_ACTIVE_CONFIG_NAME")
        .filter(|n| !n.is_empty())
        .or_else(|| std::fs::read_to_string(dir.join("active_config")).ok())
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "default".into());
    if name.contains(['/', '\\']) || name.contains("..") {
        return None;
    }
    let text =
        std::fs::read_to_string(dir.join("configurations").join(format!("config_{name}"))).ok()?;
    let mut in_core = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_core = line == "[core]";
        } else if in_core
            && let Some((k, v)) = line.split_once('=')
            && k.trim() == "project"
            && !v.trim().is_empty()
        {
            return Some(v.trim().to_string());
        }
    }
    None
}

/// How to reach Secret Manager.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// Google's endpoint with Application Default Credentials.
    Google,
    /// Another https endpoint (private service connect, regional), still with ADC.
    Https(String),
    /// A plain-http loopback emulator: anonymous credentials, no token is ever fetched.
    Emulator(String),
}

/// `--gcp-endpoint`: https anywhere, plain http only on a loopback address.
pub fn parse_endpoint(raw: Option<&str>) -> StoreResult<Endpoint> {
    let Some(raw) = raw.map(str::trim).filter(|r| !r.is_empty()) else {
        return Ok(Endpoint::Google);
    };
    let bad = |why: &str| StoreError::Credentials(format!("--gcp-endpoint {raw:?} {why}"));
    let url = url::Url::parse(raw).map_err(|e| bad(&format!("is not a URL ({e})")))?;
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err(bad("must be a plain scheme://host[:port] URL"));
    }
    let trimmed = raw.trim_end_matches('/').to_string();
    match url.scheme() {
        "https" => Ok(Endpoint::Https(trimmed)),
        "http" if crate::http::is_loopback(&url) => Ok(Endpoint::Emulator(trimmed)),
        "http" => Err(bad(
            "is plain http on a non-loopback host: use https (plain http is only for a local emulator on 127.0.0.1, ::1 or localhost)",
        )),
        _ => Err(bad("must be an http(s) URL")),
    }
}

#[derive(Debug, Clone)]
pub struct GcpConfig {
    pub project: String,
    pub endpoint: Endpoint,
    pub destroy_old_versions: bool,
    /// The policy for secrets `create_missing` creates; none refuses to create any.
    pub replication: Option<GcpReplication>,
    /// Per HTTP attempt; a hung call becomes `Unavailable`.
    pub attempt_timeout: Duration,
    /// Attempts for idempotent calls (GET) on UNAVAILABLE or connection errors.
    pub attempts: u32,
}

impl GcpConfig {
    pub fn new(project: impl Into<String>, endpoint: Endpoint) -> Self {
        GcpConfig {
            project: project.into(),
            endpoint,
            destroy_old_versions: false,
            replication: None,
            attempt_timeout: Duration::from_secs(30),
            attempts: 3,
        }
    }
}

/// `--gcp-replication`: how secrets this tool creates are replicated. Psoxy's Terraform uses
/// user-managed replicas (psoxy-contract §3); replication cannot be changed later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GcpReplication {
    Automatic,
    UserManaged(Vec<String>),
}

impl GcpReplication {
    /// `automatic` or `user-managed:LOCATION[,LOCATION]`.
    pub fn parse(value: &str) -> Result<Self, String> {
        let value = value.trim();
        if value == "automatic" {
            return Ok(GcpReplication::Automatic);
        }
        let locations: Vec<String> = value
            .strip_prefix("user-managed:")
            .unwrap_or_default()
            .split(',')
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty())
            .collect();
        let valid = |l: &String| {
            l.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        };
        if locations.is_empty() || !locations.iter().all(valid) {
            return Err(format!(
                "{value:?}: use automatic or user-managed:LOCATION[,LOCATION] (e.g. user-managed:us-central1,us-east1, as in Terraform's replica_locations)"
            ));
        }
        Ok(GcpReplication::UserManaged(locations))
    }

    pub fn to_model(&self) -> google_cloud_secretmanager_v1::model::Replication {
        use google_cloud_secretmanager_v1::model::{Replication, replication};
        match self {
            GcpReplication::Automatic => {
                Replication::new().set_automatic(replication::Automatic::default())
            }
            GcpReplication::UserManaged(locations) => Replication::new().set_user_managed(
                replication::UserManaged::new().set_replicas(
                    locations
                        .iter()
                        .map(|l| replication::user_managed::Replica::new().set_location(l)),
                ),
            ),
        }
    }
}

/// Named up front, the universe keeps the credentials builder from asking the metadata server
/// for it (it would, with no ADC file, on every machine off GCP).
pub(crate) fn universe_domain() -> String {
    std::env::var("GOOGLE_CLOUD_UNIVERSE_DOMAIN")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "googleapis.com".into())
}

/// The Secret Manager client: anonymous credentials for a loopback emulator (no token is ever
/// fetched, nothing asks the metadata server), Application Default Credentials otherwise. GETs
/// are retried on UNAVAILABLE a few times with a short backoff; non-idempotent calls are not.
pub async fn client(config: &GcpConfig) -> StoreResult<SecretManagerService> {
    let credentials = match &config.endpoint {
        Endpoint::Emulator(_) => google_cloud_auth::credentials::anonymous::Builder::new().build(),
        _ => {
            google_cloud_auth::credentials::Builder::default()
                .with_universe_domain(universe_domain())
                .build()
                .map_err(|e| {
                    StoreError::Credentials(format!(
                        "could not load Google Application Default Credentials ({e}): run `gcloud auth application-default login` or set GOOGLE_APPLICATION_CREDENTIALS"
                    ))
                })?
        }
    };
    let backoff = ExponentialBackoffBuilder::new()
        .with_initial_delay(Duration::from_millis(200))
        .with_maximum_delay(Duration::from_secs(5))
        .clamp();
    let retry = Aip194Strict
        .with_attempt_limit(config.attempts.max(1))
        .with_time_limit(
            config
                .attempt_timeout
                .saturating_mul(config.attempts.max(1)),
        );
    let mut builder = SecretManagerService::builder()
        .with_credentials(credentials)
        .with_retry_policy(retry)
        .with_backoff_policy(backoff)
        .with_attempt_timeout(config.attempt_timeout);
    if let Endpoint::Emulator(url) | Endpoint::Https(url) = &config.endpoint {
        builder = builder.with_endpoint(url.clone());
    }
    // Every call carries a bearer token and writes carry the secret: a redirect must not take
    // them elsewhere (the library follows redirects by default; this switch is its only one).
    builder = google_cloud_gax::client_builder::internal::with_follow_redirects(builder, false);
    builder.build().await.map_err(|e| {
        StoreError::Credentials(format!("could not set up the Secret Manager client: {e}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn the_flag_wins_then_cloudsdk_then_the_key_file_then_gcloud_config() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_str().unwrap();
        let none = env(&[("CLOUDSDK_CONFIG", d)]);
        let err = resolve_project(None, &none).unwrap_err();
        assert!(err.to_string().contains("pass --gcp-project"), "{err}");

        std::fs::create_dir_all(dir.path().join("configurations")).unwrap();
        std::fs::write(dir.path().join("active_config"), "work\n").unwrap();
        std::fs::write(
            dir.path().join("configurations/config_work"),
            "[auth]\nproject = nope\n[core]\naccount = a@b.c\nproject = from-gcloud\n",
        )
        .unwrap();
        assert_eq!(resolve_project(None, &none).unwrap().id, "from-gcloud");

        let key = dir.path().join("key.json");
        std::fs::write(
            &key,
            r#"{"type":"service_account","project_id":"from-key"}"#,
        )
        .unwrap();
        let with_key = env(&[
            ("CLOUDSDK_CONFIG", d),
            ("GOOGLE_APPLICATION_CREDENTIALS", key.to_str().unwrap()),
        ]);
        assert_eq!(resolve_project(None, &with_key).unwrap().id, "from-key");

        let with_sdk = env(&[
            ("CLOUDSDK_CONFIG", d),
            ("CLOUDSDK_CORE_PROJECT", "from-env"),
        ]);
        assert_eq!(resolve_project(None, &with_sdk).unwrap().id, "from-env");
        assert_eq!(resolve_project(Some("flag"), &with_sdk).unwrap().id, "flag");
        assert!(resolve_project(Some("a/../b"), &with_sdk).is_err());
    }

    #[test]
    fn plain_http_only_on_loopback() {
        assert_eq!(parse_endpoint(None).unwrap(), Endpoint::Google);
        for ok in [
            "http://127.0.0.1:8085",
            "http://localhost:1/",
            "http://[::1]:9",
        ] {
            assert!(
                matches!(parse_endpoint(Some(ok)).unwrap(), Endpoint::Emulator(_)),
                "{ok}"
            );
        }
        assert_eq!(
            parse_endpoint(Some("http://127.0.0.1:8085/")).unwrap(),
            Endpoint::Emulator("http://127.0.0.1:8085".into())
        );
        assert!(matches!(
            parse_endpoint(Some("https://secretmanager.example.com")).unwrap(),
            Endpoint::Https(_)
        ));
        for bad in [
            "http://10.0.0.1:80",
            "http://example.com",
            "ftp://127.0.0.1",
            "nope",
        ] {
            assert!(parse_endpoint(Some(bad)).is_err(), "{bad}");
        }
    }
}
