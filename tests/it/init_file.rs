//! Stories of an operator running `init` against the Atlassian simulator, with the file store.

use crate::support;

use jira_psoxy_setup::sim::SimConfig;
use support::*;

#[tokio::test]
async fn operator_connects_one_site_through_the_loopback_callback() {
    let s = Session::new(loopback_config()).await;
    let tfvars = s.path("terraform.tfvars");
    std::fs::write(&tfvars, "environment_name = \"acme\" # prod\n").unwrap();
    let mut args = s.init_args();
    args.extend(strings(&["--tfvars", tfvars.to_str().unwrap()]));
    let out = s.run(&args, Browser::Follow { accept: true }).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.authorize_urls.len(), 1);

    let secrets = s.secrets();
    assert_eq!(secrets["PSOXY_JIRA_CLOUD_CLIENT_ID"], CLIENT_ID);
    assert_eq!(secrets["PSOXY_JIRA_CLOUD_CLIENT_SECRET"], CLIENT_SECRET);
    let refresh = secrets["PSOXY_JIRA_CLOUD_REFRESH_TOKEN"].as_str().unwrap();
    assert!(s.sim.is_live_refresh_token(refresh));
    let access: serde_json::Value =
        serde_json::from_str(secrets["PSOXY_JIRA_CLOUD_ACCESS_TOKEN"].as_str().unwrap()).unwrap();
    assert!(
        s.sim
            .is_live_access_token(access["token"].as_str().unwrap())
    );
    let expires = access["expirationDate"].as_i64().unwrap();
    let in_an_hour = chrono::Utc::now().timestamp_millis() + 3_600_000;
    assert!(
        (expires - in_an_hour).abs() < 60_000,
        "expirationDate is about an hour away: {expires}"
    );
    assert_eq!(file_mode(&s.secrets_file()), 0o600);

    let site = jira_psoxy_setup::sim::SimSite::numbered(1);
    assert_eq!(
        std::fs::read_to_string(&tfvars).unwrap(),
        format!(
            "environment_name = \"acme\" # prod\n\nconnector_settings = {{\n  jira_cloud_id = \"{}\"\n}}\n",
            site.id
        )
    );
    assert!(
        out.stdout.contains(&site.id) && out.stdout.contains("renew by"),
        "{}",
        out.stdout
    );

    let mut leaks: Vec<String> = secret_values(&secrets);
    leaks.extend(codes(&out.redirects));
    assert_no_secrets(
        &out.all(),
        &leaks.iter().map(String::as_str).collect::<Vec<_>>(),
    );
}

#[tokio::test]
async fn operator_picks_one_of_three_sites_by_id_url_or_name() {
    let config = SimConfig {
        sites: sites(3),
        ..loopback_config()
    };
    let s = Session::new(config).await;
    let second = jira_psoxy_setup::sim::SimSite::numbered(2);
    for wanted in [second.id.as_str(), "https://acme2.atlassian.net/", "Acme 2"] {
        let mut args = s.init_args();
        args.extend(strings(&["--site", wanted, "--json"]));
        let out = s.run(&args, Browser::Follow { accept: true }).await;
        assert_eq!(out.code, 0, "{wanted}: {}", out.stderr);
        let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        assert_eq!(report["cloud_id"], second.id.as_str(), "{wanted}");
        assert_eq!(report["secrets_written"].as_array().unwrap().len(), 4);
    }
}

#[tokio::test]
async fn operator_pastes_the_redirect_url_when_not_listening() {
    let s = Session::new(SimConfig {
        redirect_uri: "http://localhost".into(),
        ..loopback_config()
    })
    .await;
    let mut args = s.init_args();
    args.push("--paste".into());
    let out = s.run(&args, Browser::Paste { accept: true }).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("state checked"));
    assert_eq!(s.secrets()["PSOXY_JIRA_CLOUD_CLIENT_ID"], CLIENT_ID);
    assert_no_secrets(
        &out.all(),
        &codes(&out.redirects)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
}

#[tokio::test]
async fn a_busy_callback_port_falls_back_to_pasting() {
    let s = Session::new(loopback_config()).await;
    let port = url::Url::parse(&s.redirect_uri).unwrap().port().unwrap();
    let _busy = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    let out = s.run(&s.init_args(), Browser::Paste { accept: true }).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("cannot listen on"), "{}", out.stderr);
}

