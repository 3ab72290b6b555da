//! The pasted-URL parser and the loopback listener, including hostile requests.
use super::*;

const STATE: &str = "0123456789abcdef0123456789abcdef";

#[test]
fn whole_url_query_string_and_bare_code() {
    let p = parse_pasted(
        &format!("http://localhost/?state={STATE}&code=abc123DEF_-x"),
        STATE,
    )
    .unwrap();
    assert!(p.state_checked);
    let p = parse_pasted(&format!("?code=abc123DEF&state={STATE}"), STATE).unwrap();
    assert!(p.state_checked);
    let p = parse_pasted("abc123DEF_-x", STATE).unwrap();
    assert!(!p.state_checked);
}

#[test]
fn wrong_state_missing_code_denied_and_garbage_are_errors() {
    let wrong = parse_pasted("http://localhost/?state=nope&code=abcdefgh", STATE)
        .err()
        .unwrap();
    assert!(wrong.to_string().contains("from another run"));
    let nocode = parse_pasted(&format!("http://localhost/?state={STATE}"), STATE)
        .err()
        .unwrap();
    assert!(nocode.to_string().contains("no code"));
    let denied = parse_pasted(
        &format!("http://localhost/?error=access_denied&state={STATE}"),
        STATE,
    )
    .err()
    .unwrap();
    assert!(matches!(denied, Error::Authorization(_)));
    assert!(parse_pasted("!!! not a url", STATE).is_err());
    assert!(parse_pasted("", STATE).is_err());
    assert!(parse_pasted("ftp://x/?code=a&state=b", STATE).is_err());
}

#[test]
fn loopback_addresses() {
    assert_eq!(
        listen_addrs(&Url::parse("http://localhost").unwrap())
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        listen_addrs(&Url::parse("http://127.0.0.1:8080/cb").unwrap()).unwrap()[0].port(),
        8080
    );
    assert!(listen_addrs(&Url::parse("http://[::1]:9/").unwrap()).is_ok());
    assert!(listen_addrs(&Url::parse("https://localhost/").unwrap()).is_err());
    assert!(listen_addrs(&Url::parse("http://example.com/").unwrap()).is_err());
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn listener_ignores_strangers_and_stops_after_one_good_callback() {
    let redirect = Url::parse(&format!("http://127.0.0.1:{}/callback", free_port())).unwrap();
    let listener = LoopbackListener::bind(&redirect).await.unwrap();
    let short_url = listener.short_url();
    let authorize = Url::parse("https://auth.example/authorize?x=1").unwrap();
    let waiting = tokio::spawn(async move {
        listener
            .wait(STATE, &authorize, Duration::from_secs(10))
            .await
    });
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let base = format!("http://127.0.0.1:{}", redirect.port().unwrap());
    let other = http
        .get(format!("{base}/favicon.ico"))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 404);
    // The short link is unguessable: a local process that tries `/start` learns no state.
    let guessed = http.get(format!("{base}/start")).send().await.unwrap();
    assert_eq!(guessed.status(), 404);
    // 16 hex digits (64 random bits) after `/start/`.
    assert!(short_url.starts_with(&format!("{base}/start/")) && short_url.len() == base.len() + 23);
    let start = http.get(&short_url).send().await.unwrap();
    assert_eq!(
        start.headers()["location"],
        "https://auth.example/authorize?x=1"
    );
    assert_eq!(
        start.headers()["content-security-policy"],
        "default-src 'none'; style-src 'unsafe-inline'"
    );
    let forged = http
        .get(format!("{base}/callback?code=evil&state=wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 400);
    assert_eq!(forged.headers()["referrer-policy"], "no-referrer");
    assert!(
        !forged
            .text()
            .await
            .unwrap()
            .contains("window the wizard opened"),
        "no window was opened with --no-browser"
    );
    let forged_error = http
        .get(format!("{base}/callback?error=access_denied"))
        .send()
        .await
        .unwrap();
    assert_eq!(forged_error.status(), 400);
    let good = http
        .get(format!("{base}/callback?code=goodcode&state={STATE}"))
        .send()
        .await
        .unwrap();
    assert_eq!(good.headers()["cache-control"], "no-store");
    let good = good.text().await.unwrap();
    assert!(
        good.contains("<title>Code received</title>")
            && good.contains("finish in the terminal")
            && !good.contains("Authorization received"),
        "{good}"
    );
    let code = tokio::time::timeout(Duration::from_secs(15), waiting)
        .await
        .expect("the listener ends its wait")
        .unwrap()
        .unwrap();
    assert_eq!(
        crate::secret::ExposeSecret::expose_secret(&code),
        "goodcode"
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        http.get(format!("{base}/callback?code=again&state={STATE}"))
            .send()
            .await
            .is_err(),
        "the listener is gone"
    );
}

#[tokio::test]
async fn listener_times_out_with_a_clear_message() {
    let redirect = Url::parse(&format!("http://127.0.0.1:{}/", free_port())).unwrap();
    let listener = LoopbackListener::bind(&redirect).await.unwrap();
    let authorize = Url::parse("https://auth.example/authorize").unwrap();
    let err = listener
        .wait(STATE, &authorize, Duration::from_millis(200))
        .await
        .err()
        .unwrap();
    assert!(
        err.to_string().contains("no authorization arrived"),
        "{err}"
    );
}

#[tokio::test]
async fn a_busy_port_is_reported() {
    let port = free_port();
    let _busy = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    let redirect = Url::parse(&format!("http://localhost:{port}/cb")).unwrap();
    let err = LoopbackListener::bind(&redirect).await.err().unwrap();
    assert!(err.contains("cannot listen"), "{err}");
}

#[tokio::test]
async fn declined_and_failed_authorizations_answer_with_error_statuses_and_own_titles() {
    for (query, status, title) in [
        ("error=access_denied", 403, "Access declined"),
        (
            "error=invalid_scope&error_description=x",
            400,
            "Authorization failed",
        ),
    ] {
        let redirect = Url::parse(&format!("http://127.0.0.1:{}/cb", free_port())).unwrap();
        let listener = LoopbackListener::bind(&redirect).await.unwrap();
        let authorize = Url::parse("https://auth.example/authorize").unwrap();
        let waiting = tokio::spawn(async move {
            listener
                .wait(STATE, &authorize, Duration::from_secs(10))
                .await
        });
        let resp = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap()
            .get(format!("{redirect}?{query}&state={STATE}"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), status, "{query}");
        assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
        let body = resp.text().await.unwrap();
        assert!(body.contains(&format!("<title>{title}</title>")), "{body}");
        assert!(
            tokio::time::timeout(Duration::from_secs(15), waiting)
                .await
                .expect("the listener ends its wait")
                .unwrap()
                .is_err(),
            "{query} ends the wait with an error"
        );
    }
}
