//! What an operator finds in `--help`, completions and the man page.

use std::process::Command;

use crate::support::deadline::OutputWithin as _;

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_jira-psoxy-setup"))
        .args(args)
        .env_clear()
        .output_within_limit();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn help_documents_exit_codes_and_how_secrets_are_passed() {
    let (code, top, _) = run(&["--help"]);
    assert_eq!(code, 0);
    assert!(
        top.contains("130") && top.contains("recovery file") && top.contains("2 usage error"),
        "{top}"
    );
    let (_, init, _) = run(&["init", "--help"]);
    for flag in [
        "--store",
        "--file",
        "--prefix",
        "--client-id",
        "--client-secret-stdin",
        "--redirect-uri",
        "--scopes",
        "--site",
        "--no-browser",
        "--tfvars",
        "--non-interactive",
        "--demo",
        "--atlassian-auth-url",
        "--atlassian-api-url",
    ] {
        assert!(init.contains(flag), "init --help lists {flag}");
    }
    for env in [
        "JIRA_CLIENT_ID",
        "JIRA_CLIENT_SECRET",
        "ATLASSIAN_AUTH_URL",
        "ATLASSIAN_API_URL",
    ] {
        assert!(init.contains(env), "init --help names {env}");
    }
    assert!(init.contains("never from a flag value"), "{init}");
    assert!(init.contains("Examples:"));
    let (_, status, _) = run(&["status", "--help"]);
    assert!(status.contains("never uses the refresh token"), "{status}");
    for command in ["renew", "status", "push"] {
        let (_, help, _) = run(&[command, "--help"]);
        assert!(
            help.contains(&format!("Examples:\n  jira-psoxy-setup {command} ")),
            "{command} --help has examples: {help}"
        );
    }
}

/// What a flag's `--help` entry says, without its name, `[env: ...]` and `[default: ...]`.
fn description(help: &str, flag: &str) -> String {
    let start = help
        .find(&format!("      {flag} "))
        .or_else(|| help.find(&format!("      {flag}\n")))
        .unwrap_or_else(|| panic!("{flag} is listed: {help}"));
    let entry = &help[start..];
    let first_line = entry.lines().next().unwrap_or_default();
    let rest: String = entry
        .lines()
        .skip(1)
        .take_while(|l| !l.trim_start().starts_with('-') && !l.trim().is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let text = format!(
        "{} {rest}",
        first_line.split_once("  ").map(|x| x.1).unwrap_or("")
    );
    text.split('[')
        .next()
        .unwrap_or_default()
        .trim()
        .to_string()
}

#[test]
fn every_flag_says_what_it_is_for_and_env_values_stay_hidden() {
    let out = Command::new(env!("CARGO_BIN_EXE_jira-psoxy-setup"))
        .args(["init", "--help"])
        .env_clear()
        .env("AWS_REGION", "eu-sentinel-9")
        .output_within_limit();
    let init = String::from_utf8_lossy(&out.stdout).into_owned();
    for flag in [
        "--aws-region",
        "--aws-profile",
        "--gcp-project",
        "--atlassian-auth-url",
        "--atlassian-api-url",
        "--warn-days",
        "--json",
    ] {
        let text = description(&init, flag);
        assert!(
            text.split_whitespace().count() >= 3,
            "{flag} has a description: {text:?}"
        );
    }
    assert!(
        !init.contains("eu-sentinel-9") && !init.contains("=]"),
        "{init}"
    );
    assert!(init.contains("[env: AWS_REGION]"), "{init}");
    let (_, renew, _) = run(&["renew", "--help"]);
    assert!(
        description(&renew, "--warn-days").contains("reminder"),
        "{renew}"
    );
    assert!(
        description(&renew, "--demo").contains("simulator"),
        "{renew}"
    );
}

#[test]
fn status_help_offers_only_what_a_reader_needs() {
    let (_, status, _) = run(&["status", "--help"]);
    for write_only in ["--create-missing", "--destroy-old-versions", "--kms-key-id"] {
        assert!(
            !status.contains(write_only),
            "status --help hides {write_only}: {status}"
        );
    }
    let store = description(&status, "--store");
    assert!(
        store.contains("read from") && !store.contains("go"),
        "{store}"
    );
    assert!(description(&status, "--json").contains("JSON"));
}

#[test]
fn one_json_switch_everywhere() {
    for command in ["init", "renew", "status"] {
        let (_, help, _) = run(&[command, "--help"]);
        assert!(help.contains("--json"), "{command} has --json");
    }
    let (code, _, err) = run(&["status", "--output", "json"]);
    assert_eq!(code, 2, "--output was never released: {err}");
}

#[test]
fn a_client_secret_flag_does_not_exist() {
    let (code, _, err) = run(&["init", "--client-secret", "x"]);
    assert_eq!(code, 2);
    assert!(err.contains("--client-secret"), "{err}");
}

#[test]
fn a_malformed_gcp_replication_is_a_usage_error_naming_the_forms() {
    for bad in ["user-managed:", "regional", "user-managed:us/../x"] {
        let (code, _, err) = run(&["init", "--gcp-replication", bad]);
        assert_eq!(code, 2, "{bad}: {err}");
        assert!(err.contains("user-managed:LOCATION"), "{err}");
    }
}

#[test]
fn completions_and_man_page() {
    let (code, bash, _) = run(&["completions", "bash"]);
    assert_eq!(code, 0);
    assert!(bash.contains("jira-psoxy-setup") && bash.contains("--client-secret-stdin"));
    let (code, man, _) = run(&["man"]);
    assert_eq!(code, 0);
    assert!(man.contains(".TH") && man.contains("jira-psoxy-setup"));
}

#[test]
fn version_is_printed() {
    let (code, out, _) = run(&["--version"]);
    assert_eq!(code, 0);
    assert_eq!(
        out.trim(),
        format!("jira-psoxy-setup {}", env!("CARGO_PKG_VERSION"))
    );
}
