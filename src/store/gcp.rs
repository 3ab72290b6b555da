//! Google Cloud Secret Manager, written the way Psoxy reads it (psoxy-contract §3): the proxy reads the
//! version named by the secret's `latest-version` label, so a write adds a version, points that
//! label at it (keeping every other label, guarded by the secret's etag), then disables, or with
//! `--destroy-old-versions` destroys, the older enabled versions, as the proxy does when it
//! rotates. The refresh lock is the proxy's own: label `locked=<epoch ms>` on
//! `<prefix>OAUTH_REFRESH_TOKEN`. The token family's issue date and site are labels on the
//! REFRESH_TOKEN secret.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use google_cloud_gax::error::rpc::Code;
use google_cloud_secretmanager_v1::model::Secret;

use super::*;
use crate::secret::ExposeSecret;

mod clock;
mod labels;
mod ops;
mod preflight;
pub mod project;
pub mod projects;
mod proxy_reads;
mod target;

pub use labels::{CLOUD_ID_LABEL, ISSUED_LABEL, LOCK_LABEL};
use ops::{Api, Call, LATEST_VERSION, code, map_err, secret_id, version_number};
pub use project::{Endpoint, GcpConfig, GcpReplication, parse_endpoint, resolve_project};
pub use target::{GcpArgs, GcpTarget, KIND, terraform_owned};

/// Terraform's label on the secrets it creates; `create_missing` sets it the same way.
pub const TERRAFORM_LABEL: &str = "terraform_managed_value";

pub struct GcpStore {
    api: Api,
    destroy_old: bool,
    /// For `create_missing`: none unless `--gcp-replication` chose one.
    replication: Option<GcpReplication>,
    describe: String,
    /// Lock label values this process wrote, so `unlock` never removes somebody else's lock.
    held: labels::Held,
    /// Google's time, for the labels a proxy judges by their value.
    clock: clock::ServerClock,
}

impl GcpStore {
    /// From the command line: project and endpoint resolved, credentials loaded (not yet used).
    pub async fn open(target: &GcpTarget) -> StoreResult<GcpStore> {
        let endpoint = parse_endpoint(target.endpoint.as_deref())?;
        let project = resolve_project(target.project.as_deref(), &|k| std::env::var(k).ok())?;
        tracing::info!(project = %project.id, source = project.source, "Google Cloud project");
        let mut config = GcpConfig::new(project.id, endpoint);
        config.destroy_old_versions = target.destroy_old_versions;
        config.replication = target.replication.clone();
        Self::connect(config).await
    }

    pub async fn connect(config: GcpConfig) -> StoreResult<GcpStore> {
        let client = project::client(&config).await?;
        let mut describe = format!("GCP Secret Manager (project {})", config.project);
        if let Endpoint::Emulator(url) | Endpoint::Https(url) = &config.endpoint {
            describe = format!(
                "GCP Secret Manager (project {}, endpoint {url})",
                config.project
            );
        }
        let date_url = match &config.endpoint {
            Endpoint::Emulator(url) | Endpoint::Https(url) => url.clone(),
            Endpoint::Google => "https://secretmanager.googleapis.com/".to_string(),
        };
        Ok(GcpStore {
            clock: clock::ServerClock::new(date_url),
            api: Api {
                client,
                project: config.project,
            },
            destroy_old: config.destroy_old_versions,
            replication: config.replication,
            describe,
            held: Mutex::new(HashMap::new()),
        })
    }
}

/// Adds the version, points `latest-version` at it, retires the older ones.
async fn write_one(api: &Api, destroy: bool, name: &str, value: &SecretString) -> StoreResult<()> {
    let version = api
        .add_version(name, value.expose_secret().as_bytes())
        .await?;
    let number = version_number(&version.name)
        .ok_or_else(|| StoreError::Other(format!("unexpected version name {:?}", version.name)))?;
    api.update_labels(name, |labels| {
        let current = labels.get(LATEST_VERSION).and_then(|v| v.parse::<u64>().ok());
        match current {
            Some(c) if c > number => Err(StoreError::Conflict(format!(
                "{name}: version {c} was labelled by another writer after ours ({number}): check which value should stay, then run again"
            ))),
            Some(c) if c == number => Ok(false),
            _ => {
                labels.insert(LATEST_VERSION.into(), number.to_string());
                Ok(true)
            }
        }
    })
    .await?;
    retire_older(api, destroy, name, number).await;
    Ok(())
}

