//! The yearly lifecycle: renew with nothing pasted, status for people and monitoring, and the
//! recovery path when the store fails after tokens were minted.

mod support;

use chrono::{Duration, Utc};
use jira_psoxy_setup::sim::{SimConfig, SimSite};
use serde_json::Value;
use support::*;

fn with(mut args: Vec<String>, more: &[&str]) -> Vec<String> {
    args.extend(more.iter().map(|s| s.to_string()));
    args
}

/// `init` with defaults; returns the session.
async fn initialized(config: SimConfig, extra: &[&str]) -> Session {
    let s = Session::new(config).await;
    let out = s
        .run(
            &with(s.init_args(), extra),
            Browser::Follow { accept: true },
        )
        .await;
    assert_eq!(out.code, 0, "init: {}", out.stderr);
    s
}

fn renew_args(s: &Session) -> Vec<String> {
    let base = s.sim.base_url().to_string();
    with(
        vec![],
        &[
            "renew",
            "--non-interactive",
            "--redirect-uri",
            &s.redirect_uri,
            "--atlassian-auth-url",
            &base,
            "--atlassian-api-url",
            &base,
            "--file",
            s.secrets_file().to_str().unwrap(),
            "--no-browser",
            "--callback-timeout",
            "20",
        ],
    )
}

fn status_args(s: &Session, extra: &[&str]) -> Vec<String> {
    with(
        vec![
            "status".into(),
            "--file".into(),
            s.secrets_file().display().to_string(),
        ],
        extra,
    )
}

/// Moves the recorded family issue date, as if the family were `days` old.
fn age_family(s: &Session, days: i64) {
    let mut secrets = s.secrets();
    let issued = (Utc::now() - Duration::days(days)).to_rfc3339();
    secrets["_jira_psoxy_setup"]["families"]["PSOXY_JIRA_CLOUD_"]["family_issued_at"] =
        Value::String(issued);
    std::fs::write(s.secrets_file(), secrets.to_string()).unwrap();
}

#[tokio::test]
async fn renew_reads_the_client_credentials_back_and_replaces_the_token_family() {
    let s = initialized(loopback_config(), &[]).await;
    let old_refresh = s.secrets()["PSOXY_JIRA_CLOUD_REFRESH_TOKEN"]
        .as_str()
        .unwrap()
        .to_string();
    let out = s
        .run_with(&renew_args(&s), &[], &[], Browser::Follow { accept: true })
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("read from the store"), "{}", out.stderr);
    let secrets = s.secrets();
    let new_refresh = secrets["PSOXY_JIRA_CLOUD_REFRESH_TOKEN"].as_str().unwrap();
    assert_ne!(new_refresh, old_refresh);
    assert!(s.sim.is_live_refresh_token(new_refresh));
    assert_eq!(secrets["PSOXY_JIRA_CLOUD_CLIENT_SECRET"], CLIENT_SECRET);
    assert!(
        !out.stdout.contains("PSOXY_JIRA_CLOUD_CLIENT_SECRET"),
        "renew rewrites only the tokens: {}",
        out.stdout
    );
    assert!(out.stdout.contains("renew by"));
    let mut leaks = secret_values(&secrets);
    leaks.push(old_refresh);
    leaks.extend(codes(&out.redirects));
    assert_no_secrets(
        &out.all(),
        &leaks.iter().map(String::as_str).collect::<Vec<_>>(),
    );
}

#[tokio::test]
async fn renew_for_a_different_site_needs_an_explicit_yes() {
    let s = initialized(
        SimConfig {
            sites: sites(2),
            ..loopback_config()
        },
        &["--site", "Acme 1"],
    )
    .await;
    let out = s
        .run_with(
            &with(renew_args(&s), &["--site", "Acme 2"]),
            &[],
            &[],
            Browser::Follow { accept: true },
        )
        .await;
    assert_eq!(out.code, 5, "{}", out.stderr);
    assert!(out.stderr.contains("--allow-site-change"), "{}", out.stderr);
    let recorded =
        s.secrets()["_jira_psoxy_setup"]["families"]["PSOXY_JIRA_CLOUD_"]["cloud_id"].clone();
    assert_eq!(
        recorded,
        SimSite::numbered(1).id.as_str(),
        "nothing was written"
    );

    let out = s
        .run_with(
            &with(renew_args(&s), &["--site", "Acme 2", "--allow-site-change"]),
            &[],
            &[],
            Browser::Follow { accept: true },
        )
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let recorded =
        s.secrets()["_jira_psoxy_setup"]["families"]["PSOXY_JIRA_CLOUD_"]["cloud_id"].clone();
    assert_eq!(recorded, SimSite::numbered(2).id.as_str());
}

#[tokio::test]
async fn renew_keeps_the_configured_site_among_several_without_asking() {
    let s = initialized(
        SimConfig {
            sites: sites(3),
            ..loopback_config()
        },
        &["--site", "Acme 3"],
    )
    .await;
    let out = s
        .run_with(&renew_args(&s), &[], &[], Browser::Follow { accept: true })
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains(&SimSite::numbered(3).id));
}

