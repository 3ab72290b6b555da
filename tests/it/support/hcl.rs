//! An independent reading of terraform.tfvars: python-hcl2 (installed into .venv by
//! scripts/test.sh), and what Terraform takes from it as the cloud id.
#![allow(dead_code)]

use std::io::Write;
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

fn python() -> PathBuf {
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    assert!(
        venv.exists(),
        "{} is missing: run scripts/test.sh (it installs python-hcl2 into .venv)",
        venv.display()
    );
    venv
}

/// Parses HCL with python-hcl2; string values lose their quotes. The parse runs under the
/// suite's deadline, from a file (a pipe to a stuck child could block the test).
pub fn parse_independently(text: &str) -> Value {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(text.as_bytes()).unwrap();
    let out = super::deadline::output_within(
        Command::new(python()).args([
            "-c",
            "import hcl2,sys,json; print(json.dumps(hcl2.load(open(sys.argv[1]))))",
            file.path().to_str().unwrap(),
        ]),
        super::RUN_LIMIT,
    );
    assert!(
        out.status.success(),
        "python-hcl2 rejected:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

pub fn unquote(v: &Value) -> Option<String> {
    v.as_str().map(|s| s.trim_matches('"').to_string())
}

/// What Terraform reads, by psoxy-contract §5, from the independently parsed file:
/// `coalesce(var.jira_cloud_id, connector_settings["jira_cloud_id"])`.
pub fn terraform_reads(parsed: &Value) -> Option<String> {
    terraform_reads_key(parsed, "jira_cloud_id")
}

/// The same rule for any connector's key: `coalesce(var.<key>, connector_settings["<key>"])`.
pub fn terraform_reads_key(parsed: &Value, name: &str) -> Option<String> {
    let set = |v: Option<&Value>| v.and_then(unquote).filter(|s| !s.is_empty());
    set(parsed.get(name)).or_else(|| {
        let settings = parsed.get("connector_settings")?.as_object()?;
        let key = settings.iter().find(|(k, _)| k.trim_matches('"') == name);
        set(key.map(|(_, v)| v))
    })
}
