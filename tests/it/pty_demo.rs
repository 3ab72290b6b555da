//! Interactive stories of the checklist's choices and of the demo as a trial run: the consent
//! page in a browser the tool opens, and what to try after it (`status`, `renew --demo`).

use crate::support;

use std::time::{Duration, Instant};

use support::terminal::*;
use support::*;

/// A person who needs a minute in the console sees the steps again, then quits: nothing is
/// written and the exit says where they stopped (not "bad input").
#[tokio::test(flavor = "multi_thread")]
async fn at_a_checklist_step_a_person_can_see_the_steps_again_or_quit() {
    let s = Session::new(loopback_config()).await;
    let mut t = Terminal::start(&s, &interactive_init(&s), &[]);
    t.accept_target();
    t.expect("Step 1 done?");
    t.send("\x1b[B");
    t.send("\r");
    t.expect("> 1. Create");
    t.expect("Step 1 done?");
    t.send("\r");
    t.expect("Step 2 done?");
    t.send("\x1b[B");
    t.send("\x1b[B");
    t.send("\r");
    let (code, seen) = t.finish();
    assert_eq!(code, 130, "exit {code}: {seen}");
    assert!(
        seen.contains("you quit at console step 2") && seen.contains("nothing was written"),
        "{seen}"
    );
    assert!(!seen.contains("is not done"), "{seen}");
    assert!(!s.secrets_file().exists());
}

/// Where a browser opens, the demo opens its consent page there and asks nothing in the
/// terminal; the person accepts on the page and the run finishes as a simulation.
#[tokio::test(flavor = "multi_thread")]
async fn the_demo_opens_its_consent_page_in_the_browser_and_the_person_accepts_there() {
    let s = Session::new(loopback_config()).await;
    let opened = s.dir.path().join("opened-url.txt");
    let browser = s.dir.path().join("browser.sh");
    std::fs::write(
        &browser,
        format!("#!/bin/sh\necho \"$1\" > '{}'\n", opened.display()),
    )
    .unwrap();
    std::fs::set_permissions(
        &browser,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let file = s.secrets_file();
    let args = ["init", "--demo", "--file", file.to_str().unwrap()];
    let mut t = Terminal::start(&s, &args, &[("BROWSER", browser.to_str().unwrap())]);
    t.answer_connector();
    t.expect("demo mode");
    t.expect("Secret-name prefix");
    t.send("\r");
    t.answer_checklist(4);
    t.expect("for the browser to return");

    let deadline = Instant::now() + Duration::from_secs(30);
    let consent = loop {
        if let Ok(text) = std::fs::read_to_string(&opened)
            && !text.trim().is_empty()
        {
            break url::Url::parse(text.trim()).unwrap();
        }
        assert!(Instant::now() < deadline, "the browser was not opened");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(consent.host_str(), Some("127.0.0.1"), "{consent}");
    let page = http()
        .get(consent.as_str())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Acme (demo)") && page.contains("id=\"accept\""),
        "{page}"
    );
    // The page's form: the authorize query, the site, and the Accept button.
    let mut form: Vec<(String, String)> = consent.query_pairs().into_owned().collect();
    form.push(("decision".into(), "accept".into()));
    let landed = http()
        .post(consent.join("/authorize/decide").unwrap())
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(landed.status(), 200);
    assert!(
        landed
            .text()
            .await
            .unwrap()
            .contains("finish in the terminal")
    );

    let (code, seen) = t.finish();
    assert_eq!(code, 0, "exit {code}: {seen}");
    assert!(
        !seen.contains("Demo: the consent page"),
        "nothing asked in the terminal: {seen}"
    );
    assert!(seen.contains("Demo finished"), "{seen}");
    assert!(s.secrets()["PSOXY_JIRA_CLOUD_REFRESH_TOKEN"].is_string());
}

