//! Confluence Cloud (`--connector confluence-cloud`) through the real binary on the file store:
//! init with the default scopes against an app with exactly Psoxy's Confluence permissions,
//! status, renew (also from the remembered target), discovery beside a Jira deployment, the demo
//! (tfvars shapes: confluence_tfvars.rs; cloud stores: confluence_stores.rs).

use crate::support;

use crate::support::hcl;

use hcl::{parse_independently, terraform_reads_key};
use jira_psoxy_setup::connector::CONFLUENCE_CLOUD;
use jira_psoxy_setup::sim::{CONFLUENCE_SCOPES, DEFAULT_SCOPES, SimConfig, SimSite};
use serde_json::Value;
use support::terminal::Terminal;
use support::*;

const KEY: &str = "confluence_example_cloud_id";
const PREFIX: &str = "PSOXY_CONFLUENCE_CLOUD_";

fn confluence(args: Vec<String>) -> Vec<String> {
    with(args, &["--connector", "confluence-cloud"])
}

#[tokio::test]
async fn init_connects_confluence_with_the_default_scopes_of_an_app_with_exactly_its_permissions() {
    let s = Session::new(confluence_app()).await;
    let tfvars = s.path("terraform.tfvars");
    std::fs::write(&tfvars, "environment_name = \"acme\"\n").unwrap();
    let args = with(
        confluence(s.init_args()),
        &["--tfvars", tfvars.to_str().unwrap()],
    );
    let out = s.run(&args, Browser::Follow { accept: true }).await;
    assert_eq!(out.code, 0, "{}", out.stderr);

    let requested: Vec<String> = out.authorize_urls[0]
        .query_pairs()
        .find(|(k, _)| k == "scope")
        .map(|(_, v)| v.split(' ').map(String::from).collect())
        .unwrap();
    assert_eq!(requested, CONFLUENCE_CLOUD.default_scopes());
    assert_eq!(requested, CONFLUENCE_SCOPES.map(String::from).to_vec());
    // read:task:confluence is granted but not listed: not reported as missing.
    assert!(
        out.stderr.contains("every requested scope was granted"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("9 permissions under Confluence API"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("authorized as Demo Admin <admin@acme.example>"),
        "{}",
        out.stderr
    );
    let calls = s.sim.requests();
    assert!(
        calls
            .iter()
            .any(|c| c.ends_with("/wiki/rest/api/user/current")),
        "{calls:?}"
    );
    assert!(!calls.iter().any(|c| c.contains("/ex/jira/")), "{calls:?}");

    let secrets = s.secrets();
    assert_eq!(secrets[format!("{PREFIX}CLIENT_ID")], CLIENT_ID);
    assert_eq!(secrets[format!("{PREFIX}CLIENT_SECRET")], CLIENT_SECRET);
    assert!(
        s.sim
            .is_live_refresh_token(secrets[format!("{PREFIX}REFRESH_TOKEN")].as_str().unwrap())
    );
    assert!(
        !secrets
            .as_object()
            .unwrap()
            .keys()
            .any(|k| k.contains("JIRA_CLOUD")),
        "{secrets}"
    );
    let id = SimSite::numbered(1).id;
    let parsed = parse_independently(&std::fs::read_to_string(&tfvars).unwrap());
    assert_eq!(terraform_reads_key(&parsed, KEY), Some(id.clone()));
    assert!(parsed.get("jira_cloud_id").is_none());
    assert!(
        out.stdout
            .contains("Confluence Cloud is connected for Psoxy."),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(&format!("{KEY}: {id}")),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("jira-psoxy-setup renew --connector confluence-cloud"),
        "{}",
        out.stdout
    );
}

#[tokio::test]
async fn status_and_renew_work_on_confluence_and_renew_remembers_the_connector() {
    let s = initialized(confluence_app(), &["--connector", "confluence-cloud"]).await;
    let status = strings(&["status", "--connector", "confluence-cloud", "--file"]);
    let status = with(status, &[s.secrets_file().to_str().unwrap()]);
    let out = s
        .run_with(
            &with(status.clone(), &["--json"]),
            &[],
            &[],
            Browser::Nothing,
        )
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["connector"], "confluence-cloud");
    assert_eq!(report["prefix"], PREFIX);
    assert_eq!(report["health"], "ok");
    let out = s.run_with(&status, &[], &[], Browser::Nothing).await;
    assert!(
        out.stdout
            .contains("Psoxy Confluence Cloud secrets in file"),
        "{}",
        out.stdout
    );

    let refresh = |s: &Session| {
        s.secrets()[format!("{PREFIX}REFRESH_TOKEN")]
            .as_str()
            .unwrap()
            .to_string()
    };
    let first = refresh(&s);
    let ics = s.path("renew.ics");
    let out = s
        .run_with(
            &with(
                confluence(s.renew_args()),
                &["--ics", ics.to_str().unwrap()],
            ),
            &[],
            &[],
            Browser::Follow { accept: true },
        )
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("Renewing the Confluence token family"),
        "{}",
        out.stderr
    );
    let reminder = std::fs::read_to_string(&ics).unwrap().replace("\r\n ", "");
    assert!(
        reminder.contains(
            "SUMMARY:Renew the Psoxy Confluence Cloud token (jira-psoxy-setup renew --connector confluence-cloud)"
        ),
        "{reminder}"
    );
    let second = refresh(&s);
    assert_ne!(first, second);
    assert!(s.sim.is_live_refresh_token(&second));

    // A year later: `renew` with no options at all renews Confluence, from the last run.
    let bare = bare(&s, "renew");
    let out = s
        .run_with(&bare, &[], &[], Browser::Follow { accept: true })
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("using the target of the last run: --connector confluence-cloud"),
        "{}",
        out.stderr
    );
    assert_ne!(refresh(&s), second);
}

