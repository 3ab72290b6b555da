//! Where the proxy's secrets live. `SecretStore` is the seam: the file, AWS SSM, AWS Secrets
//! Manager and GCP Secret Manager stores each implement it in their own file; the wizard only
//! sees this trait, and `StoreTarget` names which one to open.

pub mod file;
mod file_doc;
pub mod gcp;
pub mod lock;
mod name_cache;
pub mod names;
pub mod secrets_manager;
pub mod ssm;
pub mod target;
pub mod terraform;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::secret::SecretString;
pub use names::{SecretKey, SecretNames};
pub use target::StoreTarget;

/// The value Terraform gives every parameter/secret it pre-creates.
pub const PLACEHOLDER: &str = "fill me";

/// A value Terraform created and nobody filled in: the placeholder, or empty.
pub fn is_placeholder(value: &str) -> bool {
    let value = value.trim();
    value.is_empty() || value == PLACEHOLDER
}

/// A secret as read back from a store.
pub struct StoredSecret {
    pub value: SecretString,
    /// When the current value was written, where the store records it.
    pub updated_at: Option<DateTime<Utc>>,
}

/// Facts about the token family that later runs (`renew`, `status`) need; stored as store
/// metadata (tags, labels), never as secret values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FamilyMetadata {
    /// When the current refresh-token family was first issued (Atlassian's 365-day clock).
    pub issued_at: Option<DateTime<Utc>>,
    /// The Atlassian site (cloud id) the family was authorized for.
    pub cloud_id: Option<String>,
}

/// Outcome of one attempt at the proxy's refresh lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockAttempt {
    Acquired,
    /// Somebody (normally the running proxy) holds it since this epoch-millis time.
    HeldSince(i64),
}

/// What `preflight` found out before any authorization was requested.
#[derive(Debug, Default)]
pub struct Preflight {
    /// Secret names that do not exist yet in the store.
    pub missing: Vec<String>,
    /// Permissions that could not be checked without changing the store, for the operator.
    pub unchecked: Vec<String>,
    /// What the operator should know but that does not stop the run (a file others can read).
    pub warnings: Vec<String>,
    /// Existing values the proxy reads instead of what this tool writes (psoxy-contract §8 item
    /// 6), each with where it is.
    pub shadowing: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No usable credentials, region or project.
    #[error("{0}")]
    Credentials(String),
    /// The caller lacks a permission; the message names it.
    #[error("{0}")]
    PermissionDenied(String),
    /// A concurrent writer changed the secret (etag mismatch).
    #[error("{0}")]
    Conflict(String),
    /// A transient failure (throttling, 5xx, connection): worth retrying.
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Other(String),
}

impl StoreError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }
}

impl From<StoreError> for crate::error::Error {
    fn from(e: StoreError) -> Self {
        crate::error::Error::Store(e.to_string())
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

#[async_trait]
pub trait SecretStore: Send + Sync {
    /// Where the secrets go, for people: "file ./x.json", "AWS SSM (us-east-1)".
    fn describe(&self) -> String;

    /// Prefixes of existing deployments of any connector: names ending in `<segment>REFRESH_TOKEN`
    /// (`JIRA_CLOUD_REFRESH_TOKEN`); the wizard keeps the chosen connector's.
    async fn discover_prefixes(&self) -> StoreResult<Vec<String>>;

    /// Checks, before any authorization is requested, that the secrets can be written.
    async fn preflight(&self, names: &SecretNames) -> StoreResult<Preflight>;

    /// Creates secrets that Terraform would normally have created (after the operator agreed).
    async fn create_missing(&self, names: &[String]) -> StoreResult<()>;

    /// The Terraform resource that normally owns these secrets (none for the file store).
    fn terraform_owned(&self) -> Option<terraform::Owned> {
        None
    }

    async fn read(&self, name: &str) -> StoreResult<Option<StoredSecret>>;

    /// Reads several secrets, in order; stores with a batch read override this.
    async fn read_all(&self, names: &[String]) -> StoreResult<Vec<Option<StoredSecret>>> {
        let mut out = Vec::with_capacity(names.len());
        for name in names {
            out.push(self.read(name).await?);
        }
        Ok(out)
    }

    async fn write(&self, name: &str, value: &SecretString) -> StoreResult<()>;

    /// Writes several secrets; stores that can do it concurrently override this.
    async fn write_all(&self, items: &[(String, SecretString)]) -> StoreResult<()> {
        for (name, value) in items {
            self.write(name, value).await?;
        }
        Ok(())
    }

    async fn read_metadata(&self, names: &SecretNames) -> StoreResult<FamilyMetadata>;

    async fn write_metadata(&self, names: &SecretNames, meta: &FamilyMetadata) -> StoreResult<()>;

    /// One attempt at the proxy's refresh lock (`take_over` replaces a lock held by another).
    async fn try_lock(
        &self,
        names: &SecretNames,
        now_ms: i64,
        take_over: bool,
    ) -> StoreResult<LockAttempt>;

    async fn unlock(&self, names: &SecretNames) -> StoreResult<()>;

    /// Starts the lease of the refresh lock this store holds over, so that a proxy does not
    /// judge it stale (psoxy-contract §8 item 7): the lock's new time, or `None` when the lock
    /// is no longer ours.
    async fn renew_lock(&self, names: &SecretNames, now_ms: i64) -> StoreResult<Option<i64>> {
        let _ = (names, now_ms);
        Err(StoreError::Other(format!(
            "{} cannot renew the refresh lock",
            self.describe()
        )))
    }

    /// The stored ACCESS_TOKEN values a running proxy considers when it looks for a token to
    /// reuse, read as the proxy reads this store, newest version first (psoxy-contract §8 item
    /// 4). By default the current value: a store with one version.
    async fn proxy_access_token_candidates(
        &self,
        names: &SecretNames,
    ) -> StoreResult<Vec<SecretString>> {
        use crate::secret::ExposeSecret;
        let current = self.read(&names.name(SecretKey::AccessToken)).await?;
        Ok(current
            .map(|s| s.value)
            .filter(|v| !is_placeholder(v.expose_secret()))
            .into_iter()
            .collect())
    }

    /// Where the lock lives, for messages: the name an operator would look for in the store.
    fn lock_location(&self, names: &SecretNames) -> String {
        names.lock_name()
    }
}

/// How many stored ACCESS_TOKEN versions the proxy considers (`getAvailableVersions(ACCESS_TOKEN,
/// 5)`, psoxy-contract §8 item 4).
pub const PROXY_VERSIONS_CONSIDERED: usize = 5;

/// Retries a store call on transient failures, with backoff and jitter.
pub async fn with_retries<T, F, Fut>(
    policy: &crate::http::RetryPolicy,
    mut call: F,
) -> StoreResult<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = StoreResult<T>>,
{
    let mut attempt: u32 = 0;
    loop {
        attempt = attempt.saturating_add(1);
        match call().await {
            Err(e) if e.is_retryable() && attempt < policy.attempts => {
                tracing::info!(error = %e, attempt, "store call failed, retrying");
                tokio::time::sleep(policy.delay(attempt)).await;
            }
            other => return other,
        }
    }
}
