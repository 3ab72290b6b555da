//! A fresh moto server (a local AWS mock) per test, on 127.0.0.1 and a free port, killed on drop.
//! The server comes from `$MOTO_SERVER`, else `<crate>/.venv/bin/moto_server`; without either
//! the test fails and says to run `scripts/install-moto.sh`. Tests never skip.
//!
//! Seeding talks to moto directly: SSM through the SDK, KMS and IAM through their HTTP APIs with
//! an unsigned-but-scoped Authorization header (moto routes by its credential scope and checks no
//! signature until IAM enforcement is switched on with `enforce_iam`).

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ssm::config::Credentials;
use aws_sdk_ssm::types::ParameterType;

pub const REGION: &str = "us-east-1";
pub const PLACEHOLDER: &str = "fill me";

/// Variables a child process must not inherit: they would send it to a real account.
pub const UNSET_ENV: &[&str] = &[
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL_SSM",
    "AWS_ENDPOINT_URL_SECRETS_MANAGER",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
];

pub struct Moto {
    child: Child,
    pub port: u16,
    pub endpoint: String,
    /// Empty AWS config and credentials files, so no profile of the machine's applies.
    files: tempfile::TempDir,
}

/// Where the moto server binary is, or a failure that says how to install it.
pub fn server_binary() -> PathBuf {
    let path = std::env::var_os("MOTO_SERVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/moto_server"));
    assert!(
        path.is_file(),
        "moto server not found at {}: run scripts/install-moto.sh (or set MOTO_SERVER to moto_server's path)",
        path.display()
    );
    path
}

use super::ports;

fn free_port() -> u16 {
    ports::free_port(ports::Block::Moto)
}

