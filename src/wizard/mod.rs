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
pub mod status_command;
pub mod status_metrics;
pub mod status_table;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use std::io::IsTerminal;

use crate::browser::{Browser, NoBrowser, SystemBrowser};
use crate::http;
use crate::interrupt::Guard;
use crate::secret::SecretString;
use crate::ui::{Prompter, ScriptedPrompter, StdinLines, TerminalPrompter, Ui};

/// Everything a step may touch besides its arguments (the GitHub CLI "options" pattern): tests and
/// the demo swap in other implementations.
pub struct Context {
    pub ui: Ui,
    pub prompter: Arc<dyn Prompter>,
    pub browser: Arc<dyn Browser>,
    pub http: reqwest::Client,
    pub stdin: StdinLines,
    pub interactive: bool,
    /// The client secret given before the run: `JIRA_CLIENT_SECRET` (read once by `commands`), or
    /// the demo app's. `--client-secret-stdin` is read when the credentials are asked for.
    pub given_client_secret: Option<SecretString>,
    /// This run's store, recorded in a recovery file and named by the `push` command it prints.
    pub store_target: Option<crate::store::StoreTarget>,
    /// The Psoxy connector this run sets up (`--connector`, remembered, or asked in step 1).
    pub connector: &'static crate::connector::Connector,
    pub guard: Guard,
}

impl Context {
    /// The real seams: a terminal prompter (or a scripted one), the system browser, stdin.
    pub fn real(
        non_interactive: bool,
        no_browser: bool,
        given_client_secret: Option<SecretString>,
        guard: Guard,
    ) -> Context {
        let interactive =
            !non_interactive && std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
        let stdin = StdinLines::real();
        let prompter: Arc<dyn Prompter> = if interactive && crate::ui::dumb_terminal() {
            Arc::new(crate::plain_prompt::PlainPrompter {
                stdin: stdin.clone(),
            })
        } else if interactive {
            Arc::new(TerminalPrompter)
        } else {
            Arc::new(ScriptedPrompter {
                stdin: stdin.clone(),
            })
        };
        let browser: Arc<dyn Browser> = if no_browser {
            Arc::new(NoBrowser)
        } else {
            Arc::new(SystemBrowser)
        };
        Context {
            ui: Ui::new(false),
            prompter,
            browser,
            http: http::client(),
            stdin,
            interactive,
            given_client_secret,
            store_target: None,
            connector: crate::connector::default(),
            guard,
        }
    }
}
