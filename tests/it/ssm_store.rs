//! The AWS SSM store against moto: discovery, preflight, writes that keep KMS keys, the proxy's
//! refresh lock, metadata tags, and error mapping (IAM denials, rejected keys, no endpoint).

use crate::support::moto;

use aws_sdk_ssm::types::{ParameterStringFilter, ParameterType, ResourceTypeForTagging};
use chrono::{TimeZone, Utc};
use clap::Parser;
use jira_psoxy_setup::cli::StoreArgs;
use jira_psoxy_setup::secret::{ExposeSecret, SecretString};
use jira_psoxy_setup::store::aws::AwsTarget;
use jira_psoxy_setup::store::ssm::{SsmStore, TAG_CLOUD_ID, TAG_ISSUED_AT};
use jira_psoxy_setup::store::{
    FamilyMetadata, LockAttempt, SecretKey, SecretNames, SecretStore, StoreError, StoreTarget,
};
use moto::{Moto, PLACEHOLDER};

#[derive(Parser)]
struct Flags {
    #[command(flatten)]
    store: StoreArgs,
}

fn args(extra: &[&str]) -> AwsTarget {
    let argv = ["test", "--store", "aws-ssm"].iter().chain(extra);
    match Flags::parse_from(argv).store.target() {
        StoreTarget::AwsSsm(ssm) => ssm.0,
        other => panic!("{other:?}"),
    }
}

async fn store(moto: &Moto, extra: &[&str]) -> SsmStore {
    SsmStore::with_config(&moto.sdk_config().await, &args(extra))
        .await
        .expect("store")
}

async fn store_as(moto: &Moto, keys: &(String, String)) -> SsmStore {
    let config = moto.sdk_config_with_keys(&keys.0, &keys.1).await;
    SsmStore::with_config(&config, &args(&[]))
        .await
        .expect("store")
}

fn values(names: &SecretNames) -> Vec<(String, SecretString)> {
    SecretKey::ALL
        .iter()
        .map(|k| {
            let n = names.name(*k);
            let v = SecretString::from(format!("value-of-{n}"));
            (n, v)
        })
        .collect()
}

