//! Interactive stories in a real pseudo-terminal: prompts answered as a person would.

use crate::support;

use support::terminal::*;
use support::*;

#[tokio::test(flavor = "multi_thread")]
async fn operator_answers_the_prompts_and_pastes_the_url_over_ssh() {
    let s = Session::new(loopback_config()).await;
    let args = interactive_init(&s);
    let mut t = Terminal::start(&s, &args, &[("SSH_CONNECTION", "10.0.0.1 22 10.0.0.2 22")]);
    t.accept_target();
    t.answer_checklist(4);
    t.expect("Client ID");
    t.send(&format!("{CLIENT_ID}\r"));
    t.expect("Client secret");
    t.send(&format!("{CLIENT_SECRET}\r"));
    let url = authorize_url(&t.expect_regex(r"http://127\.0\.0\.1:[0-9]+/authorize\?[^\s\x1b]+"));
    t.expect("Paste the URL");
    let redirect = s.sim.decide(&url, true).unwrap();
    t.send(&format!("{redirect}\r"));
    let (code, seen) = t.finish();
    assert_eq!(code, 0, "exit {code}: {seen}");
    assert!(
        seen.contains("SSH session"),
        "the SSH hint is shown: {seen}"
    );
    assert!(seen.contains("Jira Cloud is connected"), "{seen}");
}