/// One store with a Jira and a Confluence deployment (one Atlassian app with both APIs): each
/// command finds both and uses only its connector's.
#[tokio::test]
async fn discovery_finds_both_deployments_and_writes_only_the_chosen_one() {
    let both: Vec<String> = DEFAULT_SCOPES
        .iter()
        .chain(CONFLUENCE_SCOPES.iter().skip(1))
        .map(|s| s.to_string())
        .collect();
    let config = SimConfig {
        app_scopes: both,
        ..confluence_app()
    };
    let s = initialized(config, &["--prefix", "ACME_JIRA_CLOUD_"]).await;
    let out = s
        .run(
            &with(
                confluence(s.init_args()),
                &["--prefix", "ACME_CONFLUENCE_CLOUD_"],
            ),
            Browser::Follow { accept: true },
        )
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let before = s.secrets();

    let out = s.consents(&confluence(s.renew_args()), &[]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("found an existing deployment with prefix ACME_CONFLUENCE_CLOUD_"),
        "{}",
        out.stderr
    );
    let after = s.secrets();
    for suffix in [
        "CLIENT_ID",
        "CLIENT_SECRET",
        "REFRESH_TOKEN",
        "ACCESS_TOKEN",
    ] {
        let jira = format!("ACME_JIRA_CLOUD_{suffix}");
        assert_eq!(after[&jira], before[&jira], "{jira} untouched");
    }
    let key = "ACME_CONFLUENCE_CLOUD_REFRESH_TOKEN";
    assert_ne!(after[key], before[key]);
    assert!(s.sim.is_live_refresh_token(after[key].as_str().unwrap()));

    let status = with(
        strings(&["status", "--json", "--file"]),
        &[s.secrets_file().to_str().unwrap()],
    );
    let out = s.run_with(&status, &[], &[], Browser::Nothing).await;
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["connector"], "jira-cloud", "the default");
    assert_eq!(report["prefix"], "ACME_JIRA_CLOUD_");

    // Each connector's last run is remembered: `--connector jira-cloud` alone renews Jira's.
    let jira = "ACME_JIRA_CLOUD_REFRESH_TOKEN";
    let renew = with(bare(&s, "renew"), &["--connector", "jira-cloud"]);
    let out = s
        .run_with(&renew, &[], &[], Browser::Follow { accept: true })
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("--prefix ACME_JIRA_CLOUD_"),
        "{}",
        out.stderr
    );
    assert_ne!(s.secrets()[jira], after[jira]);
    assert_eq!(s.secrets()[key], after[key], "Confluence's untouched");
}

