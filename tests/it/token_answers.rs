//! A token endpoint that answers 200 with odd content: the run neither panics after
//! the code is spent nor blames the network. The real binary against the simulator, told to
//! depart from Atlassian's answer.

use crate::support;

use chrono::Utc;
use jira_psoxy_setup::sim::{SimConfig, TokenQuirks};
use serde_json::{Value, json};
use support::*;

fn quirky(quirks: TokenQuirks) -> SimConfig {
    SimConfig {
        token_quirks: quirks,
        ..loopback_config()
    }
}

/// `expires_in` far out of range (chrono used to panic: "TimeDelta::seconds out of bounds"):
/// the tokens are stored, with an access-token expiry clamped to at most a day.
#[tokio::test]
async fn an_out_of_range_expires_in_is_clamped_and_the_tokens_are_stored() {
    for expires_in in [
        json!(9_223_372_036_854_775_807_i64),
        json!(-9_223_372_036_854_775_807_i64),
        json!(1e300),
    ] {
        let s = Session::new(quirky(TokenQuirks {
            expires_in: Some(expires_in.clone()),
            ..TokenQuirks::default()
        }))
        .await;
        let before = Utc::now().timestamp_millis();
        let out = s
            .run(&s.init_args(), Browser::Follow { accept: true })
            .await;
        assert_eq!(out.code, 0, "expires_in {expires_in}: {}", out.stderr);
        let stored = s.secrets();
        let refresh = stored["PSOXY_JIRA_CLOUD_REFRESH_TOKEN"].as_str().unwrap();
        assert!(
            s.sim.is_live_refresh_token(refresh),
            "expires_in {expires_in}"
        );
        let access: Value =
            serde_json::from_str(stored["PSOXY_JIRA_CLOUD_ACCESS_TOKEN"].as_str().unwrap())
                .unwrap();
        let expiry = access["expirationDate"].as_i64().unwrap();
        assert!(
            expiry >= before && expiry <= Utc::now().timestamp_millis() + 86_400_000,
            "expires_in {expires_in}: expirationDate {expiry}"
        );
    }
}

/// A 200 answer without `access_token` names what is missing and that the code is spent; it is
/// an authorization failure (4), not a network one (8).
#[tokio::test]
async fn a_200_token_answer_without_an_access_token_says_what_is_missing() {
    let s = Session::new(quirky(TokenQuirks {
        omit: vec!["access_token".into()],
        ..TokenQuirks::default()
    }))
    .await;
    let out = s
        .run(&s.init_args(), Browser::Follow { accept: true })
        .await;
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert!(
        out.stderr.contains("access_token is missing"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("authorize again"), "{}", out.stderr);
    assert!(!out.stderr.contains("check the network"), "{}", out.stderr);
    assert!(!s.secrets_file().exists());
}