#[tokio::test]
async fn status_of_a_fresh_setup_is_healthy_and_never_uses_the_refresh_token() {
    let s = initialized(loopback_config(), &[]).await;
    let token_posts = || {
        s.sim
            .requests()
            .iter()
            .filter(|r| r.starts_with("POST") && r.contains("/oauth/token"))
            .count()
    };
    let before = token_posts();
    let out = s
        .run_with(
            &status_args(
                &s,
                &[
                    "--json",
                    "--check",
                    "--atlassian-api-url",
                    s.sim.base_url().as_str(),
                ],
            ),
            &[],
            &[],
            Browser::Nothing,
        )
        .await;
    assert_eq!(out.code, 0, "{}", out.all());
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["health"], "ok");
    assert_eq!(report["days_left"].as_i64(), Some(364));
    assert_eq!(report["access_token"]["state"], "valid");
    assert_eq!(report["site_reachable"], true);
    assert_eq!(report["cloud_id"], SimSite::numbered(1).id.as_str());
    let states: Vec<&str> = report["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["present"; 4]);
    for key in [
        "store",
        "prefix",
        "family_issued_at",
        "family_expires_at",
        "problems",
    ] {
        assert!(report.get(key).is_some(), "status --json has {key}");
    }
    assert_eq!(token_posts(), before, "status made no token request");
    assert!(
        s.sim
            .requests()
            .iter()
            .any(|r| r.contains("accessible-resources")),
        "--check used the access token"
    );
    assert_no_secrets(
        &out.all(),
        &secret_values(&s.secrets())
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
}

#[tokio::test]
async fn status_warns_before_and_alarms_after_the_365_day_deadline() {
    let s = initialized(loopback_config(), &[]).await;
    age_family(&s, 340);
    let out = s
        .run_with(&status_args(&s, &[]), &[], &[], Browser::Nothing)
        .await;
    assert_eq!(out.code, 10, "{}", out.all());
    assert!(out.stdout.contains("expires in 24 days"), "{}", out.stdout);
    let out = s
        .run_with(
            &status_args(&s, &["--warn-days", "10"]),
            &[],
            &[],
            Browser::Nothing,
        )
        .await;
    assert_eq!(out.code, 0, "{}", out.all());
    age_family(&s, 400);
    let out = s
        .run_with(
            &status_args(&s, &["--output", "json"]),
            &[],
            &[],
            Browser::Nothing,
        )
        .await;
    assert_eq!(out.code, 11, "{}", out.all());
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["health"], "critical");
}

#[tokio::test]
async fn status_flags_placeholders_and_missing_secrets() {
    let s = Session::new(loopback_config()).await;
    std::fs::write(
        s.secrets_file(),
        r#"{"PSOXY_JIRA_CLOUD_CLIENT_ID":"fill me","PSOXY_JIRA_CLOUD_REFRESH_TOKEN":"fill me"}"#,
    )
    .unwrap();
    let out = s
        .run_with(&status_args(&s, &["--json"]), &[], &[], Browser::Nothing)
        .await;
    assert_eq!(out.code, 11, "{}", out.all());
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    let states: Vec<&str> = report["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["placeholder", "missing", "placeholder", "missing"]);
    assert_eq!(report["access_token"]["state"], "missing");
}

#[tokio::test]
async fn status_says_when_the_stored_access_token_is_a_raw_token_the_proxy_ignores() {
    let s = initialized(loopback_config(), &[]).await;
    let mut secrets = s.secrets();
    secrets["PSOXY_JIRA_CLOUD_ACCESS_TOKEN"] = Value::String("raw-token-value".into());
    std::fs::write(s.secrets_file(), secrets.to_string()).unwrap();
    let out = s
        .run_with(&status_args(&s, &["--json"]), &[], &[], Browser::Nothing)
        .await;
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["access_token"]["state"], "unparseable");
}

#[tokio::test]
async fn init_writes_a_calendar_reminder_a_calendar_parser_accepts() {
    let s = Session::new(loopback_config()).await;
    let ics = s.path("renew.ics");
    let out = s
        .run(
            &with(
                s.init_args(),
                &["--ics", ics.to_str().unwrap(), "--warn-days", "30"],
            ),
            Browser::Follow { accept: true },
        )
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let text = std::fs::read_to_string(&ics).unwrap();
    let calendar: icalendar::Calendar = text.parse().expect("a valid iCalendar file");
    let events: Vec<&icalendar::Event> = calendar
        .components
        .iter()
        .filter_map(|c| c.as_event())
        .collect();
    assert_eq!(events.len(), 1);
    use icalendar::Component;
    let start = events[0].get_start().expect("DTSTART");
    let expected = (Utc::now() + Duration::days(365 - 30)).date_naive();
    assert_eq!(start, icalendar::DatePerhapsTime::Date(expected));
    assert!(events[0].get_summary().unwrap().contains("renew"));
}

