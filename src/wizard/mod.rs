//! The wizard's commands, each a short sequence of named steps over a few seams: the prompter,
//! the browser and callback, the Atlassian client and the secret store.

pub mod after_store;
pub mod authorize;
pub mod check;
pub mod commands;
pub mod credentials;
pub mod deployment;
pub mod fleet;
pub mod handover;
pub mod init;
pub mod push;
pub mod refresh_lock;
pub mod renew;
pub mod report;
pub mod save;
pub mod site;
pub mod status;
pub mod status_metrics;
pub mod status_table;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use crate::browser::Browser;
use crate::interrupt::Guard;
use crate::secret::SecretString;
use crate::ui::{Prompter, StdinLines, Ui};

/// Everything a step may touch besides its arguments (the GitHub CLI "options" pattern): tests and
/// the demo swap in other implementations.
pub struct Context {
    pub ui: Ui,
    pub prompter: Arc<dyn Prompter>,
    pub browser: Arc<dyn Browser>,
    pub http: reqwest::Client,
    pub stdin: StdinLines,
    pub interactive: bool,
    /// The client secret from `JIRA_CLIENT_SECRET` (or the demo), read once by `commands`.
    pub env_client_secret: Option<SecretString>,
    /// This run's store, recorded in a recovery file and named by the `push` command it prints.
    pub store_target: Option<crate::store::StoreTarget>,
    /// The Psoxy connector this run sets up (`--connector`, remembered, or asked in step 1).
    pub connector: &'static crate::connector::Connector,
    pub guard: Guard,
}