/// Retires the enabled versions older than `keep` (never a newer one: it is somebody
/// else's, and the label does not point at it). Failures are logged, not fatal: the new value
/// is already in place and labelled.
async fn retire_older(api: &Api, destroy: bool, id: &str, keep: u64) {
    let versions = match api.enabled_versions(id).await {
        Ok(v) => v,
        Err(e) => {
            tracing::warn!("could not list the old versions of {id} to retire them: {e}");
            return;
        }
    };
    for v in versions {
        if version_number(&v.name).is_some_and(|n| n < keep)
            && let Err(e) = api.retire(&v, destroy).await
        {
            tracing::warn!("could not retire {}: {e}", v.name);
        }
    }
}

fn time_of(t: Option<&google_cloud_wkt::Timestamp>) -> Option<DateTime<Utc>> {
    t.and_then(|t| DateTime::from_timestamp(t.seconds(), u32::try_from(t.nanos()).ok()?))
}

#[async_trait]
impl SecretStore for GcpStore {
    fn describe(&self) -> String {
        self.describe.clone()
    }

    async fn discover_prefixes(&self) -> StoreResult<Vec<String>> {
        let parent = format!("projects/{}", self.api.project);
        let call = Call {
            what: "list the secrets of",
            resource: &parent,
            permission: ops::LIST,
        };
        let (client, parent) = (&self.api.client, parent.as_str());
        let secrets = ops::all_pages(&call, |token| async move {
            let page = client
                .list_secrets()
                .set_parent(parent)
                .set_page_size(250)
                .set_page_token(token)
                .send()
                .await?;
            Ok((page.secrets, page.next_page_token))
        })
        .await?;
        Ok(secrets
            .iter()
            .filter_map(|s| SecretNames::prefix_of(secret_id(&s.name)))
            .collect())
    }

    /// See `preflight.rs`: existence and testIamPermissions, nothing changed.
    async fn preflight(&self, names: &SecretNames) -> StoreResult<Preflight> {
        self.check_before_writing(names).await
    }

    fn terraform_owned(&self) -> Option<super::terraform::Owned> {
        Some(terraform_owned(
            &self.api.project,
            self.replication.is_some(),
        ))
    }

    /// With the replication policy `--gcp-replication` chose; without one, nothing is created.
    async fn create_missing(&self, names: &[String]) -> StoreResult<()> {
        let replication = match (&self.replication, self.terraform_owned()) {
            (Some(r), _) => r.to_model(),
            (None, owned) => {
                let why = owned.and_then(|o| o.refusal()).unwrap_or_default();
                return Err(StoreError::Other(why));
            }
        };
        let parent = format!("projects/{}", self.api.project);
        for id in names {
            let secret = Secret::new()
                .set_replication(replication.clone())
                .set_labels([(TERRAFORM_LABEL, "false")]);
            let result = self
                .api
                .client
                .create_secret()
                .set_parent(&parent)
                .set_secret_id(id)
                .set_secret(secret)
                .send()
                .await;
            match result {
                Ok(_) => {}
                Err(e) if code(&e) == Some(Code::AlreadyExists) => {}
                Err(e) => {
                    return Err(map_err(
                        e,
                        &Call {
                            what: "create the secret",
                            resource: &format!("{parent}/secrets/{id}"),
                            permission: ops::CREATE,
                        },
                    ));
                }
            }
        }
        Ok(())
    }

