//! The cloud id lands where Terraform reads it (psoxy-contract §5), through the real binary, for
//! every shape of terraform.tfvars an operator may have; each result is read back by an
//! independent HCL parser. `renew` and `status` read the configured site by the same rule.

use crate::support;

use crate::support::hcl;

use hcl::{parse_independently, terraform_reads, unquote};
use jira_psoxy_setup::sim::{SimConfig, SimSite};
use support::*;

const OTHER: &str = "99999999-0000-4000-8000-999999999999";

/// Runs `init --tfvars` over a file holding `before`; returns the file's text afterwards and
/// the run's stderr.
async fn init_over(s: &Session, before: &str) -> (String, String) {
    let tfvars = s.path("terraform.tfvars");
    std::fs::write(&tfvars, before).unwrap();
    let args = with(s.init_args(), &["--tfvars", tfvars.to_str().unwrap()]);
    let out = s.run(&args, Browser::Follow { accept: true }).await;
    assert_eq!(out.code, 0, "{before}\n{}", out.stderr);
    (std::fs::read_to_string(&tfvars).unwrap(), out.stderr)
}

/// `status --json --tfvars` over a tfvars file holding `text`.
async fn status(s: &Session, tfvars: &std::path::Path, text: String) -> Output {
    std::fs::write(tfvars, text).unwrap();
    let args = strings(&[
        "status",
        "--json",
        "--file",
        s.secrets_file().to_str().unwrap(),
        "--tfvars",
        tfvars.to_str().unwrap(),
    ]);
    s.run_with(&args, &[], &[], Browser::Nothing).await
}

#[tokio::test]
async fn init_puts_the_cloud_id_where_terraform_reads_it() {
    let s = Session::new(loopback_config()).await;
    let id = SimSite::numbered(1).id;
    let shapes = [
        (
            "top-level only",
            "jira_cloud_id = \"old\"\n",
            "replaced jira_cloud_id (the top-level",
        ),
        (
            "map only",
            "connector_settings = {\n  jira_cloud_id = \"old\"\n}\n",
            "replaced jira_cloud_id in connector_settings",
        ),
        (
            "both",
            "jira_cloud_id = \"old\"\nconnector_settings = {\n  jira_cloud_id = \"older\"\n}\n",
            "kept equal",
        ),
        (
            "neither, a map",
            "connector_settings = {\n  github_organization = \"acme\"\n}\n",
            "added jira_cloud_id to connector_settings",
        ),
        (
            "no map at all",
            "environment_name = \"acme\"\n",
            "added connector_settings with jira_cloud_id",
        ),
        (
            "nested decoy",
            "connector_settings = {\n  jira = {\n    jira_cloud_id = \"decoy\"\n  }\n}\n",
            "added jira_cloud_id to connector_settings",
        ),
    ];
    for (shape, before, says) in shapes {
        let (after, stderr) = init_over(&s, before).await;
        assert!(stderr.contains(says), "{shape}: {stderr}");
        let parsed = parse_independently(&after);
        assert_eq!(
            terraform_reads(&parsed),
            Some(id.clone()),
            "{shape}: {after}"
        );
        if let Some(top) = parsed.get("jira_cloud_id") {
            assert_eq!(unquote(top), Some(id.clone()), "{shape}: both equal");
        }
        if shape == "nested decoy" {
            let decoy = &parsed["connector_settings"]["jira"]["jira_cloud_id"];
            assert_eq!(unquote(decoy).as_deref(), Some("decoy"), "{after}");
        }
    }
}

/// A `connector_settings` the tool cannot edit: nothing changes, the operator is told exactly
/// what to add, and the run still succeeds (the secrets are stored; the proxy never reads the id).
#[tokio::test]
async fn a_map_that_is_not_literal_is_left_alone_with_what_to_add() {
    let s = Session::new(loopback_config()).await;
    let id = SimSite::numbered(1).id;
    let before = "connector_settings = merge(local.base, { github_organization = \"acme\" })\n";
    let (after, stderr) = init_over(&s, before).await;
    assert_eq!(after, before);
    parse_independently(&after);
    assert!(
        stderr.contains(&format!(
            "add jira_cloud_id = \"{id}\" at the top level of the map"
        )),
        "{stderr}"
    );
    assert!(s.secrets()["PSOXY_JIRA_CLOUD_REFRESH_TOKEN"].is_string());
}

/// Terraform uses the top-level variable when both are set: renew checks that site, not the
/// stale map value or a nested decoy (which would refuse the renewal as a site change).
#[tokio::test]
async fn renew_and_status_read_the_site_terraform_uses() {
    let s = initialized(
        SimConfig {
            sites: sites(2),
            ..loopback_config()
        },
        &["--site", "Acme 1"],
    )
    .await;
    let id = SimSite::numbered(1).id;
    let tfvars = s.path("terraform.tfvars");
    std::fs::write(
        &tfvars,
        format!(
            "jira_cloud_id = \"{id}\"\nconnector_settings = {{\n  jira = {{ jira_cloud_id = \"{OTHER}\" }}\n  jira_cloud_id = \"{OTHER}\"\n}}\n"
        ),
    )
    .unwrap();
    let path = tfvars.to_str().unwrap();
    let args = with(s.renew_args(), &["--tfvars", path]);
    let out = s.run(&args, Browser::Follow { accept: true }).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("kept equal"), "{}", out.stderr);
    let parsed = parse_independently(&std::fs::read_to_string(&tfvars).unwrap());
    assert_eq!(terraform_reads(&parsed), Some(id.clone()));
    assert_eq!(
        unquote(&parsed["connector_settings"]["jira_cloud_id"]),
        Some(id.clone())
    );

    let out = status(
        &s,
        &tfvars,
        format!("connector_settings = {{ jira_cloud_id = \"{id}\" }}\n"),
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["cloud_id"], id.as_str());

    let out = status(
        &s,
        &tfvars,
        format!(
            "jira_cloud_id = \"{OTHER}\"\nconnector_settings = {{ jira_cloud_id = \"{id}\" }}\n"
        ),
    )
    .await;
    assert_eq!(out.code, 10, "{}", out.stderr);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["cloud_id"], OTHER);
    assert!(
        report["problems"][0]
            .as_str()
            .unwrap()
            .contains(&format!("configures site {OTHER}")),
        "{report}"
    );
}
