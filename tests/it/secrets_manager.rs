//! `--store aws-secrets-manager` as an operator with a Psoxy deployment that keeps its secrets in
//! AWS Secrets Manager runs it: the real binary against moto (Secrets Manager and SSM) and the
//! Atlassian simulator; the harness checks both services directly afterwards.

use crate::support;
use crate::support::moto;
use crate::support::sm_story;
use crate::support::ssm_story;

use jira_psoxy_setup::sim::SimSite;
use moto::Moto;
use serde_json::Value;
use sm_story::*;
use ssm_story::{CLOUD_ID, ISSUED_AT, LOCK, NAMES, PREFIX, init_env, no_secrets, param};
use support::*;

fn status_args() -> Vec<String> {
    let mut args = strings(&["status", "--json"]);
    args.extend(store_flags());
    args
}

fn report(out: &Output) -> Value {
    serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("status --json prints JSON ({e}): {}", out.all()))
}

fn states(report: &Value) -> Vec<String> {
    let secrets = report["secrets"].as_array().expect("secrets");
    secrets
        .iter()
        .map(|s| s["state"].as_str().unwrap().to_string())
        .collect()
}

/// Terraform's secrets have no version: `status` calls that "not filled yet" (as `fill me`),
/// `init` fills them under their customer KMS key with the metadata on the SSM parameter, and
/// a year later `renew` reads the client credentials back and replaces only the token family.
#[tokio::test]
async fn a_terraform_deployment_goes_through_init_status_and_renew_keeping_its_kms_key() {
    let moto = Moto::start();
    let key = moto.create_kms_key();
    seed_deployment(&moto, Some(&key)).await;
    let (sm, ssm) = (client(&moto).await, moto.ssm().await);
    let s = Session::new(loopback_config()).await;
    let env = init_env(&moto);

    let before = s
        .run_with(&status_args(), &borrowed(&env), &[], Browser::Nothing)
        .await;
    assert_eq!(before.code, 11, "{}", before.all());
    assert_eq!(
        states(&report(&before)),
        ["placeholder"; 4],
        "{}",
        before.stdout
    );

    let out = s.consents(&init_args(&s), &borrowed(&env)).await;
    assert_eq!(out.code, 0, "init: {}", out.stderr);
    assert!(
        out.stderr.contains("not checked before authorizing")
            && out.stderr.contains("secretsmanager:PutSecretValue"),
        "the preflight names what it could not check: {}",
        out.stderr
    );
    assert_eq!(value(&sm, "CLIENT_ID").await, CLIENT_ID);
    assert_eq!(value(&sm, "CLIENT_SECRET").await, CLIENT_SECRET);
    let first_refresh = value(&sm, "REFRESH_TOKEN").await;
    assert!(s.sim.is_live_refresh_token(&first_refresh));
    for name in NAMES {
        assert_eq!(
            key_and_tags(&sm, name).await,
            (Some(key.clone()), 0),
            "{name} keeps its KMS key and gets no tag (Terraform would remove it)"
        );
        assert_eq!(
            moto.value(&format!("{PREFIX}{name}")).await,
            None,
            "nothing written to SSM as {name}"
        );
    }
    assert_eq!(
        metadata_tag(&ssm, CLOUD_ID).await.as_deref(),
        Some(SimSite::numbered(1).id.as_str())
    );
    assert!(metadata_tag(&ssm, ISSUED_AT).await.is_some());
    assert!(param(&ssm, LOCK).await.is_none(), "the lock was released");

    let after = s
        .run_with(&status_args(), &borrowed(&env), &[], Browser::Nothing)
        .await;
    assert_eq!(after.code, 0, "{}", after.all());
    let r = report(&after);
    assert_eq!(states(&r), ["present"; 4], "{}", after.stdout);
    assert!(r["days_left"].as_i64().unwrap() > 300, "{}", after.stdout);

    let renew = on_store(s.renew_args(), store_flags());
    let out = s.consents(&renew, &borrowed(&moto.env())).await;
    assert_eq!(out.code, 0, "renew: {}", out.stderr);
    assert!(
        out.stderr
            .contains("client ID and secret read from the store"),
        "{}",
        out.stderr
    );
    let refresh = value(&sm, "REFRESH_TOKEN").await;
    assert_ne!(refresh, first_refresh);
    assert!(s.sim.is_live_refresh_token(&refresh));
    assert_eq!(value(&sm, "CLIENT_SECRET").await, CLIENT_SECRET);
    assert_eq!(key_and_tags(&sm, "REFRESH_TOKEN").await.0, Some(key));
    no_secrets(
        &out.all(),
        &[CLIENT_SECRET.to_string(), refresh, first_refresh],
    );
}

