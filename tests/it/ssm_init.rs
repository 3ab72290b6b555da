//! `init --store aws-ssm` end to end: the real binary against moto (AWS) and the Atlassian
//! simulator, with the harness playing the browser. Checked in moto afterwards: values, types,
//! KMS keys, tags, and the proxy's refresh lock.

use crate::support;
use crate::support::moto;

use std::time::Duration;

use aws_sdk_ssm::types::{ParameterStringFilter, ParameterType, ResourceTypeForTagging};
use chrono::{DateTime, Utc};
use jira_psoxy_setup::sim::SimSite;
use moto::{Moto, PLACEHOLDER};
use support::*;

const LOCK: &str = "PSOXY_JIRA_CLOUD_OAUTH_REFRESH_TOKEN_lock";

/// The usual non-interactive init flags, with the SSM store instead of the file store.
fn ssm_args(s: &Session, extra: &[&str]) -> Vec<String> {
    with(
        on_store(s.init_args(), strings(&["--store", "aws-ssm"])),
        extra,
    )
}

fn env(moto: &Moto, keys: Option<&(String, String)>) -> Vec<(&'static str, String)> {
    let mut env = match keys {
        Some((id, secret)) => moto.env_with_keys(id, secret),
        None => moto.env(),
    };
    env.push(("JIRA_CLIENT_SECRET", CLIENT_SECRET.to_string()));
    env
}

struct Param {
    value: String,
    kind: ParameterType,
    key_id: Option<String>,
    modified: DateTime<Utc>,
}

async fn param(ssm: &aws_sdk_ssm::Client, name: &str) -> Option<Param> {
    let p = moto::get_parameter(ssm, name).await?;
    let filter = ParameterStringFilter::builder()
        .key("Name")
        .option("Equals")
        .values(name)
        .build()
        .unwrap();
    let described = ssm
        .describe_parameters()
        .parameter_filters(filter)
        .send()
        .await
        .unwrap();
    let meta = described.parameters().first()?;
    Some(Param {
        value: p.value()?.to_string(),
        kind: p.r#type()?.clone(),
        key_id: meta.key_id().map(str::to_string),
        modified: DateTime::from_timestamp_millis(p.last_modified_date()?.to_millis().unwrap())?,
    })
}

async fn tags(ssm: &aws_sdk_ssm::Client, name: &str) -> Vec<(String, String)> {
    ssm.list_tags_for_resource()
        .resource_type(ResourceTypeForTagging::Parameter)
        .resource_id(name)
        .send()
        .await
        .unwrap()
        .tag_list()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect()
}

