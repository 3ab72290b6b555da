//! The yearly lifecycle with `--store aws-ssm`: `renew` with nothing pasted, and `status` from
//! what SSM says (LastModifiedDate, tags). The real binary against moto and the Atlassian
//! simulator; the harness plays the browser, and checks SSM directly afterwards.

use crate::support;
use crate::support::moto;
use crate::support::ssm_story;

use std::time::Instant;

use aws_sdk_ssm::types::{ParameterType, ResourceTypeForTagging, Tag};
use chrono::{DateTime, SecondsFormat, Utc};
use jira_psoxy_setup::sim::SimSite;
use moto::{Moto, PLACEHOLDER};
use serde_json::Value;
use ssm_story::*;
use support::*;

/// `renew` with what an operator types a year later: no client id, no secret.
fn renew_args(s: &Session) -> Vec<String> {
    on_store(s.renew_args(), strings(&["--store", "aws-ssm"]))
}

fn status_args(extra: &[&str]) -> Vec<String> {
    let mut args = strings(&["status", "--store", "aws-ssm"]);
    args.extend(strings(extra));
    args
}

/// Terraform's placeholders, then `init` through the loopback listener.
async fn initialized(moto: &Moto) -> Session {
    moto.seed_placeholders(PREFIX, None).await;
    let s = Session::new(loopback_config()).await;
    let env = init_env(moto);
    let out = s.consents(&init_args(&s), &borrowed(&env)).await;
    assert_eq!(out.code, 0, "init: {}", out.stderr);
    s
}

/// Moves the family issue date tag, as if the family were `days` old (what an operator or a
/// script sees after a year; the tool's own format).
async fn age_family(ssm: &aws_sdk_ssm::Client, days: i64) {
    let when =
        (Utc::now() - chrono::Duration::days(days)).to_rfc3339_opts(SecondsFormat::Millis, true);
    ssm.add_tags_to_resource()
        .resource_type(ResourceTypeForTagging::Parameter)
        .resource_id(REFRESH)
        .tags(Tag::builder().key(ISSUED_AT).value(when).build().unwrap())
        .send()
        .await
        .unwrap();
}

/// Every secret value SSM holds for the deployment (the client id is not one), plus the client
/// secret itself.
async fn stored_secrets(ssm: &aws_sdk_ssm::Client) -> Vec<String> {
    let mut out = vec![CLIENT_SECRET.to_string()];
    for suffix in ["CLIENT_SECRET", "REFRESH_TOKEN"] {
        out.push(value(ssm, suffix).await);
    }
    let access: Value = serde_json::from_str(&value(ssm, "ACCESS_TOKEN").await).unwrap();
    out.push(access["token"].as_str().unwrap().to_string());
    out
}

fn report(out: &Output) -> Value {
    serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("status --json prints JSON ({e}): {}", out.all()))
}

/// Issue #5 for AWS: a year later, `renew` needs nothing but a click. The client credentials
/// come back from SSM; only the token family is rewritten.
#[tokio::test]
async fn renew_reads_the_client_credentials_from_ssm_and_replaces_only_the_token_family() {
    let moto = Moto::start();
    let s = initialized(&moto).await;
    let ssm = moto.ssm().await;
    let client_id = param(&ssm, "PSOXY_JIRA_CLOUD_CLIENT_ID").await.unwrap();
    let client_secret = param(&ssm, "PSOXY_JIRA_CLOUD_CLIENT_SECRET").await.unwrap();
    assert_eq!(client_secret.value, CLIENT_SECRET);
    let old = param(&ssm, REFRESH).await.unwrap();
    // An old family, so that a new issue date cannot be mistaken for the one init wrote.
    age_family(&ssm, 300).await;
    let started = Utc::now() - chrono::Duration::seconds(1);

    let env = moto.env();
    let clock = Instant::now();
    let out = s.consents(&renew_args(&s), &borrowed(&env)).await;
    eprintln!("renew took {:?}", clock.elapsed());
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("client ID and secret read from the store"),
        "{}",
        out.stderr
    );
    assert_eq!(out.authorize_urls.len(), 1, "{}", out.stderr);
    let asked_for = out.authorize_urls[0]
        .query_pairs()
        .find(|(k, _)| k == "client_id")
        .map(|(_, v)| v.into_owned());
    assert_eq!(
        asked_for.as_deref(),
        Some(CLIENT_ID),
        "the client id from SSM"
    );

    let refresh = param(&ssm, REFRESH).await.unwrap();
    assert_ne!(refresh.value, old.value);
    assert!(
        s.sim.is_live_refresh_token(&refresh.value),
        "the stored refresh token is live"
    );
    assert!(refresh.version > old.version);
    let access: Value = serde_json::from_str(&value(&ssm, "ACCESS_TOKEN").await).unwrap();
    assert!(
        s.sim
            .is_live_access_token(access["token"].as_str().unwrap())
    );
    assert_eq!(
        param(&ssm, "PSOXY_JIRA_CLOUD_CLIENT_SECRET").await.as_ref(),
        Some(&client_secret),
        "CLIENT_SECRET untouched: same value, version and LastModifiedDate"
    );
    assert_eq!(
        param(&ssm, "PSOXY_JIRA_CLOUD_CLIENT_ID").await.as_ref(),
        Some(&client_id),
        "CLIENT_ID untouched"
    );
    assert!(
        !out.stdout.contains("PSOXY_JIRA_CLOUD_CLIENT_SECRET"),
        "renew reports only the tokens as written: {}",
        out.stdout
    );

    let issued = issued_at(&ssm).await;
    assert!(
        issued >= started && issued <= Utc::now(),
        "the family issue date tag was moved to the renewal: {issued}"
    );
    assert_eq!(
        tag(&ssm, CLOUD_ID).await.as_deref(),
        Some(SimSite::numbered(1).id.as_str())
    );
    assert!(
        param(&ssm, LOCK).await.is_none(),
        "the refresh lock was released"
    );

    let mut leaks = stored_secrets(&ssm).await;
    leaks.push(old.value);
    leaks.extend(codes(&out.redirects));
    no_secrets(&out.all(), &leaks);
}