/// After the demo, what the summary suggests works with no options: `status`, then
/// `renew --demo` in a terminal, then a plain `renew`, which renews the demo, not Atlassian.
#[tokio::test(flavor = "multi_thread")]
async fn after_the_demo_status_and_renew_need_no_options_and_stay_with_the_simulator() {
    let s = Session::new(loopback_config()).await;
    let file = s.secrets_file().display().to_string();
    let demo = s
        .run_with(
            &strings(&["init", "--demo", "--file", &file]),
            &[],
            &[],
            Browser::Nothing,
        )
        .await;
    assert_eq!(demo.code, 0, "{}", demo.all());
    let first = s.secrets()["PSOXY_JIRA_CLOUD_REFRESH_TOKEN"].clone();

    let status = s
        .run_with(&strings(&["status"]), &[], &[], Browser::Nothing)
        .await;
    assert_eq!(status.code, 0, "{}", status.all());
    let row = status.stdout.lines().nth(1).unwrap_or_default();
    assert!(
        row.contains("(demo)") && row.contains(" ok ") && row.contains("365"),
        "the demo's row: {}",
        status.stdout
    );

    let mut t = Terminal::start(&s, &["renew", "--demo"], &[]);
    t.expect("demo mode");
    t.expect("read from the store");
    t.expect("Demo: the consent page");
    t.send("\r");
    let (code, seen) = t.finish();
    assert_eq!(code, 0, "exit {code}: {seen}");
    assert!(
        seen.contains("Demo finished") && seen.contains("Try next: `jira-psoxy-setup status`."),
        "{seen}"
    );
    // Renewing the demo again would show nothing new.
    assert!(!seen.contains("renew --demo"), "{seen}");
    let second = s.secrets()["PSOXY_JIRA_CLOUD_REFRESH_TOKEN"].clone();
    assert_ne!(second, first, "a new family");

    let plain = s
        .run_with(&strings(&["renew"]), &[], &[], Browser::Nothing)
        .await;
    assert_eq!(plain.code, 0, "{}", plain.all());
    assert!(plain.stderr.contains("renews the demo"), "{}", plain.stderr);
    assert!(
        !plain.all().contains("auth.atlassian.com"),
        "{}",
        plain.all()
    );
    assert_ne!(s.secrets()["PSOXY_JIRA_CLOUD_REFRESH_TOKEN"], second);
}

/// With no browser here, the person can still use their own: while the terminal asks, the short
/// link already answers; they choose to open it themselves and accept on the page.
#[tokio::test(flavor = "multi_thread")]
async fn without_a_browser_the_demo_link_answers_while_the_terminal_asks() {
    let s = Session::new(loopback_config()).await;
    let file = s.secrets_file();
    let args = ["init", "--demo", "--file", file.to_str().unwrap()];
    let mut t = Terminal::start(&s, &args, &[]);
    t.answer_connector();
    t.expect("Secret-name prefix");
    t.send("\r");
    t.answer_checklist(4);
    let short = t.expect_regex(r"http://127\.0\.0\.1:[0-9]+/start/[0-9a-f]+");
    t.expect("Demo: the consent page");
    // The prompt is up; the link answers and leads to the consent page.
    let consent = http()
        .get(short.trim())
        .send()
        .await
        .expect("the short link answers");
    assert_eq!(consent.status(), 200);
    let consent_url = consent.url().clone();
    assert!(consent.text().await.unwrap().contains("id=\"accept\""));
    t.send("\x1b[B");
    t.send("\x1b[B");
    t.send("\r");
    let mut form: Vec<(String, String)> = consent_url.query_pairs().into_owned().collect();
    form.push(("decision".into(), "accept".into()));
    let landed = http()
        .post(consent_url.join("/authorize/decide").unwrap())
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(landed.status(), 200);
    let (code, seen) = t.finish();
    assert_eq!(code, 0, "exit {code}: {seen}");
    assert!(
        seen.contains("could not open a browser (no display"),
        "{seen}"
    );
    assert!(seen.contains("Demo finished"), "{seen}");
}