#[tokio::test(flavor = "multi_thread")]
async fn operator_clicks_accept_and_the_loopback_listener_catches_the_code() {
    let s = Session::new(loopback_config()).await;
    let args = interactive_init(&s);
    // `true` stands in for the browser the webbrowser crate launches through $BROWSER.
    let mut t = Terminal::start(
        &s,
        &args,
        &[("BROWSER", "true"), ("JIRA_CLIENT_SECRET", CLIENT_SECRET)],
    );
    t.accept_target();
    t.expect("Open the developer console");
    t.send("n");
    t.answer_checklist(4);
    t.expect("Client ID");
    t.send(&format!("{CLIENT_ID}\r"));
    let url = authorize_url(&t.expect_regex(r"http://127\.0\.0\.1:[0-9]+/authorize\?[^\s\x1b]+"));
    let redirect = s.sim.decide(&url, true).unwrap();
    http()
        .get(redirect.as_str())
        .send()
        .await
        .expect("the loopback listener answers")
        .text()
        .await
        .unwrap();
    let (code, seen) = t.finish();
    assert_eq!(code, 0, "exit {code}: {seen}");
    assert!(seen.contains("state checked"));
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_in_the_store_list_restores_the_cursor_and_exits_130() {
    let s = Session::new(loopback_config()).await;
    let file = s.secrets_file();
    let args = ["init", "--file", file.to_str().unwrap()];
    let mut t = Terminal::start(&s, &args, &[]);
    // A select list hides the cursor while it is shown.
    t.answer_connector();
    t.expect("Where should the secrets go?");
    let seen = t.interrupt_before_anything_is_written();
    assert!(
        seen.contains("\x1b[?25h"),
        "the cursor is made visible again"
    );
    assert!(!file.exists());
}

/// Ctrl-C once the authorize URL is out, while the tool waits for the code: `waiting_for` is
/// what the terminal shows at that moment (the loopback wait, or the hidden paste prompt).
fn ctrl_c_while_waiting_for_the_code(s: &Session, env: &[(&str, &str)], waiting_for: &str) {
    let args = interactive_init(s);
    let mut env = env.to_vec();
    env.push(("JIRA_CLIENT_SECRET", CLIENT_SECRET));
    let mut t = Terminal::start(s, &args, &env);
    t.accept_target();
    if waiting_for.starts_with("Waiting") {
        // A desktop session first offers to open the developer console.
        t.expect("Open the developer console");
        t.send("n");
    }
    t.answer_checklist(4);
    t.expect("Client ID");
    t.send(&format!("{CLIENT_ID}\r"));
    t.expect_regex(r"http://127\.0\.0\.1:[0-9]+/authorize\?[^\s\x1b]+");
    t.expect(waiting_for);
    t.interrupt_before_anything_is_written();
    assert!(!s.secrets_file().exists());
    let port = url::Url::parse(&s.redirect_uri).unwrap().port().unwrap();
    assert!(
        std::net::TcpListener::bind(("127.0.0.1", port)).is_ok(),
        "the callback port {port} is free again"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_while_the_loopback_listener_waits_exits_130_and_frees_the_port() {
    let s = Session::new(loopback_config()).await;
    ctrl_c_while_waiting_for_the_code(&s, &[("BROWSER", "true")], "Waiting until");
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_at_the_hidden_paste_prompt_exits_130() {
    let s = Session::new(loopback_config()).await;
    ctrl_c_while_waiting_for_the_code(
        &s,
        &[("SSH_CONNECTION", "10.0.0.1 22 10.0.0.2 22")],
        "Paste the URL",
    );
}

/// Ctrl-C at the hidden client-secret prompt (echo off while it waits): the run ends with 130
/// and the terminal echoes what is typed again.
#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_at_the_hidden_client_secret_prompt_restores_echo() {
    let s = Session::new(loopback_config()).await;
    let args = interactive_init(&s);
    let mut t =
        Terminal::start_echoing(&s, &args, &[("SSH_CONNECTION", "10.0.0.1 22 10.0.0.2 22")]);
    t.accept_target();
    t.answer_checklist(4);
    t.expect("Client ID");
    t.send(&format!("{CLIENT_ID}\r"));
    t.expect("Client secret");
    t.wait_for_echo_off();
    t.send("\x03");
    let (code, seen, echo) = t.finish_with_echo();
    assert_eq!(code, 130, "exit {code}: {seen}");
    assert!(echo, "the terminal echoes again: {seen}");
}

/// An operator runs init where a live family already is, reads the warning, and says no: nothing
/// is asked of Atlassian, the store is as it was, and the run says what it kept and ends well
/// (declining is an answer, not an error).
#[tokio::test(flavor = "multi_thread")]
async fn declining_to_replace_a_live_family_changes_nothing() {
    let s = initialized(loopback_config(), &[]).await;
    let before = std::fs::read(s.secrets_file()).unwrap();
    let mut t = Terminal::start(&s, &interactive_init(&s), &[]);
    t.accept_existing_target();
    t.expect("already holds a token family");
    t.expect("Replace it?");
    t.send("n");
    let (code, seen) = t.finish();
    assert_eq!(code, 0, "exit {code}: {seen}");
    assert!(
        seen.contains("kept the token family") && seen.contains("PSOXY_JIRA_CLOUD_"),
        "{seen}"
    );
    assert!(seen.contains("nothing was changed"), "{seen}");
    assert!(!seen.contains("error:"), "{seen}");
    assert_eq!(std::fs::read(s.secrets_file()).unwrap(), before);
}

/// The demo as a newcomer runs it in a terminal: the proposed prefix, no console to open, every
/// step confirmed, consent approved at the prompt. Returns the exit code and what the terminal showed.
fn demo_in_a_terminal(s: &Session, env: &[(&str, &str)]) -> (i32, String) {
    let file = s.secrets_file();
    let mut t = Terminal::start(
        s,
        &["init", "--demo", "--file", file.to_str().unwrap()],
        env,
    );
    t.answer_connector();
    t.expect("demo mode");
    t.expect("Secret-name prefix");
    t.send("\r");
    t.answer_checklist(4);
    // No display here: the consent page is decided in the terminal, "Approve" first.
    t.expect("could not open a browser");
    t.expect("Demo: the consent page");
    t.send("\r");
    t.finish()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_newcomer_runs_the_demo_and_approves_consent_in_the_terminal() {
    let s = Session::new(loopback_config()).await;
    let (code, seen) = demo_in_a_terminal(&s, &[]);
    assert_eq!(code, 0, "exit {code}: {seen}");
    assert!(
        seen.contains("state checked") && seen.contains("Demo finished"),
        "{seen}"
    );
    let stored: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(s.secrets_file()).unwrap()).unwrap();
    assert_eq!(stored["PSOXY_JIRA_CLOUD_CLIENT_ID"], "demo-client-id");
    assert_no_secrets(
        &seen,
        &[
            stored["PSOXY_JIRA_CLOUD_REFRESH_TOKEN"].as_str().unwrap(),
            "demo-client-secret",
        ],
    );
}

/// In a colour terminal the steps are coloured and the authorize URL is also a clickable OSC 8
/// link; NO_COLOR (https://no-color.org) turns both off and leaves plain markers.
#[tokio::test(flavor = "multi_thread")]
async fn a_terminal_gets_colour_and_links_unless_no_color_is_set() {
    let s = Session::new(loopback_config()).await;
    let (code, coloured) = demo_in_a_terminal(&s, &[("NO_COLOR", "")]);
    assert_eq!(code, 0, "exit {code}: {coloured}");
    assert!(coloured.contains("\x1b[1;34m==>"), "{coloured:?}");
    assert!(
        coloured.contains("\x1b]8;;http://127.0.0.1:"),
        "{coloured:?}"
    );

    let s = Session::new(loopback_config()).await;
    let (code, plain) = demo_in_a_terminal(&s, &[("NO_COLOR", "1")]);
    assert_eq!(code, 0, "exit {code}: {plain}");
    assert!(
        plain.contains("==> ") && plain.contains("[ok] "),
        "{plain:?}"
    );
    assert!(!plain.contains("\x1b[1;34m"), "{plain:?}");
    assert!(!plain.contains("\x1b]8;;"), "{plain:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rejected_code_offers_a_new_authorization_in_the_same_run() {
    let s = Session::new(loopback_config()).await;
    let first = s
        .run(&s.init_args(), Browser::Follow { accept: true })
        .await;
    assert_eq!(first.code, 0, "{}", first.stderr);
    let spent = codes(&first.redirects).remove(0);

    let args = with(interactive_init(&s), &["--paste", "--client-id", CLIENT_ID]);
    let mut t = Terminal::start(&s, &args, &[("JIRA_CLIENT_SECRET", CLIENT_SECRET)]);
    // The first run left a live family: the operator means to replace it.
    t.accept_existing_target();
    t.expect("Replace it?");
    t.send("y");
    t.answer_checklist(4);
    let url = authorize_url(&t.expect_regex(r"http://127\.0\.0\.1:[0-9]+/authorize\?[^\s\x1b]+"));
    t.expect("Paste the URL");
    let state = url
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    t.send(&format!("{}?code={spent}&state={state}\r", s.redirect_uri));
    t.expect("rejected the authorization code");
    t.expect("Start a new authorization now?");
    t.send("y");
    let url = authorize_url(&t.expect_regex(r"http://127\.0\.0\.1:[0-9]+/authorize\?[^\s\x1b]+"));
    t.expect("Paste the URL");
    let redirect = s.sim.decide(&url, true).unwrap();
    t.send(&format!("{redirect}\r"));
    let (code, seen) = t.finish();
    assert_eq!(code, 0, "exit {code}: {seen}");
    assert!(
        s.sim.is_live_refresh_token(
            s.secrets()["PSOXY_JIRA_CLOUD_REFRESH_TOKEN"]
                .as_str()
                .unwrap()
        )
    );
}

/// `-vv` logs in a terminal follow the rule the progress lines follow: coloured only without
/// `NO_COLOR` and with a terminal that is not `TERM=dumb`.
#[tokio::test(flavor = "multi_thread")]
async fn debug_logs_are_coloured_only_in_a_colour_terminal() {
    const COLOURED_DEBUG: &str = "\x1b[34mDEBUG";
    for (term, no_color, coloured) in [
        ("xterm-256color", "", true),
        ("dumb", "", false),
        ("xterm-256color", "1", false),
    ] {
        let s = Session::new(loopback_config()).await;
        let file = s.secrets_file();
        let args = [
            "-vv",
            "init",
            "--demo",
            "--non-interactive",
            "--file",
            file.to_str().unwrap(),
        ];
        let t = Terminal::start(&s, &args, &[("TERM", term), ("NO_COLOR", no_color)]);
        let (code, seen) = t.finish();
        assert_eq!(code, 0, "TERM={term} NO_COLOR={no_color}: {seen}");
        assert!(seen.contains("DEBUG"), "{seen}");
        assert_eq!(
            seen.contains(COLOURED_DEBUG),
            coloured,
            "TERM={term} NO_COLOR={no_color}: {seen:?}"
        );
    }
}