/// `command` with no store option: what an operator types a year later.
fn bare(s: &Session, command: &str) -> Vec<String> {
    let base = s.sim.base_url().to_string();
    strings(&[
        command,
        "--non-interactive",
        "--no-browser",
        "--atlassian-auth-url",
        &base,
        "--atlassian-api-url",
        &base,
        "--callback-timeout",
        "20",
    ])
}

/// In a terminal without `--connector`, step 1 asks; the second choice is Confluence.
#[tokio::test(flavor = "multi_thread")]
async fn a_person_picks_confluence_in_step_1_of_the_demo() {
    let s = Session::new(loopback_config()).await;
    let file = s.secrets_file();
    let mut t = Terminal::start(
        &s,
        &["init", "--demo", "--file", file.to_str().unwrap()],
        &[],
    );
    t.expect("Which Psoxy connector?");
    t.send("\x1b[B");
    t.send("\r");
    t.expect("demo mode");
    t.expect(PREFIX);
    t.send("\r");
    t.answer_checklist(4);
    t.expect("Demo: the consent page");
    t.send("\r");
    let (code, seen) = t.finish();
    assert_eq!(code, 0, "exit {code}: {seen}");
    assert!(seen.contains("Demo finished (Confluence Cloud)"), "{seen}");
    assert!(s.secrets()[format!("{PREFIX}REFRESH_TOKEN")].is_string());
}

#[tokio::test]
async fn the_demo_runs_for_confluence() {
    let s = Session::new(loopback_config()).await;
    let file = s.secrets_file();
    let args = strings(&[
        "init",
        "--demo",
        "--non-interactive",
        "--connector",
        "confluence-cloud",
        "--file",
        file.to_str().unwrap(),
    ]);
    let out = s.run_with(&args, &[], &[], Browser::Nothing).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("Demo finished (Confluence Cloud)"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("renew --connector confluence-cloud --demo"),
        "{}",
        out.stdout
    );
    assert_eq!(s.secrets()[format!("{PREFIX}CLIENT_ID")], "demo-client-id");
}

#[test]
fn every_command_that_touches_a_deployment_offers_the_connector() {
    for command in ["init", "renew", "status", "push"] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_jira-psoxy-setup"))
            .args([command, "--help"])
            .env_clear()
            .output_within_limit();
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(
            help.contains("--connector") && help.contains("confluence-cloud"),
            "{command}: {help}"
        );
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_jira-psoxy-setup"))
        .args(["status", "--connector", "jira"])
        .env_clear()
        .output_within_limit();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("jira-cloud"));
}

/// `push` takes the connector from the recovery file; a `--connector` naming another is refused.
#[tokio::test]
async fn push_finishes_a_confluence_run_and_refuses_another_connector() {
    let s = Session::new(loopback_config()).await;
    let from = s.path("recovery.json");
    let recovery = serde_json::json!({
        "version": 1,
        "created_at": "2026-11-30T09:00:00Z",
        "prefix": PREFIX,
        "connector": "confluence-cloud",
        "secrets": {
            format!("{PREFIX}REFRESH_TOKEN"): "recovered-refresh-token",
            format!("{PREFIX}ACCESS_TOKEN"): r#"{"expirationDate":4102444800000,"token":"recovered-access-token"}"#,
        },
    });
    std::fs::write(&from, recovery.to_string()).unwrap();
    let file = s.secrets_file();
    let push = strings(&["push", "--from", from.to_str().unwrap(), "--store", "file"]);
    let push = with(push, &["--file", file.to_str().unwrap()]);

    let out = s
        .run_with(
            &with(push.clone(), &["--connector", "jira-cloud"]),
            &[],
            &[],
            Browser::Nothing,
        )
        .await;
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("holds Confluence Cloud secrets, not Jira Cloud"),
        "{}",
        out.stderr
    );
    assert!(from.exists() && !file.exists());

    let out = s.run_with(&push, &[], &[], Browser::Nothing).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        s.secrets()[format!("{PREFIX}REFRESH_TOKEN")],
        "recovered-refresh-token"
    );
    assert!(!from.exists());
}