/// (type, key id) of a parameter, as moto describes it.
async fn describe(moto: &Moto, name: &str) -> (ParameterType, Option<String>) {
    let filter = ParameterStringFilter::builder()
        .key("Name")
        .option("Equals")
        .values(name)
        .build()
        .unwrap();
    let out = moto
        .ssm()
        .await
        .describe_parameters()
        .parameter_filters(filter)
        .send()
        .await
        .unwrap();
    let p = out
        .parameters()
        .first()
        .unwrap_or_else(|| panic!("{name} missing"));
    (p.r#type().unwrap().clone(), p.key_id().map(str::to_string))
}

#[tokio::test]
async fn terraform_placeholders_are_discovered_checked_and_filled() {
    let moto = Moto::start();
    moto.seed_placeholders("PSOXY_JIRA_CLOUD_", None).await;
    let store = store(&moto, &[]).await;
    assert_eq!(
        store.describe(),
        format!(
            "AWS SSM Parameter Store (us-east-1, endpoint {})",
            moto.endpoint
        )
    );

    assert_eq!(
        store.discover_prefixes().await.unwrap(),
        ["PSOXY_JIRA_CLOUD_"]
    );
    let names = SecretNames::new("PSOXY_JIRA_CLOUD_");
    let report = store.preflight(&names).await.unwrap();
    assert!(report.missing.is_empty(), "{:?}", report.missing);
    // The write probe changed nothing.
    let refresh = names.name(SecretKey::RefreshToken);
    assert_eq!(moto.value(&refresh).await.as_deref(), Some(PLACEHOLDER));

    let before = Utc::now() - chrono::Duration::seconds(5);
    store.write_all(&values(&names)).await.unwrap();
    for (name, value) in values(&names) {
        let back = store.read(&name).await.unwrap().expect("written");
        assert_eq!(back.value.expose_secret(), value.expose_secret());
        assert!(back.updated_at.expect("LastModifiedDate") >= before);
        let (kind, key) = describe(&moto, &name).await;
        assert_eq!(kind, ParameterType::SecureString);
        assert_eq!(key.as_deref(), Some("alias/aws/ssm"));
    }
    assert!(store.read("PSOXY_JIRA_CLOUD_NOPE").await.unwrap().is_none());
}

#[tokio::test]
async fn several_environments_are_discovered_across_pages() {
    let moto = Moto::start();
    let ssm = moto.ssm().await;
    // moto pages DescribeParameters by 10: 12 deployments need two pages.
    let mut expected = Vec::new();
    for i in 0..12 {
        let prefix = format!("ENV{i:02}-PROD_JIRA_CLOUD_");
        moto.put(&ssm, &format!("{prefix}REFRESH_TOKEN"), PLACEHOLDER, None)
            .await;
        moto.put(&ssm, &format!("{prefix}CLIENT_ID"), PLACEHOLDER, None)
            .await;
        expected.push(prefix);
    }
    moto.put(&ssm, "OTHER_CONNECTOR_REFRESH_TOKEN", PLACEHOLDER, None)
        .await;
    let mut found = store(&moto, &[]).await.discover_prefixes().await.unwrap();
    found.sort();
    assert_eq!(found, expected);
}

#[tokio::test]
async fn root_path_scopes_discovery_and_names() {
    let moto = Moto::start();
    moto.seed_placeholders("/x/ACME_JIRA_CLOUD_", None).await;
    moto.seed_placeholders("PSOXY_JIRA_CLOUD_", None).await;
    let store = store(&moto, &["--ssm-root-path", "/x/"]).await;
    assert_eq!(
        store.discover_prefixes().await.unwrap(),
        ["/x/ACME_JIRA_CLOUD_"]
    );
    let names = SecretNames::new("/x/ACME_JIRA_CLOUD_");
    assert!(store.preflight(&names).await.unwrap().missing.is_empty());
    store.write_all(&values(&names)).await.unwrap();
    assert_eq!(
        moto.value("/x/ACME_JIRA_CLOUD_CLIENT_ID").await.as_deref(),
        Some("value-of-/x/ACME_JIRA_CLOUD_CLIENT_ID")
    );
    assert_eq!(
        moto.value("PSOXY_JIRA_CLOUD_CLIENT_ID").await.as_deref(),
        Some(PLACEHOLDER)
    );

    let config = moto.sdk_config().await;
    let bad = SsmStore::with_config(&config, &args(&["--ssm-root-path", "x/"])).await;
    let message = bad.err().expect("rejected").to_string();
    assert!(
        message.contains("--ssm-root-path") && message.contains("/x/"),
        "{message}"
    );
    let bad_prefix = store
        .preflight(&SecretNames::new("x/ACME_JIRA_CLOUD_"))
        .await;
    assert!(
        bad_prefix
            .unwrap_err()
            .to_string()
            .contains("/x/ACME_JIRA_CLOUD_")
    );
}

#[tokio::test]
async fn customer_kms_keys_are_kept_and_used_for_new_parameters() {
    let moto = Moto::start();
    let existing_key = moto.create_kms_key();
    let flag_key = moto.create_kms_key();
    let ssm = moto.ssm().await;
    for name in ["CLIENT_ID", "CLIENT_SECRET", "REFRESH_TOKEN"] {
        let name = format!("PSOXY_JIRA_CLOUD_{name}");
        moto.put(&ssm, &name, PLACEHOLDER, Some(&existing_key))
            .await;
    }
    let store = store(&moto, &["--kms-key-id", &flag_key]).await;
    let names = SecretNames::new("PSOXY_JIRA_CLOUD_");
    let report = store.preflight(&names).await.unwrap();
    assert_eq!(report.missing, ["PSOXY_JIRA_CLOUD_ACCESS_TOKEN"]);
    store.create_missing(&report.missing).await.unwrap();
    assert_eq!(
        moto.value("PSOXY_JIRA_CLOUD_ACCESS_TOKEN").await.as_deref(),
        Some(PLACEHOLDER)
    );
    assert!(store.preflight(&names).await.unwrap().missing.is_empty());

    store.write_all(&values(&names)).await.unwrap();
    for (name, _) in values(&names) {
        let (kind, key) = describe(&moto, &name).await;
        assert_eq!(kind, ParameterType::SecureString, "{name}");
        let want = if name.ends_with("ACCESS_TOKEN") {
            &flag_key
        } else {
            &existing_key
        };
        assert_eq!(key.as_deref(), Some(want.as_str()), "{name}");
    }
}

#[tokio::test]
async fn the_refresh_lock_is_the_proxys_parameter() {
    let moto = Moto::start();
    moto.seed_placeholders("PSOXY_JIRA_CLOUD_", None).await;
    let names = SecretNames::new("PSOXY_JIRA_CLOUD_");
    let lock = "PSOXY_JIRA_CLOUD_OAUTH_REFRESH_TOKEN_lock";
    let ours = store(&moto, &[]).await;
    let theirs = store(&moto, &[]).await;

    assert_eq!(
        ours.try_lock(&names, 1_000, false).await.unwrap(),
        LockAttempt::Acquired
    );
    let (kind, _) = describe(&moto, lock).await;
    assert_eq!(kind, ParameterType::String);
    assert_eq!(moto.value(lock).await.as_deref(), Some("locked_1000"));
    // Another writer sees it held, and since when.
    assert_eq!(
        theirs.try_lock(&names, 2_000, false).await.unwrap(),
        LockAttempt::HeldSince(1_000)
    );
    // A stale lock is taken over; the first holder then leaves the new holder's lock alone.
    assert_eq!(
        theirs.try_lock(&names, 3_000, true).await.unwrap(),
        LockAttempt::Acquired
    );
    assert_eq!(moto.value(lock).await.as_deref(), Some("locked_3000"));
    ours.unlock(&names).await.unwrap();
    assert_eq!(moto.value(lock).await.as_deref(), Some("locked_3000"));
    theirs.unlock(&names).await.unwrap();
    assert_eq!(moto.value(lock).await, None);
    theirs.unlock(&names).await.unwrap(); // already gone: fine

    // A lock whose value is not `locked_<ms>` dates from its LastModifiedDate.
    let ssm = moto.ssm().await;
    ssm.put_parameter()
        .name(lock)
        .value("held")
        .r#type(ParameterType::String)
        .send()
        .await
        .unwrap();
    let now = Utc::now().timestamp_millis();
    match ours.try_lock(&names, now, false).await.unwrap() {
        LockAttempt::HeldSince(t) => assert!((now - t).abs() < 60_000, "{t} vs {now}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn family_metadata_round_trips_as_tags() {
    let moto = Moto::start();
    moto.seed_placeholders("/p/ACME_JIRA_CLOUD_", None).await;
    let store = store(&moto, &["--ssm-root-path", "/p/"]).await;
    let names = SecretNames::new("/p/ACME_JIRA_CLOUD_");
    assert_eq!(
        store.read_metadata(&names).await.unwrap(),
        FamilyMetadata::default()
    );
    let meta = FamilyMetadata {
        issued_at: Some(Utc.timestamp_millis_opt(1_718_000_000_123).unwrap()),
        cloud_id: Some("11111111-2222-3333-4444-555555555555".into()),
    };
    store.write_metadata(&names, &meta).await.unwrap();
    assert_eq!(store.read_metadata(&names).await.unwrap(), meta);

    let tags = moto
        .ssm()
        .await
        .list_tags_for_resource()
        .resource_type(ResourceTypeForTagging::Parameter)
        .resource_id("/p/ACME_JIRA_CLOUD_REFRESH_TOKEN")
        .send()
        .await
        .unwrap();
    let tags: Vec<(&str, &str)> = tags
        .tag_list()
        .iter()
        .map(|t| (t.key(), t.value()))
        .collect();
    assert!(
        tags.contains(&(TAG_ISSUED_AT, "2024-06-10T06:13:20.123Z")),
        "{tags:?}"
    );
    assert!(
        tags.contains(&(TAG_CLOUD_ID, "11111111-2222-3333-4444-555555555555")),
        "{tags:?}"
    );
    // Preflight still passes once the parameter has tags.
    assert!(store.preflight(&names).await.is_ok());
    assert_eq!(store.read_metadata(&names).await.unwrap(), meta);
}

#[tokio::test]
async fn iam_denials_name_the_missing_permission() {
    let moto = Moto::start();
    moto.seed_placeholders("PSOXY_JIRA_CLOUD_", None).await;
    let read_only = moto.user_allowed(
        "read-only",
        &[
            "ssm:DescribeParameters",
            "ssm:GetParameter",
            "ssm:ListTagsForResource",
        ],
    );
    let no_get = moto.user_allowed("no-get", &["ssm:DescribeParameters"]);
    let nothing = moto.user_allowed("nothing", &["sts:GetCallerIdentity"]);
    let writer = moto.user_allowed(
        "writer",
        &[
            "ssm:DescribeParameters",
            "ssm:GetParameter",
            "ssm:PutParameter",
        ],
    );
    moto.enforce_iam();
    let names = SecretNames::new("PSOXY_JIRA_CLOUD_");

    for (keys, permission) in [
        (&read_only, "ssm:PutParameter"),
        (&no_get, "ssm:GetParameter"),
        (&nothing, "ssm:DescribeParameters"),
    ] {
        let store = store_as(&moto, keys).await;
        match store.preflight(&names).await {
            Err(StoreError::PermissionDenied(m)) => {
                eprintln!("{m}");
                assert!(m.contains(permission), "{permission}: {m}");
                assert!(m.contains("grant"), "{m}");
            }
            other => panic!("{permission}: {other:?}"),
        }
    }

    // The writer passes preflight but may not tag or unlock; values never reach messages.
    let store = store_as(&moto, &writer).await;
    store.preflight(&names).await.unwrap();
    let meta = FamilyMetadata {
        issued_at: Some(Utc::now()),
        cloud_id: None,
    };
    let e = store.write_metadata(&names, &meta).await.unwrap_err();
    assert!(
        matches!(&e, StoreError::PermissionDenied(m) if m.contains("ssm:AddTagsToResource")),
        "{e:?}"
    );
    store.try_lock(&names, 1, false).await.unwrap();
    let e = store.unlock(&names).await.unwrap_err();
    assert!(e.to_string().contains("ssm:DeleteParameter"), "{e}");
    let sentinel = SecretString::from("sentinel-value-never-shown".to_string());
    let e = store_as(&moto, &read_only)
        .await
        .write("PSOXY_JIRA_CLOUD_CLIENT_SECRET", &sentinel)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("ssm:PutParameter"), "{e}");
    assert!(!format!("{e} {e:?}").contains("sentinel"), "{e}");
}

#[tokio::test]
async fn rejected_keys_and_unreachable_endpoints_are_told_apart() {
    let moto = Moto::start();
    moto.enforce_iam();
    let names = SecretNames::new("PSOXY_JIRA_CLOUD_");
    // Keys IAM does not know: a credentials problem, with the fix.
    match store(&moto, &[]).await.preflight(&names).await {
        Err(StoreError::Credentials(m)) => {
            eprintln!("{m}");
            assert!(m.contains("aws sso login"), "{m}")
        }
        other => panic!("{other:?}"),
    }
    // Nothing listening: transient, so the wizard retries.
    let port = moto.port;
    drop(moto);
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(format!("http://127.0.0.1:{port}"))
        .credentials_provider(aws_sdk_ssm::config::Credentials::new(
            "a", "b", None, None, "t",
        ))
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(1))
        .load()
        .await;
    let store = SsmStore::with_config(&config, &args(&[])).await.unwrap();
    let e = store.discover_prefixes().await.unwrap_err();
    eprintln!("{e}");
    assert!(e.is_retryable(), "{e:?}");
}

#[tokio::test]
async fn long_values_and_concurrent_writes() {
    let moto = Moto::start();
    moto.seed_placeholders("PSOXY_JIRA_CLOUD_", None).await;
    let store = store(&moto, &[]).await;
    let names = SecretNames::new("PSOXY_JIRA_CLOUD_");
    store.preflight(&names).await.unwrap();
    let long = SecretString::from("t".repeat(5000));
    let mut items = values(&names);
    items[3].1 = long.clone();
    store.write_all(&items).await.unwrap();
    let back = store.read(&items[3].0).await.unwrap().unwrap();
    assert_eq!(back.value.expose_secret().len(), 5000);
}
