//! terraform.tfvars shapes an operator may have: each is edited with hcl-edit, and the result is
//! checked by an independent HCL2 parser (python-hcl2, installed into .venv by scripts/test.sh).

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use jira_psoxy_setup::tfvars::{Edit, set_cloud_id};
use serde_json::Value;

const ID: &str = "a436116f-02ce-4520-8fbb-7301462a1674";

fn python() -> PathBuf {
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    assert!(
        venv.exists(),
        "{} is missing: run scripts/test.sh (it installs python-hcl2 into .venv)",
        venv.display()
    );
    venv
}

/// Parses HCL with python-hcl2; string values lose their quotes.
fn parse_independently(text: &str) -> Value {
    let mut child = Command::new(python())
        .args([
            "-c",
            "import hcl2,sys,json; print(json.dumps(hcl2.load(sys.stdin)))",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "python-hcl2 rejected:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn unquote(v: &Value) -> Option<String> {
    v.as_str().map(|s| s.trim_matches('"').to_string())
}

/// The value of every `jira_cloud_id` key, wherever it is.
fn cloud_ids(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                if k.trim_matches('"') == "jira_cloud_id" {
                    out.extend(unquote(v));
                }
                cloud_ids(v, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|i| cloud_ids(i, out)),
        _ => {}
    }
}

fn check(before: &str, expected_edit: Edit) -> String {
    let (after, edit) = set_cloud_id(before, ID).unwrap_or_else(|e| panic!("{e}\n{before}"));
    assert_eq!(edit, expected_edit, "{before}");
    let parsed = parse_independently(&after);
    let mut ids = Vec::new();
    cloud_ids(&parsed, &mut ids);
    assert!(ids.contains(&ID.to_string()), "{after}\n{parsed}");
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
fn a_file_without_the_variable_gets_it_appended() {
    check("environment_name = \"acme\"\n", Edit::Appended);
    check("environment_name = \"acme\"", Edit::Appended);
    check("", Edit::Appended);
    check("# only a comment", Edit::Appended);
}

#[test]
fn an_existing_assignment_is_replaced_in_place() {
    let before = "/* block comment */\nenvironment_name = \"acme\"\njira_cloud_id = \"old\" // inline\ntags = {\n  team = \"data\"\n}\n";
    let after = check(before, Edit::Replaced);
    assert_eq!(after, before.replace("\"old\"", &format!("\"{ID}\"")));
}

#[test]
fn connector_settings_win_over_the_deprecated_variable() {
    let before = "jira_cloud_id = \"old\"\nconnector_settings = {\n  jira-cloud = {\n    \"jira_cloud_id\" = \"nested-old\"\n    example_users = [\"a@b.c\"]\n  }\n}\n";
    let after = check(before, Edit::ReplacedInConnectorSettings);
    assert!(
        after.contains("jira_cloud_id = \"old\""),
        "the top-level variable is left alone"
    );
}

#[test]
fn heredocs_lists_and_crlf_files_survive() {
    let before = "description = <<EOT\nsome text\njira_cloud_id = \"not this\"\nEOT\nlist = [\n  \"x\",\n  \"y\",\n]\n";
    let after = check(before, Edit::Appended);
    assert!(after.starts_with(before));
    let crlf = "environment_name = \"acme\"\r\njira_cloud_id = \"old\"\r\n";
    let after = check(crlf, Edit::Replaced);
    assert_eq!(after, crlf.replace("\"old\"", &format!("\"{ID}\"")));
}
