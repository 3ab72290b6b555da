//! The proxy's refresh lock on GCP: label `locked=<epoch ms>` on `<prefix>OAUTH_REFRESH_TOKEN`,
//! taken with the secret's etag so that two writers cannot both hold it.

use crate::support::gcp_fake;

use std::time::Duration;

use gcp_fake::GcpFake;
use jira_psoxy_setup::store::gcp::{Endpoint, GcpConfig, GcpStore};
use jira_psoxy_setup::store::lock::{self, LockPolicy};
use jira_psoxy_setup::store::{LockAttempt, SecretNames, SecretStore, StoreError};
use jira_psoxy_setup::ui::{ScriptedPrompter, StdinLines, Ui};
use jira_psoxy_setup::wizard::refresh_lock;

const PREFIX: &str = "acme_JIRA_CLOUD_";

async fn store_for(fake: &GcpFake) -> GcpStore {
    let config = GcpConfig::new(&fake.project, Endpoint::Emulator(fake.endpoint()));
    GcpStore::connect(config).await.unwrap()
}

fn names() -> SecretNames {
    SecretNames::new(PREFIX)
}

fn lock_id() -> String {
    names().lock_name()
}

#[tokio::test]
async fn take_hold_take_over_and_release_keeping_other_labels() {
    let fake = GcpFake::start("p").await;
    fake.terraform(PREFIX);
    let ours = store_for(&fake).await;
    let theirs = store_for(&fake).await;

    assert_eq!(
        ours.try_lock(&names(), 1_000, false).await.unwrap(),
        LockAttempt::Acquired
    );
    let s = fake.secret(&lock_id()).unwrap();
    assert_eq!(s.label("locked"), Some("1000"));
    assert_eq!(s.label("terraform_managed_value"), Some("false"));

    assert_eq!(
        theirs.try_lock(&names(), 2_000, false).await.unwrap(),
        LockAttempt::HeldSince(1_000)
    );
    assert_eq!(
        theirs.try_lock(&names(), 3_000, true).await.unwrap(),
        LockAttempt::Acquired
    );
    assert_eq!(
        fake.secret(&lock_id()).unwrap().label("locked"),
        Some("3000")
    );

    // Our lock was taken over: releasing ours must not release theirs.
    ours.unlock(&names()).await.unwrap();
    assert_eq!(
        fake.secret(&lock_id()).unwrap().label("locked"),
        Some("3000")
    );
    theirs.unlock(&names()).await.unwrap();
    let s = fake.secret(&lock_id()).unwrap();
    assert_eq!(s.label("locked"), None);
    assert_eq!(s.label("terraform_managed_value"), Some("false"));
    theirs.unlock(&names()).await.unwrap(); // idempotent
}

#[tokio::test]
async fn two_writers_racing_for_the_lock_cannot_both_win() {
    let fake = GcpFake::start("p").await;
    fake.terraform(PREFIX);
    let store = store_for(&fake).await;
    // The proxy takes the lock between our read and our write.
    fake.before_next_patch(&lock_id(), |l| {
        l.insert("locked".into(), "4242".into());
    });
    assert_eq!(
        store.try_lock(&names(), 5_000, false).await.unwrap(),
        LockAttempt::HeldSince(4242)
    );
    assert_eq!(
        fake.secret(&lock_id()).unwrap().label("locked"),
        Some("4242")
    );
    // Somebody changing an unrelated label is not a lock holder: we retry on the fresh etag.
    fake.before_next_patch(&lock_id(), |l| {
        l.remove("locked");
        l.insert("note".into(), "x".into());
    });
    assert_eq!(
        store.try_lock(&names(), 6_000, true).await.unwrap(),
        LockAttempt::Acquired
    );
    let s = fake.secret(&lock_id()).unwrap();
    assert_eq!(
        (s.label("locked"), s.label("note")),
        (Some("6000"), Some("x"))
    );
}

#[tokio::test]
async fn waits_for_a_held_lock_then_takes_it_over_once_stale() {
    let fake = GcpFake::start("p").await;
    fake.terraform(PREFIX);
    let store = store_for(&fake).await;
    let held_since = lock::now_ms() - 500;
    fake.set_label(&lock_id(), "locked", &held_since.to_string());
    let policy = LockPolicy {
        lease: Duration::from_millis(1_500),
        margin: lock::MARGIN,
        poll: Duration::from_millis(200),
        ours: None,
    };
    let prompter = ScriptedPrompter {
        stdin: StdinLines::real(),
    };
    let started = std::time::Instant::now();
    let (waiting_for, ui) = (names(), Ui::new(true));
    let acquiring = refresh_lock::acquire(&store, &waiting_for, &policy, &ui, &prompter);
    tokio::time::timeout(Duration::from_secs(10), acquiring)
        .await
        .expect("the stale lock is taken within 10 s")
        .unwrap();
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(800), "waited {waited:?}");
    let now: i64 = fake
        .secret(&lock_id())
        .unwrap()
        .label("locked")
        .unwrap()
        .parse()
        .unwrap();
    assert!(now > held_since + 900);
    store.unlock(&names()).await.unwrap();
    assert_eq!(fake.secret(&lock_id()).unwrap().label("locked"), None);
}

#[tokio::test]
async fn a_missing_lock_secret_says_how_to_create_it() {
    let fake = GcpFake::start("p").await;
    let store = store_for(&fake).await;
    let err = store.try_lock(&names(), 1, false).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::Other(m) if m.contains("--create-missing")),
        "{err}"
    );
    store.unlock(&names()).await.unwrap(); // nothing to release
}
