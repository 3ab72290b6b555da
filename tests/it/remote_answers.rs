//! What the network may answer, and what the binary does not do with it :
//! no credential follows a redirect; no escape sequence from Atlassian reaches the
//! terminal or the JSON output; no colour codes in logs on a pipe; no port-0 callback.

use crate::support;

use std::sync::{Arc, Mutex};

use jira_psoxy_setup::sim::{SimConfig, SimSite, SimUser};
use support::*;

/// Every request a loopback server received: "METHOD /path" and the body.
type Seen = Arc<Mutex<Vec<(String, String)>>>;

/// A server that records each request and answers with `status`, sending the client to
/// `location` (ignored unless `status` is a redirect).
async fn recording(status: u16, location: String) -> (String, Seen) {
    let seen: Seen = Arc::default();
    let log = seen.clone();
    let app = axum::Router::new().fallback(move |req: axum::extract::Request| {
        let (log, location) = (log.clone(), location.clone());
        async move {
            let line = format!("{} {}", req.method(), req.uri().path());
            let body = axum::body::to_bytes(req.into_body(), 1 << 20)
                .await
                .unwrap();
            log.lock()
                .unwrap()
                .push((line, String::from_utf8_lossy(&body).into_owned()));
            (
                axum::http::StatusCode::from_u16(status).unwrap(),
                [("location", location)],
            )
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, seen)
}

#[tokio::test]
async fn a_redirect_from_the_token_endpoint_is_an_error_and_the_secret_is_not_resent() {
    for status in [307, 308] {
        let s = Session::new(loopback_config()).await;
        let (elsewhere, elsewhere_seen) = recording(200, String::new()).await;
        let (token_endpoint, seen) = recording(status, format!("{elsewhere}/oauth/token")).await;
        let mut args = s.init_args();
        let i = args
            .iter()
            .position(|a| a == "--atlassian-auth-url")
            .unwrap();
        args[i + 1] = token_endpoint.clone();
        let out = s.run(&args, Browser::Follow { accept: true }).await;

        assert_eq!(out.code, 8, "{}", out.stderr);
        let named = format!("{token_endpoint}/oauth/token answered HTTP {status}, a redirect");
        assert!(out.stderr.contains(&named), "{}", out.stderr);
        let posts = seen.lock().unwrap().clone();
        assert_eq!(posts.len(), 1, "{posts:?}");
        assert!(
            posts[0].1.contains(CLIENT_SECRET),
            "the exchange did reach the endpoint"
        );
        assert!(
            elsewhere_seen.lock().unwrap().is_empty(),
            "the redirect was followed: {:?}",
            elsewhere_seen.lock().unwrap()
        );
        assert!(!s.secrets_file().exists());
    }
}

#[tokio::test]
async fn a_redirect_from_secret_manager_is_not_followed() {
    let s = Session::new(loopback_config()).await;
    let (elsewhere, elsewhere_seen) = recording(200, String::new()).await;
    let (endpoint, seen) = recording(307, format!("{elsewhere}/v1/projects/p/secrets")).await;
    let store = strings(&[
        "--store",
        "gcp-secret-manager",
        "--gcp-project",
        "p",
        "--gcp-endpoint",
        &endpoint,
    ]);
    let out = s
        .run(
            &on_store(s.init_args(), store),
            Browser::Follow { accept: true },
        )
        .await;
    assert_eq!(out.code, 6, "{}", out.stderr);
    assert!(out.authorize_urls.is_empty(), "{}", out.stderr);
    assert!(!seen.lock().unwrap().is_empty(), "the store was asked");
    assert!(
        elsewhere_seen.lock().unwrap().is_empty(),
        "the redirect was followed: {:?}",
        elsewhere_seen.lock().unwrap()
    );
}

/// Text an attacker controlling a site's name or a user's profile could plant: clear the screen,
/// a fake `[ok]` line, an OSC 8 hyperlink, an 8-bit CSI, a bell.
const HOSTILE: &str = "\x1b[2J\x1b[H\n[ok] all secrets deleted\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\\u{9b}31m\x07";

#[tokio::test]
async fn escape_sequences_in_site_and_user_names_never_reach_the_output() {
    let config = SimConfig {
        sites: vec![SimSite {
            name: format!("Acme{HOSTILE}"),
            url: format!("https://acme1.atlassian.net{HOSTILE}"),
            ..SimSite::numbered(1)
        }],
        user: SimUser {
            display_name: format!("Mallory{HOSTILE}"),
            email: format!("m@acme.example{HOSTILE}"),
            ..SimUser::default()
        },
        ..loopback_config()
    };
    let s = Session::new(config).await;
    let args = with(s.init_args(), &["--json"]);
    let out = s.run(&args, Browser::Follow { accept: true }).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("Mallory"),
        "the name is still shown: {}",
        out.stderr
    );
    for (stream, text) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        assert!(
            !text.chars().any(|c| c.is_control() && c != '\n'),
            "a control character reached {stream}: {text:?}"
        );
        assert!(
            !text
                .lines()
                .any(|l| l.starts_with("[ok] all secrets deleted")),
            "a fake line reached {stream}: {text}"
        );
    }
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    for field in ["site_name", "site_url", "authorized_as"] {
        let value = report[field].as_str().unwrap();
        assert!(!value.chars().any(char::is_control), "{field}: {value:?}");
    }
}

#[tokio::test]
async fn debug_logs_on_a_pipe_carry_no_colour_codes() {
    let s = Session::new(loopback_config()).await;
    // NO_COLOR is set empty (which means unset) and TERM asks for colour: stderr is still a pipe.
    let env = [
        ("JIRA_CLIENT_SECRET", CLIENT_SECRET),
        ("NO_COLOR", ""),
        ("TERM", "xterm-256color"),
    ];
    let out = s
        .run_with(&s.init_args(), &env, &[], Browser::Follow { accept: true })
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("DEBUG"),
        "the run logged at -vv: {}",
        out.stderr
    );
    assert!(!out.stderr.contains('\x1b'), "{:?}", out.stderr);
}

#[tokio::test]
async fn a_port_zero_redirect_uri_is_refused_before_authorizing() {
    let s = Session::new(loopback_config()).await;
    let mut args = s.init_args();
    let i = args.iter().position(|a| a == "--redirect-uri").unwrap();
    args[i + 1] = "http://127.0.0.1:0/callback".into();
    let out = s.run(&args, Browser::Follow { accept: true }).await;
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(out.stderr.contains("names port 0"), "{}", out.stderr);
    assert!(out.authorize_urls.is_empty());
}
