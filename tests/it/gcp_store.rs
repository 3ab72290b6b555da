//! The GCP Secret Manager store against the fake (tests/it/support/gcp_fake): the real client,
//! anonymous credentials, a loopback endpoint. Values, labels and versions are checked in the
//! fake's state, the way the proxy would see them.

use crate::support::gcp_fake;

use std::time::Duration;

use chrono::{TimeZone, Utc};
use gcp_fake::{EtagAnswer, GcpFake, VState};
use jira_psoxy_setup::secret::{ExposeSecret, SecretString};
use jira_psoxy_setup::store::gcp::{Endpoint, GcpConfig, GcpReplication, GcpStore};
use jira_psoxy_setup::store::{FamilyMetadata, SecretKey, SecretNames, SecretStore, StoreError};

const PREFIX: &str = "psoxy_JIRA_CLOUD_";

fn names() -> SecretNames {
    SecretNames::new(PREFIX)
}

fn refresh() -> String {
    names().name(SecretKey::RefreshToken)
}

async fn store_for(fake: &GcpFake, destroy: bool) -> GcpStore {
    let mut config = GcpConfig::new(&fake.project, Endpoint::Emulator(fake.endpoint()));
    config.destroy_old_versions = destroy;
    config.replication = Some(GcpReplication::Automatic);
    config.attempt_timeout = Duration::from_secs(5);
    GcpStore::connect(config).await.expect("client builds")
}

async fn deployed() -> (GcpFake, GcpStore) {
    let fake = GcpFake::start("acme-prod").await;
    fake.terraform(PREFIX);
    let store = store_for(&fake, false).await;
    (fake, store)
}

fn secret(s: &str) -> SecretString {
    SecretString::from(s.to_string())
}

#[tokio::test]
async fn discovery_finds_one_then_several_deployments_across_pages() {
    let fake = GcpFake::start_with("p", 2).await;
    let store = store_for(&fake, false).await;
    assert!(store.discover_prefixes().await.unwrap().is_empty());
    fake.create_secret("unrelated", &[]);
    fake.terraform(PREFIX);
    assert_eq!(store.discover_prefixes().await.unwrap(), vec![PREFIX]);
    fake.terraform("acme_JIRA_CLOUD_");
    let mut found = store.discover_prefixes().await.unwrap();
    found.sort();
    assert_eq!(found, vec!["acme_JIRA_CLOUD_", PREFIX]);
    let lists = fake
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path == "/v1/projects/p/secrets")
        .count();
    assert!(
        lists >= 7,
        "12 secrets in pages of 2 need several requests ({lists})"
    );
    assert!(
        fake.requests().iter().all(|r| !r.authorization),
        "anonymous"
    );
}

#[tokio::test]
async fn write_adds_a_version_points_the_label_at_it_keeps_labels_and_disables_older() {
    let (fake, store) = deployed().await;
    let id = refresh();
    fake.set_label(&id, "team", "data-eng");
    let old = fake.add_version(&id, "old-token");
    fake.set_label(&id, "latest-version", &old.to_string());

    store.write(&id, &secret("new-token")).await.unwrap();

    let s = fake.secret(&id).unwrap();
    assert_eq!(s.label("latest-version"), Some("2"));
    assert_eq!(s.label("team"), Some("data-eng"));
    assert_eq!(s.label("terraform_managed_value"), Some("false"));
    assert_eq!(s.states(), vec![(1, "DISABLED"), (2, "ENABLED")]);
    assert_eq!(s.proxy_value().as_deref(), Some("new-token"));
    assert_eq!(
        s.versions[0].value.as_deref(),
        Some("old-token"),
        "reversible"
    );
}

#[tokio::test]
async fn destroy_old_versions_destroys_instead_of_disabling() {
    let fake = GcpFake::start("p").await;
    fake.terraform(PREFIX);
    let store = store_for(&fake, true).await;
    let id = refresh();
    fake.add_version(&id, "one");
    fake.add_version(&id, "two");
    fake.set_version_state(&id, 1, VState::Disabled);
    store.write(&id, &secret("three")).await.unwrap();
    let s = fake.secret(&id).unwrap();
    // Only ENABLED older versions are retired, as the proxy does; the disabled one stays.
    assert_eq!(
        s.states(),
        vec![(1, "DISABLED"), (2, "DESTROYED"), (3, "ENABLED")]
    );
    assert_eq!(s.versions[1].value, None);
    assert_eq!(s.proxy_value().as_deref(), Some("three"));
}

#[tokio::test]
async fn write_all_writes_every_secret_and_each_reads_back() {
    let (fake, store) = deployed().await;
    let items: Vec<(String, SecretString)> = names()
        .all()
        .into_iter()
        .map(|n| (n.clone(), secret(&format!("value-of-{n}"))))
        .collect();
    store.write_all(&items).await.unwrap();
    store.write_all(&items).await.unwrap();
    for (n, v) in &items {
        let s = fake.secret(n).unwrap();
        assert_eq!(s.label("latest-version"), Some("2"), "{n}");
        assert_eq!(s.states(), vec![(1, "DISABLED"), (2, "ENABLED")], "{n}");
        let back = store.read(n).await.unwrap().expect("a value");
        assert_eq!(back.value.expose_secret(), v.expose_secret());
        assert!(back.updated_at.is_some());
    }
}