/// A script runs init again over a deployment that works: it goes ahead (scripts mean it), but
/// says a live family is being replaced and that `renew` was the lighter tool; the handover to
/// the running proxy is reported instead of a warning that its cache may bring the old family back.
#[tokio::test]
async fn init_again_over_a_live_family_says_what_it_replaces() {
    let s = initialized(loopback_config(), &[]).await;
    let first = s.secrets()["PSOXY_JIRA_CLOUD_REFRESH_TOKEN"].clone();
    let out = s
        .run(&s.init_args(), Browser::Follow { accept: true })
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("already holds a token family issued")
            && out.stderr.contains("365 days left")
            && out.stderr.contains("jira-psoxy-setup renew"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("the running proxy reads the new access token")
            && !out.stderr.contains("renew between the proxy's runs"),
        "{}",
        out.stderr
    );
    assert_ne!(s.secrets()["PSOXY_JIRA_CLOUD_REFRESH_TOKEN"], first);
}

/// The same busy port in a script with nothing to paste: it does not wait for input that cannot
/// come, but fails at once saying how to go on.
#[tokio::test]
async fn a_busy_callback_port_in_a_script_with_nothing_to_paste_fails_at_once() {
    let s = Session::new(loopback_config()).await;
    let port = url::Url::parse(&s.redirect_uri).unwrap().port().unwrap();
    let _busy = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    let started = std::time::Instant::now();
    let out = s.run(&s.init_args(), Browser::Nothing).await;
    assert_eq!(out.code, 3, "{}", out.stderr);
    let error = out.stderr.lines().last().unwrap_or_default();
    assert!(
        error.contains("no redirect URL on standard input"),
        "{}",
        out.stderr
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert!(!s.secrets_file().exists());
}

#[tokio::test]
async fn tfvars_assignment_is_replaced_and_every_other_byte_kept() {
    let s = Session::new(loopback_config()).await;
    let tfvars = s.path("terraform.tfvars");
    let before = "# Psoxy\nenvironment_name = \"acme\"\n\njira_cloud_id    = \"old\"   # set by hand\nfoo = {\n  a = 1\n}\n";
    std::fs::write(&tfvars, before).unwrap();
    let mut args = s.init_args();
    args.extend(strings(&["--tfvars", tfvars.to_str().unwrap()]));
    let out = s.run(&args, Browser::Follow { accept: true }).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let id = jira_psoxy_setup::sim::SimSite::numbered(1).id;
    assert_eq!(
        std::fs::read_to_string(&tfvars).unwrap(),
        before.replace("\"old\"", &format!("\"{id}\""))
    );
}

#[tokio::test]
async fn the_client_secret_can_come_from_stdin_and_other_file_keys_survive() {
    let s = Session::new(loopback_config()).await;
    std::fs::write(s.secrets_file(), "{\"OTHER_SECRET\": \"keep\"}").unwrap();
    let mut args = s.init_args();
    args.push("--client-secret-stdin".into());
    let out = s
        .run_with(
            &args,
            &[],
            &[CLIENT_SECRET],
            Browser::Follow { accept: true },
        )
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(s.secrets()["OTHER_SECRET"], "keep");
    assert_eq!(s.secrets()["PSOXY_JIRA_CLOUD_CLIENT_SECRET"], CLIENT_SECRET);
}

#[tokio::test]
async fn rate_limited_site_listing_is_retried() {
    let s = Session::new(SimConfig {
        rate_limit_accessible_resources: 2,
        ..loopback_config()
    })
    .await;
    let out = s
        .run(&s.init_args(), Browser::Follow { accept: true })
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let listings = s
        .sim
        .requests()
        .iter()
        .filter(|r| r.contains("accessible-resources"))
        .count();
    assert_eq!(listings, 3);
}

#[tokio::test]
async fn the_demo_runs_end_to_end_without_a_terminal() {
    let s = Session::new(loopback_config()).await;
    let args = strings(&[
        "init",
        "--demo",
        "--file",
        s.secrets_file().to_str().unwrap(),
    ]);
    let out = s.run_with(&args, &[], &[], Browser::Nothing).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("Demo finished") && out.stdout.contains("nothing real is connected"),
        "the summary says it was a simulation: {}",
        out.stdout
    );
    assert!(
        !out.stdout.contains("Jira Cloud is connected"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("renew --demo"), "{}", out.stdout);
    for real in [
        "://auth.atlassian.com",
        "://api.atlassian.com",
        "developer.atlassian.com",
        "atlassian.net",
    ] {
        assert!(
            !out.all().contains(real),
            "the demo never points at {real}: {}",
            out.all()
        );
    }
    assert_eq!(s.secrets()["PSOXY_JIRA_CLOUD_CLIENT_ID"], "demo-client-id");
}
