//! Secret Manager calls as the store needs them: errors mapped to `StoreError` (naming the
//! permission a call needs), labels changed read-modify-write with the secret's etag, versions
//! added with a CRC32C checksum and read back verified.

use std::collections::HashMap;

use google_cloud_gax::error::rpc::Code;
use google_cloud_secretmanager_v1::Error as GcpError;
use google_cloud_secretmanager_v1::client::SecretManagerService;
use google_cloud_secretmanager_v1::model::{Secret, SecretPayload, SecretVersion, secret_version};

use super::{StoreError, StoreResult};
use crate::sanitize::remote_text;

pub const ADD: &str = "secretmanager.versions.add";
pub const UPDATE: &str = "secretmanager.secrets.update";
pub const GET: &str = "secretmanager.secrets.get";
pub const LIST: &str = "secretmanager.secrets.list";
pub const CREATE: &str = "secretmanager.secrets.create";
pub const ACCESS: &str = "secretmanager.versions.access";
pub const VERSION_GET: &str = "secretmanager.versions.get";
pub const VERSION_LIST: &str = "secretmanager.versions.list";
pub const DISABLE: &str = "secretmanager.versions.disable";
pub const DESTROY: &str = "secretmanager.versions.destroy";

/// The label the proxy reads to pick a version (psoxy-contract §3).
pub const LATEST_VERSION: &str = "latest-version";

/// One call, for error messages: what was done to which resource, needing which permission.
pub struct Call<'a> {
    pub what: &'a str,
    pub resource: &'a str,
    pub permission: &'a str,
}

/// Every page of a list call: `page(token)` fetches one page as (its items, the next page's
/// token, empty on the last).
pub async fn all_pages<T, F, Fut>(call: &Call<'_>, mut page: F) -> StoreResult<Vec<T>>
where
    F: FnMut(String) -> Fut,
    Fut: std::future::Future<Output = Result<(Vec<T>, String), GcpError>>,
{
    let mut out = Vec::new();
    let mut token = String::new();
    loop {
        let (items, next) = page(token).await.map_err(|e| map_err(e, call))?;
        out.extend(items);
        if next.is_empty() {
            return Ok(out);
        }
        token = next;
    }
}

pub fn code(e: &GcpError) -> Option<Code> {
    e.status().map(|s| s.code)
}

/// Maps a client error to the store's vocabulary. NOT_FOUND, ABORTED and FAILED_PRECONDITION are
/// usually handled by the caller before this, where they mean something specific.
pub fn map_err(e: GcpError, call: &Call) -> StoreError {
    let Call {
        what,
        resource,
        permission,
    } = call;
    let detail = e
        .status()
        .map(|s| remote_text(&s.message))
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| remote_text(&e.to_string()));
    if e.is_authentication() {
        return StoreError::Credentials(format!(
            "could not get Google credentials to {what} {resource} ({e}): run `gcloud auth application-default login` or set GOOGLE_APPLICATION_CREDENTIALS"
        ));
    }
    let transient = || {
        StoreError::Unavailable(format!(
            "Secret Manager is unavailable ({detail}) while trying to {what} {resource}: try again later"
        ))
    };
    match code(&e) {
        Some(Code::PermissionDenied) => StoreError::PermissionDenied(format!(
            "permission {permission} denied on {resource} (could not {what}: {detail}): grant it to the account running this tool, e.g. with roles/secretmanager.admin on the secret or project"
        )),
        Some(Code::Unauthenticated) => StoreError::Credentials(format!(
            "Google rejected the credentials while trying to {what} {resource} ({detail}): run `gcloud auth application-default login` or check GOOGLE_APPLICATION_CREDENTIALS"
        )),
        Some(Code::Aborted) => StoreError::Conflict(format!(
            "{resource} was changed by someone else while trying to {what} ({detail}): run again"
        )),
        Some(
            Code::Unavailable | Code::DeadlineExceeded | Code::Internal | Code::ResourceExhausted,
        ) => transient(),
        _ if e.is_timeout() || e.is_io() || e.is_connect() || e.is_transport() => transient(),
        _ if e.is_exhausted() => transient(),
        _ if e
            .http_status_code()
            .is_some_and(|c| c == 429 || (500..600).contains(&c)) =>
        {
            transient()
        }
        _ => StoreError::Other(format!("could not {what} {resource}: {detail}")),
    }
}