    /// Exactly the proxy's read: the version the `latest-version` label names, falling back to
    /// `latest` only when that version does not exist or the label is unset. Without permission
    /// to describe the secret the label is unknown: `latest` is read, with a warning. A disabled or destroyed version reads as no value, as for the proxy.
    async fn read(&self, name: &str) -> StoreResult<Option<StoredSecret>> {
        let path = self.api.secret_path(name);
        let label = match self.api.client.get_secret().set_name(&path).send().await {
            Ok(s) => s
                .labels
                .get(LATEST_VERSION)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty()),
            Err(e) if code(&e) == Some(Code::NotFound) => return Ok(None),
            Err(e) if code(&e) == Some(Code::PermissionDenied) => {
                tracing::warn!(
                    "{name}: secretmanager.secrets.get is denied, so its {LATEST_VERSION} label is unknown: reading `latest`, which may not be the version the proxy reads"
                );
                None
            }
            Err(e) => {
                let call = Call {
                    what: "read",
                    resource: &path,
                    permission: ops::GET,
                };
                return Err(map_err(e, &call));
            }
        };
        let mut attempt = self
            .api
            .access(name, label.as_deref().unwrap_or("latest"))
            .await;
        if label.is_some() && matches!(&attempt, Err(e) if code(e) == Some(Code::NotFound)) {
            tracing::warn!(
                "{name}: the version its {LATEST_VERSION} label names does not exist; reading `latest`, as the proxy does"
            );
            attempt = self.api.access(name, "latest").await;
        }
        let (version, data) = match attempt {
            Ok(found) => found,
            Err(e) if code(&e) == Some(Code::NotFound) => return Ok(None),
            Err(e) if code(&e) == Some(Code::FailedPrecondition) => {
                tracing::warn!("{name}: the version the proxy would read is disabled or destroyed");
                return Ok(None);
            }
            Err(e) => {
                let call = Call {
                    what: "read the value of",
                    resource: &path,
                    permission: ops::ACCESS,
                };
                return Err(map_err(e, &call));
            }
        };
        let updated_at = match self.api.version(&version).await {
            Ok(v) => time_of(v.create_time.as_ref()),
            Err(e) => {
                tracing::debug!("no write time for {version}: {e}");
                None
            }
        };
        Ok(Some(StoredSecret {
            value: SecretString::from(String::from_utf8_lossy(&data).into_owned()),
            updated_at,
        }))
    }

    async fn write(&self, name: &str, value: &SecretString) -> StoreResult<()> {
        write_one(&self.api, self.destroy_old, name, value).await
    }

    /// The secrets are independent: written concurrently.
    async fn write_all(&self, items: &[(String, SecretString)]) -> StoreResult<()> {
        let mut tasks = tokio::task::JoinSet::new();
        for (name, value) in items {
            let (api, destroy) = (self.api.clone(), self.destroy_old);
            let (name, value) = (name.clone(), value.clone());
            tasks.spawn(async move { write_one(&api, destroy, &name, &value).await });
        }
        let mut first_error = None;
        while let Some(joined) = tasks.join_next().await {
            let result = joined.map_err(|e| StoreError::Other(e.to_string()))?;
            if let (Err(e), None) = (result, &first_error) {
                first_error = Some(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    async fn read_metadata(&self, names: &SecretNames) -> StoreResult<FamilyMetadata> {
        labels::read_metadata(&self.api, names).await
    }

    async fn write_metadata(&self, names: &SecretNames, meta: &FamilyMetadata) -> StoreResult<()> {
        // The issue date on Google's clock too (this machine's clock may be off).
        let offset = chrono::Duration::milliseconds(self.clock.offset().await);
        let meta = FamilyMetadata {
            issued_at: meta
                .issued_at
                .map(|t| t.checked_add_signed(offset).unwrap_or(t)),
            cloud_id: meta.cloud_id.clone(),
        };
        labels::write_metadata(&self.api, names, &meta).await
    }

    async fn try_lock(
        &self,
        names: &SecretNames,
        now_ms: i64,
        take_over: bool,
    ) -> StoreResult<LockAttempt> {
        let now_ms = self.clock.now_ms(now_ms).await;
        labels::try_lock(&self.api, &self.held, names, now_ms, take_over).await
    }

    async fn unlock(&self, names: &SecretNames) -> StoreResult<()> {
        labels::unlock(&self.api, &self.held, names).await
    }

    async fn renew_lock(&self, names: &SecretNames, now_ms: i64) -> StoreResult<Option<i64>> {
        let now_ms = self.clock.now_ms(now_ms).await;
        let renewed = labels::renew(&self.api, &self.held, names, now_ms).await?;
        Ok(renewed.then_some(now_ms))
    }

    async fn proxy_access_token_candidates(
        &self,
        names: &SecretNames,
    ) -> StoreResult<Vec<SecretString>> {
        proxy_reads::access_token_candidates(&self.api, names).await
    }
}
