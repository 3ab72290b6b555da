//! A run that ends in the middle of the SSM write: SIGTERM releases the proxy's lock
//! and keeps the tokens; kill -9 cannot release anything, but the tokens were on disk before the
//! first write, with the lock the run held, so `push --from` takes that lock back and finishes.
//! The real binary against moto, behind a relay that hangs the write of one parameter.

use crate::support;
use crate::support::moto;
use crate::support::relay;
use crate::support::ssm_story;

use std::path::Path;
use std::time::{Duration, Instant};

use aws_sdk_ssm::types::ParameterType;
use jira_psoxy_setup::store::SecretNames;
use jira_psoxy_setup::store::aws::AwsTarget;
use jira_psoxy_setup::store::lock::LockPolicy;
use jira_psoxy_setup::store::ssm::SsmStore;
use jira_psoxy_setup::ui::{ScriptedPrompter, StdinLines, Ui};
use jira_psoxy_setup::wizard::refresh_lock;
use moto::Moto;
use relay::Relay;
use serde_json::Value;
use ssm_story::*;
use support::*;

/// moto with Terraform's placeholders, reached through a relay that never answers the write of
/// `ACCESS_TOKEN` (so the run is caught mid-write, after the lock and some of the values).
async fn ssm_that_hangs_mid_write() -> (Moto, Relay) {
    let moto = Moto::start();
    moto.seed_placeholders(PREFIX, None).await;
    let access = format!("\"Name\":\"{PREFIX}ACCESS_TOKEN\"");
    let relay = Relay::stalling(moto.port, move |request| {
        request.contains("AmazonSSM.PutParameter")
            && request.contains(&access)
            && request.contains("\"Overwrite\":true")
    })
    .await;
    (moto, relay)
}

fn saved(recovery: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(recovery).unwrap()).unwrap()
}

/// `push --from FILE` straight to moto; SSM then holds the saved family and no lock.
async fn push_finishes(s: &Session, moto: &Moto, recovery: &Path) -> Output {
    let refresh = saved(recovery)["secrets"][REFRESH]
        .as_str()
        .unwrap()
        .to_string();
    let push = strings(&["push", "--from", recovery.to_str().unwrap()]);
    let started = Instant::now();
    let out = s
        .run_with(&push, &borrowed(&moto.env()), &[], Browser::Nothing)
        .await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "no wait for the lease"
    );
    assert!(!recovery.exists());
    let ssm = moto.ssm().await;
    assert_eq!(value(&ssm, "REFRESH_TOKEN").await, refresh);
    assert!(s.sim.is_live_refresh_token(&refresh));
    assert!(param(&ssm, LOCK).await.is_none(), "no lock left");
    out
}

#[tokio::test]
async fn sigterm_during_the_ssm_write_releases_the_lock_and_keeps_the_tokens() {
    let (moto, relay) = ssm_that_hangs_mid_write().await;
    let s = Session::new(loopback_config()).await;
    let out = init_signalled_when_stalled(&s, &moto, &relay, "writing secrets", "TERM").await;
    assert_eq!(out.code, 143, "{}", out.stderr);
    assert!(
        out.stderr.contains("the refresh lock was released"),
        "{}",
        out.stderr
    );
    let ssm = moto.ssm().await;
    assert!(
        param(&ssm, LOCK).await.is_none(),
        "the proxy is not blocked"
    );
    let recovery = recovery_file(&s, &out.stderr);
    push_finishes(&s, &moto, &recovery).await;
}