/// A client bound to one project.
#[derive(Clone, Debug)]
pub struct Api {
    pub client: SecretManagerService,
    pub project: String,
}

impl Api {
    pub fn secret_path(&self, id: &str) -> String {
        format!("projects/{}/secrets/{id}", self.project)
    }

    /// `None` when the secret does not exist.
    pub async fn get(&self, id: &str) -> StoreResult<Option<Secret>> {
        let name = self.secret_path(id);
        match self.client.get_secret().set_name(&name).send().await {
            Ok(s) => Ok(Some(s)),
            Err(e) if code(&e) == Some(Code::NotFound) => Ok(None),
            Err(e) => Err(map_err(
                e,
                &Call {
                    what: "read",
                    resource: &name,
                    permission: GET,
                },
            )),
        }
    }

    pub async fn get_existing(&self, id: &str) -> StoreResult<Secret> {
        self.get(id).await?.ok_or_else(|| {
            StoreError::Other(format!(
                "the secret {id} does not exist in project {}: apply Psoxy's Terraform, or run again with --create-missing",
                self.project
            ))
        })
    }

    /// Read-modify-write of a secret's labels, sending the etag read so that a concurrent change
    /// fails instead of being overwritten. `change` returns `Ok(false)` when nothing needs
    /// writing. On an etag mismatch the secret is read again and `change` re-applied to the fresh
    /// labels, once: a second mismatch means a busy writer and is returned as `Conflict`.
    pub async fn update_labels(
        &self,
        id: &str,
        mut change: impl FnMut(&mut HashMap<String, String>) -> StoreResult<bool>,
    ) -> StoreResult<Secret> {
        let mut secret = self.get_existing(id).await?;
        for attempt in 0..2 {
            let mut labels = secret.labels.clone();
            if !change(&mut labels)? {
                return Ok(secret);
            }
            match self.patch_labels(&secret, labels).await {
                Ok(updated) => return Ok(updated),
                Err(StoreError::Conflict(msg)) if attempt == 0 => {
                    tracing::info!(
                        secret = id,
                        "labels changed concurrently ({msg}); re-reading"
                    );
                    secret = self.get_existing(id).await?;
                }
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Conflict(format!(
            "the labels of {id} keep changing under us: another writer is busy, run again later"
        )))
    }

    /// One PATCH of the labels with the etag of `current`; an etag mismatch is `Conflict`.
    pub async fn patch_labels(
        &self,
        current: &Secret,
        labels: HashMap<String, String>,
    ) -> StoreResult<Secret> {
        let body = Secret::new()
            .set_name(current.name.clone())
            .set_etag(current.etag.clone())
            .set_labels(labels);
        let mask = google_cloud_wkt::FieldMask::default().set_paths(["labels"]);
        let result = self
            .client
            .update_secret()
            .set_secret(body)
            .set_update_mask(mask)
            .send()
            .await;
        match result {
            Ok(s) => Ok(s),
            // Secret Manager answers a stale etag with FAILED_PRECONDITION (AIP-154 now says
            // ABORTED); for a labels-only update with an etag either means "changed since read".
            Err(e) if matches!(code(&e), Some(Code::FailedPrecondition | Code::Aborted)) => {
                Err(StoreError::Conflict(format!(
                    "{} changed since it was read ({})",
                    current.name,
                    e.status()
                        .map(|s| remote_text(&s.message))
                        .unwrap_or_else(|| "etag mismatch".into())
                )))
            }
            Err(e) => Err(map_err(
                e,
                &Call {
                    what: "update the labels of",
                    resource: &current.name,
                    permission: UPDATE,
                },
            )),
        }
    }

    pub async fn add_version(&self, id: &str, data: &[u8]) -> StoreResult<SecretVersion> {
        let parent = self.secret_path(id);
        let payload = SecretPayload::new()
            .set_data(data.to_vec())
            .set_data_crc32c(i64::from(crc32c(data)));
        self.client
            .add_secret_version()
            .set_parent(&parent)
            .set_payload(payload)
            .send()
            .await
            .map_err(|e| match code(&e) {
                Some(Code::NotFound) => StoreError::Other(format!(
                    "the secret {id} does not exist in project {}: apply Psoxy's Terraform, or run again with --create-missing",
                    self.project
                )),
                _ => map_err(
                    e,
                    &Call {
                        what: "add a version to",
                        resource: &parent,
                        permission: ADD,
                    },
                ),
            })
    }

    /// The payload of a version (a number or `latest`) and the version's resolved name. Errors are
    /// returned raw: NOT_FOUND and FAILED_PRECONDITION mean different things to different callers.
    pub async fn access(&self, id: &str, version: &str) -> Result<(String, Vec<u8>), GcpError> {
        let name = format!("{}/versions/{version}", self.secret_path(id));
        let resp = self
            .client
            .access_secret_version()
            .set_name(&name)
            .send()
            .await?;
        let payload = resp.payload.unwrap_or_default();
        let data = payload.data.to_vec();
        if let Some(sum) = payload.data_crc32c
            && sum != i64::from(crc32c(&data))
        {
            return Err(GcpError::deser(format!(
                "the checksum of {} does not match its data",
                resp.name
            )));
        }
        Ok((resp.name, data))
    }

    pub async fn version(&self, name: &str) -> StoreResult<SecretVersion> {
        self.client
            .get_secret_version()
            .set_name(name)
            .send()
            .await
            .map_err(|e| {
                map_err(
                    e,
                    &Call {
                        what: "read",
                        resource: name,
                        permission: VERSION_GET,
                    },
                )
            })
    }

    /// Every ENABLED version of a secret, all pages.
    pub async fn enabled_versions(&self, id: &str) -> StoreResult<Vec<SecretVersion>> {
        let parent = self.secret_path(id);
        let call = Call {
            what: "list the versions of",
            resource: &parent,
            permission: VERSION_LIST,
        };
        let (client, parent) = (&self.client, parent.as_str());
        let versions = all_pages(&call, |token| async move {
            let page = client
                .list_secret_versions()
                .set_parent(parent)
                .set_filter("state:ENABLED")
                .set_page_size(100)
                .set_page_token(token)
                .send()
                .await?;
            Ok((page.versions, page.next_page_token))
        })
        .await?;
        Ok(versions
            .into_iter()
            .filter(|v| v.state == secret_version::State::Enabled)
            .collect())
    }

    /// Disables (reversible) or destroys one version.
    pub async fn retire(&self, version: &SecretVersion, destroy: bool) -> StoreResult<()> {
        let name = version.name.as_str();
        let result = if destroy {
            self.client
                .destroy_secret_version()
                .set_name(name)
                .set_etag(&version.etag)
                .send()
                .await
        } else {
            self.client
                .disable_secret_version()
                .set_name(name)
                .set_etag(&version.etag)
                .send()
                .await
        };
        match result {
            Ok(_) => Ok(()),
            // Already retired by someone else (the proxy itself, say): nothing left to do.
            Err(e) if matches!(code(&e), Some(Code::FailedPrecondition | Code::Aborted)) => Ok(()),
            Err(e) => Err(map_err(
                e,
                &Call {
                    what: if destroy { "destroy" } else { "disable" },
                    resource: name,
                    permission: if destroy { DESTROY } else { DISABLE },
                },
            )),
        }
    }

    /// The subset of `permissions` the caller holds on a secret.
    pub async fn granted(&self, id: &str, permissions: &[&str]) -> StoreResult<Vec<String>> {
        let resource = self.secret_path(id);
        let resp = self
            .client
            .test_iam_permissions()
            .set_resource(&resource)
            .set_permissions(permissions.iter().copied())
            .send()
            .await
            .map_err(|e| {
                map_err(
                    e,
                    &Call {
                        what: "test permissions on",
                        resource: &resource,
                        permission: "(none needed: testIamPermissions)",
                    },
                )
            })?;
        Ok(resp.permissions)
    }
}

/// The version number at the end of `projects/*/secrets/*/versions/N`.
pub fn version_number(name: &str) -> Option<u64> {
    name.rsplit('/').next()?.parse().ok()
}

/// The secret id at the end of `projects/*/secrets/ID`.
pub fn secret_id(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}

/// CRC32C (Castagnoli), as Secret Manager checks `dataCrc32c`.
pub fn crc32c(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0x82F6_3B78
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_check_value() {
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(crc32c(b""), 0);
    }

    #[test]
    fn names() {
        assert_eq!(version_number("projects/1/secrets/a/versions/12"), Some(12));
        assert_eq!(version_number("projects/1/secrets/a/versions/latest"), None);
        assert_eq!(secret_id("projects/1/secrets/a_B"), "a_B");
    }
}
