//! The yearly renewal: nothing pasted, the configured site kept, a site change only on request.

mod support;

use jira_psoxy_setup::sim::{SimConfig, SimSite};
use support::*;

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
