//! How GCP Secret Manager describes itself: its `--store` entry, its flags, its target, and the
//! Terraform resource behind its secrets.

use std::sync::Arc;

use async_trait::async_trait;
use clap::Args;
use serde::{Deserialize, Serialize};

use super::{GcpReplication, GcpStore};
use crate::error::Result;
use crate::store::registry::{Cloud, StoreKind, StoreOptions, given, typed_not_env};
use crate::store::target::{Flags, TargetSpec};
use crate::store::terraform::Owned;
use crate::store::{SecretStore, StoreTarget, names};

pub static KIND: StoreKind = StoreKind {
    name: "gcp-secret-manager",
    label: "GCP Secret Manager (Psoxy deployed on GCP)",
    help: "Google Cloud Secret Manager",
    cloud: Some(Cloud::Google),
    target: |options| StoreTarget::GcpSecretManager(options.gcp.target()),
};

const HEADING: &str = "Google Cloud (--store gcp-secret-manager)";

/// GCP Secret Manager's flags.
#[derive(Debug, Clone, Args)]
pub struct GcpArgs {
    /// GCP project of the secrets [default: gcloud's].
    #[arg(
        long,
        env = "GOOGLE_CLOUD_PROJECT",
        hide_env_values = true,
        help_heading = HEADING,
        value_name = "PROJECT"
    )]
    pub gcp_project: Option<String>,
    /// Secret Manager endpoint (a plain-http loopback URL uses anonymous credentials: emulators, tests).
    #[arg(
        long,
        env = "JIRA_PSOXY_GCP_ENDPOINT",
        hide_env_values = true,
        help_heading = HEADING,
        hide_short_help = true,
        value_name = "URL"
    )]
    pub gcp_endpoint: Option<String>,
    /// Destroy, rather than disable, older secret versions after a new one is labelled.
    #[arg(long, help_heading = HEADING, hide_short_help = true)]
    pub destroy_old_versions: bool,
    /// Replication of secrets --create-missing creates: `automatic` or
    /// `user-managed:LOCATION[,LOCATION]` (Psoxy's Terraform uses user-managed replicas).
    #[arg(long, value_name = "POLICY", value_parser = GcpReplication::parse, help_heading = HEADING, hide_short_help = true)]
    pub gcp_replication: Option<GcpReplication>,
}

impl GcpArgs {
    pub fn target(&self) -> GcpTarget {
        GcpTarget {
            project: given(&self.gcp_project),
            endpoint: given(&self.gcp_endpoint),
            destroy_old_versions: self.destroy_old_versions,
            replication: self.gcp_replication.clone(),
        }
    }

    /// The flags typed on the command line (a value from the environment is not typed).
    pub fn typed(&self) -> Vec<&'static str> {
        [
            (
                typed_not_env(&self.gcp_project, "GOOGLE_CLOUD_PROJECT"),
                "--gcp-project",
            ),
            (
                typed_not_env(&self.gcp_endpoint, "JIRA_PSOXY_GCP_ENDPOINT"),
                "--gcp-endpoint",
            ),
            (self.gcp_replication.is_some(), "--gcp-replication"),
            (self.destroy_old_versions, "--destroy-old-versions"),
        ]
        .into_iter()
        .filter_map(|(typed, flag)| typed.then_some(flag))
        .collect()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GcpTarget {
    #[serde(default)]
    pub project: Option<String>,
    #[serde(default)]
    pub endpoint: Option<String>,
    /// A per-run switch: kept in a recovery file, never remembered for the next run.
    #[serde(default)]
    pub destroy_old_versions: bool,
    /// A per-run switch for `--create-missing`: never saved.
    #[serde(skip)]
    pub replication: Option<GcpReplication>,
}

#[async_trait]
impl TargetSpec for GcpTarget {
    fn kind(&self) -> &'static StoreKind {
        &KIND
    }

    async fn open(&self) -> Result<Arc<dyn SecretStore>> {
        Ok(Arc::new(GcpStore::open(self).await?))
    }

    /// psoxy-contract §3: `<env id>_<segment>`.
    fn derived_prefix(&self, environment_name: &str, segment: &str) -> String {
        names::gcp_prefix(environment_name, segment)
    }

    /// psoxy-contract §3: an empty environment name gives `psoxy_<segment>`.
    fn default_prefix(&self, segment: &str) -> String {
        names::gcp_prefix("", segment)
    }

    fn flags(&self, flags: &mut Flags) {
        flags.value("--gcp-project", self.project.as_deref());
        flags.value("--gcp-endpoint", self.endpoint.as_deref());
        flags.switch("--destroy-old-versions", self.destroy_old_versions);
    }

    /// `PROJECT`, `PROJECT/ENDPOINT` with an endpoint.
    fn place(&self) -> String {
        let project = self.project.clone().unwrap_or_else(|| "default".into());
        match &self.endpoint {
            Some(endpoint) => format!("{project}/{endpoint}"),
            None => project,
        }
    }

    fn forget_switches(&mut self) {
        self.destroy_old_versions = false;
        self.replication = None;
    }

    fn take_switches(&mut self, options: &StoreOptions) {
        self.destroy_old_versions = options.gcp.destroy_old_versions;
        self.replication = options.gcp.gcp_replication.clone();
    }
}

/// `google_secret_manager_secret`, imported as `projects/<project>/secrets/<id>`. Without a
/// `--gcp-replication` choice nothing is created: Psoxy's Terraform sets user-managed replicas,
/// and a secret's replication cannot be changed once it exists.
pub fn terraform_owned(project: &str, replication_chosen: bool) -> Owned {
    let owned = Owned::new(
        "google_secret_manager_secret",
        &format!("'projects/{project}/secrets/{{name}}'"),
    );
    if replication_chosen {
        return owned;
    }
    owned.refused(
        "creating the missing secrets needs a replication policy, which Psoxy's Terraform sets (user-managed replicas in its replica_locations): run `terraform apply` for this environment, or pass --gcp-replication user-managed:LOCATION[,LOCATION] (the same locations) or --gcp-replication automatic",
    )
}
