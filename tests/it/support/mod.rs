//! Drives the real binary as an operator would: the Atlassian simulator runs in the test process,
//! and the harness plays the browser (reads the authorize URL the tool prints, accepts or declines
//! consent, then either follows the redirect to the tool's loopback listener or pastes it).
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use jira_psoxy_setup::sim::{SimConfig, SimSite, Simulator};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use url::Url;

pub const CLIENT_ID: &str = "sentinel-client-id-4711";
pub const CLIENT_SECRET: &str = "SENTINEL-CLIENT-SECRET-c0ffee";

/// What the "browser" does with the authorize URL.
pub enum Browser {
    /// Nobody acts on the URL.
    Nothing,
    /// Consent accepted (or declined); the browser follows the redirect to the loopback listener.
    Follow { accept: bool },
    /// Consent accepted, but the browser follows the redirect only after this much simulated
    /// time (the operator walked away before the tab loaded).
    FollowAfter(Duration),
    /// Consent accepted (or declined); the operator pastes the redirect URL on stdin.
    Paste { accept: bool },
    /// The operator pastes this text instead (built from the real redirect URL).
    PasteWith(Box<dyn Fn(&Url) -> String + Send + Sync>),
}

pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    /// Every authorize URL the tool printed.
    pub authorize_urls: Vec<Url>,
    /// Where the simulated consent sent the browser (carrying the code).
    pub redirects: Vec<Url>,
}

impl Output {
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

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
pub mod sm_story;
pub mod ssm_story;
pub mod standin;
pub mod terminal;

pub use args::*;
pub use checks::*;
pub use deadline::{OutputWithin, RUN_LIMIT};

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

    /// `renew`, with nothing but what the store gives back.
    pub fn renew_args(&self) -> Vec<String> {
        self.command_args("renew")
    }

    /// Runs the binary with `args`, the secret in JIRA_CLIENT_SECRET, and `browser` acting.
    pub async fn run(&self, args: &[String], browser: Browser) -> Output {
        self.run_with(args, &[("JIRA_CLIENT_SECRET", CLIENT_SECRET)], &[], browser)
            .await
    }

    pub async fn run_with(
        &self,
        args: &[String],
        env: &[(&str, &str)],
        stdin_lines: &[&str],
        browser: Browser,
    ) -> Output {
        self.run_full(args, env, stdin_lines, browser, |_, _| {})
            .await
    }

    /// The run most stories make: nothing on stdin, and the person consents in the browser.
    pub async fn consents(&self, args: &[String], env: &[(&str, &str)]) -> Output {
        self.consenting(args, env, |_, _| {}).await
    }

    /// As `consents`, and `on_line(line, pid)` sees every line the tool prints on stderr.
    pub async fn consenting(
        &self,
        args: &[String],
        env: &[(&str, &str)],
        on_line: impl FnMut(&str, u32),
    ) -> Output {
        self.run_full(args, env, &[], Browser::Follow { accept: true }, on_line)
            .await
    }

