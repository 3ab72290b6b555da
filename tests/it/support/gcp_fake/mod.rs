//! A stateful fake of Google Cloud Secret Manager's REST API (v1), serving the subset the
//! `google-cloud-secretmanager-v1` client uses: secrets (create, get, list, patch labels with
//! etags), versions (add, access, get, list, disable, enable, destroy, `latest`),
//! testIamPermissions, Google's JSON errors. On 127.0.0.1 only, for anonymous clients.
//! Tests seed it, inject faults and concurrent writers, and inspect it through `GcpFake`.
#![allow(dead_code)]

pub mod routes;
pub mod state;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::{Arc, Mutex};

pub use state::{ApiError, EtagAnswer, Labels, VState};

/// One request as the fake saw it (path percent-decoded).
#[derive(Debug, Clone)]
pub struct LoggedRequest {
    pub method: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    /// Whether an Authorization header came along (anonymous clients send none).
    pub authorization: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionView {
    pub number: u64,
    pub state: &'static str,
    pub value: Option<String>,
}

#[derive(Debug, Clone)]
pub struct SecretView {
    pub labels: Labels,
    pub etag: String,
    /// As created (`{"automatic": {}}` or `{"userManaged": {"replicas": [...]}}`).
    pub replication: serde_json::Value,
    /// Oldest first.
    pub versions: Vec<VersionView>,
}

impl SecretView {
    pub fn label(&self, k: &str) -> Option<&str> {
        self.labels.get(k).map(String::as_str)
    }
    pub fn states(&self) -> Vec<(u64, &'static str)> {
        self.versions.iter().map(|v| (v.number, v.state)).collect()
    }
    /// The value the proxy would read: the `latest-version` label's version, else `latest`.
    pub fn proxy_value(&self) -> Option<String> {
        let by_label = self
            .label("latest-version")
            .and_then(|n| n.parse::<u64>().ok())
            .and_then(|n| self.versions.iter().find(|v| v.number == n));
        let v = by_label.or_else(|| self.versions.iter().max_by_key(|v| v.number))?;
        (v.state == "ENABLED").then(|| v.value.clone()).flatten()
    }
}

pub struct GcpFake {
    pub project: String,
    pub project_number: String,
    addr: std::net::SocketAddr,
    state: routes::Shared,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for GcpFake {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// The secret suffixes Psoxy's Terraform creates for Jira Cloud, lock holder included.
pub const TERRAFORM_SUFFIXES: [&str; 5] = [
    "CLIENT_ID",
    "CLIENT_SECRET",
    "REFRESH_TOKEN",
    "ACCESS_TOKEN",
    "OAUTH_REFRESH_TOKEN",
];

impl GcpFake {
    pub async fn start(project: &str) -> GcpFake {
        Self::start_with(project, 1000).await
    }

    /// `page_cap`: the largest page served, whatever the client asks (small ones test paging).
    pub async fn start_with(project: &str, page_cap: usize) -> GcpFake {
        let number = "123456789012";
        let state = Arc::new(Mutex::new(state::State::new(project, number, page_cap)));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = routes::router(state.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        GcpFake {
            project: project.into(),
            project_number: number.into(),
            addr,
            state,
            server,
        }
    }

    /// The flags that point the binary at this fake's project.
    pub fn store_flags(&self) -> Vec<String> {
        let endpoint = self.endpoint();
        [
            "--store",
            "gcp-secret-manager",
            "--gcp-project",
            &self.project,
            "--gcp-endpoint",
            &endpoint,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn with<T>(&self, f: impl FnOnce(&mut state::State) -> T) -> T {
        f(&mut self.state.lock().unwrap())
    }

    /// The secret containers Psoxy's Terraform creates for `prefix` (no versions).
    pub fn terraform(&self, prefix: &str) {
        for s in TERRAFORM_SUFFIXES {
            self.create_secret(
                &format!("{prefix}{s}"),
                &[("terraform_managed_value", "false")],
            );
        }
    }

    pub fn create_secret(&self, id: &str, labels: &[(&str, &str)]) {
        let labels = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.with(|s| {
            s.create(id, labels, serde_json::json!({"automatic": {}}))
                .map(|_| ())
        })
        .expect("the fake creates the secret");
    }

    pub fn add_version(&self, id: &str, value: &str) -> u64 {
        self.with(|s| {
            s.add_version(id, value.as_bytes().to_vec(), false)
                .map(|v| v.number)
        })
        .expect("the secret exists")
    }

    pub fn set_label(&self, id: &str, k: &str, v: &str) {
        self.with(|s| {
            let mut labels = s.secret(id).unwrap().labels.clone();
            labels.insert(k.into(), v.into());
            s.patch_labels(id, "", labels).map(|_| ())
        })
        .expect("label set");
    }

    pub fn set_version_state(&self, id: &str, number: u64, to: VState) {
        self.with(|s| s.transition(id, &number.to_string(), to, "").map(|_| ()))
            .expect("version exists");
    }

    pub fn secret(&self, id: &str) -> Option<SecretView> {
        self.with(|s| {
            s.secrets.get(id).map(|sec| SecretView {
                labels: sec.labels.clone(),
                etag: sec.etag.clone(),
                replication: sec.replication.clone(),
                versions: sec
                    .versions
                    .iter()
                    .map(|v| VersionView {
                        number: v.number,
                        state: v.state.name(),
                        value: v
                            .data
                            .as_ref()
                            .map(|d| String::from_utf8_lossy(d).into_owned()),
                    })
                    .collect(),
            })
        })
    }

    pub fn ids(&self) -> Vec<String> {
        self.with(|s| s.secrets.keys().cloned().collect())
    }

    /// Only these permissions are granted from now on (every other call is PERMISSION_DENIED).
    pub fn grant_only(&self, permissions: &[&str]) {
        let set: BTreeSet<String> = permissions.iter().map(|p| p.to_string()).collect();
        self.with(|s| s.granted = Some(set));
    }

    /// Every permission except these.
    pub fn deny(&self, permissions: &[&str]) {
        let all = [
            "secretmanager.secrets.create",
            "secretmanager.secrets.get",
            "secretmanager.secrets.list",
            "secretmanager.secrets.update",
            "secretmanager.versions.add",
            "secretmanager.versions.access",
            "secretmanager.versions.get",
            "secretmanager.versions.list",
            "secretmanager.versions.enable",
            "secretmanager.versions.disable",
            "secretmanager.versions.destroy",
        ];
        let keep: Vec<&str> = all
            .into_iter()
            .filter(|p| !permissions.contains(p))
            .collect();
        self.grant_only(&keep);
    }

    pub fn set_etag_answer(&self, answer: EtagAnswer) {
        self.with(|s| s.etag_answer = answer);
    }

    /// The next `n` requests get 503 UNAVAILABLE.
    pub fn fail_next(&self, n: usize) {
        let e = ApiError::new(503, "UNAVAILABLE", "The service is currently unavailable.");
        self.with(|s| s.faults.extend(std::iter::repeat_n(e, n)));
    }

    /// The next `n` requests are answered only after `delay`.
    pub fn delay_next(&self, n: usize, delay: std::time::Duration) {
        self.with(|s| s.delays.extend(std::iter::repeat_n(delay, n)));
    }

    /// Another writer changes `id`'s labels just before our next PATCH of it lands.
    pub fn before_next_patch(&self, id: &str, change: impl FnOnce(&mut Labels) + Send + 'static) {
        self.with(|s| {
            s.before_patch
                .entry(id.to_string())
                .or_insert_with(VecDeque::new)
                .push_back(Box::new(change))
        });
    }

    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.with(|s| s.requests.clone())
    }

    /// Requests by "METHOD path[:verb]" counts, for asserting what a run did.
    pub fn request_counts(&self) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        for r in self.requests() {
            *out.entry(format!("{} {}", r.method, r.path)).or_insert(0) += 1;
        }
        out
    }

    pub fn clear_requests(&self) {
        self.with(|s| s.requests.clear());
    }
}
