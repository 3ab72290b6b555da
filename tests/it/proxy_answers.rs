//! What the deployed proxy answers, and what the operator is told: a passed health check, a
//! missing secret named by the name this tool wrote, a cache that has not caught up, unknown
//! fields, an HTML page, a redirect (never followed), 10 MB, a proxy that does not answer. And
//! `--check-proxy` after a write: a failed check never undoes or hides the write.

use crate::support;

use chrono::{Duration, Utc};
use jira_psoxy_setup::sim::SimSite;
use serde_json::{Value, json};
use support::proxy_standin::*;
use support::*;

fn check(standin: &StandIn, extra: &[&str]) -> Ran {
    let mut args = vec![
        "check",
        "--proxy-url",
        standin.url.as_str(),
        "--proxy-auth",
        "none",
    ];
    args.extend_from_slice(extra);
    Machine::new().run(&args)
}

fn health_standin(health: Value) -> StandIn {
    StandIn::start(scenario("none", health))
}

#[test]
fn a_passing_health_check_with_fields_this_tool_does_not_know_passes() {
    let standin = health_standin(json_health(200, passing_health()));
    let out = check(&standin, &[]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stdout
            .contains("health check: passed (HTTP 200, Psoxy v0.6.9, source jira-cloud)"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("call:         GET /oauth/token/accessible-resources -> HTTP 200"),
        "{}",
        out.stdout
    );
    assert!(
        !out.all().contains("acme.atlassian.net"),
        "the call's body is not shown"
    );
}

#[test]
fn a_missing_refresh_token_names_the_secret_this_tool_writes_and_the_one_the_proxy_read() {
    let mut body = passing_health();
    body["missingConfigProperties"] = json!(["REFRESH_TOKEN"]);
    let standin = health_standin(json_health(412, body));
    let out = check(
        &standin,
        &[
            "--store",
            "file",
            "--file",
            "secrets.json",
            "--prefix",
            "ACME_JIRA_CLOUD_",
        ],
    );
    let error = out.the_error(14);
    assert!(error.contains("ACME_JIRA_CLOUD_REFRESH_TOKEN"), "{}", error);
    assert!(
        error.contains("<PATH_TO_INSTANCE_CONFIG>REFRESH_TOKEN"),
        "{}",
        error
    );
    assert!(error.contains("--prefix"), "{}", error);
    assert!(
        out.stdout.contains("health check: FAILED (HTTP 412"),
        "{}",
        out.stdout
    );
}

#[test]
fn an_html_error_page_is_not_a_health_check_and_its_escapes_never_reach_the_terminal() {
    let standin = health_standin(json!({"kind": "html"}));
    let out = check(&standin, &[]);
    assert_eq!(out.code, 14, "{}", out.all());
    assert!(
        out.stderr.contains("HTTP 502 with an HTML page"),
        "{}",
        out.stderr
    );
    assert!(!out.all().contains('\u{1b}'));
}

#[test]
fn a_redirect_is_reported_and_never_followed_with_credentials() {
    let standin =
        health_standin(json!({"kind": "redirect", "location": "http://127.0.0.1:9/elsewhere"}));
    let out = check(&standin, &[]);
    let error = out.the_error(13);
    assert!(
        error.contains("HTTP 302") && error.contains("not followed"),
        "{}",
        error
    );
    assert_eq!(standin.requests().len(), 1, "nothing else was requested");
}

#[test]
fn a_ten_megabyte_answer_is_cut_off_and_refused() {
    let standin = health_standin(json!({"kind": "big"}));
    let out = check(&standin, &[]);
    assert_eq!(out.code, 14, "{}", out.all());
    assert!(out.stderr.contains("more than 1 MiB"), "{}", out.stderr);
}

#[test]
fn a_proxy_that_does_not_answer_is_given_up_on_within_the_timeout() {
    let standin = health_standin(json!({"kind": "slow", "seconds": 30}));
    let out = check(&standin, &["--proxy-timeout", "2"]);
    assert_eq!(out.code, 13, "{}", out.all());
    assert!(
        out.stderr.contains("did not answer within 2s"),
        "{}",
        out.stderr
    );
    assert!(
        out.took < std::time::Duration::from_secs(10),
        "took {:?}",
        out.took
    );
}

fn proxy_flags(standin: &StandIn) -> Vec<String> {
    strings(&[
        "--check-proxy",
        "--proxy-url",
        &standin.url,
        "--proxy-auth",
        "none",
    ])
}

#[tokio::test]
async fn init_with_check_proxy_says_the_proxy_still_serves_its_cached_token_and_when_to_look_again()
{
    let mut body = passing_health();
    let an_hour_ago = (Utc::now() - Duration::hours(1)).to_rfc3339();
    body["configPropertiesLastModified"] = json!({"ACCESS_TOKEN": an_hour_ago});
    let s = Session::new(loopback_config()).await;
    let mut proxy = scenario("none", json_health(200, body));
    // Through the proxy, the site the operator picks on the simulator's consent page.
    proxy["call"]["body"][0]["id"] = SimSite::numbered(1).id.into();
    let standin = StandIn::start(proxy);
    let args = [s.init_args(), proxy_flags(&standin)].concat();
    let out = s.run(&args, Browser::Follow { accept: true }).await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stdout
            .contains("still serves the PSOXY_JIRA_CLOUD_ACCESS_TOKEN"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("look again after"), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("refresh_token: the proxy does not say when it was written"),
        "{}",
        out.stdout
    );
}

#[tokio::test]
async fn a_failed_check_after_init_keeps_the_write_and_says_so() {
    let mut body = passing_health();
    body["missingConfigProperties"] = json!(["REFRESH_TOKEN"]);
    let standin = health_standin(json_health(412, body));
    let s = Session::new(loopback_config()).await;
    let args = [s.init_args(), proxy_flags(&standin)].concat();
    let out = s.run(&args, Browser::Follow { accept: true }).await;
    assert_eq!(out.code, 14, "{}", out.all());
    assert!(
        out.stdout
            .contains("wrote:         PSOXY_JIRA_CLOUD_REFRESH_TOKEN"),
        "the summary still shows the write: {}",
        out.stdout
    );
    assert!(
        out.stderr
            .contains("the secrets were written, but the proxy check failed"),
        "{}",
        out.stderr
    );
    assert!(
        s.secrets()["PSOXY_JIRA_CLOUD_REFRESH_TOKEN"].is_string(),
        "the write stays"
    );
}

#[tokio::test]
async fn status_with_check_proxy_makes_a_failed_health_check_critical_and_carries_its_fields() {
    let s = initialized(loopback_config(), &[]).await;
    let mut body = passing_health();
    body["missingConfigProperties"] = json!(["CLIENT_SECRET"]);
    body["warningMessages"] = json!(["RULES configuration error: \u{1b}[2JINVALID"]);
    let standin = health_standin(json_health(412, body));
    let file = s.secrets_file().display().to_string();
    let args = with(
        strings(&["status", "--file", &file, "--json"]),
        &proxy_flags(&standin)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    let out = s.run_with(&args, &[], &[], Browser::Nothing).await;
    assert_eq!(out.code, 11, "{}", out.all());
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["health"], "critical");
    let health = &report["proxy"]["health"];
    assert_eq!(
        health["missing_config_properties"],
        json!(["CLIENT_SECRET"])
    );
    assert_eq!(health["version"], "v0.6.9");
    assert_eq!(
        health["warning_messages"],
        json!(["RULES configuration error: [2JINVALID"])
    );
    assert!(
        !out.stdout.contains("SENTINEL-SALT-HASH"),
        "no salt hash in the JSON"
    );
    assert!(
        report["problems"].as_array().unwrap().iter().any(|p| p
            .as_str()
            .unwrap()
            .contains("PSOXY_JIRA_CLOUD_CLIENT_SECRET")),
        "{}",
        out.stdout
    );

    // Monitoring reads the same verdict as one more gauge of the textfile.
    let textfile = s.path("psoxy.prom");
    let mut args = args;
    args.retain(|a| a != "--json");
    args.extend(["--textfile".to_string(), textfile.display().to_string()]);
    let out = s.run_with(&args, &[], &[], Browser::Nothing).await;
    assert_eq!(out.code, 11, "{}", out.all());
    let proxy_gauges: Vec<_> = support::prom::samples(&textfile)
        .into_iter()
        .filter(|g| g["name"] == "psoxy_proxy_check_passed")
        .collect();
    assert_eq!(proxy_gauges.len(), 1, "{proxy_gauges:?}");
    assert_eq!(proxy_gauges[0]["value"].as_f64(), Some(0.0));
    assert_eq!(proxy_gauges[0]["labels"]["connector"], "jira-cloud");
}

#[tokio::test]
async fn init_with_check_proxy_but_no_known_proxy_stops_before_anything_is_authorized() {
    let s = Session::new(loopback_config()).await;
    let args = with(s.init_args(), &["--check-proxy"]);
    let out = s.run(&args, Browser::Follow { accept: true }).await;
    assert_eq!(out.code, 3, "{}", out.all());
    assert!(
        out.stderr
            .contains("--check-proxy: which proxy to check is not known"),
        "{}",
        out.stderr
    );
    assert_eq!(s.token_posts(), 0, "no code was spent");
    assert!(!s.secrets_file().exists(), "nothing was written");
}