#[tokio::test]
async fn read_follows_the_label_not_latest_and_falls_back_like_the_proxy() {
    let (fake, store) = deployed().await;
    let id = refresh();
    assert!(store.read(&id).await.unwrap().is_none(), "no versions yet");
    assert!(store.read("psoxy_JIRA_CLOUD_NOPE").await.unwrap().is_none());
    fake.add_version(&id, "labelled");
    fake.add_version(&id, "newest-but-unlabelled");
    let value = |r: Option<jira_psoxy_setup::store::StoredSecret>| {
        r.map(|s| s.value.expose_secret().to_string())
    };
    assert_eq!(
        value(store.read(&id).await.unwrap()).as_deref(),
        Some("newest-but-unlabelled"),
        "no label: latest"
    );
    fake.set_label(&id, "latest-version", "1");
    let read = store.read(&id).await.unwrap().unwrap();
    assert_eq!(read.value.expose_secret(), "labelled");
    let age = Utc::now() - read.updated_at.expect("create_time");
    assert!(age.num_seconds().abs() < 60);
    fake.set_label(&id, "latest-version", "9");
    assert_eq!(
        value(store.read(&id).await.unwrap()).as_deref(),
        Some("newest-but-unlabelled"),
        "a label naming a missing version falls back to latest"
    );
    fake.set_label(&id, "latest-version", "1");
    fake.set_version_state(&id, 1, VState::Disabled);
    assert!(
        store.read(&id).await.unwrap().is_none(),
        "a disabled labelled version reads as nothing, as for the proxy"
    );
}

#[tokio::test]
async fn a_concurrent_label_change_is_detected_by_etag_and_kept() {
    for answer in [EtagAnswer::FailedPrecondition, EtagAnswer::Aborted] {
        let (fake, store) = deployed().await;
        fake.set_etag_answer(answer);
        let id = refresh();
        fake.before_next_patch(&id, |l| {
            l.insert("other-writer".into(), "was-here".into());
        });
        store.write(&id, &secret("v1")).await.unwrap();
        let s = fake.secret(&id).unwrap();
        assert_eq!(s.label("other-writer"), Some("was-here"), "{answer:?}");
        assert_eq!(s.label("latest-version"), Some("1"), "{answer:?}");

        // A writer that keeps changing the labels: one re-read, then Conflict.
        for _ in 0..2 {
            fake.before_next_patch(&id, |l| {
                let n = l.get("busy").map_or(0, |v| v.parse::<u32>().unwrap()) + 1;
                l.insert("busy".into(), n.to_string());
            });
        }
        let err = store.write(&id, &secret("v2")).await.unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)), "{answer:?}: {err}");
    }
}

#[tokio::test]
async fn a_newer_version_labelled_by_someone_else_is_not_overwritten() {
    let (fake, store) = deployed().await;
    let id = refresh();
    fake.before_next_patch(&id, |l| {
        l.insert("latest-version".into(), "7".into());
    });
    let err = store.write(&id, &secret("ours")).await.unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict(ref m) if m.contains("version 7")),
        "{err}"
    );
    assert_eq!(fake.secret(&id).unwrap().label("latest-version"), Some("7"));
}

#[tokio::test]
async fn preflight_reports_missing_secrets_and_passes_with_permissions() {
    let fake = GcpFake::start("p").await;
    let store = store_for(&fake, false).await;
    let report = store.preflight(&names()).await.unwrap();
    let mut want = names().all();
    want.push(names().lock_name());
    assert_eq!(report.missing, want);

    store.create_missing(&report.missing).await.unwrap();
    store.create_missing(&report.missing).await.unwrap(); // ALREADY_EXISTS is fine
    for id in &want {
        let s = fake.secret(id).unwrap();
        assert_eq!(s.label("terraform_managed_value"), Some("false"));
        assert!(s.versions.is_empty());
    }
    assert!(store.preflight(&names()).await.unwrap().missing.is_empty());
}

