//! The yearly lifecycle with `--store aws-ssm`: `renew` with nothing pasted, `status` from what
//! SSM says (LastModifiedDate, tags), and the recovery path when SSM goes away after the code
//! exchange. The real binary against moto and the Atlassian simulator; the harness plays the
//! browser, and checks SSM directly afterwards.

#[path = "support/moto.rs"]
mod moto;
#[path = "support/relay.rs"]
mod relay;
mod support;

use std::time::Instant;

use aws_sdk_ssm::types::{ParameterType, ResourceTypeForTagging, Tag};
use chrono::{DateTime, SecondsFormat, Utc};
use jira_psoxy_setup::sim::SimSite;
use moto::{Moto, PLACEHOLDER};
use relay::Relay;
use serde_json::Value;
use support::*;

const PREFIX: &str = "PSOXY_JIRA_CLOUD_";
const REFRESH: &str = "PSOXY_JIRA_CLOUD_REFRESH_TOKEN";
const LOCK: &str = "PSOXY_JIRA_CLOUD_OAUTH_REFRESH_TOKEN_lock";
const ISSUED_AT: &str = "jira-psoxy-setup:family-issued-at";
const CLOUD_ID: &str = "jira-psoxy-setup:cloud-id";
const NAMES: [&str; 4] = [
    "CLIENT_ID",
    "CLIENT_SECRET",
    "REFRESH_TOKEN",
    "ACCESS_TOKEN",
];

/// The usual non-interactive init flags, with the SSM store instead of the file store.
fn init_args(s: &Session) -> Vec<String> {
    let mut args = s.init_args();
    let at = args.iter().position(|a| a == "--store").unwrap();
    args.splice(at..at + 4, strings(&["--store", "aws-ssm"]));
    args
}

/// `renew` with what an operator types a year later: no client id, no secret.
fn renew_args(s: &Session) -> Vec<String> {
    let base = s.sim.base_url().to_string();
    strings(&[
        "renew",
        "--non-interactive",
        "--store",
        "aws-ssm",
        "--redirect-uri",
        &s.redirect_uri,
        "--atlassian-auth-url",
        &base,
        "--atlassian-api-url",
        &base,
        "--no-browser",
        "--callback-timeout",
        "20",
    ])
}

fn status_args(extra: &[&str]) -> Vec<String> {
    let mut args = strings(&["status", "--store", "aws-ssm"]);
    args.extend(strings(extra));
    args
}

/// moto's environment plus the client secret, as `init` gets it.
fn init_env(moto: &Moto) -> Vec<(&'static str, String)> {
    let mut env = moto.env();
    env.push(("JIRA_CLIENT_SECRET", CLIENT_SECRET.to_string()));
    env
}

/// Terraform's placeholders, then `init` through the loopback listener.
async fn initialized(moto: &Moto) -> Session {
    moto.seed_placeholders(PREFIX, None).await;
    let s = Session::new(loopback_config()).await;
    let env = init_env(moto);
    let out = s
        .run_with(
            &init_args(&s),
            &borrowed(&env),
            &[],
            Browser::Follow { accept: true },
        )
        .await;
    assert_eq!(out.code, 0, "init: {}", out.stderr);
    s
}

#[derive(Debug, Clone, PartialEq)]
struct Param {
    value: String,
    version: i64,
    modified: DateTime<Utc>,
}

async fn param(ssm: &aws_sdk_ssm::Client, name: &str) -> Option<Param> {
    let p = moto::get_parameter(ssm, name).await?;
    Some(Param {
        value: p.value()?.to_string(),
        version: p.version(),
        modified: DateTime::from_timestamp_millis(p.last_modified_date()?.to_millis().unwrap())?,
    })
}

async fn value(ssm: &aws_sdk_ssm::Client, suffix: &str) -> String {
    param(ssm, &format!("{PREFIX}{suffix}"))
        .await
        .unwrap_or_else(|| panic!("{PREFIX}{suffix} exists"))
        .value
}

