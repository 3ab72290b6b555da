//! A terminal run asks for what is missing instead of quitting for a flag, and a person's
//! "no" or wrong paste is answered, not punished with an error.

use crate::support;

use support::gcp_fake::GcpFake;
use support::moto::Moto;
use support::terminal::*;
use support::*;

/// Down `n` times in a select list, then Enter.
fn choose(t: &mut Terminal<'_>, question: &str, n: usize) {
    t.expect(question);
    for _ in 0..n {
        t.send("\x1b[B");
    }
    t.send("\r");
}

/// The operator picks AWS SSM in the store list (or types `--store aws-ssm`) without having set
/// a region: the run asks for it, offering the AWS profile's region, and goes on to SSM in that
/// region as --aws-region would.
#[tokio::test(flavor = "multi_thread")]
async fn choosing_aws_asks_for_the_region_with_the_profiles_region_offered() {
    for typed in [false, true] {
        let s = Session::new(loopback_config()).await;
        let moto = Moto::start();
        let config = s.path("aws-config");
        std::fs::write(&config, "[default]\nregion = us-east-1\n").unwrap();
        let mut env: Vec<(&str, String)> = moto
            .env()
            .into_iter()
            .filter(|(k, _)| *k != "AWS_REGION")
            .collect();
        env.push(("AWS_CONFIG_FILE", config.display().to_string()));
        let mut args = interactive_init(&s);
        if typed {
            args.extend(["--store".to_string(), "aws-ssm".to_string()]);
        }
        let mut t = Terminal::start(&s, &args, &borrowed(&env));
        t.answer_connector();
        if !typed {
            choose(&mut t, "Where should the secrets go?", 1);
        }
        t.expect("AWS region");
        t.expect("us-east-1");
        t.send("\r");
        // Discovery in SSM found nothing: the default deployment's prefix is proposed.
        t.expect("Secret-name prefix");
        let seen = t.interrupt_before_anything_is_written();
        assert!(!seen.contains("no AWS region"), "typed {typed}: {seen}");
        assert!(!s.secrets_file().exists());
    }
}

/// The same for GCP: the project gcloud's configuration names is offered, and the run reads
/// Secret Manager in it.
#[tokio::test(flavor = "multi_thread")]
async fn choosing_gcp_asks_for_the_project_with_gclouds_project_offered() {
    let s = Session::new(loopback_config()).await;
    let fake = GcpFake::start("acme-psoxy").await;
    let gcloud = s.path("gcloud");
    std::fs::create_dir_all(gcloud.join("configurations")).unwrap();
    std::fs::write(
        gcloud.join("configurations/config_default"),
        "[core]\nproject = acme-psoxy\n",
    )
    .unwrap();
    let gcloud = gcloud.display().to_string();
    let endpoint = fake.endpoint();
    let env = [
        ("CLOUDSDK_CONFIG", gcloud.as_str()),
        ("JIRA_PSOXY_GCP_ENDPOINT", endpoint.as_str()),
    ];
    let mut t = Terminal::start(&s, &interactive_init(&s), &env);
    t.answer_connector();
    choose(&mut t, "Where should the secrets go?", 3);
    t.expect("Google Cloud project");
    t.expect("acme-psoxy");
    t.send("\r");
    t.expect("Secret-name prefix");
    let seen = t.interrupt_before_anything_is_written();
    assert!(!seen.contains("pass --gcp-project"), "{seen}");
    assert!(
        fake.requests()
            .iter()
            .any(|r| r.path.contains("acme-psoxy")),
        "Secret Manager was asked in the project: {:?}",
        fake.requests()
    );
}

