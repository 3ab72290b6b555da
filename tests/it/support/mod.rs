//! Drives the real binary as an operator would: the Atlassian simulator runs in the test process,
//! and the harness plays the browser (reads the authorize URL the tool prints, accepts or declines
//! consent, then either follows the redirect to the tool's loopback listener or pastes it).
#![allow(dead_code)]

use std::path::PathBuf;

use jira_psoxy_setup::sim::{SimConfig, SimSite, Simulator};
use url::Url;

pub const CLIENT_ID: &str = "sentinel-client-id-4711";
pub const CLIENT_SECRET: &str = "SENTINEL-CLIENT-SECRET-c0ffee";

mod args;
mod checks;
pub mod deadline;
pub mod gcp_fake;
pub mod hcl;
pub mod moto;
mod ports;
pub mod prom;
pub mod proxy_standin;
pub mod relay;
mod run;
pub mod sm_story;
pub mod ssm_story;
pub mod standin;
pub mod terminal;

pub use args::*;
pub use checks::*;
pub use deadline::{OutputWithin, RUN_LIMIT, http};
pub use run::{Browser, Output, once_on};

/// A loopback port for the binary's callback server; see `ports`.
pub fn free_port() -> u16 {
    ports::free_port(ports::Block::Callback)
}

/// A simulator whose app is registered with a loopback callback on a free port.
pub fn loopback_config() -> SimConfig {
    SimConfig {
        client_id: CLIENT_ID.into(),
        client_secret: CLIENT_SECRET.into(),
        redirect_uri: format!("http://127.0.0.1:{}/callback", free_port()),
        ..SimConfig::default()
    }
}

/// An app whose console has exactly Psoxy's Confluence permissions, answering as Atlassian does
/// (`read:task:confluence` granted but not listed), registered like `loopback_config`.
pub fn confluence_app() -> SimConfig {
    let app = SimConfig::confluence();
    SimConfig {
        app_scopes: app.app_scopes,
        unlisted_scopes: app.unlisted_scopes,
        app_name: app.app_name,
        ..loopback_config()
    }
}

/// An app registered without `scope` in the developer console; `missing` says how Atlassian
/// answers a request for it.
pub fn app_without(scope: &str, missing: jira_psoxy_setup::sim::MissingScope) -> SimConfig {
    let app_scopes = jira_psoxy_setup::sim::DEFAULT_SCOPES
        .iter()
        .filter(|s| **s != scope)
        .map(|s| s.to_string())
        .collect();
    SimConfig {
        app_scopes,
        missing_scope: missing,
        ..loopback_config()
    }
}

pub fn sites(n: u32) -> Vec<SimSite> {
    (1..=n).map(SimSite::numbered).collect()
}

/// One operator session: a temporary working directory, a simulator, and the binary.
pub struct Session {
    pub sim: Simulator,
    pub dir: tempfile::TempDir,
    pub redirect_uri: String,
    pub env: Vec<(String, String)>,
    /// A program (and its arguments) that starts the binary, e.g. `setpriv` to drop root's
    /// capabilities; empty: the binary is started directly.
    pub launcher: Vec<String>,
}

impl Session {
    pub async fn new(config: SimConfig) -> Session {
        let redirect_uri = config.redirect_uri.clone();
        let sim = Simulator::start(config).await.expect("simulator starts");
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        std::fs::create_dir_all(&home).unwrap();
        let env = vec![
            (
                "PATH".to_string(),
                std::env::var("PATH").unwrap_or_default(),
            ),
            ("HOME".to_string(), home.display().to_string()),
            ("NO_COLOR".to_string(), "1".to_string()),
            // A run that cannot confirm the proxy sees its access token keeps the lock for the
            // proxy's cache TTL (psoxy-contract §8): 1 s here, not 5 minutes. The handover
            // stories set their own.
            (
                "JIRA_PSOXY_SETUP_TEST_PROXY_CACHE_TTL_MS".to_string(),
                "1000".to_string(),
            ),
            (
                "JIRA_PSOXY_SETUP_TEST_PROXY_LEASE_MS".to_string(),
                "4000".to_string(),
            ),
        ];
        Session {
            sim,
            dir,
            redirect_uri,
            env,
            launcher: Vec::new(),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn secrets_file(&self) -> PathBuf {
        self.path("secrets.json")
    }

    pub fn secrets(&self) -> serde_json::Value {
        serde_json::from_str(
            &std::fs::read_to_string(self.secrets_file()).expect("secrets file exists"),
        )
        .unwrap()
    }

    /// The usual non-interactive `init` flags against this session's simulator and file store.
    /// `command` as the stories run it: no prompts, the registered callback, the simulated
    /// Atlassian, this session's file store, no browser, a short callback wait.
    pub fn command_args(&self, command: &str) -> Vec<String> {
        let base = self.sim.base_url().to_string();
        let file = self.secrets_file().display().to_string();
        strings(&[
            command,
            "--non-interactive",
            "--redirect-uri",
            &self.redirect_uri,
            "--atlassian-auth-url",
            &base,
            "--atlassian-api-url",
            &base,
            "--store",
            "file",
            "--file",
            &file,
            "--no-browser",
            "--callback-timeout",
            "20",
        ])
    }

    /// `init`, with the app's client id (the secret comes from the environment).
    pub fn init_args(&self) -> Vec<String> {
        with(self.command_args("init"), &["--client-id", CLIENT_ID])
    }

    /// An init (paste-back) whose file store sits in its own directory `dir_name`, which vanishes
    /// while the operator consents: the write fails after the code exchange. Returns the args,
    /// that directory (recreate it to let `push` finish), the store file, and the browser.
    pub fn init_with_vanishing_store(
        &self,
        dir_name: &str,
    ) -> (Vec<String>, PathBuf, PathBuf, Browser) {
        let dir = self.path(dir_name);
        std::fs::create_dir(&dir).unwrap();
        let file = dir.join("secrets.json");
        let mut args = self.init_args();
        let i = args.iter().position(|a| a == "--file").unwrap();
        args[i + 1] = file.display().to_string();
        args.push("--paste".into());
        let gone = dir.clone();
        let unmount = Browser::PasteWith(Box::new(move |u: &Url| {
            std::fs::remove_dir_all(&gone).unwrap();
            u.to_string()
        }));
        (args, dir, file, unmount)
    }

    /// How many times the token endpoint was called (codes exchanged, tokens refreshed).
    pub fn token_posts(&self) -> usize {
        self.sim
            .requests()
            .iter()
            .filter(|r| r.starts_with("POST") && r.contains("/oauth/token"))
            .count()
    }

    /// This session's state directory, where recovery files are kept.
    pub fn state_dir(&self) -> PathBuf {
        self.path("home/.local/state/jira-psoxy-setup")
    }

    /// The recovery files in the state directory, sorted (none when it does not exist).
    pub fn recovery_files(&self) -> Vec<PathBuf> {
        let mut files: Vec<_> = std::fs::read_dir(self.state_dir())
            .map(|d| d.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default();
        files.sort();
        files
    }

    /// `renew`, with nothing but what the store gives back.
    pub fn renew_args(&self) -> Vec<String> {
        self.command_args("renew")
    }
}

/// A session where `init` (with `extra` flags) has already succeeded.
pub async fn initialized(config: SimConfig, extra: &[&str]) -> Session {
    let s = Session::new(config).await;
    let out = s
        .run(
            &with(s.init_args(), extra),
            Browser::Follow { accept: true },
        )
        .await;
    assert_eq!(out.code, 0, "init: {}", out.stderr);
    s
}
