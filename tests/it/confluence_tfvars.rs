//! `confluence_example_cloud_id` lands where Terraform reads it (psoxy-contract §5, §7), through
//! the real binary, in every shape of terraform.tfvars the Jira key is placed in; each result is
//! read back by an independent HCL parser (python-hcl2).

use crate::support;

use crate::support::hcl;

use hcl::{parse_independently, terraform_reads_key, unquote};
use jira_psoxy_setup::sim::SimSite;
use support::*;

const KEY: &str = "confluence_example_cloud_id";

fn confluence(args: Vec<String>) -> Vec<String> {
    with(args, &["--connector", "confluence-cloud"])
}

/// The shapes of terraform.tfvars the Jira key is placed in, for Confluence's key; each result
/// read back by python-hcl2 with Terraform's rule.
#[tokio::test]
async fn init_puts_confluence_example_cloud_id_where_terraform_reads_it() {
    let s = Session::new(confluence_app()).await;
    let id = SimSite::numbered(1).id;
    let other = "99999999-0000-4000-8000-999999999999";
    let shapes = [
        (
            "top-level only",
            format!("{KEY} = \"old\"\n"),
            format!("replaced {KEY} (the top-level"),
        ),
        (
            "map only",
            format!("connector_settings = {{\n  {KEY} = \"old\"\n}}\n"),
            format!("replaced {KEY} in connector_settings"),
        ),
        (
            "both",
            format!("{KEY} = \"old\"\nconnector_settings = {{\n  {KEY} = \"older\"\n}}\n"),
            "kept equal".to_string(),
        ),
        (
            "neither, a map with Jira's key",
            format!("connector_settings = {{\n  jira_cloud_id = \"{other}\"\n}}\n"),
            format!("added {KEY} to connector_settings"),
        ),
        (
            "no map at all",
            "environment_name = \"acme\"\n".to_string(),
            format!("added connector_settings with {KEY}"),
        ),
        (
            "nested decoy",
            format!(
                "connector_settings = {{\n  confluence = {{\n    {KEY} = \"decoy\"\n  }}\n}}\n"
            ),
            format!("added {KEY} to connector_settings"),
        ),
    ];
    let tfvars = s.path("terraform.tfvars");
    for (shape, before, says) in shapes {
        std::fs::write(&tfvars, &before).unwrap();
        let args = with(
            confluence(s.init_args()),
            &["--tfvars", tfvars.to_str().unwrap()],
        );
        let out = s.run(&args, Browser::Follow { accept: true }).await;
        assert_eq!(out.code, 0, "{shape}: {}", out.stderr);
        assert!(out.stderr.contains(&says), "{shape}: {}", out.stderr);
        let after = std::fs::read_to_string(&tfvars).unwrap();
        let parsed = parse_independently(&after);
        assert_eq!(
            terraform_reads_key(&parsed, KEY),
            Some(id.clone()),
            "{shape}: {after}"
        );
        if let Some(top) = parsed.get(KEY) {
            assert_eq!(unquote(top), Some(id.clone()), "{shape}: both equal");
        }
        match shape {
            "nested decoy" => assert_eq!(
                unquote(&parsed["connector_settings"]["confluence"][KEY]).as_deref(),
                Some("decoy"),
                "{after}"
            ),
            "neither, a map with Jira's key" => assert_eq!(
                terraform_reads_key(&parsed, "jira_cloud_id").as_deref(),
                Some(other),
                "{after}"
            ),
            _ => {}
        }
    }

    let before = "connector_settings = merge(local.base, { github_organization = \"acme\" })\n";
    std::fs::write(&tfvars, before).unwrap();
    let args = with(
        confluence(s.init_args()),
        &["--tfvars", tfvars.to_str().unwrap()],
    );
    let out = s.run(&args, Browser::Follow { accept: true }).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(std::fs::read_to_string(&tfvars).unwrap(), before);
    assert!(
        out.stderr
            .contains(&format!("add {KEY} = \"{id}\" at the top level of the map")),
        "{}",
        out.stderr
    );
}