#[tokio::test]
async fn init_fills_terraform_placeholders_keeping_keys_and_tagging_the_family() {
    let moto = Moto::start();
    let key = moto.create_kms_key();
    moto.seed_placeholders("PSOXY_JIRA_CLOUD_", Some(&key))
        .await;
    let s = Session::new(loopback_config()).await;
    let started = Utc::now() - chrono::Duration::seconds(5);
    let env = env(&moto, None);
    let out = s.consents(&ssm_args(&s, &[]), &borrowed(&env)).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("AWS SSM Parameter Store (us-east-1"),
        "{}",
        out.stderr
    );

    let ssm = moto.ssm().await;
    let mut secrets = vec![CLIENT_SECRET.to_string()];
    for name in [
        "CLIENT_ID",
        "CLIENT_SECRET",
        "REFRESH_TOKEN",
        "ACCESS_TOKEN",
    ] {
        let p = param(&ssm, &format!("PSOXY_JIRA_CLOUD_{name}"))
            .await
            .expect(name);
        assert_eq!(p.kind, ParameterType::SecureString, "{name}");
        assert_eq!(
            p.key_id.as_deref(),
            Some(key.as_str()),
            "{name} keeps its KMS key"
        );
        assert_ne!(p.value, PLACEHOLDER, "{name}");
        assert!(p.modified >= started, "{name}");
        secrets.push(p.value);
    }
    assert_eq!(secrets[1], CLIENT_ID);
    assert_eq!(secrets[2], CLIENT_SECRET);
    assert!(s.sim.is_live_refresh_token(&secrets[3]));
    let access: serde_json::Value = serde_json::from_str(&secrets[4]).unwrap();
    assert!(
        s.sim
            .is_live_access_token(access["token"].as_str().unwrap())
    );
    assert!(
        param(&ssm, LOCK).await.is_none(),
        "the refresh lock was released"
    );

    let tags = tags(&ssm, "PSOXY_JIRA_CLOUD_REFRESH_TOKEN").await;
    let tag = |k: &str| {
        tags.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(
        tag("jira-psoxy-setup:cloud-id").as_deref(),
        Some(SimSite::numbered(1).id.as_str())
    );
    let issued = tag("jira-psoxy-setup:family-issued-at").expect("issue date tag");
    let issued = DateTime::parse_from_rfc3339(&issued).unwrap();
    assert!(issued >= started && issued <= Utc::now(), "{issued}");

    secrets.remove(1); // the client id is not a secret
    secrets.push(access["token"].as_str().unwrap().to_string());
    secrets.extend(codes(&out.redirects));
    assert!(out.stderr.contains("DEBUG"), "-vv logs the SSM run too");
    assert_no_secrets(
        &out.all(),
        &secrets.iter().map(String::as_str).collect::<Vec<_>>(),
    );
}

#[tokio::test]
async fn missing_permission_is_reported_before_any_authorization_request() {
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
    moto.enforce_iam();
    let s = Session::new(loopback_config()).await;
    let env = env(&moto, Some(&read_only));
    let out = s.consents(&ssm_args(&s, &[]), &borrowed(&env)).await;
    assert_eq!(out.code, 6, "{}", out.stderr);
    assert!(out.stderr.contains("ssm:PutParameter"), "{}", out.stderr);
    assert!(out.authorize_urls.is_empty(), "{}", out.stderr);
    assert!(s.sim.requests().is_empty(), "{:?}", s.sim.requests());
}

