//! What the SSM story tests share: the deployment's parameter names and tags, the init flags and
//! environment for `--store aws-ssm`, and reads of SSM as the harness checks it afterwards.

#![allow(dead_code)]

use aws_sdk_ssm::types::ResourceTypeForTagging;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::moto::{self, Moto};
use super::*;

pub const PREFIX: &str = "PSOXY_JIRA_CLOUD_";
pub const REFRESH: &str = "PSOXY_JIRA_CLOUD_REFRESH_TOKEN";
pub const LOCK: &str = "PSOXY_JIRA_CLOUD_OAUTH_REFRESH_TOKEN_lock";
pub const ISSUED_AT: &str = "jira-psoxy-setup:family-issued-at";
pub const CLOUD_ID: &str = "jira-psoxy-setup:cloud-id";
pub const NAMES: [&str; 4] = [
    "CLIENT_ID",
    "CLIENT_SECRET",
    "REFRESH_TOKEN",
    "ACCESS_TOKEN",
];

/// The usual non-interactive init flags, with the SSM store instead of the file store.
pub fn init_args(s: &Session) -> Vec<String> {
    on_store(s.init_args(), strings(&["--store", "aws-ssm"]))
}

/// moto's environment plus the client secret, as `init` gets it.
pub fn init_env(moto: &Moto) -> Vec<(&'static str, String)> {
    let mut env = moto.env();
    env.push(("JIRA_CLIENT_SECRET", CLIENT_SECRET.to_string()));
    env
}

/// `init_env`, with every AWS call going through `relay` instead of straight to moto.
pub fn init_env_through(moto: &Moto, relay: &super::relay::Relay) -> Vec<(&'static str, String)> {
    let mut env = init_env(moto);
    env.retain(|(k, _)| *k != "AWS_ENDPOINT_URL");
    env.push(("AWS_ENDPOINT_URL", relay.endpoint.clone()));
    env
}

#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    pub value: String,
    pub version: i64,
    pub modified: DateTime<Utc>,
}

pub async fn param(ssm: &aws_sdk_ssm::Client, name: &str) -> Option<Param> {
    let p = moto::get_parameter(ssm, name).await?;
    Some(Param {
        value: p.value()?.to_string(),
        version: p.version(),
        modified: DateTime::from_timestamp_millis(p.last_modified_date()?.to_millis().unwrap())?,
    })
}

pub async fn value(ssm: &aws_sdk_ssm::Client, suffix: &str) -> String {
    param(ssm, &format!("{PREFIX}{suffix}"))
        .await
        .unwrap_or_else(|| panic!("{PREFIX}{suffix} exists"))
        .value
}

pub async fn tag(ssm: &aws_sdk_ssm::Client, key: &str) -> Option<String> {
    ssm.list_tags_for_resource()
        .resource_type(ResourceTypeForTagging::Parameter)
        .resource_id(REFRESH)
        .send()
        .await
        .unwrap()
        .tag_list()
        .iter()
        .find(|t| t.key() == key)
        .map(|t| t.value().to_string())
}

pub async fn issued_at(ssm: &aws_sdk_ssm::Client) -> DateTime<Utc> {
    let text = tag(ssm, ISSUED_AT)
        .await
        .expect("the family issue date tag");
    DateTime::parse_from_rfc3339(&text)
        .unwrap_or_else(|e| panic!("{ISSUED_AT} = {text:?}: {e}"))
        .with_timezone(&Utc)
}

pub fn no_secrets(text: &str, secrets: &[String]) {
    assert_no_secrets(
        text,
        &secrets.iter().map(String::as_str).collect::<Vec<_>>(),
    );
}

/// Sends `signal` to the binary (`pid`) once a request the relay stalls is held.
pub fn signal_when_stalled(stalled: Arc<AtomicUsize>, signal: &'static str, pid: u32) {
    std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(20);
        while stalled.load(Ordering::SeqCst) == 0 {
            assert!(
                Instant::now() < deadline,
                "the write never reached the relay"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        std::process::Command::new("kill")
            .args([&format!("-{signal}"), &pid.to_string()])
            .status()
            .unwrap();
    });
}

/// `init` through `relay`, sent `signal` (`TERM`, `KILL`, ...) once it has printed a line with
/// `marker` and the relay holds one of its requests.
pub async fn init_signalled_when_stalled(
    s: &Session,
    moto: &Moto,
    relay: &super::relay::Relay,
    marker: &'static str,
    signal: &'static str,
) -> Output {
    let env = init_env_through(moto, relay);
    let stalled = relay.stalled_counter();
    s.consenting(
        &init_args(s),
        &borrowed(&env),
        once_on(marker, |pid| signal_when_stalled(stalled, signal, pid)),
    )
    .await
}

/// `init` on moto, killed (kill -9) while it deletes the refresh lock: the values and their issue
/// date landed and were handed over, the recovery file stays. Returns that file.
pub async fn init_killed_while_unlocking(s: &Session, moto: &Moto) -> std::path::PathBuf {
    init_killed_at(s, moto, "AmazonSSM.DeleteParameter").await
}

/// `init` on moto, killed (kill -9) during the handover, while the proxy's read of ACCESS_TOKEN
/// (`GetParameterHistory`, made only there) hangs: the values and their issue date landed, but
/// no running proxy was shown them. Returns the recovery file.
pub async fn init_killed_during_handover(s: &Session, moto: &Moto) -> std::path::PathBuf {
    init_killed_at(s, moto, "AmazonSSM.GetParameterHistory").await
}

/// `init` on moto, killed (kill -9) once it is writing and the SSM call `action` hangs.
async fn init_killed_at(s: &Session, moto: &Moto, action: &'static str) -> std::path::PathBuf {
    let relay = super::relay::Relay::stalling(moto.port, move |r| r.contains(action)).await;
    let out = init_signalled_when_stalled(s, moto, &relay, "writing secrets", "KILL").await;
    assert_eq!(out.code, -1, "killed at {action}: {}", out.stderr);
    let files = s.recovery_files();
    assert_eq!(files.len(), 1, "one recovery file: {files:?}");
    files.into_iter().next().unwrap()
}
