//! No token lost when SSM goes away mid-run with `--store aws-ssm`: after the code exchange, or
//! after the refresh lock was taken. The new tokens land in a recovery file, and `push --from`
//! finishes against SSM once it is back. The real binary against moto (behind a relay that can
//! cut the network) and the Atlassian simulator; the harness checks SSM directly afterwards.

use crate::support;
use crate::support::moto;
use crate::support::relay;
use crate::support::ssm_story;

use std::time::Instant;

use chrono::{DateTime, Utc};
use jira_psoxy_setup::sim::SimSite;
use moto::{Moto, PLACEHOLDER};
use relay::Relay;
use serde_json::Value;
use ssm_story::*;
use support::*;

/// No token lost: SSM goes away between the code exchange and the write. The new tokens land in
/// a recovery file, and `push --from` finishes against SSM once it is back.
#[tokio::test]
async fn ssm_lost_after_the_exchange_gets_a_recovery_file_and_push_finishes() {
    let mut gone = Moto::start();
    gone.seed_placeholders(PREFIX, None).await;
    let s = Session::new(loopback_config()).await;
    let env = init_env(&gone);
    let mut stopped = None;
    let clock = Instant::now();
    let out = s
        .consenting(&init_args(&s), &borrowed(&env), |line, _| {
            // The preflight passed; the operator is about to consent. AWS goes away.
            if stopped.is_none() && line.contains("/authorize?") {
                gone.stop();
                stopped = Some(Instant::now());
            }
        })
        .await;
    let total = clock.elapsed();
    let stopped = stopped.expect("the authorize URL was printed");
    eprintln!(
        "init: {:?} until the authorize URL, {:?} from stopping moto to exit {}",
        stopped - clock,
        total - (stopped - clock),
        out.code
    );
    assert_eq!(out.code, 9, "{}", out.stderr);
    assert!(out.stderr.contains("push --from"), "{}", out.stderr);
    assert!(
        out.stderr.contains("AWS SSM Parameter Store"),
        "names the store that failed: {}",
        out.stderr
    );

    let recovery = &recovery_file(&s, &out.stderr);
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(recovery).unwrap()).unwrap();
    let saved_value = |suffix: &str| {
        saved["secrets"][format!("{PREFIX}{suffix}")]
            .as_str()
            .unwrap_or_else(|| panic!("the recovery file holds {suffix}: {saved}"))
            .to_string()
    };
    let refresh = saved_value("REFRESH_TOKEN");
    assert!(
        s.sim.is_live_refresh_token(&refresh),
        "the saved refresh token is live"
    );
    assert_eq!(saved_value("CLIENT_ID"), CLIENT_ID);
    assert_eq!(saved_value("CLIENT_SECRET"), CLIENT_SECRET);
    let access: Value = serde_json::from_str(&saved_value("ACCESS_TOKEN")).unwrap();
    let access_token = access["token"].as_str().unwrap().to_string();
    let leaks = [CLIENT_SECRET.to_string(), refresh.clone(), access_token];
    let mut with_codes = leaks.to_vec();
    with_codes.extend(codes(&out.redirects));
    no_secrets(&out.all(), &with_codes);

    // AWS is back, fresh: Terraform's placeholders again, nothing of the failed run.
    let back = Moto::start();
    back.seed_placeholders(PREFIX, None).await;
    let env = back.env();

    // A push aimed at another kind of store is refused: these tokens are SSM's, and the error
    // names the whole command.
    let elsewhere = strings(&[
        "push",
        "--from",
        recovery.to_str().unwrap(),
        "--store",
        "file",
    ]);
    let refused = s
        .run_with(&elsewhere, &borrowed(&env), &[], Browser::Nothing)
        .await;
    assert_eq!(refused.code, 3, "{}", refused.all());
    assert!(
        refused.stderr.contains("--store aws-ssm"),
        "{}",
        refused.stderr
    );
    assert!(recovery.exists(), "a refused push keeps the recovery file");
    assert!(
        !s.path("psoxy-jira-cloud.secrets.json").exists(),
        "nothing went to the default file store"
    );

    // The failed run printed the whole command; `push --from FILE` alone does the same, since
    // the recovery file records the store options.
    let printed = out
        .stderr
        .split('`')
        .find(|part| part.starts_with("jira-psoxy-setup push --from"))
        .unwrap_or_else(|| panic!("a push command in backquotes: {}", out.stderr));
    assert!(
        printed.contains("--store aws-ssm --aws-region us-east-1"),
        "{printed}"
    );
    let push = strings(&["push", "--from", recovery.to_str().unwrap()]);
    let clock = Instant::now();
    let out = s
        .run_with(&push, &borrowed(&env), &[], Browser::Nothing)
        .await;
    eprintln!("push took {:?}", clock.elapsed());
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stderr
            .contains("the store the failed run used: --store aws-ssm"),
        "{}",
        out.stderr
    );
    assert!(
        !recovery.exists(),
        "the recovery file is deleted after a successful push"
    );
    let ssm = back.ssm().await;
    for suffix in NAMES {
        assert_eq!(
            value(&ssm, suffix).await,
            saved_value(suffix),
            "{suffix} as saved"
        );
        assert!(
            out.stdout.contains(&format!("wrote {PREFIX}{suffix}")),
            "{}",
            out.stdout
        );
        let p = param(&ssm, &format!("{PREFIX}{suffix}")).await.unwrap();
        assert!(p.version > 1, "{suffix} was overwritten");
    }
    assert!(
        s.sim
            .is_live_refresh_token(&value(&ssm, "REFRESH_TOKEN").await)
    );
    assert_eq!(
        tag(&ssm, CLOUD_ID).await.as_deref(),
        Some(SimSite::numbered(1).id.as_str())
    );
    let issued = issued_at(&ssm).await;
    let saved_issued = saved["family_issued_at"]
        .as_str()
        .expect("the recovery file records the issue date");
    let saved_issued = DateTime::parse_from_rfc3339(saved_issued)
        .unwrap()
        .with_timezone(&Utc);
    assert!(
        (issued - saved_issued).num_milliseconds().abs() <= 1,
        "the family issue date is the exchange's ({saved_issued}), not the push's ({issued})"
    );
    assert!(
        param(&ssm, LOCK).await.is_none(),
        "the refresh lock was released"
    );
    no_secrets(&out.all(), &leaks);
}

