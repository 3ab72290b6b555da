//! Running the binary as an operator would: its arguments and environment, what the "browser"
//! does with the authorize URL (consent, redirect, paste), every stderr line seen as it comes,
//! one deadline for the whole run, and no secret in anything it printed.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use url::Url;

use super::{CLIENT_SECRET, RUN_LIMIT, Session, assert_no_secrets, http};

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

impl Session {
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
                    let _ = http().get(get.as_str()).send().await;
                });
                return Some(target);
            }
            Browser::FollowAfter(delay) => {
                let target = decided(true);
                self.sim.advance_time(*delay);
                let get = target.clone();
                tokio::spawn(async move {
                    let _ = http().get(get.as_str()).send().await;
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