/// Psoxy's Terraform uses user-managed replicas: without a chosen policy nothing is created.
#[tokio::test]
async fn created_secrets_get_the_chosen_replication_and_none_without_a_choice() {
    let fake = GcpFake::start("p").await;
    let mut config = GcpConfig::new(&fake.project, Endpoint::Emulator(fake.endpoint()));
    let store = GcpStore::connect(config.clone()).await.unwrap();
    let err = store.create_missing(&names().all()).await.unwrap_err();
    assert!(err.to_string().contains("--gcp-replication"), "{err}");
    assert!(fake.ids().is_empty());
    config.replication = Some(GcpReplication::parse("user-managed:us-central1,us-east1").unwrap());
    let store = GcpStore::connect(config).await.unwrap();
    store.create_missing(&names().all()).await.unwrap();
    let replicas = &fake.secret(&refresh()).unwrap().replication["userManaged"]["replicas"];
    assert_eq!(
        replicas,
        &serde_json::json!([{"location": "us-central1"}, {"location": "us-east1"}])
    );
    assert!(GcpReplication::parse("user-managed:").is_err());
    assert!(GcpReplication::parse("user-managed:us/../x").is_err());
}

#[tokio::test]
async fn preflight_names_the_missing_permission() {
    let cases: [(&str, bool); 4] = [
        ("secretmanager.versions.add", false),
        ("secretmanager.secrets.update", false),
        ("secretmanager.versions.disable", false),
        ("secretmanager.versions.destroy", true),
    ];
    for (permission, destroy) in cases {
        let fake = GcpFake::start("p").await;
        fake.terraform(PREFIX);
        fake.deny(&[permission]);
        let store = store_for(&fake, destroy).await;
        match store.preflight(&names()).await {
            Err(StoreError::PermissionDenied(m)) => {
                assert!(m.contains(permission), "{m}");
                assert!(m.contains(&refresh()), "{m}");
            }
            other => panic!("{permission}: {other:?}"),
        }
        assert!(
            fake.secret(&refresh()).unwrap().versions.is_empty(),
            "preflight changes nothing"
        );
    }
    // Not even allowed to look at the secrets.
    let fake = GcpFake::start("p").await;
    fake.terraform(PREFIX);
    fake.deny(&["secretmanager.secrets.get"]);
    let err = store_for(&fake, false)
        .await
        .preflight(&names())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::PermissionDenied(m) if m.contains("secretmanager.secrets.get")),
        "{err}"
    );
    // Creating needs secrets.create, which only the attempt can tell.
    let fake = GcpFake::start("p").await;
    fake.deny(&["secretmanager.secrets.create"]);
    let err = store_for(&fake, false)
        .await
        .create_missing(&names().all())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::PermissionDenied(m) if m.contains("secretmanager.secrets.create")),
        "{err}"
    );
}

#[tokio::test]
async fn metadata_round_trips_as_labels_beside_the_others() {
    let (fake, store) = deployed().await;
    assert_eq!(
        store.read_metadata(&names()).await.unwrap(),
        FamilyMetadata::default()
    );
    store.write(&refresh(), &secret("t")).await.unwrap();
    let meta = FamilyMetadata {
        issued_at: Some(Utc.with_ymd_and_hms(2026, 3, 1, 12, 30, 5).unwrap()),
        cloud_id: Some("1A2B3C4D-0000-4000-8000-00000000ABCD".into()),
    };
    store.write_metadata(&names(), &meta).await.unwrap();
    let s = fake.secret(&refresh()).unwrap();
    assert_eq!(
        s.label("jira-cloud-id"),
        Some("1a2b3c4d-0000-4000-8000-00000000abcd")
    );
    assert_eq!(s.label("jira-family-issued-at"), Some("1772368205"));
    assert_eq!(s.label("latest-version"), Some("1"));
    let back = store.read_metadata(&names()).await.unwrap();
    assert_eq!(back.issued_at, meta.issued_at);
    assert_eq!(
        back.cloud_id.as_deref(),
        Some("1a2b3c4d-0000-4000-8000-00000000abcd")
    );
}

#[tokio::test]
async fn transient_errors_are_retried_then_reported_as_unavailable() {
    let (fake, store) = deployed().await;
    fake.add_version(&refresh(), "x");
    fake.fail_next(1);
    assert!(
        store.read(&refresh()).await.unwrap().is_some(),
        "a GET is retried"
    );
    fake.fail_next(3); // as many as the store's attempts
    let err = store.read(&refresh()).await.err().expect("an error");
    assert!(matches!(err, StoreError::Unavailable(_)), "{err}");
    assert!(err.is_retryable());
    fake.fail_next(1);
    let err = store.write(&refresh(), &secret("y")).await.unwrap_err();
    assert!(
        matches!(err, StoreError::Unavailable(_)),
        "addVersion is not retried blindly: {err}"
    );
}

#[tokio::test]
async fn a_hung_call_times_out_as_unavailable() {
    let fake = GcpFake::start("p").await;
    fake.terraform(PREFIX);
    let mut config = GcpConfig::new("p", Endpoint::Emulator(fake.endpoint()));
    config.attempt_timeout = Duration::from_millis(300);
    config.attempts = 1;
    let store = GcpStore::connect(config).await.unwrap();
    fake.delay_next(1, Duration::from_secs(3));
    let started = std::time::Instant::now();
    let err = store.discover_prefixes().await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err}");
    assert!(started.elapsed() < Duration::from_secs(2));
}
