//! The real binary writing to GCP Secret Manager: `init`, `renew` and `status` with
//! `--store gcp-secret-manager` against the Secret Manager fake on loopback (anonymous
//! credentials, no Google account, nothing beyond 127.0.0.1), the harness playing the browser.

use crate::support;

use crate::support::gcp_fake;

use gcp_fake::GcpFake;
use jira_psoxy_setup::sim::{SimConfig, SimSite};
use serde_json::Value;
use support::*;

const PREFIX: &str = "psoxy_JIRA_CLOUD_";

/// The session's usual init flags with the file store swapped for the fake.
fn gcp_args(s: &Session, fake: &GcpFake, extra: &[&str]) -> Vec<String> {
    with(on_store(s.init_args(), fake.store_flags()), extra)
}

/// The session's usual renew flags against the fake.
fn gcp_renew_args(s: &Session, fake: &GcpFake, extra: &[&str]) -> Vec<String> {
    with(on_store(s.renew_args(), fake.store_flags()), extra)
}

fn value(fake: &GcpFake, suffix: &str) -> String {
    fake.secret(&format!("{PREFIX}{suffix}"))
        .and_then(|s| s.proxy_value())
        .unwrap_or_else(|| panic!("{suffix} has a value the proxy reads"))
}

#[tokio::test]
async fn init_writes_every_secret_where_the_proxy_reads_it_and_releases_the_lock() {
    let s = Session::new(loopback_config()).await;
    let fake = GcpFake::start("acme-prod").await;
    fake.terraform(PREFIX);
    let out = s
        .run(&gcp_args(&s, &fake, &[]), Browser::Follow { accept: true })
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("GCP Secret Manager (project acme-prod"),
        "{}",
        out.stderr
    );

    for suffix in [
        "CLIENT_ID",
        "CLIENT_SECRET",
        "REFRESH_TOKEN",
        "ACCESS_TOKEN",
    ] {
        let secret = fake.secret(&format!("{PREFIX}{suffix}")).unwrap();
        assert_eq!(secret.label("latest-version"), Some("1"), "{suffix}");
        assert_eq!(
            secret.label("terraform_managed_value"),
            Some("false"),
            "{suffix}"
        );
        assert_eq!(secret.states(), vec![(1, "ENABLED")], "{suffix}");
    }
    assert_eq!(value(&fake, "CLIENT_ID"), CLIENT_ID);
    assert_eq!(value(&fake, "CLIENT_SECRET"), CLIENT_SECRET);
    let refresh = value(&fake, "REFRESH_TOKEN");
    assert!(s.sim.is_live_refresh_token(&refresh));
    let access: Value = serde_json::from_str(&value(&fake, "ACCESS_TOKEN")).unwrap();
    assert!(
        s.sim
            .is_live_access_token(access["token"].as_str().unwrap())
    );

    let meta = fake.secret(&format!("{PREFIX}REFRESH_TOKEN")).unwrap();
    assert_eq!(
        meta.label("jira-cloud-id"),
        Some(SimSite::numbered(1).id.as_str())
    );
    let issued: i64 = meta
        .label("jira-family-issued-at")
        .unwrap()
        .parse()
        .unwrap();
    assert!((chrono::Utc::now().timestamp() - issued).abs() < 120);

    let lock = fake
        .secret(&format!("{PREFIX}OAUTH_REFRESH_TOKEN"))
        .unwrap();
    assert_eq!(lock.label("locked"), None, "the lock is released");
    assert!(
        lock.versions.is_empty(),
        "the lock holder never gets a value"
    );
    let counts = fake.request_counts();
    let lock_patches = counts
        .iter()
        .filter(|(k, _)| k.starts_with("PATCH") && k.ends_with("OAUTH_REFRESH_TOKEN"))
        .map(|(_, n)| n)
        .sum::<usize>();
    assert_eq!(lock_patches, 2, "taken once, released once: {counts:?}");
    assert!(
        fake.requests().iter().all(|r| !r.authorization),
        "anonymous"
    );

    let leaks = [
        CLIENT_SECRET.to_string(),
        refresh,
        access["token"].as_str().unwrap().into(),
    ];
    assert_no_secrets(
        &out.all(),
        &leaks.iter().map(String::as_str).collect::<Vec<_>>(),
    );
}