#[tokio::test]
async fn kill_9_during_the_ssm_write_leaves_a_recovery_file_that_push_finishes() {
    let (moto, relay) = ssm_that_hangs_mid_write().await;
    let s = Session::new(loopback_config()).await;
    let out = init_signalled_when_stalled(&s, &moto, &relay, "writing secrets", "KILL").await;
    assert_eq!(out.code, -1, "killed: {}", out.stderr);
    let files = s.recovery_files();
    assert_eq!(files.len(), 1, "{files:?}");
    let recovery = &files[0];
    assert_eq!(file_mode(recovery), 0o600);
    // The lock the killed run held is the one its recovery file names.
    let ssm = moto.ssm().await;
    let lock = param(&ssm, LOCK).await.expect("the killed run's lock");
    assert_eq!(
        lock.value,
        format!("locked_{}", saved(recovery)["own_lock_ms"])
    );
    let out = push_finishes(&s, &moto, recovery).await;
    assert!(
        out.stderr.contains("took back the refresh lock"),
        "{}",
        out.stderr
    );
}

/// A lock in SSM dated in the future (`locked_99999999999999`, or a proxy whose clock runs
/// ahead) is waited for the lease plus a margin from when this run first saw it, then taken over:
/// never an endless wait. The lease is shortened here; the waiting is the code every run uses.
#[tokio::test]
async fn an_ssm_lock_dated_in_the_future_is_stale_after_the_lease_and_margin() {
    let moto = Moto::start();
    let ssm = moto.ssm().await;
    ssm.put_parameter()
        .name(LOCK)
        .value("locked_99999999999999")
        .r#type(ParameterType::String)
        .send()
        .await
        .unwrap();
    let store = SsmStore::with_config(&moto.sdk_config().await, &AwsTarget::default())
        .await
        .unwrap();
    let policy = LockPolicy {
        lease: Duration::from_millis(400),
        margin: Duration::from_millis(200),
        poll: Duration::from_millis(50),
        ours: None,
    };
    let prompter = ScriptedPrompter {
        stdin: StdinLines::real(),
    };
    let started = Instant::now();
    let names = SecretNames::new(PREFIX);
    let taken = tokio::time::timeout(
        Duration::from_secs(10),
        refresh_lock::acquire(&store, &names, &policy, &Ui::new(true), &prompter),
    )
    .await
    .expect("a lock dated in the future is not waited for endlessly")
    .unwrap();
    assert!(started.elapsed() >= Duration::from_millis(600));
    assert_eq!(
        param(&ssm, LOCK).await.unwrap().value,
        format!("locked_{taken}")
    );
}

/// The lock's PutParameter lands but its answer never arrives, and the run is killed. The
/// recovery file recorded the lock's value before it was sent, so `push` takes that lock back
/// at once instead of waiting out the proxy's two-minute lease.
#[tokio::test]
async fn a_lock_whose_answer_never_arrived_is_taken_back_at_once_by_push() {
    let moto = Moto::start();
    moto.seed_placeholders(PREFIX, None).await;
    let sent = std::sync::Arc::new(std::sync::Mutex::new(None::<String>));
    let seen = sent.clone();
    let relay = Relay::stalling(moto.port, move |request| {
        let is_lock = request.contains("AmazonSSM.PutParameter")
            && request.contains(&format!("\"Name\":\"{LOCK}\""));
        if is_lock {
            let value = relay::json_body(request.as_bytes())
                .and_then(|b| b["Value"].as_str().map(str::to_string));
            *seen.lock().unwrap() = value;
        }
        is_lock
    })
    .await;
    let s = Session::new(loopback_config()).await;
    let out = init_signalled_when_stalled(&s, &moto, &relay, "Storing the secrets", "KILL").await;
    assert_eq!(out.code, -1, "killed: {}", out.stderr);
    // The write landed after all: the lock is in SSM with the value the run sent.
    let value = sent.lock().unwrap().clone().expect("the lock was sent");
    let ssm = moto.ssm().await;
    ssm.put_parameter()
        .name(LOCK)
        .value(&value)
        .r#type(ParameterType::String)
        .send()
        .await
        .unwrap();
    let files = s.recovery_files();
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(format!("locked_{}", saved(&files[0])["own_lock_ms"]), value);
    let out = push_finishes(&s, &moto, &files[0]).await;
    assert!(
        out.stderr.contains("took back the refresh lock"),
        "{}",
        out.stderr
    );
}