    /// As `run_with`, calling `on_line(line, pid)` for every line the tool prints on stderr.
    pub async fn run_full(
        &self,
        args: &[String],
        env: &[(&str, &str)],
        stdin_lines: &[&str],
        browser: Browser,
        mut on_line: impl FnMut(&str, u32),
    ) -> Output {
        let binary = env!("CARGO_BIN_EXE_jira-psoxy-setup");
        let mut cmd = match self.launcher.split_first() {
            Some((program, launcher_args)) => {
                let mut cmd = tokio::process::Command::new(program);
                cmd.args(launcher_args).arg(binary);
                cmd
            }
            None => tokio::process::Command::new(binary),
        };
        // Every story runs at the most verbose log level, so the no-secret check below covers
        // the logs of every path, not only the plain output.
        cmd.arg("-vv")
            .args(args)
            .env_clear()
            .current_dir(self.dir.path());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd.spawn().expect("binary starts");
        let pid = child.id().expect("running");
        let mut stdin = child.stdin.take().unwrap();
        for line in stdin_lines {
            stdin
                .write_all(format!("{line}\n").as_bytes())
                .await
                .unwrap();
        }
        let keep_stdin_open = matches!(browser, Browser::Paste { .. } | Browser::PasteWith(_));
        // Closed now unless pasting is to come: the binary sees the end of its input.
        let mut stdin = if keep_stdin_open {
            Some(stdin)
        } else {
            drop(stdin);
            None
        };
        let mut stdout = child.stdout.take().unwrap();
        let stdout_task = tokio::spawn(async move {
            let mut s = String::new();
            stdout.read_to_string(&mut s).await.unwrap();
            s
        });
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let mut stderr = String::new();
        let mut authorize_urls = Vec::new();
        let mut redirects = Vec::new();
        // One deadline for the whole run: reading, exiting, and the rest of stdout.
        let deadline = tokio::time::Instant::now() + RUN_LIMIT;
        fn overdue(child: &mut tokio::process::Child, what: &str, stderr: &str) -> ! {
            let _ = child.start_kill();
            panic!("the binary {what} within {RUN_LIMIT:?}; killed it. stderr so far:\n{stderr}")
        }
        loop {
            let line = match tokio::time::timeout_at(deadline, lines.next_line()).await {
                Ok(Ok(Some(line))) => line,
                Ok(_) => break,
                Err(_) => overdue(&mut child, "did not finish", &stderr),
            };
            stderr.push_str(&line);
            stderr.push('\n');
            on_line(&line, pid);
            if let Some(url) = line.split_whitespace().find_map(|w| {
                Url::parse(w)
                    .ok()
                    .filter(|u| u.path().ends_with("/authorize"))
            }) {
                authorize_urls.push(url.clone());
                if let Some(target) = self.act(&browser, &url, &mut stdin).await {
                    redirects.push(target);
                }
            }
        }
        drop(stdin);
        let status = match tokio::time::timeout_at(deadline, child.wait()).await {
            Ok(status) => status.unwrap(),
            Err(_) => overdue(&mut child, "closed stderr but did not exit", &stderr),
        };
        let stdout = match tokio::time::timeout_at(deadline, stdout_task).await {
            Ok(stdout) => stdout.unwrap(),
            Err(_) => overdue(&mut child, "exited but its stdout stayed open", &stderr),
        };
        let out = Output {
            code: status.code().unwrap_or(-1),
            stdout,
            stderr,
            authorize_urls,
            redirects,
        };
        // Whatever the story, no run shows a secret: every code and token the simulator issued,
        // the app's client secret, and any secret the test handed over in the environment.
        let mut secrets = self.sim.issued_secrets();
        secrets.push(CLIENT_SECRET.to_string());
        secrets.extend(
            env.iter()
                .filter(|(k, v)| k.contains("SECRET") && !v.is_empty())
                .map(|(_, v)| v.to_string()),
        );
        assert_no_secrets(
            &out.all(),
            &secrets.iter().map(String::as_str).collect::<Vec<_>>(),
        );
        out
    }

    /// Plays the browser for one authorize URL; returns where consent redirected.
    async fn act(
        &self,
        browser: &Browser,
        url: &Url,
        stdin: &mut Option<tokio::process::ChildStdin>,
    ) -> Option<Url> {
        let decided = |accept| {
            self.sim
                .decide(url, accept)
                .expect("the simulator accepts the tool's authorize URL")
        };
        let (target, text) = match browser {
            Browser::Nothing => return None,
            Browser::Follow { accept } => {
                let target = decided(*accept);
                let get = target.clone();
                tokio::spawn(async move {
                    let _ = reqwest::Client::new().get(get.as_str()).send().await;
                });
                return Some(target);
            }
            Browser::FollowAfter(delay) => {
                let target = decided(true);
                self.sim.advance_time(*delay);
                let get = target.clone();
                tokio::spawn(async move {
                    let _ = reqwest::Client::new().get(get.as_str()).send().await;
                });
                return Some(target);
            }
            Browser::Paste { accept } => {
                let target = decided(*accept);
                (target.clone(), target.to_string())
            }
            Browser::PasteWith(f) => {
                let target = decided(true);
                (target.clone(), f(&target))
            }
        };
        let pipe = stdin.as_mut().expect("stdin kept open for pasting");
        pipe.write_all(format!("{text}\n").as_bytes())
            .await
            .unwrap();
        Some(target)
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

/// A line watcher for `Session::consenting`: calls `act` with the run's pid the first time a
/// line contains `marker`, and never again.
pub fn once_on(marker: &'static str, act: impl FnOnce(u32)) -> impl FnMut(&str, u32) {
    let mut act = Some(act);
    move |line, pid| {
        if line.contains(marker)
            && let Some(act) = act.take()
        {
            act(pid)
        }
    }
}
