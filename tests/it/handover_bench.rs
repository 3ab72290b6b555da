//! What the handover adds to `renew`, per store (BENCHMARKS.md): the real binary, the emulators.
//! The suite runs each store once and holds the handover to its promise (no wait where the proxy
//! sees the new access token; the whole cache TTL where it cannot); BENCHMARKS.md's medians come
//! from `HANDOVER_BENCH_RUNS=5 cargo test --test it handover_bench -- --nocapture`.

use crate::support::gcp_fake::GcpFake;
use crate::support::moto::Moto;
use crate::support::standin;
use crate::support::*;
use crate::support::{sm_story, ssm_story};

/// The handover's own time (the `-v` log line `handover_ms=`) and the whole `renew`'s, per store.
#[tokio::test]
async fn the_handover_waits_only_where_the_proxy_cannot_see_the_new_access_token() {
    let runs: usize = std::env::var("HANDOVER_BENCH_RUNS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1)
        .max(1);
    let moto = Moto::start();
    moto.seed_placeholders(ssm_story::PREFIX, None).await;
    let moto_sm = Moto::start();
    sm_story::seed_deployment(&moto_sm, None).await;
    let moto_many = Moto::start();
    moto_many.seed_placeholders(ssm_story::PREFIX, None).await;
    standin::months_of_refreshes(&moto_many, ssm_story::PREFIX).await;
    let fake = GcpFake::start("acme-prod").await;
    fake.terraform("psoxy_JIRA_CLOUD_");
    let with_secret = |mut env: Vec<(&'static str, String)>| {
        env.push(("JIRA_CLIENT_SECRET", CLIENT_SECRET.to_string()));
        env
    };
    let s = Session::new(loopback_config()).await;
    let file = s.secrets_file().display().to_string();
    let mut many_env = with_secret(moto_many.env());
    many_env.extend(standin::timing_env());
    let stores = vec![
        (
            "file",
            strings(&["--store", "file", "--file", &file]),
            with_secret(vec![]),
            "PSOXY_JIRA_CLOUD_",
        ),
        (
            "aws-ssm",
            strings(&["--store", "aws-ssm"]),
            with_secret(moto.env()),
            ssm_story::PREFIX,
        ),
        (
            "aws-ssm, 100 versions (test clocks)",
            strings(&["--store", "aws-ssm"]),
            many_env,
            ssm_story::PREFIX,
        ),
        (
            "aws-secrets-manager",
            sm_story::store_flags(),
            with_secret(moto_sm.env()),
            ssm_story::PREFIX,
        ),
        (
            "gcp-secret-manager",
            fake.store_flags(),
            with_secret(vec![]),
            "psoxy_JIRA_CLOUD_",
        ),
    ];
    for (label, flags, env, _prefix) in stores {
        let init = s
            .consents(&on_store(s.init_args(), flags.clone()), &borrowed(&env))
            .await;
        assert_eq!(init.code, 0, "{label} init: {}", init.stderr);
        let mut handover = Vec::new();
        let mut total = Vec::new();
        for _ in 0..runs {
            let started = std::time::Instant::now();
            let out = s
                .consents(
                    &with(on_store(s.renew_args(), flags.clone()), &["-v"]),
                    &borrowed(&env),
                )
                .await;
            total.push(started.elapsed().as_millis());
            assert_eq!(out.code, 0, "{label}: {}", out.stderr);
            let ms: u128 = out
                .stderr
                .split("handover_ms=")
                .nth(1)
                .and_then(|t| t.split(|c: char| !c.is_ascii_digit()).next())
                .and_then(|t| t.parse().ok())
                .unwrap_or_else(|| panic!("{label}: no handover_ms in {}", out.stderr));
            handover.push(ms);
        }
        handover.sort_unstable();
        total.sort_unstable();
        let (handover_median, total_median) = (handover[runs / 2], total[runs / 2]);
        println!(
            "BENCH {label}: handover {handover:?} ms (median {handover_median}), renew {total:?} ms (median {total_median})"
        );
        if label.contains("100 versions") {
            // The proxy cannot see the new version: the lock is held past every cache.
            assert!(
                handover_median >= standin::TTL.as_millis(),
                "{label}: held only {handover_median} ms, the cache lives {} ms",
                standin::TTL.as_millis()
            );
        } else {
            // The proxy reads the new access token: one read, no waiting.
            assert!(
                handover_median < 3_000,
                "{label}: the handover took {handover_median} ms where the proxy sees the new token"
            );
        }
    }
}
