//! `status` for people and monitoring, and the calendar reminder of the renewal deadline.

use crate::support;

use chrono::{Duration, Utc};
use jira_psoxy_setup::sim::SimSite;
use serde_json::Value;
use support::deadline::{RUN_LIMIT, output_to};
use support::*;

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
async fn status_of_a_fresh_setup_is_healthy_and_never_uses_the_refresh_token() {
    let s = initialized(loopback_config(), &[]).await;
    let token_posts = || s.token_posts();
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
    assert_eq!(
        report["days_left"].as_i64(),
        Some(365),
        "a started day counts"
    );
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

/// As if Psoxy had last written the refresh token `days` ago (the store's write time of it).
fn idle_refresh_token(s: &Session, days: i64) {
    let mut secrets = s.secrets();
    let written = (Utc::now() - Duration::days(days)).to_rfc3339();
    secrets["_jira_psoxy_setup"]["written_at"]["PSOXY_JIRA_CLOUD_REFRESH_TOKEN"] =
        Value::String(written);
    std::fs::write(s.secrets_file(), secrets.to_string()).unwrap();
}

/// A refresh token unused for 90 days has expired at Atlassian, however young its family:
/// monitoring sees critical (exit 11), as the README's exit-code table says. 89 days is fine.
#[tokio::test]
async fn a_refresh_token_unused_for_90_days_is_critical() {
    let s = initialized(loopback_config(), &[]).await;
    idle_refresh_token(&s, 89);
    let out = s
        .run_with(&status_args(&s, &["--json"]), &[], &[], Browser::Nothing)
        .await;
    assert_eq!(out.code, 0, "{}", out.all());
    idle_refresh_token(&s, 91);
    let out = s
        .run_with(&status_args(&s, &["--json"]), &[], &[], Browser::Nothing)
        .await;
    assert_eq!(out.code, 11, "{}", out.all());
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["health"], "critical");
    let problems = report["problems"].to_string();
    assert!(
        problems.contains("91 days ago") && problems.contains("renew"),
        "{problems}"
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
    assert!(out.stdout.contains("expires in 25 days"), "{}", out.stdout);
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
        .run_with(&status_args(&s, &["--json"]), &[], &[], Browser::Nothing)
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

/// Monitoring runs `status || alert`: a store that cannot be read at all is as critical as an
/// expired family (11), not a generic store failure, and the report says why.
#[tokio::test]
async fn status_of_an_unreadable_store_is_critical() {
    let s = Session::new(loopback_config()).await;
    std::fs::write(s.secrets_file(), "{ this is not JSON").unwrap();
    let out = s
        .run_with(&status_args(&s, &["--json"]), &[], &[], Browser::Nothing)
        .await;
    assert_eq!(out.code, 11, "{}", out.all());
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["health"], "critical");
    let problem = report["problems"][0].as_str().unwrap();
    assert!(
        problem.starts_with("the store cannot be read:"),
        "{problem}"
    );
    assert!(
        problem.contains(&s.secrets_file().display().to_string()),
        "{problem}"
    );

    let out = s
        .run_with(&status_args(&s, &[]), &[], &[], Browser::Nothing)
        .await;
    assert_eq!(out.code, 11, "{}", out.all());
    assert!(
        out.stdout.contains("health:       critical")
            && out.stdout.contains("the store cannot be read")
            && !out.stdout.contains("token family:"),
        "only the verdict and why: {}",
        out.stdout
    );
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

/// A healthy nightly cron run says nothing on stderr, as monitoring checks do by convention;
/// `-v` brings the progress lines back.
#[tokio::test]
async fn a_healthy_status_from_cron_is_silent_on_stderr() {
    let s = initialized(loopback_config(), &[]).await;
    let run = |extra: &[&str]| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_jira-psoxy-setup"));
        cmd.args(status_args(&s, extra))
            .env_clear()
            .current_dir(s.dir.path());
        for (k, v) in &s.env {
            cmd.env(k, v);
        }
        cmd.output_within_limit()
    };
    let quiet = run(&[]);
    assert_eq!(quiet.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&quiet.stderr), "");
    assert!(String::from_utf8_lossy(&quiet.stdout).contains("health:       ok"));
    let verbose = run(&["-v"]);
    assert!(
        String::from_utf8_lossy(&verbose.stderr).contains("found an existing deployment"),
        "-v shows progress"
    );
}

/// A check piped into a reader that stops early (`status | head -0`, a closed pipe) still ends
/// with the health's exit code, not an internal error: monitoring reads the code.
#[tokio::test]
async fn a_closed_stdout_still_gives_the_health_exit_code() {
    let s = initialized(loopback_config(), &[]).await;
    for extra in [&[][..], &["--json"][..]] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_jira-psoxy-setup"));
        cmd.args(status_args(&s, extra))
            .env_clear()
            .current_dir(s.dir.path());
        for (k, v) in &s.env {
            cmd.env(k, v);
        }
        let out = output_to(&mut cmd, writer.into(), RUN_LIMIT);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{extra:?}: {stderr}");
        assert!(!stderr.contains("internal error"), "{stderr}");
    }
}