#[tokio::test]
async fn parameters_terraform_did_not_create_are_created_only_when_asked() {
    let moto = Moto::start();
    let key = moto.create_kms_key();
    let s = Session::new(loopback_config()).await;
    let env = env(&moto, None);
    let root = [
        "--ssm-root-path",
        "/psoxy/",
        "--environment-name",
        "acme-prod",
    ];
    let out = s.consents(&ssm_args(&s, &root), &borrowed(&env)).await;
    assert_eq!(out.code, 6, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("/psoxy/ACME-PROD_JIRA_CLOUD_REFRESH_TOKEN"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("--create-missing"), "{}", out.stderr);
    assert!(out.authorize_urls.is_empty());

    let mut args = ssm_args(&s, &root);
    args.extend([
        "--create-missing".into(),
        "--kms-key-id".into(),
        key.clone(),
    ]);
    let out = s.consents(&args, &borrowed(&env)).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    // Said before creating: Terraform owns these; afterwards, the import id of each.
    let warned = out.stderr.find("normally created by Psoxy's Terraform");
    let created = out.stderr.find("created /psoxy/");
    assert!(warned.is_some() && warned < created, "{}", out.stderr);
    assert!(out.stderr.contains("\"already exists\""), "{}", out.stderr);
    for name in [
        "CLIENT_ID",
        "CLIENT_SECRET",
        "REFRESH_TOKEN",
        "ACCESS_TOKEN",
    ] {
        let import = format!("terraform import '<address>' '/psoxy/ACME-PROD_JIRA_CLOUD_{name}'");
        assert!(out.stderr.contains(&import), "{import}: {}", out.stderr);
    }
    let ssm = moto.ssm().await;
    let p = param(&ssm, "/psoxy/ACME-PROD_JIRA_CLOUD_CLIENT_ID")
        .await
        .unwrap();
    assert_eq!(
        (p.value.as_str(), p.kind),
        (CLIENT_ID, ParameterType::SecureString)
    );
    assert_eq!(p.key_id.as_deref(), Some(key.as_str()));
}

/// Psoxy accepts a root path without a slash, and its env-id turns spaces into hyphens: the
/// names derived from both are the ones Terraform created.
#[tokio::test]
async fn a_slashless_root_path_and_an_environment_name_with_spaces_find_terraforms_names() {
    let moto = Moto::start();
    moto.seed_placeholders("ACME_ACME-PROD_JIRA_CLOUD_", None)
        .await;
    let s = Session::new(loopback_config()).await;
    let args = ssm_args(
        &s,
        &[
            "--ssm-root-path",
            "ACME_",
            "--environment-name",
            "acme prod",
        ],
    );
    let out = s.consents(&args, &borrowed(&env(&moto, None))).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let ssm = moto.ssm().await;
    let p = param(&ssm, "ACME_ACME-PROD_JIRA_CLOUD_CLIENT_ID")
        .await
        .unwrap();
    assert_eq!(p.value, CLIENT_ID);
}

/// Plays the proxy: holds the lock with a fresh `locked_<now>` and releases it ~3s after the
/// binary says it is waiting. The binary must proceed and write only after the release.
#[tokio::test]
async fn a_held_refresh_lock_is_waited_for_then_taken() {
    let moto = Moto::start();
    moto.seed_placeholders("PSOXY_JIRA_CLOUD_", None).await;
    let ssm = moto.ssm().await;
    let held = format!("locked_{}", Utc::now().timestamp_millis());
    ssm.put_parameter()
        .name(LOCK)
        .value(&held)
        .r#type(ParameterType::String)
        .send()
        .await
        .unwrap();
    let s = Session::new(loopback_config()).await;
    let env = env(&moto, None);
    let (released_tx, released_rx) = tokio::sync::oneshot::channel();
    let mut released_tx = Some(released_tx);
    let releaser = ssm.clone();
    let out = s
        .consenting(&ssm_args(&s, &[]), &borrowed(&env), |line, _| {
            if line.contains("is held")
                && let Some(tx) = released_tx.take()
            {
                let ssm = releaser.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_secs(3)).await;
                    let at = Utc::now();
                    ssm.delete_parameter().name(LOCK).send().await.unwrap();
                    let _ = tx.send(at);
                });
            }
        })
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("waiting up to"), "{}", out.stderr);
    let released = released_rx
        .await
        .expect("the lock was released by the test");
    let refresh = param(&ssm, "PSOXY_JIRA_CLOUD_REFRESH_TOKEN").await.unwrap();
    assert!(s.sim.is_live_refresh_token(&refresh.value));
    assert!(
        refresh.modified >= released,
        "written {} before the release {released}",
        refresh.modified
    );
    assert!(
        param(&ssm, LOCK).await.is_none(),
        "our own lock was released"
    );
}

#[tokio::test]
async fn a_stale_refresh_lock_is_taken_over_with_a_warning() {
    let moto = Moto::start();
    moto.seed_placeholders("PSOXY_JIRA_CLOUD_", None).await;
    let ssm = moto.ssm().await;
    let stale = format!("locked_{}", Utc::now().timestamp_millis() - 300_000);
    ssm.put_parameter()
        .name(LOCK)
        .value(stale)
        .r#type(ParameterType::String)
        .send()
        .await
        .unwrap();
    let s = Session::new(loopback_config()).await;
    let env = env(&moto, None);
    let out = s.consents(&ssm_args(&s, &[]), &borrowed(&env)).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("took over a stale refresh lock"),
        "{}",
        out.stderr
    );
    assert!(param(&ssm, LOCK).await.is_none());
}