/// Issue #6 for AWS: `status` reads SSM only, and its exit codes follow the family's age.
#[tokio::test]
async fn status_reads_dates_from_ssm_and_its_exit_codes_follow_the_family_age() {
    let moto = Moto::start();
    let s = initialized(&moto).await;
    let ssm = moto.ssm().await;
    let leaks = stored_secrets(&ssm).await;
    let env = moto.env();
    let status = async |extra: &[&str]| {
        let out = s
            .run_with(&status_args(extra), &borrowed(&env), &[], Browser::Nothing)
            .await;
        no_secrets(&out.all(), &leaks);
        out
    };
    let token_posts = || s.token_posts();
    let posts = token_posts();

    let out = status(&["--json"]).await;
    assert_eq!(out.code, 0, "{}", out.all());
    let r = report(&out);
    assert_eq!(r["health"], "ok", "{r}");
    assert_eq!(r["days_left"].as_i64(), Some(365), "{r}");
    assert_eq!(r["prefix"], PREFIX, "discovered");
    assert_eq!(r["cloud_id"], SimSite::numbered(1).id.as_str());
    assert_eq!(r["access_token"]["state"], "valid");
    let secrets = r["secrets"].as_array().unwrap();
    assert_eq!(secrets.len(), 4, "{r}");
    for (entry, suffix) in secrets.iter().zip(NAMES) {
        let name = format!("{PREFIX}{suffix}");
        assert_eq!(entry["name"], name.as_str(), "{r}");
        assert_eq!(entry["state"], "present", "{entry}");
        let updated = entry["updated_at"]
            .as_str()
            .unwrap_or_else(|| panic!("{name} has updated_at: {entry}"));
        let updated = DateTime::parse_from_rfc3339(updated).unwrap();
        let modified = param(&ssm, &name).await.unwrap().modified;
        assert_eq!(
            updated, modified,
            "{name}: updated_at is its LastModifiedDate"
        );
    }
    let issued = issued_at(&ssm).await;
    let reported = r["family_issued_at"].as_str().expect("family_issued_at");
    assert_eq!(DateTime::parse_from_rfc3339(reported).unwrap(), issued);

    age_family(&ssm, 340).await;
    let out = status(&["--json"]).await;
    assert_eq!(out.code, 10, "{}", out.all());
    let r = report(&out);
    assert_eq!(r["health"], "warn", "{r}");
    assert_eq!(r["days_left"].as_i64(), Some(25), "{r}");
    let out = status(&[]).await;
    assert_eq!(out.code, 10, "{}", out.all());
    assert!(out.stdout.contains("expires in 25 days"), "{}", out.stdout);

    age_family(&ssm, 400).await;
    let out = status(&["--json"]).await;
    assert_eq!(out.code, 11, "{}", out.all());
    let r = report(&out);
    assert_eq!(r["health"], "critical", "{r}");
    assert!(r["days_left"].as_i64().unwrap() < 0, "{r}");

    // A fresh family again, but the refresh token put back to Terraform's placeholder.
    age_family(&ssm, 0).await;
    ssm.put_parameter()
        .name(REFRESH)
        .value(PLACEHOLDER)
        .r#type(ParameterType::SecureString)
        .overwrite(true)
        .send()
        .await
        .unwrap();
    let out = status(&["--json"]).await;
    assert_eq!(out.code, 11, "{}", out.all());
    let r = report(&out);
    assert_eq!(r["health"], "critical", "{r}");
    let states: Vec<&str> = r["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["state"].as_str().unwrap())
        .collect();
    assert_eq!(
        states,
        ["present", "present", "placeholder", "present"],
        "{r}"
    );
    assert!(
        r["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p.as_str().unwrap().contains(REFRESH)),
        "{r}"
    );

    assert_eq!(token_posts(), posts, "status made no token request");
    assert!(param(&ssm, LOCK).await.is_none(), "status takes no lock");
}
