//! Confluence Cloud on the cloud stores, through the real binary: AWS SSM (moto) with a Jira
//! deployment beside it, and GCP Secret Manager (the loopback fake): init, status, renew.

use crate::support;
use crate::support::moto;

use crate::support::gcp_fake;

use gcp_fake::GcpFake;
use jira_psoxy_setup::sim::SimSite;
use moto::{Moto, PLACEHOLDER};
use serde_json::Value;
use support::*;

const SUFFIXES: [&str; 4] = [
    "CLIENT_ID",
    "CLIENT_SECRET",
    "REFRESH_TOKEN",
    "ACCESS_TOKEN",
];

fn confluence(args: Vec<String>, store: &[String]) -> Vec<String> {
    with(
        on_store(args, store.to_vec()),
        &["--connector", "confluence-cloud"],
    )
}

/// Terraform applied for both connectors; init for Confluence finds both deployments, fills in
/// Confluence's parameters and leaves Jira's as Terraform made them.
#[tokio::test]
async fn ssm_init_and_status_for_confluence_beside_a_jira_deployment() {
    let moto = Moto::start();
    moto.seed_placeholders("PSOXY_JIRA_CLOUD_", None).await;
    moto.seed_placeholders("PSOXY_CONFLUENCE_CLOUD_", None)
        .await;
    let s = Session::new(confluence_app()).await;
    let mut env = moto.env();
    env.push(("JIRA_CLIENT_SECRET", CLIENT_SECRET.to_string()));
    let store = strings(&["--store", "aws-ssm"]);
    let out = s
        .consents(&confluence(s.init_args(), &store), &borrowed(&env))
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("found an existing deployment with prefix PSOXY_CONFLUENCE_CLOUD_"),
        "{}",
        out.stderr
    );
    for suffix in SUFFIXES {
        let jira = moto.value(&format!("PSOXY_JIRA_CLOUD_{suffix}")).await;
        assert_eq!(
            jira.as_deref(),
            Some(PLACEHOLDER),
            "Jira's {suffix} untouched"
        );
        let value = moto
            .value(&format!("PSOXY_CONFLUENCE_CLOUD_{suffix}"))
            .await
            .unwrap();
        assert_ne!(value, PLACEHOLDER, "{suffix}");
    }
    let refresh = moto
        .value("PSOXY_CONFLUENCE_CLOUD_REFRESH_TOKEN")
        .await
        .unwrap();
    assert!(s.sim.is_live_refresh_token(&refresh));

    let status = strings(&["status", "--connector", "confluence-cloud", "--json"]);
    let status = with(status, &["--store", "aws-ssm"]);
    let out = s
        .run_with(&status, &borrowed(&moto.env()), &[], Browser::Nothing)
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["prefix"], "PSOXY_CONFLUENCE_CLOUD_");
    assert_eq!(report["cloud_id"], SimSite::numbered(1).id.as_str());
    assert_eq!(report["health"], "ok");
}

#[tokio::test]
async fn gcp_init_and_renew_for_confluence() {
    const PREFIX: &str = "psoxy_CONFLUENCE_CLOUD_";
    let s = Session::new(confluence_app()).await;
    let fake = GcpFake::start("acme-prod").await;
    fake.terraform(PREFIX);
    fake.terraform("psoxy_JIRA_CLOUD_");
    let store = fake.store_flags();
    let value = |name: &str| fake.secret(name).and_then(|s| s.proxy_value());
    let out = s
        .run(
            &confluence(s.init_args(), &store),
            Browser::Follow { accept: true },
        )
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        value(&format!("{PREFIX}CLIENT_ID")).as_deref(),
        Some(CLIENT_ID)
    );
    let first = value(&format!("{PREFIX}REFRESH_TOKEN")).unwrap();
    assert!(s.sim.is_live_refresh_token(&first));
    for suffix in SUFFIXES {
        assert_eq!(
            value(&format!("psoxy_JIRA_CLOUD_{suffix}")),
            None,
            "Jira's {suffix}"
        );
    }
    let meta = fake.secret(&format!("{PREFIX}REFRESH_TOKEN")).unwrap();
    assert_eq!(
        meta.label("jira-cloud-id"),
        Some(SimSite::numbered(1).id.as_str())
    );

    let out = s.consents(&confluence(s.renew_args(), &store), &[]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("read from the store"), "{}", out.stderr);
    let second = value(&format!("{PREFIX}REFRESH_TOKEN")).unwrap();
    assert_ne!(first, second);
    assert!(s.sim.is_live_refresh_token(&second));
}
