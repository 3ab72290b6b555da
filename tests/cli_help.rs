//! What an operator finds in `--help`, completions and the man page.

use std::process::Command;

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_jira-psoxy-setup"))
        .args(args)
        .env_clear()
        .output()
        .unwrap();
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
        top.contains("130") && top.contains("recovery file"),
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
