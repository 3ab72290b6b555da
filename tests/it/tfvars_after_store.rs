//! terraform.tfvars after the store write. If it changed after the preflight (replaced by a
//! broken file, a FIFO, made read-only, deleted), the secrets are stored by then: the run says so,
//! prints its summary, remembers its target, and ends with its own exit code (16) and the exact
//! line to add by hand, not with the preflight's 7. Two runs updating one file at once keep both
//! keys (an OS lock across the read-modify-write).

use crate::support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use jira_psoxy_setup::sim::SimSite;
use support::*;

type Change = fn(&Path);

#[tokio::test]
async fn a_tfvars_broken_after_the_store_write_is_reported_with_the_stored_secrets() {
    let changes: [(&str, Change); 4] = [
        ("unclosed", |p| {
            std::fs::write(p, "connector_settings = {\n").unwrap()
        }),
        ("fifo", |p| {
            std::fs::remove_file(p).unwrap();
            let made = std::process::Command::new("mkfifo")
                .arg(p)
                .status()
                .unwrap();
            assert!(made.success());
        }),
        ("read-only", |p| {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o444)).unwrap()
        }),
        ("deleted", |p| std::fs::remove_file(p).unwrap()),
    ];
    for (what, change) in changes {
        let s = Session::new(loopback_config()).await;
        let tfvars = s.path("terraform.tfvars");
        std::fs::write(&tfvars, "environment_name = \"acme\"\n").unwrap();
        let args = with(s.init_args(), &["--tfvars", tfvars.to_str().unwrap()]);
        let mut changed = false;
        let out = s
            .consenting(
                &args,
                &[("JIRA_CLIENT_SECRET", CLIENT_SECRET)],
                |line, _| {
                    // The preflight passed; the file changes while the operator consents.
                    if !changed && line.contains("/authorize?") {
                        changed = true;
                        change(&tfvars);
                    }
                },
            )
            .await;
        assert!(changed, "{what}");
        assert_eq!(out.code, 16, "{what}: {}", out.all());
        let id = SimSite::numbered(1).id;
        let error = out
            .stderr
            .lines()
            .find(|l| l.starts_with("error:"))
            .unwrap_or_else(|| panic!("{what}: {}", out.stderr));
        assert!(
            error.contains("the secrets are stored")
                && error.contains(&format!(
                    "add jira_cloud_id = \"{id}\" to connector_settings"
                )),
            "{what}: {error}"
        );
        assert!(
            out.stdout.contains("is connected for Psoxy") && out.stdout.contains("NOT updated"),
            "{what}: {}",
            out.stdout
        );
        assert!(
            s.secrets()["PSOXY_JIRA_CLOUD_REFRESH_TOKEN"].is_string(),
            "{what}"
        );
        assert!(
            s.path("home/.config/jira-psoxy-setup/last-run.json")
                .exists(),
            "{what}: the target is remembered"
        );
    }
}

/// Jira's and Confluence's init on one (large) terraform.tfvars at the same moment: each reads,
/// changes and replaces the file under its OS lock, so neither key is lost.
#[tokio::test]
async fn jira_and_confluence_at_once_on_one_tfvars_keep_both_keys() {
    let jira = Session::new(loopback_config()).await;
    let confluence = Session::new(confluence_app()).await;
    let tfvars = jira.path("terraform.tfvars");
    let padding = "# padding\n".repeat(200_000);
    for round in 0..3 {
        std::fs::write(&tfvars, format!("environment_name = \"acme\"\n{padding}")).unwrap();
        let path = tfvars.to_str().unwrap();
        let jira_args = with(jira.init_args(), &["--tfvars", path]);
        let confluence_args = with(
            confluence.init_args(),
            &["--tfvars", path, "--connector", "confluence-cloud"],
        );
        let (a, b) = tokio::join!(
            jira.run(&jira_args, Browser::Follow { accept: true }),
            confluence.run(&confluence_args, Browser::Follow { accept: true }),
        );
        assert_eq!(a.code, 0, "round {round}: {}", a.stderr);
        assert_eq!(b.code, 0, "round {round}: {}", b.stderr);
        let text = std::fs::read_to_string(&tfvars).unwrap();
        for key in ["jira_cloud_id", "confluence_example_cloud_id"] {
            assert!(text.contains(key), "round {round}: {key} was lost");
        }
    }
}
