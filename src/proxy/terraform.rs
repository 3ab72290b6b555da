//! The proxy's URL and caller role from `terraform output -json`, run in the directory of
//! `--tfvars` (psoxy-contract §9: `api_connector_instances[<id>].endpoint_url`, `caller_role_arn`).
//! Every other shape (no Terraform, no state, an output missing or shaped otherwise) gives
//! nothing and a reason, never an error: the flags are the other way in.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;

use crate::sanitize::remote_text;

/// How long `terraform output` may take (it may read remote state).
const TERRAFORM_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FromTerraform {
    pub url: String,
    pub role_arn: Option<String>,
    /// The key of `api_connector_instances` the URL was read from.
    pub instance: String,
}

/// Runs `terraform output -json` in `dir`; `Err` says why nothing was found.
pub async fn read(dir: &Path, connector_id: &str) -> Result<FromTerraform, String> {
    let mut command = tokio::process::Command::new("terraform");
    command
        .args(["output", "-json"])
        .current_dir(dir)
        .env("TF_IN_AUTOMATION", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let output = match tokio::time::timeout(TERRAFORM_TIMEOUT, command.output()).await {
        Ok(Ok(output)) => output,
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err("terraform is not on PATH".into());
        }
        Ok(Err(e)) => return Err(format!("terraform could not run ({e})")),
        Err(_) => {
            return Err(format!(
                "`terraform output -json` took longer than {}s",
                TERRAFORM_TIMEOUT.as_secs()
            ));
        }
    };
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr.lines().rev().find(|l| !l.trim().is_empty());
        return Err(format!(
            "`terraform output -json` in {} failed: {}",
            dir.display(),
            remote_text(last.unwrap_or("no message"))
        ));
    }
    let outputs: Value = serde_json::from_slice(&output.stdout)
        .map_err(|e| format!("`terraform output -json` printed no JSON ({e})"))?;
    find(&outputs, connector_id)
}

/// The proxy in Terraform's outputs: the instance keyed by the connector's id, else the only
/// instance whose key contains it (`jira-cloud` in `psoxy-jira-cloud`).
pub fn find(outputs: &Value, connector_id: &str) -> Result<FromTerraform, String> {
    let instances = output_value(outputs, "api_connector_instances")
        .and_then(Value::as_object)
        .ok_or("the outputs have no api_connector_instances map (is `terraform apply` done?)")?;
    let (instance, entry) = match instances.get(connector_id) {
        Some(entry) => (connector_id.to_string(), entry),
        None => {
            let near: Vec<_> = instances
                .iter()
                .filter(|(k, _)| k.contains(connector_id))
                .collect();
            match near.as_slice() {
                [(k, v)] => (k.to_string(), *v),
                _ => {
                    let keys: Vec<String> = instances.keys().map(|k| remote_text(k)).collect();
                    return Err(format!(
                        "api_connector_instances has no {connector_id} (it has: {}): pass --proxy-url",
                        if keys.is_empty() {
                            "nothing".into()
                        } else {
                            keys.join(", ")
                        }
                    ));
                }
            }
        }
    };
    let url = entry
        .get("endpoint_url")
        .and_then(Value::as_str)
        .filter(|u| !u.is_empty())
        .ok_or_else(|| format!("api_connector_instances.{instance} has no endpoint_url"))?;
    let role_arn = output_value(outputs, "caller_role_arn")
        .and_then(Value::as_str)
        .filter(|r| !r.is_empty())
        .map(str::to_string);
    Ok(FromTerraform {
        url: url.to_string(),
        role_arn,
        instance,
    })
}

/// `terraform output -json` gives `{name: {"value": …, "type": …, "sensitive": …}}`.
fn output_value<'a>(outputs: &'a Value, name: &str) -> Option<&'a Value> {
    outputs.get(name)?.get("value")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn outputs(instances: Value) -> Value {
        json!({
            "api_connector_instances": {"sensitive": false, "type": ["map"], "value": instances},
            "caller_role_arn": {"sensitive": false, "type": "string", "value": "arn:aws:iam::123456789012:role/PsoxyCaller"}
        })
    }

    #[test]
    fn the_connectors_instance_gives_the_url_and_the_role() {
        let o = outputs(json!({
            "jira-cloud": {"endpoint_url": "https://a.lambda-url.us-east-1.on.aws", "test_examples": []},
            "gdirectory": {"endpoint_url": "https://b.lambda-url.us-east-1.on.aws"}
        }));
        let found = find(&o, "jira-cloud").unwrap();
        assert_eq!(found.url, "https://a.lambda-url.us-east-1.on.aws");
        assert_eq!(
            found.role_arn.as_deref(),
            Some("arn:aws:iam::123456789012:role/PsoxyCaller")
        );
    }

    #[test]
    fn one_key_containing_the_id_is_taken_and_anything_else_is_named() {
        let o = outputs(json!({"psoxy-jira-cloud": {"endpoint_url": "https://x.run.app"}}));
        assert_eq!(find(&o, "jira-cloud").unwrap().instance, "psoxy-jira-cloud");
        let o = outputs(json!({"jira": {"endpoint_url": "https://x.run.app"}}));
        let why = find(&o, "jira-cloud").unwrap_err();
        assert!(why.contains("it has: jira"), "{why}");
        assert!(find(&json!({}), "jira-cloud").is_err());
        assert!(find(&outputs(json!(["not", "a", "map"])), "jira-cloud").is_err());
        assert!(
            find(
                &outputs(json!({"jira-cloud": {"endpoint_url": 7}})),
                "jira-cloud"
            )
            .is_err()
        );
    }
}
