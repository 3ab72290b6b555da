//! The demo as a rehearsal: it honours the options a real run would (paste-back, a callback URL
//! that is not on this machine), refuses the ones it cannot honour (a cloud store) before
//! anything connects, and looks like the connector chosen (its own file, a plausible site).

use crate::support;

use std::process::Command;

use support::deadline::OutputWithin as _;
use support::terminal::*;
use support::*;

/// The demo in a terminal, answered up to the consent prompt (no display here: decided in the
/// terminal, "Approve" first).
fn demo_up_to_consent<'s>(s: &'s Session, extra: &[&str]) -> Terminal<'s> {
    let file = s.secrets_file();
    let mut args = vec!["init", "--demo", "--file", file.to_str().unwrap()];
    args.extend_from_slice(extra);
    let mut t = Terminal::start(s, &args, &[]);
    t.answer_connector();
    t.expect("demo mode");
    t.expect("Secret-name prefix");
    t.send("\r");
    t.answer_checklist(4);
    t.expect("Demo: the consent page");
    t.send("\r");
    t
}

/// Rehearsing the paste-back path: with `--paste`, or with a callback URL that is not on this
/// machine, the demo shows where the browser lands and the person pastes it, as in a real run.
#[tokio::test(flavor = "multi_thread")]
async fn the_demo_rehearses_paste_back_with_paste_or_a_remote_callback_url() {
    for (extra, landed) in [
        (
            vec!["--paste"],
            r"http://127\.0\.0\.1:[0-9]+/callback\?[^\s\x1b]+",
        ),
        (
            vec!["--redirect-uri", "https://psoxy.example/callback"],
            r"https://psoxy\.example/callback\?[^\s\x1b]+",
        ),
    ] {
        let s = Session::new(loopback_config()).await;
        let mut t = demo_up_to_consent(&s, &extra);
        t.expect("a browser would land on this URL");
        let url = t.expect_regex(landed);
        t.expect("Paste the URL");
        // Typed before the hidden prompt turned echo off, the line could be flushed away.
        t.wait_for_echo_off();
        t.send(&format!("{url}\r"));
        let (code, seen) = t.finish();
        assert_eq!(code, 0, "{extra:?}: exit {code}: {seen}");
        assert!(
            seen.contains("state checked") && seen.contains("Demo finished"),
            "{extra:?}: {seen}"
        );
        assert!(s.secrets()["PSOXY_JIRA_CLOUD_REFRESH_TOKEN"].is_string());
    }
}

/// Cloud store options with `--demo` are refused in one line before anything connects (the
/// AWS endpoint here is a port nobody listens on, and no AWS credentials are set).
#[test]
fn cloud_store_options_with_the_demo_are_refused_before_anything_connects() {
    let dir = tempfile::tempdir().unwrap();
    for store in [
        &["--store", "aws-ssm", "--aws-region", "us-east-1"][..],
        &[
            "--store",
            "gcp-secret-manager",
            "--gcp-project",
            "acme-psoxy",
        ][..],
        &["--aws-region", "eu-west-1"][..],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_jira-psoxy-setup"))
            .args(["init", "--demo", "--non-interactive"])
            .args(store)
            .env_clear()
            .env("HOME", dir.path())
            .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
            .current_dir(dir.path())
            .output_within_limit();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{store:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{store:?}: one line: {stderr}");
        assert!(
            stderr.contains("cannot be used with --demo") && stderr.contains(store[0]),
            "{store:?}: {stderr}"
        );
        assert!(!stderr.contains("demo mode"), "refused first: {stderr}");
    }
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing was written"
    );
}

/// A region in the environment is not an option typed for the demo: it runs as always, and
/// leaves nothing in the directory but its secrets file.
#[test]
fn an_aws_region_in_the_environment_does_not_stop_the_demo() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_jira-psoxy-setup"))
        .args(["init", "--demo", "--non-interactive"])
        .env_clear()
        .env("HOME", dir.path())
        .env("AWS_REGION", "us-east-1")
        .current_dir(dir.path())
        .output_within_limit();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    // Only the secrets file: no lock file (or anything else) is left in the directory.
    let left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name != ".config" && name != ".local")
        .collect();
    assert_eq!(left, ["psoxy-jira-cloud.secrets.json"], "{stderr}");
}

/// Confluence's demo writes to Confluence's own default file, on a Confluence-looking site.
#[test]
fn confluences_demo_has_its_own_file_and_site() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_jira-psoxy-setup"))
        .args([
            "init",
            "--demo",
            "--non-interactive",
            "--connector",
            "confluence-cloud",
        ])
        .env_clear()
        .env("HOME", dir.path())
        .current_dir(dir.path())
        .output_within_limit();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(
        dir.path()
            .join("psoxy-confluence-cloud.secrets.json")
            .exists(),
        "{all}"
    );
    assert!(!dir.path().join("psoxy-jira-cloud.secrets.json").exists());
    assert!(all.contains("https://acme.confluence.example"), "{all}");
    assert!(!all.contains("jira.example"), "{all}");
}