async fn tag(ssm: &aws_sdk_ssm::Client, key: &str) -> Option<String> {
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

async fn issued_at(ssm: &aws_sdk_ssm::Client) -> DateTime<Utc> {
    let text = tag(ssm, ISSUED_AT)
        .await
        .expect("the family issue date tag");
    DateTime::parse_from_rfc3339(&text)
        .unwrap_or_else(|e| panic!("{ISSUED_AT} = {text:?}: {e}"))
        .with_timezone(&Utc)
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

fn no_secrets(text: &str, secrets: &[String]) {
    assert_no_secrets(
        text,
        &secrets.iter().map(String::as_str).collect::<Vec<_>>(),
    );
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
    let out = s
        .run_with(
            &renew_args(&s),
            &borrowed(&env),
            &[],
            Browser::Follow { accept: true },
        )
        .await;
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
    let token_posts = || {
        s.sim
            .requests()
            .iter()
            .filter(|r| r.starts_with("POST") && r.contains("/oauth/token"))
            .count()
    };
    let posts = token_posts();

    let out = status(&["--json"]).await;
    assert_eq!(out.code, 0, "{}", out.all());
    let r = report(&out);
    assert_eq!(r["health"], "ok", "{r}");
    assert_eq!(r["days_left"].as_i64(), Some(364), "{r}");
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
    assert_eq!(r["days_left"].as_i64(), Some(24), "{r}");
    let out = status(&[]).await;
    assert_eq!(out.code, 10, "{}", out.all());
    assert!(out.stdout.contains("expires in 24 days"), "{}", out.stdout);

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

/// No token lost: SSM goes away between the code exchange and the write. The new tokens land in
/// a recovery file, and `push --from` finishes against SSM once it is back.
#[tokio::test]
async fn ssm_lost_after_the_exchange_gets_a_recovery_file_and_push_finishes() {
    let mut gone = Moto::start();
    gone.seed_placeholders(PREFIX, None).await;
    let s = Session::new(loopback_config()).await;
    let env = init_env(&gone);
    let mut stopped = None;
    let clock = Instant::now();
    let out = s
        .run_full(
            &init_args(&s),
            &borrowed(&env),
            &[],
            Browser::Follow { accept: true },
            |line, _| {
                // The preflight passed; the operator is about to consent. AWS goes away.
                if stopped.is_none() && line.contains("/authorize?") {
                    gone.stop();
                    stopped = Some(Instant::now());
                }
            },
        )
        .await;
    let total = clock.elapsed();
    let stopped = stopped.expect("the authorize URL was printed");
    eprintln!(
        "init: {:?} until the authorize URL, {:?} from stopping moto to exit {}",
        stopped - clock,
        total - (stopped - clock),
        out.code
    );
    assert_eq!(out.code, 9, "{}", out.stderr);
    assert!(out.stderr.contains("push --from"), "{}", out.stderr);
    assert!(
        out.stderr.contains("AWS SSM Parameter Store"),
        "names the store that failed: {}",
        out.stderr
    );

    let recovery = &recovery_file(&s, &out.stderr);
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(recovery).unwrap()).unwrap();
    let saved_value = |suffix: &str| {
        saved["secrets"][format!("{PREFIX}{suffix}")]
            .as_str()
            .unwrap_or_else(|| panic!("the recovery file holds {suffix}: {saved}"))
            .to_string()
    };
    let refresh = saved_value("REFRESH_TOKEN");
    assert!(
        s.sim.is_live_refresh_token(&refresh),
        "the saved refresh token is live"
    );
    assert_eq!(saved_value("CLIENT_ID"), CLIENT_ID);
    assert_eq!(saved_value("CLIENT_SECRET"), CLIENT_SECRET);
    let access: Value = serde_json::from_str(&saved_value("ACCESS_TOKEN")).unwrap();
    let access_token = access["token"].as_str().unwrap().to_string();
    let leaks = [CLIENT_SECRET.to_string(), refresh.clone(), access_token];
    let mut with_codes = leaks.to_vec();
    with_codes.extend(codes(&out.redirects));
    no_secrets(&out.all(), &with_codes);

    // AWS is back, fresh: Terraform's placeholders again, nothing of the failed run.
    let back = Moto::start();
    back.seed_placeholders(PREFIX, None).await;
    let env = back.env();

    // The operator types `push --from FILE` without the store options: the tokens are SSM's,
    // so push refuses to write them to the default file store and names the whole command.
    let bare = strings(&["push", "--from", recovery.to_str().unwrap()]);
    let out_bare = s
        .run_with(&bare, &borrowed(&env), &[], Browser::Nothing)
        .await;
    assert_eq!(out_bare.code, 3, "{}", out_bare.all());
    assert!(
        out_bare.stderr.contains("--store aws-ssm"),
        "{}",
        out_bare.stderr
    );
    assert!(recovery.exists(), "a refused push keeps the recovery file");
    assert!(
        !s.path("psoxy-jira-cloud.secrets.json").exists(),
        "nothing went to the default file store"
    );

    // The command the failed run printed, as the operator would paste it.
    let printed = out
        .stderr
        .split('`')
        .find(|part| part.starts_with("jira-psoxy-setup push --from"))
        .unwrap_or_else(|| panic!("a push command in backquotes: {}", out.stderr));
    assert!(
        printed.contains("--store aws-ssm --aws-region us-east-1"),
        "{printed}"
    );
    let push: Vec<String> = printed
        .split_whitespace()
        .skip(1)
        .map(String::from)
        .collect();
    let clock = Instant::now();
    let out = s
        .run_with(&push, &borrowed(&env), &[], Browser::Nothing)
        .await;
    eprintln!("push took {:?}", clock.elapsed());
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        !recovery.exists(),
        "the recovery file is deleted after a successful push"
    );
    let ssm = back.ssm().await;
    for suffix in NAMES {
        assert_eq!(
            value(&ssm, suffix).await,
            saved_value(suffix),
            "{suffix} as saved"
        );
        assert!(
            out.stdout.contains(&format!("wrote {PREFIX}{suffix}")),
            "{}",
            out.stdout
        );
        let p = param(&ssm, &format!("{PREFIX}{suffix}")).await.unwrap();
        assert!(p.version > 1, "{suffix} was overwritten");
    }
    assert!(
        s.sim
            .is_live_refresh_token(&value(&ssm, "REFRESH_TOKEN").await)
    );
    assert_eq!(
        tag(&ssm, CLOUD_ID).await.as_deref(),
        Some(SimSite::numbered(1).id.as_str())
    );
    let issued = issued_at(&ssm).await;
    let saved_issued = saved["family_issued_at"]
        .as_str()
        .expect("the recovery file records the issue date");
    let saved_issued = DateTime::parse_from_rfc3339(saved_issued)
        .unwrap()
        .with_timezone(&Utc);
    assert!(
        (issued - saved_issued).num_milliseconds().abs() <= 1,
        "the family issue date is the exchange's ({saved_issued}), not the push's ({issued})"
    );
    assert!(
        param(&ssm, LOCK).await.is_none(),
        "the refresh lock was released"
    );
    no_secrets(&out.all(), &leaks);
}

/// The worse moment: the network to SSM fails after the refresh lock was taken, so the writes
/// themselves fail, and are retried (the SDK's attempts inside the wizard's) before giving up.
/// The tokens still go to a recovery file, which also names the lock the run could not release,
/// so `push --from` takes that lock back at once and finishes.
#[tokio::test]
async fn ssm_lost_after_the_lock_was_taken_still_keeps_the_tokens() {
    let moto = Moto::start();
    moto.seed_placeholders(PREFIX, None).await;
    let relay = Relay::start(moto.port, LOCK).await;
    let s = Session::new(loopback_config()).await;
    let mut env = init_env(&moto);
    env.retain(|(k, _)| *k != "AWS_ENDPOINT_URL");
    env.push(("AWS_ENDPOINT_URL", relay.endpoint.clone()));
    let clock = Instant::now();
    let mut storing = None;
    let out = s
        .run_full(
            &init_args(&s),
            &borrowed(&env),
            &[],
            Browser::Follow { accept: true },
            |line, _| {
                if storing.is_none() && line.contains("Storing the secrets") {
                    storing = Some(Instant::now());
                }
            },
        )
        .await;
    let total = clock.elapsed();
    let storing = storing.expect("the store step began");
    eprintln!(
        "init: {:?} until the store step, {:?} in it until exit {}",
        storing - clock,
        total - (storing - clock),
        out.code
    );
    assert!(relay.is_cut(), "the lock was taken through the relay");
    assert_eq!(out.code, 9, "{}", out.stderr);
    assert!(out.stderr.contains("push --from"), "{}", out.stderr);
    assert!(
        out.stderr.contains("could not release the refresh lock"),
        "{}",
        out.stderr
    );
    let recovery = recovery_file(&s, &out.stderr);
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&recovery).unwrap()).unwrap();
    let refresh = saved["secrets"][REFRESH].as_str().unwrap().to_string();
    assert!(s.sim.is_live_refresh_token(&refresh));
    let leaks = vec![CLIENT_SECRET.to_string(), refresh.clone()];
    no_secrets(&out.all(), &leaks);

    // SSM itself kept its state: nothing was written, and our lock is still there.
    let ssm = moto.ssm().await;
    for suffix in NAMES {
        assert_eq!(value(&ssm, suffix).await, PLACEHOLDER, "{suffix}");
    }
    let lock = param(&ssm, LOCK)
        .await
        .expect("the lock the run could not release");
    assert!(lock.value.starts_with("locked_"), "{}", lock.value);

    // The recovery file remembers that lock, so `push` takes it back at once, without waiting
    // out the proxy's two-minute lease.
    assert_eq!(
        format!("locked_{}", saved["own_lock_ms"]),
        lock.value,
        "the recovery file names our lock"
    );
    let pushed_at = Instant::now();
    let env = moto.env();
    let push = strings(&[
        "push",
        "--from",
        recovery.to_str().unwrap(),
        "--store",
        "aws-ssm",
    ]);
    let out = s
        .run_with(&push, &borrowed(&env), &[], Browser::Nothing)
        .await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stderr
            .contains("took back the refresh lock an earlier run of this tool left behind"),
        "{}",
        out.stderr
    );
    assert!(
        pushed_at.elapsed() < std::time::Duration::from_secs(30),
        "no wait for the lease"
    );
    assert!(!recovery.exists());
    assert_eq!(value(&ssm, "REFRESH_TOKEN").await, refresh);
    assert_eq!(value(&ssm, "CLIENT_SECRET").await, CLIENT_SECRET);
    assert!(param(&ssm, LOCK).await.is_none(), "released this time");
    no_secrets(&out.all(), &leaks);
}
