//! The yearly renewal: nothing pasted, the configured site kept, a site change only on request.

use crate::support;

use jira_psoxy_setup::sim::{SimConfig, SimSite};
use support::*;

#[tokio::test]
async fn renew_reads_the_client_credentials_back_and_replaces_the_token_family() {
    let s = initialized(loopback_config(), &[]).await;
    let old_refresh = s.secrets()["PSOXY_JIRA_CLOUD_REFRESH_TOKEN"]
        .as_str()
        .unwrap()
        .to_string();
    let out = s
        .run_with(&s.renew_args(), &[], &[], Browser::Follow { accept: true })
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
        .consents(&with(s.renew_args(), &["--site", "Acme 2"]), &[])
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
        .consents(
            &with(s.renew_args(), &["--site", "Acme 2", "--allow-site-change"]),
            &[],
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
        .run_with(&s.renew_args(), &[], &[], Browser::Follow { accept: true })
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains(&SimSite::numbered(3).id));
}

/// terraform.tfvars is where the deployment's site is configured: with `--tfvars`, renew holds
/// the new family to the cloud id written there, over the one recorded at the last run, and
/// `--json` says what was done, as whom.
#[tokio::test]
async fn renew_holds_the_new_family_to_the_site_in_tfvars() {
    let s = initialized(
        SimConfig {
            sites: sites(3),
            ..loopback_config()
        },
        &["--site", "Acme 2"],
    )
    .await;
    let third = SimSite::numbered(3);
    let tfvars = s.path("terraform.tfvars");
    std::fs::write(&tfvars, format!("jira_cloud_id = \"{}\"\n", third.id)).unwrap();
    let out = s
        .run_with(
            &with(
                s.renew_args(),
                &["--tfvars", tfvars.to_str().unwrap(), "--json"],
            ),
            &[],
            &[],
            Browser::Follow { accept: true },
        )
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["command"], "renew");
    assert_eq!(report["cloud_id"], third.id.as_str(), "{report}");
    assert_eq!(report["authorized_as"], "Demo Admin", "{report}");
    assert_eq!(
        report["secrets_written"],
        serde_json::json!([
            "PSOXY_JIRA_CLOUD_REFRESH_TOKEN",
            "PSOXY_JIRA_CLOUD_ACCESS_TOKEN"
        ])
    );
    let recorded =
        s.secrets()["_jira_psoxy_setup"]["families"]["PSOXY_JIRA_CLOUD_"]["cloud_id"].clone();
    assert_eq!(recorded, third.id.as_str());
}

/// The client ID and secret in the store are still Terraform's placeholders (init never ran, or
/// they were reset): renew cannot read them back, so a script must pass them, and then renew
/// writes them too.
#[tokio::test]
async fn renew_needs_the_client_credentials_when_the_store_holds_placeholders() {
    let s = Session::new(loopback_config()).await;
    std::fs::write(
        s.secrets_file(),
        serde_json::json!({
            "PSOXY_JIRA_CLOUD_CLIENT_ID": "fill me",
            "PSOXY_JIRA_CLOUD_CLIENT_SECRET": "fill me",
            "PSOXY_JIRA_CLOUD_REFRESH_TOKEN": "fill me",
            "PSOXY_JIRA_CLOUD_ACCESS_TOKEN": "fill me",
        })
        .to_string(),
    )
    .unwrap();
    let out = s
        .run_with(&s.renew_args(), &[], &[], Browser::Follow { accept: true })
        .await;
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(out.stderr.contains("--client-id"), "{}", out.stderr);
    assert!(out.authorize_urls.is_empty(), "nothing was authorized");

    let out = s
        .consents(
            &with(s.renew_args(), &["--client-id", CLIENT_ID]),
            &[("JIRA_CLIENT_SECRET", CLIENT_SECRET)],
        )
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let secrets = s.secrets();
    assert_eq!(secrets["PSOXY_JIRA_CLOUD_CLIENT_ID"], CLIENT_ID);
    assert_eq!(secrets["PSOXY_JIRA_CLOUD_CLIENT_SECRET"], CLIENT_SECRET);
    assert!(
        s.sim
            .is_live_refresh_token(secrets["PSOXY_JIRA_CLOUD_REFRESH_TOKEN"].as_str().unwrap())
    );
}

/// A year later the operator types just `renew`: the store, prefix, callback URL and tfvars come
/// from the last run (and it says so), and a cron `status` needs no options either. Any store
/// option given explicitly wins over what was remembered.
#[tokio::test]
async fn a_year_later_renew_and_status_need_no_options() {
    let s = Session::new(loopback_config()).await;
    let tfvars = s.path("terraform.tfvars");
    std::fs::write(&tfvars, "jira_cloud_id = \"fill me\"\n").unwrap();
    let out = s
        .run(
            &with(s.init_args(), &["--tfvars", tfvars.to_str().unwrap()]),
            Browser::Follow { accept: true },
        )
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let first = s.secrets()["PSOXY_JIRA_CLOUD_REFRESH_TOKEN"].clone();
    std::fs::write(&tfvars, "jira_cloud_id = \"fill me\"\n").unwrap();

    let base = s.sim.base_url().to_string();
    let renew = strings(&[
        "renew",
        "--non-interactive",
        "--atlassian-auth-url",
        &base,
        "--atlassian-api-url",
        &base,
        "--no-browser",
    ]);
    let out = s
        .run_with(&renew, &[], &[], Browser::Follow { accept: true })
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("using the target of the last run")
            && out.stderr.contains(&s.secrets_file().display().to_string()),
        "{}",
        out.stderr
    );
    let refresh = s.secrets()["PSOXY_JIRA_CLOUD_REFRESH_TOKEN"].clone();
    assert_ne!(refresh, first);
    assert!(s.sim.is_live_refresh_token(refresh.as_str().unwrap()));
    assert!(
        std::fs::read_to_string(&tfvars)
            .unwrap()
            .contains(&SimSite::numbered(1).id),
        "the remembered tfvars was updated"
    );

    // A shell that exports AWS_REGION everywhere still gets the remembered deployment.
    let out = s
        .run_with(
            &strings(&["status", "--json"]),
            &[("AWS_REGION", "eu-west-1")],
            &[],
            Browser::Nothing,
        )
        .await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(out.stderr.contains("deployments.json"), "{}", out.stderr);
    let rows: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 1, "{rows:#}");
    assert_eq!(rows[0]["prefix"], "PSOXY_JIRA_CLOUD_");
    assert_eq!(
        rows[0]["deployment"],
        format!(
            "jira-cloud@file:{}:PSOXY_JIRA_CLOUD_",
            s.secrets_file().display()
        )
    );

    let elsewhere = s.path("elsewhere.json");
    let out = s
        .run_with(
            &strings(&["status", "--file", elsewhere.to_str().unwrap()]),
            &[],
            &[],
            Browser::Nothing,
        )
        .await;
    assert_eq!(out.code, 11, "an explicit --file wins: {}", out.all());
    assert!(!out.stderr.contains("deployments.json"), "{}", out.stderr);
}
