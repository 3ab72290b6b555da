//! An operator whose IAM policy names parameters one by one and misses one. moto's IAM cannot
//! express that (it ignores resource ARNs), so a relay in front of moto plays IAM for the
//! parameter: it answers the matching calls with SSM's AccessDeniedException.

use crate::support;
use crate::support::moto;
use crate::support::relay;

use moto::{Moto, PLACEHOLDER};
use relay::Relay;
use support::*;

const PREFIX: &str = "PSOXY_JIRA_CLOUD_";
const SECRET_PARAM: &str = "PSOXY_JIRA_CLOUD_CLIENT_SECRET";
const LOCK: &str = "PSOXY_JIRA_CLOUD_OAUTH_REFRESH_TOKEN_lock";

fn is_put_of(request: &str, name: &str) -> bool {
    request.contains("AmazonSSM.PutParameter") && request.contains(&format!("\"Name\":\"{name}\""))
}

/// init against SSM through `relay`, everything else as an operator would run it.
async fn init_through(relay: &Relay, moto: &Moto, s: &Session) -> Output {
    let args = on_store(s.init_args(), strings(&["--store", "aws-ssm"]));
    let env = ssm_story::init_env_through(moto, relay);
    s.consents(&args, &borrowed(&env)).await
}

/// The policy lets the operator write REFRESH_TOKEN but not CLIENT_SECRET: the preflight probes
/// every parameter, so init stops before the browser step (no code spent) and names the
/// permission and the parameter.
#[tokio::test]
async fn a_parameter_the_policy_does_not_cover_stops_init_before_the_browser() {
    let moto = Moto::start();
    moto.seed_placeholders(PREFIX, None).await;
    let relay = Relay::denying(moto.port, |r| is_put_of(r, SECRET_PARAM)).await;
    let s = Session::new(loopback_config()).await;
    let out = init_through(&relay, &moto, &s).await;

    assert_eq!(out.code, 6, "{}", out.stderr);
    let error = out.stderr.lines().last().unwrap_or_default();
    assert!(
        error.contains("ssm:PutParameter") && error.contains(SECRET_PARAM),
        "{}",
        out.stderr
    );
    assert!(
        out.authorize_urls.is_empty(),
        "no authorization was asked for"
    );
    assert!(s.sim.issued_secrets().is_empty(), "no code was spent");
    for suffix in [
        "CLIENT_ID",
        "CLIENT_SECRET",
        "REFRESH_TOKEN",
        "ACCESS_TOKEN",
    ] {
        assert_eq!(
            moto.value(&format!("{PREFIX}{suffix}")).await.as_deref(),
            Some(PLACEHOLDER),
            "{suffix} untouched"
        );
    }
}

/// The probe passes but the real write (Overwrite=true) is refused, after the refresh lock was
/// taken: the tokens go to a recovery file, the lock is released so the proxy is not held up,
/// and the printed command finishes the job once the policy is fixed.
#[tokio::test]
async fn a_write_refused_under_the_lock_keeps_the_tokens_and_releases_the_lock() {
    let moto = Moto::start();
    moto.seed_placeholders(PREFIX, None).await;
    let relay = Relay::denying(moto.port, |r| {
        is_put_of(r, SECRET_PARAM) && r.contains("\"Overwrite\":true")
    })
    .await;
    let s = Session::new(loopback_config()).await;
    let out = init_through(&relay, &moto, &s).await;

    assert_eq!(out.code, 9, "{}", out.stderr);
    assert!(out.stderr.contains("ssm:PutParameter"), "{}", out.stderr);
    assert_eq!(
        moto.value(LOCK).await,
        None,
        "the refresh lock was released"
    );
    let recovery = recovery_file(&s, &out.stderr);
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&recovery).unwrap()).unwrap();
    let refresh = saved["secrets"][format!("{PREFIX}REFRESH_TOKEN")]
        .as_str()
        .expect("the recovery file holds the refresh token");
    assert!(s.sim.is_live_refresh_token(refresh));

    // The policy is fixed: the command the failure printed finishes the job.
    let printed = out
        .stderr
        .split('`')
        .find(|part| part.starts_with("jira-psoxy-setup push --from"))
        .unwrap_or_else(|| panic!("a push command in backquotes: {}", out.stderr));
    let push: Vec<String> = printed
        .split_whitespace()
        .skip(1)
        .map(String::from)
        .collect();
    let env = moto.env();
    let out = s
        .run_with(&push, &borrowed(&env), &[], Browser::Nothing)
        .await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(
        moto.value(SECRET_PARAM).await.as_deref(),
        Some(CLIENT_SECRET)
    );
    assert!(!recovery.exists());
}
