//! An SSM that misbehaves after accepting the write: a read-back that returns something else
//! (a stale replica), or an error that echoes the value sent. The relay in front of moto plays
//! the misbehaviour; the real binary and the Atlassian simulator do the rest.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::support::moto::{Moto, PLACEHOLDER};
use crate::support::relay::{self, Relay};
use crate::support::ssm_story::{LOCK, PREFIX, REFRESH, init_args, init_env_through};
use crate::support::*;

fn is_put_of(request: &str, name: &str) -> bool {
    request.contains("AmazonSSM.PutParameter") && request.contains(&format!("\"Name\":\"{name}\""))
}

/// The real write (the preflight's probe does not overwrite).
fn is_write_of(request: &str, name: &str) -> bool {
    is_put_of(request, name) && request.contains("\"Overwrite\":true")
}

/// init against SSM through `relay`.
async fn init_through(relay: &Relay, moto: &Moto, s: &Session) -> Output {
    let env = init_env_through(moto, relay);
    s.consents(&init_args(s), &borrowed(&env)).await
}

/// The refresh token the failed run kept in its recovery file; it is live.
fn kept_refresh_token(s: &Session, stderr: &str) -> String {
    let recovery = recovery_file(s, stderr);
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&recovery).unwrap()).unwrap();
    let refresh = saved["secrets"][REFRESH]
        .as_str()
        .unwrap_or_else(|| panic!("the recovery file holds the refresh token: {saved}"))
        .to_string();
    assert!(s.sim.is_live_refresh_token(&refresh));
    refresh
}

/// SSM takes the write, then a read returns the old value (as a stale replica would): the run
/// does not report success. It fails, says what happened, keeps the tokens in the recovery file
/// and releases the proxy's refresh lock.
#[tokio::test]
async fn a_store_that_reads_back_something_else_fails_the_run_and_keeps_the_tokens() {
    let moto = Moto::start();
    moto.seed_placeholders(PREFIX, None).await;
    let written = Arc::new(AtomicBool::new(false));
    let relay = Relay::rewriting(moto.port, move |request, answer| {
        if is_write_of(request, REFRESH) {
            written.store(true, Ordering::SeqCst);
        }
        if !written.load(Ordering::SeqCst) || !request.contains("AmazonSSM.GetParameters\r\n") {
            return answer;
        }
        relay::edit_json(answer, |body| {
            for p in body["Parameters"].as_array_mut().into_iter().flatten() {
                if p["Name"] == REFRESH {
                    p["Value"] = PLACEHOLDER.into();
                }
            }
        })
    })
    .await;
    let s = Session::new(loopback_config()).await;
    let out = init_through(&relay, &moto, &s).await;

    assert_eq!(out.code, 9, "{}", out.all());
    assert!(
        out.stderr
            .contains(&format!("{REFRESH} did not read back as written")),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("push --from"), "{}", out.stderr);
    let refresh = kept_refresh_token(&s, &out.stderr);
    assert_eq!(
        moto.value(REFRESH).await.as_deref(),
        Some(refresh.as_str()),
        "moto itself holds what was written; only the read was stale"
    );
    assert_eq!(
        moto.value(LOCK).await,
        None,
        "the refresh lock was released"
    );
}

/// SSM refuses the write with a validation error that quotes the value it was sent (as AWS
/// validation messages do): the operator sees the error, never the token.
#[tokio::test]
async fn a_put_error_that_echoes_the_value_does_not_show_it() {
    let moto = Moto::start();
    moto.seed_placeholders(PREFIX, None).await;
    let relay = Relay::answering(moto.port, |request| {
        if !is_write_of(request, REFRESH) {
            return None;
        }
        let sent = relay::json_body(request.as_bytes())?["Value"].as_str()?.to_string();
        // Part of the value too, and escape sequences (clear the screen, a hidden link).
        let part: String = sent.chars().skip(5).take(20).collect();
        Some(relay::ssm_error(
            "ValidationException",
            &format!("1 validation error detected: Value '{sent}' at 'value' failed to satisfy constraint: Member must have length less than or equal to 4096 (starts '{part}...') \u{1b}[2J\u{1b}]8;;http://evil.example\u{7}link\u{1b}]8;;\u{7}\u{9b}31m"),
        ))
    })
    .await;
    let s = Session::new(loopback_config()).await;
    // The harness also checks every token the simulator issued against the output.
    let out = init_through(&relay, &moto, &s).await;

    assert_eq!(out.code, 9, "{}", out.all());
    assert!(
        out.stderr.contains("ValidationException") && out.stderr.contains("[REDACTED]"),
        "the error is shown, with the value cut out: {}",
        out.stderr
    );
    let refresh = kept_refresh_token(&s, &out.stderr);
    assert!(!out.all().contains(&refresh), "{}", out.all());
    let part: String = refresh.chars().skip(5).take(20).collect();
    assert!(
        !out.all().contains(&part),
        "a quoted part of the token: {}",
        out.all()
    );
    let controls: Vec<char> = out
        .stderr
        .chars()
        .filter(|c| c.is_control() && *c != '\n')
        .collect();
    assert!(controls.is_empty(), "{controls:?} in {:?}", out.stderr);
    assert_eq!(
        moto.value(REFRESH).await.as_deref(),
        Some(PLACEHOLDER),
        "the write never reached SSM"
    );
}