/// With no project configured anywhere, the run lists the projects the credentials can see
/// (here the Secret Manager fake answers Resource Manager's search for its one project), and the
/// operator picks one.
#[tokio::test(flavor = "multi_thread")]
async fn without_a_configured_project_the_visible_projects_are_offered() {
    let s = Session::new(loopback_config()).await;
    let fake = GcpFake::start("acme-psoxy").await;
    let gcloud = s.path("gcloud-empty");
    std::fs::create_dir_all(&gcloud).unwrap();
    let gcloud = gcloud.display().to_string();
    let endpoint = fake.endpoint();
    let args = with(interactive_init(&s), &["--store", "gcp-secret-manager"]);
    let env = [
        ("CLOUDSDK_CONFIG", gcloud.as_str()),
        ("JIRA_PSOXY_GCP_ENDPOINT", endpoint.as_str()),
    ];
    let mut t = Terminal::start(&s, &args, &env);
    t.answer_connector();
    t.expect("Which Google Cloud project holds the secrets?");
    t.expect("acme-psoxy");
    t.expect("another project");
    t.send("\r");
    t.expect("Secret-name prefix");
    t.interrupt_before_anything_is_written();
    let requests = fake.requests();
    assert!(
        requests.iter().any(|r| r.path == "/v3/projects:search")
            && requests
                .iter()
                .any(|r| r.path.contains("projects/acme-psoxy/secrets")),
        "{requests:?}"
    );
}

/// The operator pastes the URL an older run's browser tab landed on: the run says it is from
/// another run and asks again, and the right URL then finishes the run.
#[tokio::test(flavor = "multi_thread")]
async fn a_pasted_url_from_another_run_is_said_and_asked_again() {
    let s = Session::new(loopback_config()).await;
    let args = with(interactive_init(&s), &["--paste", "--client-id", CLIENT_ID]);
    let mut t = Terminal::start(&s, &args, &[("JIRA_CLIENT_SECRET", CLIENT_SECRET)]);
    t.accept_target();
    t.answer_checklist(4);
    let url = authorize_url(&t.expect_regex(r"http://127\.0\.0\.1:[0-9]+/authorize\?[^\s\x1b]+"));
    t.expect("Paste the URL");
    let redirect = s.sim.decide(&url, true).unwrap();
    let mut other_run = redirect.clone();
    let query: Vec<(String, String)> = redirect
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "state" {
                "0123456789abcdef".into()
            } else {
                v
            };
            (k.into_owned(), v.into_owned())
        })
        .collect();
    other_run.query_pairs_mut().clear().extend_pairs(query);
    // Typed before the hidden prompt turned echo off, a line could be flushed away.
    t.wait_for_echo_off();
    t.send(&format!("{other_run}\r"));
    t.expect("from another run");
    t.expect("Paste the URL");
    t.wait_for_echo_off();
    t.send(&format!("{redirect}\r"));
    let (code, seen) = t.finish();
    assert_eq!(code, 0, "exit {code}: {seen}");
    assert!(seen.contains("state checked"), "{seen}");
}

/// A newcomer types `renew` (or `renew --demo`) before any `init`: the run says there is nothing
/// to renew and why, and points at `init`, before asking anything.
#[tokio::test(flavor = "multi_thread")]
async fn renew_before_any_init_points_at_init_before_any_question() {
    for (args, init) in [
        (vec!["renew"], "run `jira-psoxy-setup init` first"),
        (
            vec!["renew", "--demo"],
            "run `jira-psoxy-setup init --demo` first",
        ),
    ] {
        let s = Session::new(loopback_config()).await;
        let t = Terminal::start(&s, &args, &[]);
        let (code, seen) = t.finish();
        assert_eq!(code, 3, "{args:?}: exit {code}: {seen}");
        // The line is wrapped to the terminal: read it as words.
        let seen = seen.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            seen.contains("nothing to renew here") && seen.contains(init),
            "{args:?}: {seen}"
        );
        assert!(
            seen.contains("no earlier init is remembered") && seen.contains("holds no client id"),
            "{args:?}: {seen}"
        );
        assert!(!seen.contains("Which Psoxy connector?"), "{seen}");
        assert!(!seen.contains("unknown client_id"), "{seen}");
    }
}

