//! Where `check` finds the proxy with nothing typed: `terraform output -json` beside --tfvars
//! (a fake `terraform` on PATH prints the outputs), in whatever shape it comes, and then the
//! remembered target.

use crate::support;

use serde_json::{Value, json};
use support::proxy_standin::*;

/// A machine whose PATH has a `terraform` that prints `outputs` for `output -json`.
fn with_terraform(outputs: &Value) -> Machine {
    let m = Machine::new();
    let json = m.path("outputs.json");
    std::fs::write(&json, outputs.to_string()).unwrap();
    let script = m.path("bin/terraform");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n[ \"$1 $2\" = \"output -json\" ] || exit 64\npwd > '{}'\n/bin/cat '{}'\n",
            m.path("ran-in").display(),
            json.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    m
}

fn outputs(instances: Value) -> Value {
    json!({
        "api_connector_instances": {"sensitive": false, "type": ["object", {}], "value": instances},
        "caller_role_arn": {"sensitive": false, "type": "string", "value": ROLE_ARN}
    })
}

/// `check --tfvars deploy/terraform.tfvars`, with the tfvars in its own directory.
fn check_beside_tfvars(m: &Machine, extra: &[&str]) -> Ran {
    let deploy = m.path("deploy");
    std::fs::create_dir_all(&deploy).unwrap();
    std::fs::write(
        deploy.join("terraform.tfvars"),
        "environment_name = \"psoxy\"\n",
    )
    .unwrap();
    let mut args = vec![
        "check",
        "--tfvars",
        "deploy/terraform.tfvars",
        "--proxy-auth",
        "none",
        "--json",
    ];
    args.extend_from_slice(extra);
    m.run(&args)
}

#[test]
fn the_url_and_role_come_from_terraform_output_in_the_tfvars_directory_and_are_remembered() {
    let standin = StandIn::start(scenario("none", json_health(200, passing_health())));
    let m = with_terraform(&outputs(json!({
        "gdirectory": {"endpoint_url": "https://other.lambda-url.us-east-1.on.aws"},
        "jira-cloud": {"endpoint_url": standin.url, "sanitized_bucket": "b", "test_examples": []}
    })));
    let out = check_beside_tfvars(&m, &[]);
    assert_eq!(out.code, 0, "{}", out.all());
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    assert!(
        report["url_from"]
            .as_str()
            .unwrap()
            .contains("api_connector_instances.jira-cloud"),
        "{report}"
    );
    let ran_in = std::fs::read_to_string(m.path("ran-in")).unwrap();
    assert!(
        ran_in.trim().ends_with("/deploy"),
        "terraform ran beside the tfvars: {ran_in}"
    );
    let kept =
        std::fs::read_to_string(m.path("home/.config/jira-psoxy-setup/proxy-jira-cloud.json"))
            .unwrap();
    assert!(
        kept.contains(&standin.url) && kept.contains(ROLE_ARN),
        "{kept}"
    );

    // Next time: no Terraform needed.
    std::fs::remove_file(m.path("bin/terraform")).unwrap();
    let out = m.run(&["check", "--json"]);
    assert_eq!(out.code, 0, "{}", out.all());
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    assert!(
        report["url_from"]
            .as_str()
            .unwrap()
            .starts_with("remembered"),
        "{report}"
    );
}

#[test]
fn an_instance_keyed_differently_is_found_when_it_is_the_only_one_for_the_connector() {
    let standin = StandIn::start(scenario("none", json_health(200, passing_health())));
    let m = with_terraform(&outputs(
        json!({"psoxy-jira-cloud": {"endpoint_url": standin.url}}),
    ));
    let out = check_beside_tfvars(&m, &[]);
    assert_eq!(out.code, 0, "{}", out.all());

    let m = with_terraform(&outputs(json!({"jira": {"endpoint_url": standin.url}})));
    let out = check_beside_tfvars(&m, &[]);
    let error = out.the_error(3);
    assert!(
        error.contains("it has: jira") && error.contains("--proxy-url"),
        "{}",
        error
    );
}

#[test]
fn absent_outputs_and_no_terraform_say_to_pass_the_url() {
    let m = with_terraform(&json!({}));
    let out = check_beside_tfvars(&m, &[]);
    assert_eq!(out.code, 3, "{}", out.all());
    assert!(
        out.stderr.contains("no api_connector_instances"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("--proxy-url"), "{}", out.stderr);

    let m = Machine::new();
    let out = check_beside_tfvars(&m, &[]);
    let error = out.the_error(3);
    assert!(error.contains("terraform is not on PATH"), "{}", error);
}