/// A raw HTTP/1.0 exchange: (status, body).
fn http(port: u16, request: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.write_all(request.as_bytes())?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

fn post(port: u16, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, String) {
    let mut request = format!(
        "POST {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    http(port, &request).expect("moto answers")
}

fn scoped_auth(service: &str) -> String {
    format!(
        "AWS4-HMAC-SHA256 Credential=testing/20240101/{REGION}/{service}/aws4_request, SignedHeaders=host, Signature=0"
    )
}

fn form_encode(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{k}={}",
                url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>()
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// The text of the first `<tag>` element in an XML answer.
fn xml_field(xml: &str, tag: &str) -> Option<String> {
    let start = xml.find(&format!("<{tag}>"))? + tag.len() + 2;
    let end = xml[start..].find(&format!("</{tag}>"))? + start;
    Some(xml[start..end].to_string())
}

impl Moto {
    /// Starts a server and waits until it answers (a few tries if a port is taken meanwhile).
    pub fn start() -> Moto {
        let binary = server_binary();
        let mut last = String::new();
        for _ in 0..3 {
            let port = free_port();
            let mut child = Command::new(&binary)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .env_remove("INITIAL_NO_AUTH_ACTION_COUNT")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                if let Ok(Some(status)) = child.try_wait() {
                    last = format!("moto_server exited with {status}");
                    break;
                }
                let probe =
                    format!("GET /moto-api/data.json HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\r\n");
                if let Ok((200, _)) = http(port, &probe) {
                    let files = tempfile::tempdir().expect("a temporary directory");
                    std::fs::write(files.path().join("config"), "").unwrap();
                    std::fs::write(files.path().join("credentials"), "").unwrap();
                    return Moto {
                        child,
                        port,
                        endpoint: format!("http://127.0.0.1:{port}"),
                        files,
                    };
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            if last.is_empty() {
                last = "moto_server did not answer within 30s".into();
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!(
            "{last}: check {} (scripts/install-moto.sh reinstalls it)",
            binary.display()
        );
    }

    /// Environment for a child process (the real binary) to use this server with test keys. The
    /// secret key is a distinctive word, since runs are checked for it in their output.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        self.env_with_keys("testing", "moto-sentinel-secret-access-key")
    }

    pub fn env_with_keys(&self, key_id: &str, secret: &str) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_ACCESS_KEY_ID", key_id.to_string()),
            ("AWS_SECRET_ACCESS_KEY", secret.to_string()),
            ("AWS_REGION", REGION.to_string()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_string()),
            ("AWS_CONFIG_FILE", self.file("config")),
            ("AWS_SHARED_CREDENTIALS_FILE", self.file("credentials")),
        ]
    }

    fn file(&self, name: &str) -> String {
        self.files.path().join(name).display().to_string()
    }

    /// Applies `env()` (and removes `UNSET_ENV`) on a command.
    pub fn configure(&self, cmd: &mut Command) {
        for name in UNSET_ENV {
            cmd.env_remove(name);
        }
        cmd.envs(self.env());
    }

    /// SDK configuration for in-process use, independent of this process's environment.
    pub async fn sdk_config(&self) -> SdkConfig {
        self.sdk_config_with_keys("testing", "testing").await
    }

    pub async fn sdk_config_with_keys(&self, key_id: &str, secret: &str) -> SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(REGION))
            .endpoint_url(&self.endpoint)
            .credentials_provider(Credentials::new(key_id, secret, None, None, "moto"))
            .load()
            .await
    }

    /// An SSM client with the admin test keys, for seeding and checking.
    pub async fn ssm(&self) -> aws_sdk_ssm::Client {
        aws_sdk_ssm::Client::new(&self.sdk_config().await)
    }

    /// A parameter's decrypted value, if it exists.
    pub async fn value(&self, name: &str) -> Option<String> {
        let p = get_parameter(&self.ssm().await, name).await?;
        p.value().map(str::to_string)
    }

    /// What Terraform creates: every secret of a deployment as a `fill me` SecureString.
    pub async fn seed_placeholders(&self, prefix: &str, kms_key: Option<&str>) {
        let ssm = self.ssm().await;
        for name in [
            "CLIENT_ID",
            "CLIENT_SECRET",
            "REFRESH_TOKEN",
            "ACCESS_TOKEN",
        ] {
            self.put(&ssm, &format!("{prefix}{name}"), PLACEHOLDER, kms_key)
                .await;
        }
    }

    pub async fn put(
        &self,
        ssm: &aws_sdk_ssm::Client,
        name: &str,
        value: &str,
        kms_key: Option<&str>,
    ) {
        ssm.put_parameter()
            .name(name)
            .value(value)
            .r#type(ParameterType::SecureString)
            .set_key_id(kms_key.map(str::to_string))
            .send()
            .await
            .unwrap_or_else(|e| panic!("seeding {name}: {e:?}"));
    }

    /// A customer-managed KMS key; returns its key id.
    pub fn create_kms_key(&self) -> String {
        let (status, body) = post(
            self.port,
            "/",
            &[
                ("Authorization", &scoped_auth("kms")),
                ("X-Amz-Target", "TrentService.CreateKey"),
                ("Content-Type", "application/x-amz-json-1.1"),
            ],
            r#"{"Description":"jira-psoxy-setup test key"}"#,
        );
        assert_eq!(status, 200, "CreateKey: {body}");
        let v: serde_json::Value = serde_json::from_str(&body).expect("CreateKey JSON");
        v["KeyMetadata"]["KeyId"]
            .as_str()
            .expect("KeyId")
            .to_string()
    }

    fn iam(&self, params: &[(&str, &str)]) -> String {
        let mut all = params.to_vec();
        all.push(("Version", "2010-05-08"));
        let (status, body) = post(
            self.port,
            "/",
            &[
                ("Authorization", &scoped_auth("iam")),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            &form_encode(&all),
        );
        assert_eq!(status, 200, "IAM {:?}: {body}", params.first());
        body
    }

    /// An IAM user allowed exactly `actions` on every resource; returns its (key id, secret).
    /// Takes effect once `enforce_iam` is called.
    pub fn user_allowed(&self, name: &str, actions: &[&str]) -> (String, String) {
        self.iam(&[("Action", "CreateUser"), ("UserName", name)]);
        let policy = serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]
        });
        self.iam(&[
            ("Action", "PutUserPolicy"),
            ("UserName", name),
            ("PolicyName", "jira-psoxy-setup-test"),
            ("PolicyDocument", &policy.to_string()),
        ]);
        let body = self.iam(&[("Action", "CreateAccessKey"), ("UserName", name)]);
        (
            xml_field(&body, "AccessKeyId").expect("AccessKeyId"),
            xml_field(&body, "SecretAccessKey").expect("SecretAccessKey"),
        )
    }

    /// From now on every request must be signed by an IAM user's key and allowed by its policy.
    pub fn enforce_iam(&self) {
        let (status, body) = post(self.port, "/moto-api/reset-auth", &[], "0");
        assert_eq!(status, 200, "reset-auth: {body}");
    }

    /// Kills the server now, as if AWS became unreachable: from here on every connection to its
    /// port is refused. Returns once that is so.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
            assert!(
                Instant::now() < deadline,
                "moto on port {} still answers after being killed",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A parameter as SSM returns it, decrypted; `None` if it does not exist (or cannot be read).
pub async fn get_parameter(
    ssm: &aws_sdk_ssm::Client,
    name: &str,
) -> Option<aws_sdk_ssm::types::Parameter> {
    let got = ssm
        .get_parameter()
        .name(name)
        .with_decryption(true)
        .send()
        .await
        .ok()?;
    got.parameter().cloned()
}
