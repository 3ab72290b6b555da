//! A stand-in for a deployed Psoxy proxy (`proxy_standin.py`, run by the project's venv Python):
//! it checks SigV4 signatures with botocore against moto's STS sessions, or Google ID tokens it
//! minted as a fake metadata server, then answers the health check and the call as the scenario
//! says. Loopback only; killed on drop.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{Value, json};

pub const CLOUD_ID: &str = "11111111-2222-4333-8444-555555555555";
pub const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/PsoxyCaller";

pub struct StandIn {
    child: Child,
    pub port: u16,
    pub url: String,
    dir: tempfile::TempDir,
}

fn python() -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    assert!(
        path.is_file(),
        "{} not found: run scripts/test.sh once (it creates the venv with moto and botocore)",
        path.display()
    );
    path
}

impl StandIn {
    /// Starts the stand-in with `scenario` (see proxy_standin.py); waits for its port.
    pub fn start(mut scenario: Value) -> StandIn {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("requests.jsonl");
        scenario["log"] = json!(log.display().to_string());
        let file = dir.path().join("scenario.json");
        std::fs::write(&file, scenario.to_string()).unwrap();
        let script =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/it/support/proxy_standin.py");
        let mut child = Command::new(python())
            .arg(script)
            .arg(&file)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the stand-in starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(line) => line,
            Err(_) => {
                let _ = child.kill();
                panic!("the proxy stand-in printed no port within 30s");
            }
        };
        let port: u16 = line.trim().parse().unwrap_or_else(|_| {
            let _ = child.kill();
            panic!("the proxy stand-in did not start: {line:?}")
        });
        StandIn {
            child,
            port,
            url: format!("http://127.0.0.1:{port}"),
            dir,
        }
    }

    /// Every request it received, oldest first: `{"path", "health", "headers"}`.
    pub fn requests(&self) -> Vec<Value> {
        std::fs::read_to_string(self.dir.path().join("requests.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A passing health check as Psoxy v0.6.9 answers it, with a field this tool does not know.
pub fn passing_health() -> Value {
    json!({
        "bundleFilename": "psoxy-aws-v0.6.9.jar", "callerIp": "127.0.0.1",
        "configPropertiesLastModified": {}, "configuredHost": "api.atlassian.com",
        "configuredSource": "jira-cloud", "javaSourceCodeVersion": "v0.6.9",
        "missingConfigProperties": [], "nonDefaultSalt": true,
        "saltSha256Hash": "SENTINEL-SALT-HASH-0f0f", "sourceAuthGrantType": "refresh_token",
        "sourceAuthStrategy": "oauth2_refresh_token", "userAgent": "psoxy/v0.6.9",
        "version": "v0.6.9", "warningMessages": [],
        "someFieldFromANewerPsoxy": {"nested": [1, 2, 3]}
    })
}

/// The scenario: `auth`, a health answer and the call's answer (the site `CLOUD_ID`).
pub fn scenario(auth: &str, health: Value) -> Value {
    json!({
        "auth": auth,
        "health": health,
        "call": {"status": 200, "body": [{"id": CLOUD_ID, "url": "https://acme.atlassian.net", "name": "***"}]}
    })
}

pub fn json_health(status: u16, body: Value) -> Value {
    json!({"kind": "json", "status": status, "body": body})
}

/// One operator's machine for `check`: a temporary home and working directory; `run` starts the
/// binary there with nothing from this process's environment but what is given.
pub struct Machine {
    pub dir: tempfile::TempDir,
    pub env: Vec<(String, String)>,
}

pub struct Ran {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub took: Duration,
}

impl Ran {
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    /// The one `error:` line of a run that ended with `code` (one line per failure: the rule of
    /// the house); fails the test otherwise.
    pub fn the_error(&self, code: i32) -> &str {
        assert_eq!(self.code, code, "{}", self.all());
        let errors = self.error_lines();
        assert_eq!(errors.len(), 1, "{}", self.stderr);
        errors[0]
    }

    /// The `error:` lines (one per failure: the rule of the house).
    pub fn error_lines(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|l| l.starts_with("error:"))
            .collect()
    }
}

impl Default for Machine {
    fn default() -> Self {
        Self::new()
    }
}

impl Machine {
    pub fn new() -> Machine {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("home")).unwrap();
        // Only what a test puts there: no real terraform, and no gcloud that could reach Google.
        let bin = dir.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let env = vec![
            ("HOME".into(), dir.path().join("home").display().to_string()),
            ("PATH".into(), bin.display().to_string()),
            ("NO_COLOR".into(), "1".into()),
            ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
            // No real Google metadata server or gcloud is ever asked.
            ("GCE_METADATA_HOST".into(), "127.0.0.1:9".into()),
        ];
        Machine { dir, env }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn set(&mut self, key: &str, value: impl Into<String>) {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.into(), value.into()));
    }

    pub fn run(&self, args: &[&str]) -> Ran {
        let started = std::time::Instant::now();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_jira-psoxy-setup"));
        cmd.args(args).env_clear().current_dir(self.dir.path());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let out = super::deadline::output_within(&mut cmd, super::RUN_LIMIT);
        Ran {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            took: started.elapsed(),
        }
    }
}