#[tokio::test]
async fn renew_adds_versions_and_retires_the_old_ones_then_status_reads_them() {
    let s = Session::new(loopback_config()).await;
    let fake = GcpFake::start("p").await;
    fake.terraform(PREFIX);
    let out = s
        .run(&gcp_args(&s, &fake, &[]), Browser::Follow { accept: true })
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let first = value(&fake, "REFRESH_TOKEN");

    let renew = gcp_renew_args(&s, &fake, &["--destroy-old-versions"]);
    let out = s
        .run_with(&renew, &[], &[], Browser::Follow { accept: true })
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let refresh = fake.secret(&format!("{PREFIX}REFRESH_TOKEN")).unwrap();
    assert_eq!(refresh.label("latest-version"), Some("2"));
    assert_eq!(refresh.states(), vec![(1, "DESTROYED"), (2, "ENABLED")]);
    assert_ne!(value(&fake, "REFRESH_TOKEN"), first);
    assert!(s.sim.is_live_refresh_token(&value(&fake, "REFRESH_TOKEN")));

    let mut status = vec!["status".to_string(), "--json".into()];
    status.extend(fake.store_flags());
    let out = s.run_with(&status, &[], &[], Browser::Nothing).await;
    assert_eq!(out.code, 0, "{}", out.all());
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["health"], "ok", "{report}");
    assert_eq!(report["prefix"], PREFIX, "discovered");
    assert_eq!(report["days_left"].as_i64(), Some(365));
    assert_eq!(report["cloud_id"], SimSite::numbered(1).id.as_str());
    for s in report["secrets"].as_array().unwrap() {
        assert_eq!(s["state"], "present", "{s}");
        assert!(s["updated_at"].is_string(), "{s}");
    }
}

#[tokio::test]
async fn a_missing_permission_fails_the_preflight_before_any_authorization() {
    let s = Session::new(loopback_config()).await;
    let fake = GcpFake::start("p").await;
    fake.terraform(PREFIX);
    fake.deny(&["secretmanager.versions.add"]);
    let out = s
        .run(&gcp_args(&s, &fake, &[]), Browser::Follow { accept: true })
        .await;
    assert_eq!(out.code, 6, "{}", out.stderr);
    assert!(
        out.stderr.contains("secretmanager.versions.add"),
        "{}",
        out.stderr
    );
    assert!(
        out.authorize_urls.is_empty(),
        "no authorization was requested"
    );
    assert!(
        !s.sim.requests().iter().any(|r| r.contains("/oauth/token")),
        "{:?}",
        s.sim.requests()
    );
    assert!(
        fake.ids()
            .iter()
            .all(|id| fake.secret(id).unwrap().versions.is_empty())
    );
}

#[tokio::test]
async fn missing_secrets_are_created_only_when_asked() {
    let s = Session::new(loopback_config()).await;
    let fake = GcpFake::start("p").await;
    let args = gcp_args(&s, &fake, &["--environment-name", "acme"]);
    let out = s.run(&args, Browser::Follow { accept: true }).await;
    assert_eq!(out.code, 6, "{}", out.stderr);
    assert!(out.stderr.contains("--create-missing"), "{}", out.stderr);
    assert!(
        out.stderr.contains("acme_JIRA_CLOUD_OAUTH_REFRESH_TOKEN"),
        "{}",
        out.stderr
    );
    assert!(out.authorize_urls.is_empty());
    assert!(fake.ids().is_empty());

    // Psoxy's Terraform uses user-managed replicas: no policy is picked silently.
    let create = ["--environment-name", "acme", "--create-missing"];
    let out = s
        .run(
            &gcp_args(&s, &fake, &create),
            Browser::Follow { accept: true },
        )
        .await;
    assert_eq!(out.code, 6, "{}", out.stderr);
    let error = out.stderr.lines().last().unwrap_or_default();
    assert!(
        error.contains("terraform apply") && error.contains("--gcp-replication"),
        "{}",
        out.stderr
    );
    assert!(out.authorize_urls.is_empty() && fake.ids().is_empty());

    let replication = ["--gcp-replication", "user-managed:us-central1,us-east1"];
    let args = with(gcp_args(&s, &fake, &create), &replication);
    let out = s.run(&args, Browser::Follow { accept: true }).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(fake.ids().len(), 5, "{:?}", fake.ids());
    let secret = fake.secret("acme_JIRA_CLOUD_CLIENT_ID").unwrap();
    assert_eq!(secret.label("terraform_managed_value"), Some("false"));
    assert_eq!(secret.proxy_value().as_deref(), Some(CLIENT_ID));
    assert_eq!(
        secret.replication["userManaged"]["replicas"][1]["location"],
        "us-east1"
    );
    assert!(
        out.stderr.contains("normally created by Psoxy's Terraform"),
        "{}",
        out.stderr
    );
    for id in fake.ids() {
        let import = format!("terraform import '<address>' 'projects/p/secrets/{id}'");
        assert!(out.stderr.contains(&import), "{import}: {}", out.stderr);
    }
}

#[tokio::test]
async fn a_stale_proxy_lock_is_taken_over_and_released() {
    let s = Session::new(loopback_config()).await;
    let fake = GcpFake::start("p").await;
    fake.terraform(PREFIX);
    let lock = format!("{PREFIX}OAUTH_REFRESH_TOKEN");
    let stale = chrono::Utc::now().timestamp_millis() - 10 * 60 * 1000;
    fake.set_label(&lock, "locked", &stale.to_string());
    let out = s
        .run(&gcp_args(&s, &fake, &[]), Browser::Follow { accept: true })
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("took over a stale refresh lock"),
        "{}",
        out.stderr
    );
    assert_eq!(fake.secret(&lock).unwrap().label("locked"), None);
    assert_eq!(value(&fake, "CLIENT_ID"), CLIENT_ID);
}