/// The worse moment: the network to SSM fails after the refresh lock was taken, so the writes
/// themselves fail, and are retried (the SDK's attempts inside the wizard's) before giving up.
/// The tokens still go to a recovery file, which also names the lock the run could not release,
/// so `push --from` takes that lock back at once and finishes.
#[tokio::test]
async fn ssm_lost_after_the_lock_was_taken_still_keeps_the_tokens() {
    let moto = Moto::start();
    moto.seed_placeholders(PREFIX, None).await;
    let relay = Relay::start(moto.port, LOCK).await;
    let s = Session::new(loopback_config()).await;
    let env = init_env_through(&moto, &relay);
    let clock = Instant::now();
    let mut storing = None;
    let out = s
        .consenting(&init_args(&s), &borrowed(&env), |line, _| {
            if storing.is_none() && line.contains("Storing the secrets") {
                storing = Some(Instant::now());
            }
        })
        .await;
    let total = clock.elapsed();
    let storing = storing.expect("the store step began");
    eprintln!(
        "init: {:?} until the store step, {:?} in it until exit {}",
        storing - clock,
        total - (storing - clock),
        out.code
    );
    assert!(relay.is_cut(), "the lock was taken through the relay");
    assert_eq!(out.code, 9, "{}", out.stderr);
    assert!(out.stderr.contains("push --from"), "{}", out.stderr);
    assert!(
        out.stderr.contains("could not release the refresh lock"),
        "{}",
        out.stderr
    );
    let recovery = recovery_file(&s, &out.stderr);
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&recovery).unwrap()).unwrap();
    let refresh = saved["secrets"][REFRESH].as_str().unwrap().to_string();
    assert!(s.sim.is_live_refresh_token(&refresh));
    let leaks = vec![CLIENT_SECRET.to_string(), refresh.clone()];
    no_secrets(&out.all(), &leaks);

    // SSM itself kept its state: nothing was written, and our lock is still there.
    let ssm = moto.ssm().await;
    for suffix in NAMES {
        assert_eq!(value(&ssm, suffix).await, PLACEHOLDER, "{suffix}");
    }
    let lock = param(&ssm, LOCK)
        .await
        .expect("the lock the run could not release");
    assert!(lock.value.starts_with("locked_"), "{}", lock.value);

    // The recovery file remembers that lock, so `push` takes it back at once, without waiting
    // out the proxy's two-minute lease.
    assert_eq!(
        format!("locked_{}", saved["own_lock_ms"]),
        lock.value,
        "the recovery file names our lock"
    );
    let pushed_at = Instant::now();
    let env = moto.env();
    let push = strings(&[
        "push",
        "--from",
        recovery.to_str().unwrap(),
        "--store",
        "aws-ssm",
    ]);
    let out = s
        .run_with(&push, &borrowed(&env), &[], Browser::Nothing)
        .await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stderr
            .contains("took back the refresh lock an earlier run of this tool left behind"),
        "{}",
        out.stderr
    );
    assert!(
        pushed_at.elapsed() < std::time::Duration::from_secs(30),
        "no wait for the lease"
    );
    assert!(!recovery.exists());
    assert_eq!(value(&ssm, "REFRESH_TOKEN").await, refresh);
    assert_eq!(value(&ssm, "CLIENT_SECRET").await, CLIENT_SECRET);
    assert!(param(&ssm, LOCK).await.is_none(), "released this time");
    no_secrets(&out.all(), &leaks);
}
