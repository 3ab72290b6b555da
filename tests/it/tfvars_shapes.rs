//! terraform.tfvars shapes an operator may have: each is edited with hcl-edit, and the result is
//! checked by an independent HCL2 parser (python-hcl2, installed into .venv by scripts/test.sh).

use crate::support::hcl;

use hcl::{parse_independently, terraform_reads, unquote};
use jira_psoxy_setup::tfvars::{Edit, set_cloud_id};
use serde_json::Value;

const ID: &str = "a436116f-02ce-4520-8fbb-7301462a1674";

/// Edits `before`, checks the edit kind, that both files parse independently, that Terraform now
/// reads ID, and that every other top-level value is unchanged.
fn check(before: &str, expected_edit: Edit) -> String {
    let (after, edit) =
        set_cloud_id(before, "jira_cloud_id", ID).unwrap_or_else(|e| panic!("{e}\n{before}"));
    assert_eq!(edit, expected_edit, "{before}");
    let parsed = parse_independently(&after);
    assert_eq!(
        terraform_reads(&parsed).as_deref(),
        Some(ID),
        "{after}\n{parsed}"
    );
    let before_parsed = parse_independently(before);
    if let (Value::Object(b), Value::Object(a)) = (&before_parsed, &parsed) {
        for (k, v) in b {
            if k != "jira_cloud_id" && k != "connector_settings" {
                assert_eq!(a.get(k), Some(v), "{k} is unchanged");
            }
        }
    }
    after
}

#[test]
fn a_file_without_either_place_gets_connector_settings() {
    check(
        "environment_name = \"acme\"\n",
        Edit::AddedConnectorSettings,
    );
    check("environment_name = \"acme\"", Edit::AddedConnectorSettings);
    check("", Edit::AddedConnectorSettings);
    check("# only a comment", Edit::AddedConnectorSettings);
    let after = check("jira_cloud_id = null\n", Edit::AddedConnectorSettings);
    assert!(after.starts_with("jira_cloud_id = null\n"), "{after}");
}

#[test]
fn top_level_only_is_replaced_in_place() {
    let before = "/* block comment */\nenvironment_name = \"acme\"\njira_cloud_id = \"old\" // inline\ntags = {\n  team = \"data\"\n}\n";
    let after = check(before, Edit::Replaced);
    assert_eq!(after, before.replace("\"old\"", &format!("\"{ID}\"")));
}

#[test]
fn map_only_is_replaced_in_place() {
    let before = "connector_settings = {\n  github_organization = \"acme\"\n  \"jira_cloud_id\" = \"old\" # by hand\n}\n";
    let after = check(before, Edit::ReplacedInConnectorSettings);
    assert_eq!(after, before.replace("\"old\"", &format!("\"{ID}\"")));
}

#[test]
fn both_present_are_kept_equal() {
    let before =
        "jira_cloud_id = \"old-top\"\nconnector_settings = {\n  jira_cloud_id = \"old-map\"\n}\n";
    let after = check(before, Edit::ReplacedBoth);
    let parsed = parse_independently(&after);
    assert_eq!(unquote(&parsed["jira_cloud_id"]).as_deref(), Some(ID));
    assert_eq!(
        unquote(&parsed["connector_settings"]["jira_cloud_id"]).as_deref(),
        Some(ID)
    );
}

#[test]
fn neither_present_adds_the_key_to_the_existing_map() {
    for before in [
        "connector_settings = {\n  github_organization = \"acme\"\n}\n",
        "connector_settings = { github_organization = \"acme\" }\n",
        "connector_settings = {\n  github_organization = \"acme\",\n}\n",
        "connector_settings = {}\n",
    ] {
        let after = check(before, Edit::AddedToConnectorSettings);
        let parsed = parse_independently(&after);
        let map = parsed["connector_settings"].as_object().unwrap();
        assert!(map.len() <= 2, "{after}");
    }
}

#[test]
fn a_nested_decoy_is_left_alone_and_the_real_key_added() {
    let before = "jira_cloud_id = \"\"\nconnector_settings = {\n  jira-cloud = {\n    \"jira_cloud_id\" = \"decoy\"\n  }\n}\n";
    let after = check(before, Edit::AddedToConnectorSettings);
    let parsed = parse_independently(&after);
    assert_eq!(
        unquote(&parsed["connector_settings"]["jira-cloud"]["\"jira_cloud_id\""]).as_deref(),
        Some("decoy"),
        "{after}"
    );
}

#[test]
fn a_map_that_is_not_literal_is_not_changed() {
    for before in [
        "connector_settings = local.settings\n",
        "connector_settings = merge(var.base, { github_organization = \"acme\" })\n",
    ] {
        let (after, edit) = set_cloud_id(before, "jira_cloud_id", ID).unwrap();
        assert_eq!((after.as_str(), edit), (before, Edit::ByHand));
        parse_independently(before);
    }
}

#[test]
fn heredocs_lists_and_crlf_files_survive() {
    let before = "description = <<EOT\nsome text\njira_cloud_id = \"not this\"\nEOT\nlist = [\n  \"x\",\n  \"y\",\n]\n";
    let after = check(before, Edit::AddedConnectorSettings);
    assert!(after.starts_with(before));
    let crlf = "environment_name = \"acme\"\r\njira_cloud_id = \"old\"\r\n";
    let after = check(crlf, Edit::Replaced);
    assert_eq!(after, crlf.replace("\"old\"", &format!("\"{ID}\"")));
    let after = check(
        "environment_name = \"acme\"\r\n",
        Edit::AddedConnectorSettings,
    );
    assert!(!after.replace("\r\n", "").contains('\n'), "{after:?}");
}