/// No Terraform: `--create-missing` creates the secrets with the deployment's KMS key, the way
/// the proxy reads them, and the endpoint comes from the per-service variables alone.
#[tokio::test]
async fn create_missing_creates_secrets_with_the_kms_key_through_per_service_endpoints() {
    let moto = Moto::start();
    let key = moto.create_kms_key();
    let s = Session::new(loopback_config()).await;
    let mut env = init_env(&moto);
    env.retain(|(k, _)| *k != "AWS_ENDPOINT_URL");
    env.push(("AWS_ENDPOINT_URL_SSM", moto.endpoint.clone()));
    env.push(("AWS_ENDPOINT_URL_SECRETS_MANAGER", moto.endpoint.clone()));

    let refused = s
        .run_with(&init_args(&s), &borrowed(&env), &[], Browser::Nothing)
        .await;
    assert_eq!(refused.code, 6, "{}", refused.all());
    assert!(
        refused.stderr.contains("--create-missing"),
        "{}",
        refused.stderr
    );
    assert!(refused.authorize_urls.is_empty(), "no code was asked for");

    let args = with(init_args(&s), &["--create-missing", "--kms-key-id", &key]);
    let out = s.consents(&args, &borrowed(&env)).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("already exists"), "{}", out.stderr);
    for name in NAMES {
        let import = format!(
            "terraform import '<address>' \"$(aws secretsmanager describe-secret --secret-id '{PREFIX}{name}' --query ARN --output text)\""
        );
        assert!(out.stderr.contains(&import), "{import}\n{}", out.stderr);
    }
    let sm = client(&moto).await;
    for name in NAMES {
        assert_eq!(
            key_and_tags(&sm, name).await,
            (Some(key.clone()), 0),
            "{name}"
        );
    }
    assert_eq!(value(&sm, "CLIENT_SECRET").await, CLIENT_SECRET);
    assert!(
        s.sim
            .is_live_refresh_token(&value(&sm, "REFRESH_TOKEN").await)
    );
    let ssm = moto.ssm().await;
    assert!(
        metadata_tag(&ssm, ISSUED_AT).await.is_some(),
        "the family's issue date is on the SSM parameter OAUTH_REFRESH_TOKEN"
    );
}

/// A secret deleted with a recovery window still answers DescribeSecret (with `DeletedDate`) but
/// takes no value: the preflight stops before a browser opens, so no token is minted for a
/// write that must fail, and says how to restore it.
#[tokio::test]
async fn a_secret_scheduled_for_deletion_stops_the_preflight() {
    let moto = Moto::start();
    seed_deployment(&moto, None).await;
    let sm = client(&moto).await;
    let refresh = ssm_story::REFRESH;
    sm.delete_secret()
        .secret_id(refresh)
        .recovery_window_in_days(7)
        .send()
        .await
        .unwrap();
    let s = Session::new(loopback_config()).await;
    let env = init_env(&moto);
    let out = s.consents(&init_args(&s), &borrowed(&env)).await;
    assert_eq!(out.code, 6, "{}", out.all());
    assert!(
        out.stderr
            .contains(&format!("{refresh} was scheduled for deletion"))
            && out.stderr.contains("restore-secret"),
        "{}",
        out.stderr
    );
    assert!(out.authorize_urls.is_empty(), "no code was asked for");
    assert_eq!(s.token_posts(), 0, "no token minted");
}
