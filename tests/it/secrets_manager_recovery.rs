//! No token lost with `--store aws-secrets-manager`: a write the policy refuses after the tokens
//! were minted sends them to a recovery file that records the store, and `push --from` finishes
//! in Secrets Manager. A relay in front of moto plays IAM for PutSecretValue on one secret.

use crate::support;
use crate::support::moto;
use crate::support::relay;
use crate::support::sm_story;
use crate::support::ssm_story;

use moto::Moto;
use relay::Relay;
use serde_json::Value;
use sm_story::*;
use ssm_story::{LOCK, PREFIX, no_secrets, param};
use support::*;

const SECRET: &str = "PSOXY_JIRA_CLOUD_CLIENT_SECRET";

#[tokio::test]
async fn a_refused_write_after_minting_gets_a_recovery_file_and_push_finishes() {
    let moto = Moto::start();
    seed_deployment(&moto, None).await;
    let relay = Relay::denying(moto.port, |r| {
        r.contains("secretsmanager.PutSecretValue") && r.contains(&format!("\"{SECRET}\""))
    })
    .await;
    let s = Session::new(loopback_config()).await;
    let env = ssm_story::init_env_through(&moto, &relay);
    let out = s.consents(&init_args(&s), &borrowed(&env)).await;
    assert_eq!(out.code, 9, "{}", out.stderr);
    assert!(
        out.stderr.contains("secretsmanager:PutSecretValue") && out.stderr.contains(SECRET),
        "names the permission and the secret: {}",
        out.stderr
    );
    let ssm = moto.ssm().await;
    assert!(param(&ssm, LOCK).await.is_none(), "the lock was released");

    let recovery = recovery_file(&s, &out.stderr);
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&recovery).unwrap()).unwrap();
    assert_eq!(saved["store"]["kind"], "aws-secrets-manager", "{saved}");
    let refresh = saved["secrets"][format!("{PREFIX}REFRESH_TOKEN")]
        .as_str()
        .expect("the recovery file holds the refresh token")
        .to_string();
    assert!(s.sim.is_live_refresh_token(&refresh));
    let printed = out
        .stderr
        .split('`')
        .find(|part| part.starts_with("jira-psoxy-setup push --from"))
        .unwrap_or_else(|| panic!("a push command in backquotes: {}", out.stderr));
    assert!(
        printed.contains("--store aws-secrets-manager --aws-region us-east-1"),
        "{printed}"
    );
    no_secrets(&out.all(), &[CLIENT_SECRET.to_string(), refresh.clone()]);

    // The policy is fixed; `push --from FILE` alone finds the store in the file.
    let push = strings(&["push", "--from", recovery.to_str().unwrap()]);
    let out = s
        .run_with(&push, &borrowed(&moto.env()), &[], Browser::Nothing)
        .await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stderr
            .contains("the store the failed run used: --store aws-secrets-manager"),
        "{}",
        out.stderr
    );
    let sm = client(&moto).await;
    assert_eq!(value(&sm, "CLIENT_SECRET").await, CLIENT_SECRET);
    assert_eq!(value(&sm, "REFRESH_TOKEN").await, refresh);
    assert!(
        !recovery.exists(),
        "the recovery file is deleted once stored"
    );
    assert!(param(&ssm, LOCK).await.is_none());
}
