//! How the file store describes itself: its `--store` entry, its flag, its target.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use clap::Args;
use serde::{Deserialize, Serialize};

use super::FileStore;
use crate::error::Result;
use crate::store::registry::StoreKind;
use crate::store::target::{Flags, TargetSpec};
use crate::store::{SecretStore, StoreTarget, names};

pub static KIND: StoreKind = StoreKind {
    name: "file",
    label: "a local file (to try the tool, or for a proxy run locally)",
    help: "A local JSON file (mode 0600)",
    cloud: None,
    target: |options| StoreTarget::File(options.file.target()),
};

/// Where the file store is when `--file` is not given.
pub const DEFAULT_SECRETS_FILE: &str = "./psoxy-jira-cloud.secrets.json";

/// The file store's flag.
#[derive(Debug, Clone, Args)]
pub struct FileArgs {
    /// The file store's path [default: ./psoxy-<connector>.secrets.json].
    #[arg(long, help_heading = "Secret store", value_name = "PATH")]
    pub file: Option<PathBuf>,
    /// The file store's path when `--file` is not given: the connector's own, set once the
    /// connector is known.
    #[arg(skip = DEFAULT_SECRETS_FILE.to_string())]
    pub default_file: String,
}

impl FileArgs {
    /// `--file`, else the connector's default.
    pub fn path(&self) -> PathBuf {
        self.file
            .clone()
            .unwrap_or_else(|| PathBuf::from(&self.default_file))
    }

    /// The path made absolute, so a later run may start elsewhere.
    pub fn target(&self) -> FileTarget {
        let file = self.path();
        FileTarget {
            path: std::path::absolute(&file).unwrap_or(file),
        }
    }
}

/// A local JSON file; the path is absolute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileTarget {
    pub path: PathBuf,
}

#[async_trait]
impl TargetSpec for FileTarget {
    fn kind(&self) -> &'static StoreKind {
        &KIND
    }

    async fn open(&self) -> Result<Arc<dyn SecretStore>> {
        Ok(Arc::new(FileStore::new(self.path.clone())))
    }

    /// As an SSM deployment without a root path.
    fn derived_prefix(&self, environment_name: &str, segment: &str) -> String {
        names::aws_prefix("", environment_name, segment)
    }

    fn default_prefix(&self, segment: &str) -> String {
        names::default_prefix(segment)
    }

    fn flags(&self, flags: &mut Flags) {
        flags.value("--file", self.path.to_str());
    }

    fn place(&self) -> String {
        self.path.display().to_string()
    }
}