/// An operator starts init in a terminal with `--file` in a directory they cannot write: the run
/// says so first, naming the directory, why, and the flag that chooses another, before asking
/// anything.
#[tokio::test(flavor = "multi_thread")]
async fn an_unwritable_directory_is_named_before_any_question() {
    use std::os::unix::fs::PermissionsExt;
    let s = Session::new(loopback_config()).await;
    let dir = s.path("read-only");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o555)).unwrap();
    let file = dir.join("secrets.json");
    // Root ignores permission bits; without CAP_DAC_OVERRIDE it is held to them like anybody.
    let setpriv = ["/usr/bin/setpriv", "/bin/setpriv"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("setpriv (util-linux) is needed to drop root's override of permissions");
    let mut cmd = std::process::Command::new(setpriv);
    cmd.args([
        "--bounding-set=-dac_override,-dac_read_search",
        "--",
        env!("CARGO_BIN_EXE_jira-psoxy-setup"),
    ]);
    let args = ["init", "--file", file.to_str().unwrap()];
    let t = Terminal::spawn(&s, cmd, &args, &[]);
    let (code, seen) = t.finish();
    assert_eq!(code, 6, "exit {code}: {seen}");
    let flat = seen.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat.contains(&format!("cannot write in the directory {}", dir.display()))
            && flat.contains("permission denied")
            && flat.contains("secrets.json cannot be created")
            && flat.contains("--file"),
        "{seen}"
    );
    assert!(!seen.contains(".jira-psoxy-setup"), "{seen}");
    assert!(!seen.contains("Which Psoxy connector?"), "{seen}");
    assert!(!file.exists());
}

/// A desktop session whose browser fails to start (here `$BROWSER` is `false`, which exits 1 at
/// once, as Chromium does when refused to run as root): the run says so and offers the paste
/// path while the listener keeps waiting; either the pasted URL or a browser opened by hand ends
/// the wait.
#[tokio::test(flavor = "multi_thread")]
async fn a_browser_that_fails_to_start_is_said_and_paste_is_offered_while_the_listener_waits() {
    for paste in [true, false] {
        let s = Session::new(loopback_config()).await;
        let args = with(interactive_init(&s), &["--client-id", CLIENT_ID]);
        let env = [
            ("BROWSER", "false"),
            ("DISPLAY", ":99"),
            ("JIRA_CLIENT_SECRET", CLIENT_SECRET),
        ];
        let mut t = Terminal::start(&s, &args, &env);
        t.accept_target();
        t.expect("Open the developer console");
        t.send("n");
        t.answer_checklist(4);
        let url =
            authorize_url(&t.expect_regex(r"http://127\.0\.0\.1:[0-9]+/authorize\?[^\s\x1b]+"));
        t.expect("could not open a browser");
        t.expect("`false` exited");
        t.expect("until");
        t.expect("Paste the URL");
        let redirect = s.sim.decide(&url, true).unwrap();
        if paste {
            t.wait_for_echo_off();
            t.send(&format!("{redirect}\r"));
        } else {
            http()
                .get(redirect.as_str())
                .send()
                .await
                .expect("the loopback listener still answers")
                .text()
                .await
                .unwrap();
        }
        let (code, seen) = t.finish();
        assert_eq!(code, 0, "paste {paste}: exit {code}: {seen}");
        assert!(seen.contains("state checked"), "paste {paste}: {seen}");
    }
}

/// In a dumb terminal (`TERM=dumb`) the questions are plain lines: a numbered list for a choice,
/// the default in brackets, no cursor movement and no symbols.
#[tokio::test(flavor = "multi_thread")]
async fn a_dumb_terminal_gets_plain_line_prompts() {
    let s = Session::new(loopback_config()).await;
    let file = s.secrets_file();
    let args = ["init", "--demo", "--file", file.to_str().unwrap()];
    let mut t = Terminal::start(&s, &args, &[("TERM", "dumb")]);
    t.expect("Which Psoxy connector?");
    t.expect("1) Jira Cloud");
    t.expect("Choose 1-2 [1]: ");
    t.send("1\r");
    t.expect("Secret-name prefix [PSOXY_JIRA_CLOUD_]: ");
    t.send("\r");
    for step in 1..=4 {
        t.expect(&format!("Step {step} done?"));
        t.expect("Choose 1-3 [1]: ");
        t.send("\r");
    }
    t.expect("Demo: the consent page");
    t.expect("Choose 1-3 [1]: ");
    t.send("\r");
    let (code, seen) = t.finish();
    assert_eq!(code, 0, "exit {code}: {seen}");
    assert!(seen.contains("Demo finished"), "{seen}");
    for fancy in ["\x1b[", "✔", "›", "·"] {
        assert!(!seen.contains(fancy), "{fancy:?} in: {seen:?}");
    }
}