#[tokio::test]
async fn no_project_or_a_remote_plain_http_endpoint_is_refused_up_front() {
    let s = Session::new(loopback_config()).await;
    let fake = GcpFake::start("p").await;
    let mut args = gcp_args(&s, &fake, &[]);
    let at = args.iter().position(|a| a == "--gcp-project").unwrap();
    args.drain(at..at + 2);
    let out = s.run(&args, Browser::Nothing).await;
    assert_eq!(out.code, 6, "{}", out.stderr);
    assert!(out.stderr.contains("pass --gcp-project"), "{}", out.stderr);

    let mut args = gcp_args(&s, &fake, &[]);
    let at = args.iter().position(|a| a == "--gcp-endpoint").unwrap();
    args[at + 1] = "http://secretmanager.example.com".into();
    let out = s.run(&args, Browser::Nothing).await;
    assert_eq!(out.code, 6, "{}", out.stderr);
    assert!(out.stderr.contains("use https"), "{}", out.stderr);
    assert!(out.authorize_urls.is_empty());
    assert!(fake.requests().is_empty());
}

/// `status --json` against the fake: (exit code, report).
async fn gcp_status(s: &Session, fake: &GcpFake) -> (i32, Value) {
    let mut args = vec!["status".to_string(), "--json".into()];
    args.extend(fake.store_flags());
    let out = s.run_with(&args, &[], &[], Browser::Nothing).await;
    let report = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("status --json prints JSON ({e}): {}", out.all()));
    (out.code, report)
}

fn states(report: &Value) -> Vec<String> {
    report["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["state"].as_str().unwrap().to_string())
        .collect()
}

/// Issue #5 on GCP: from Terraform's empty containers to a healthy family, then the family ages
/// (its issue-date label) and the refresh token is put back to a placeholder; the exit codes are
/// the documented ones at each point.
#[tokio::test]
async fn status_exit_codes_follow_the_secrets_and_the_family_age_in_gcp() {
    let s = Session::new(loopback_config()).await;
    let fake = GcpFake::start("p").await;
    fake.terraform(PREFIX);

    // Terraform applied, init never run: containers without versions are missing values.
    let (code, r) = gcp_status(&s, &fake).await;
    assert_eq!(code, 11, "{r}");
    assert_eq!(states(&r), ["missing"; 4], "{r}");

    let out = s
        .run(&gcp_args(&s, &fake, &[]), Browser::Follow { accept: true })
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let (code, r) = gcp_status(&s, &fake).await;
    assert_eq!((code, r["health"].as_str()), (0, Some("ok")), "{r}");

    let refresh = format!("{PREFIX}REFRESH_TOKEN");
    let aged = |days: i64| (chrono::Utc::now() - chrono::Duration::days(days)).timestamp();
    fake.set_label(&refresh, "jira-family-issued-at", &aged(340).to_string());
    let (code, r) = gcp_status(&s, &fake).await;
    assert_eq!(code, 10, "{r}");
    assert_eq!(r["days_left"].as_i64(), Some(25), "{r}");

    fake.set_label(&refresh, "jira-family-issued-at", &aged(400).to_string());
    let (code, r) = gcp_status(&s, &fake).await;
    assert_eq!(code, 11, "{r}");
    assert_eq!(r["health"], "critical", "{r}");

    // A fresh family, but the version the proxy reads is Terraform's placeholder.
    fake.set_label(&refresh, "jira-family-issued-at", &aged(0).to_string());
    let placeholder = fake.add_version(&refresh, "fill me");
    fake.set_label(&refresh, "latest-version", &placeholder.to_string());
    let (code, r) = gcp_status(&s, &fake).await;
    assert_eq!(code, 11, "{r}");
    assert_eq!(
        states(&r),
        ["present", "present", "placeholder", "present"],
        "{r}"
    );
}

/// Issue #5 on GCP: a renewal whose consent picked another site stops unless confirmed, and
/// leaves the site label and the token alone.
#[tokio::test]
async fn renew_for_another_site_is_refused_without_confirmation_in_gcp() {
    let s = Session::new(SimConfig {
        sites: sites(2),
        ..loopback_config()
    })
    .await;
    let fake = GcpFake::start("p").await;
    fake.terraform(PREFIX);
    let out = s
        .run(
            &gcp_args(&s, &fake, &["--site", "Acme 1"]),
            Browser::Follow { accept: true },
        )
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let first = value(&fake, "REFRESH_TOKEN");

    let renew = gcp_renew_args(&s, &fake, &["--site", "Acme 2"]);
    let out = s
        .run_with(&renew, &[], &[], Browser::Follow { accept: true })
        .await;
    assert_eq!(out.code, 5, "{}", out.stderr);
    assert!(out.stderr.contains("--allow-site-change"), "{}", out.stderr);
    let refresh = fake.secret(&format!("{PREFIX}REFRESH_TOKEN")).unwrap();
    assert_eq!(
        refresh.label("jira-cloud-id"),
        Some(SimSite::numbered(1).id.as_str())
    );
    assert_eq!(value(&fake, "REFRESH_TOKEN"), first);
}