#[tokio::test]
async fn a_store_that_fails_after_the_exchange_gets_a_recovery_file_and_push_finishes() {
    let s = Session::new(loopback_config()).await;
    let sub = s.path("mounted");
    std::fs::create_dir(&sub).unwrap();
    let file = sub.join("secrets.json");
    let mut args: Vec<String> = s.init_args();
    let i = args.iter().position(|a| a == "--file").unwrap();
    args[i + 1] = file.display().to_string();
    args.push("--paste".into());
    let gone = sub.clone();
    let unmount = Browser::PasteWith(Box::new(move |u: &url::Url| {
        std::fs::remove_dir_all(&gone).unwrap();
        u.to_string()
    }));
    let out = s.run(&args, unmount).await;
    assert_eq!(out.code, 9, "{}", out.stderr);
    assert!(out.stderr.contains("push --from"), "{}", out.stderr);
    let dir = s.path("home/.local/state/jira-psoxy-setup");
    let recovery: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(recovery.len(), 1);
    assert_eq!(file_mode(&recovery[0]), 0o600);
    assert_eq!(file_mode(&dir), 0o700);
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(&recovery[0]).unwrap()).unwrap();
    assert!(
        s.sim.is_live_refresh_token(
            saved["secrets"]["PSOXY_JIRA_CLOUD_REFRESH_TOKEN"]
                .as_str()
                .unwrap()
        )
    );
    assert_no_secrets(
        &out.all(),
        &[
            CLIENT_SECRET,
            saved["secrets"]["PSOXY_JIRA_CLOUD_REFRESH_TOKEN"]
                .as_str()
                .unwrap(),
        ],
    );

    std::fs::create_dir(&sub).unwrap();
    let push = with(
        vec![],
        &[
            "push",
            "--from",
            recovery[0].to_str().unwrap(),
            "--file",
            file.to_str().unwrap(),
        ],
    );
    let out = s.run_with(&push, &[], &[], Browser::Nothing).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        !recovery[0].exists(),
        "the recovery file is deleted after a successful push"
    );
    let stored: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(
        stored["PSOXY_JIRA_CLOUD_REFRESH_TOKEN"],
        saved["secrets"]["PSOXY_JIRA_CLOUD_REFRESH_TOKEN"]
    );
    assert_eq!(
        stored["_jira_psoxy_setup"]["families"]["PSOXY_JIRA_CLOUD_"]["cloud_id"],
        SimSite::numbered(1).id.as_str()
    );
}

fn lock_file(s: &Session) -> std::path::PathBuf {
    s.path(".secrets.json.PSOXY_JIRA_CLOUD_OAUTH_REFRESH_TOKEN_lock")
}

#[tokio::test]
async fn a_held_refresh_lock_is_waited_for_then_taken() {
    let s = Session::new(loopback_config()).await;
    std::fs::write(
        lock_file(&s),
        format!("locked_{}", Utc::now().timestamp_millis()),
    )
    .unwrap();
    let lock = lock_file(&s);
    let out = s
        .run_full(
            &s.init_args(),
            &[("JIRA_CLIENT_SECRET", CLIENT_SECRET)],
            &[],
            Browser::Follow { accept: true },
            |line, _| {
                if line.contains("is held") {
                    let lock = lock.clone();
                    std::thread::spawn(move || {
                        std::thread::sleep(std::time::Duration::from_secs(2));
                        std::fs::remove_file(lock).unwrap();
                    });
                }
            },
        )
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("waiting up to"), "{}", out.stderr);
    assert!(!lock_file(&s).exists(), "our own lock was released");
}

#[tokio::test]
async fn a_stale_refresh_lock_is_taken_over_with_a_warning() {
    let s = Session::new(loopback_config()).await;
    std::fs::write(
        lock_file(&s),
        format!("locked_{}", Utc::now().timestamp_millis() - 300_000),
    )
    .unwrap();
    let out = s
        .run(&s.init_args(), Browser::Follow { accept: true })
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("took over a stale refresh lock"),
        "{}",
        out.stderr
    );
    assert!(!lock_file(&s).exists());
}

#[tokio::test]
async fn ctrl_c_while_waiting_for_the_lock_keeps_the_new_tokens() {
    let s = Session::new(loopback_config()).await;
    std::fs::write(
        lock_file(&s),
        format!("locked_{}", Utc::now().timestamp_millis()),
    )
    .unwrap();
    let out = s
        .run_full(
            &s.init_args(),
            &[("JIRA_CLIENT_SECRET", CLIENT_SECRET)],
            &[],
            Browser::Follow { accept: true },
            |line, pid| {
                if line.contains("is held") {
                    std::process::Command::new("kill")
                        .args(["-INT", &pid.to_string()])
                        .status()
                        .unwrap();
                }
            },
        )
        .await;
    assert_eq!(out.code, 130, "{}", out.stderr);
    assert!(out.stderr.contains("push --from"), "{}", out.stderr);
    assert!(
        lock_file(&s).exists(),
        "the proxy's lock is not ours to delete"
    );
    assert!(!s.secrets_file().exists());
}
