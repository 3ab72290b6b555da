//! The fake's state and the documented behaviour of each Secret Manager method it serves
//! (https://cloud.google.com/secret-manager/docs/reference/rest): permissions checked before
//! existence, etags on secrets and versions, `latest` = the most recently created version,
//! access to a non-ENABLED version refused with FAILED_PRECONDITION, label syntax enforced.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use chrono::{DateTime, Utc};

pub type Labels = BTreeMap<String, String>;

/// A Google API error: `{"error":{"code":..,"message":..,"status":..}}`.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub http: u16,
    pub status: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(http: u16, status: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            http,
            status,
            message: message.into(),
        }
    }
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(400, "INVALID_ARGUMENT", message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(404, "NOT_FOUND", message)
    }
    pub fn precondition(message: impl Into<String>) -> Self {
        Self::new(400, "FAILED_PRECONDITION", message)
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VState {
    Enabled = 1,
    Disabled = 2,
    Destroyed = 3,
}

impl VState {
    pub fn name(self) -> &'static str {
        match self {
            VState::Enabled => "ENABLED",
            VState::Disabled => "DISABLED",
            VState::Destroyed => "DESTROYED",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Version {
    pub number: u64,
    pub created: DateTime<Utc>,
    pub destroyed: Option<DateTime<Utc>>,
    pub state: VState,
    pub data: Option<Vec<u8>>,
    pub client_checksum: bool,
    pub etag: String,
}

#[derive(Debug, Clone)]
pub struct Secret {
    pub id: String,
    pub created: DateTime<Utc>,
    pub labels: Labels,
    pub replication: serde_json::Value,
    pub etag: String,
    pub versions: Vec<Version>,
}

type PatchHook = Box<dyn FnOnce(&mut Labels) + Send>;

/// How a stale etag is answered: Secret Manager's FAILED_PRECONDITION, or AIP-154's ABORTED.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EtagAnswer {
    FailedPrecondition,
    Aborted,
}

pub struct State {
    pub project_id: String,
    pub project_number: String,
    pub secrets: BTreeMap<String, Secret>,
    /// `None`: every permission is granted.
    pub granted: Option<BTreeSet<String>>,
    pub etag_answer: EtagAnswer,
    pub page_cap: usize,
    /// Answer the next requests with these errors (UNAVAILABLE, say) before serving any.
    pub faults: VecDeque<ApiError>,
    /// Hold the next requests this long before answering (a slow or hung front end).
    pub delays: VecDeque<std::time::Duration>,
    /// Runs just before the next PATCH of a secret is served: a concurrent writer.
    pub before_patch: BTreeMap<String, VecDeque<PatchHook>>,
    pub requests: Vec<super::LoggedRequest>,
    etag_counter: u64,
}

pub const MAX_PAYLOAD: usize = 64 * 1024;

impl State {
    pub fn new(project_id: &str, project_number: &str, page_cap: usize) -> Self {
        State {
            project_id: project_id.into(),
            project_number: project_number.into(),
            secrets: BTreeMap::new(),
            granted: None,
            etag_answer: EtagAnswer::FailedPrecondition,
            page_cap,
            faults: VecDeque::new(),
            delays: VecDeque::new(),
            before_patch: BTreeMap::new(),
            requests: Vec::new(),
            etag_counter: 0,
        }
    }

    pub fn next_etag(&mut self) -> String {
        self.etag_counter += 1;
        format!(
            "\"{:014x}\"",
            0x5ec7_0000_0000u64 + self.etag_counter * 7919
        )
    }

    pub fn secret_name(&self, id: &str) -> String {
        format!("projects/{}/secrets/{id}", self.project_number)
    }

    /// The path's project must be this one, by id or number.
    pub fn check_project(&self, project: &str) -> ApiResult<()> {
        if project == self.project_id || project == self.project_number {
            Ok(())
        } else {
            Err(ApiError::new(
                403,
                "PERMISSION_DENIED",
                format!("Permission denied on resource project {project}."),
            ))
        }
    }

    pub fn require(&self, permission: &str, resource: &str) -> ApiResult<()> {
        match &self.granted {
            Some(set) if !set.contains(permission) => Err(ApiError::new(
                403,
                "PERMISSION_DENIED",
                format!(
                    "Permission '{permission}' denied for resource '{resource}' (or it may not exist)."
                ),
            )),
            _ => Ok(()),
        }
    }

    pub fn secret(&self, id: &str) -> ApiResult<&Secret> {
        self.secrets.get(id).ok_or_else(|| {
            ApiError::not_found(format!("Secret [{}] not found.", self.secret_name(id)))
        })
    }

    pub fn secret_mut(&mut self, id: &str) -> ApiResult<&mut Secret> {
        let name = self.secret_name(id);
        self.secrets
            .get_mut(id)
            .ok_or_else(|| ApiError::not_found(format!("Secret [{name}] not found.")))
    }

    pub fn etag_mismatch(&self, what: &str) -> ApiError {
        let message =
            format!("The etag provided in the request does not match the current etag of {what}.");
        match self.etag_answer {
            EtagAnswer::FailedPrecondition => ApiError::precondition(message),
            EtagAnswer::Aborted => ApiError::new(409, "ABORTED", message),
        }
    }

    pub fn create(
        &mut self,
        id: &str,
        labels: Labels,
        replication: serde_json::Value,
    ) -> ApiResult<&Secret> {
        if id.is_empty()
            || id.len() > 255
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(ApiError::invalid(format!("Invalid secret id {id:?}.")));
        }
        let has_policy = replication
            .as_object()
            .is_some_and(|o| o.contains_key("automatic") || o.contains_key("userManaged"));
        if !has_policy {
            return Err(ApiError::invalid("Secret.replication is required."));
        }
        check_labels(&labels)?;
        if self.secrets.contains_key(id) {
            return Err(ApiError::new(
                409,
                "ALREADY_EXISTS",
                format!("Secret [{}] already exists.", self.secret_name(id)),
            ));
        }
        let etag = self.next_etag();
        let secret = Secret {
            id: id.into(),
            created: Utc::now(),
            labels,
            replication,
            etag,
            versions: Vec::new(),
        };
        Ok(self.secrets.entry(id.into()).or_insert(secret))
    }

    /// PATCH with `updateMask=labels`: replaces the labels when the etag (if sent) is current.
    pub fn patch_labels(&mut self, id: &str, etag: &str, labels: Labels) -> ApiResult<&Secret> {
        check_labels(&labels)?;
        if let Some(hook) = self.before_patch.get_mut(id).and_then(VecDeque::pop_front) {
            let new_etag = self.next_etag();
            let secret = self.secret_mut(id)?;
            hook(&mut secret.labels);
            secret.etag = new_etag;
        }
        let current = self.secret(id)?.etag.clone();
        if !etag.is_empty() && etag != current {
            return Err(self.etag_mismatch("the secret"));
        }
        let new_etag = self.next_etag();
        let secret = self.secret_mut(id)?;
        secret.labels = labels;
        secret.etag = new_etag;
        Ok(secret)
    }

    pub fn add_version(&mut self, id: &str, data: Vec<u8>, checksum: bool) -> ApiResult<&Version> {
        if data.len() > MAX_PAYLOAD {
            return Err(ApiError::invalid("Secret payload exceeds 65536 bytes."));
        }
        let etag = self.next_etag();
        let secret = self.secret_mut(id)?;
        let number = secret.versions.iter().map(|v| v.number).max().unwrap_or(0) + 1;
        secret.versions.push(Version {
            number,
            created: Utc::now(),
            destroyed: None,
            state: VState::Enabled,
            data: Some(data),
            client_checksum: checksum,
            etag,
        });
        Ok(secret.versions.last().expect("just pushed"))
    }

    /// A version by number or the `latest` alias (the most recently created, in any state).
    pub fn version_index(&self, id: &str, version: &str) -> ApiResult<usize> {
        let secret = self.secret(id)?;
        let missing = || {
            ApiError::not_found(format!(
                "Secret Version [{}/versions/{version}] not found.",
                self.secret_name(id)
            ))
        };
        let index = if version == "latest" {
            (0..secret.versions.len()).max_by_key(|&i| secret.versions[i].number)
        } else {
            let n: u64 = version.parse().map_err(|_| {
                ApiError::not_found(format!("Secret Version alias [{version}] not found."))
            })?;
            secret.versions.iter().position(|v| v.number == n)
        };
        index.ok_or_else(missing)
    }

    /// disable / enable / destroy, with the optional version etag.
    pub fn transition(
        &mut self,
        id: &str,
        version: &str,
        to: VState,
        etag: &str,
    ) -> ApiResult<Version> {
        let i = self.version_index(id, version)?;
        let name = format!(
            "{}/versions/{}",
            self.secret_name(id),
            self.secret(id)?.versions[i].number
        );
        let current = &self.secret(id)?.versions[i];
        if !etag.is_empty() && etag != current.etag {
            return Err(self.etag_mismatch("the secret version"));
        }
        if current.state == VState::Destroyed {
            return Err(ApiError::precondition(format!(
                "Secret Version [{name}] is in DESTROYED state."
            )));
        }
        let new_etag = self.next_etag();
        let v = &mut self.secret_mut(id)?.versions[i];
        v.state = to;
        v.etag = new_etag;
        if to == VState::Destroyed {
            v.data = None;
            v.destroyed = Some(Utc::now());
        }
        Ok(v.clone())
    }
}

/// Label keys: 1-63 characters, a lower-case letter first, then `a-z 0-9 _ -`; values: 0-63 of
/// `a-z 0-9 _ -`; at most 64 labels.
pub fn check_labels(labels: &Labels) -> ApiResult<()> {
    let ok = |s: &str| {
        s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
    };
    if labels.len() > 64 {
        return Err(ApiError::invalid("A secret may have at most 64 labels."));
    }
    for (k, v) in labels {
        let first = k.chars().next();
        if k.len() > 63 || !first.is_some_and(|c| c.is_ascii_lowercase()) || !ok(k) {
            return Err(ApiError::invalid(format!("Invalid label key {k:?}.")));
        }
        if v.len() > 63 || !ok(v) {
            return Err(ApiError::invalid(format!(
                "Invalid value {v:?} for label {k:?}."
            )));
        }
    }
    Ok(())
}

/// CRC32C (Castagnoli), written independently of the store's.
pub fn crc32c(data: &[u8]) -> u32 {
    let table: Vec<u32> = (0..256u32)
        .map(|i| {
            (0..8).fold(i, |c, _| {
                if c & 1 == 1 {
                    (c >> 1) ^ 0x82F6_3B78
                } else {
                    c >> 1
                }
            })
        })
        .collect();
    !data.iter().fold(!0u32, |c, &b| {
        table[((c ^ u32::from(b)) & 0xff) as usize] ^ (c >> 8)
    })
}
