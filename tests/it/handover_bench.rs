//! BENCHMARKS.md's measurement of the handover (see `handover`): the real binary, the emulators.

use crate::handover::gcp_flags;
use crate::support::gcp_fake::GcpFake;
use crate::support::moto::Moto;
use crate::support::standin::{self, expired_access_token};
use crate::support::*;
use crate::support::{sm_story, ssm_story};

/// BENCHMARKS.md: what the handover adds to `renew`, per store (median of 5): its own time, from
/// the `-v` log line `handover_ms=`. Run with `cargo test --test it handover_bench::bench -- --ignored
/// --nocapture`.
#[tokio::test]
#[ignore = "a measurement, not a test"]
async fn bench_the_time_the_handover_adds_to_renew() {
    let moto = Moto::start();
    moto.seed_placeholders(ssm_story::PREFIX, None).await;
    let moto_sm = Moto::start();
    sm_story::seed_deployment(&moto_sm, None).await;
    let moto_many = Moto::start();
    moto_many.seed_placeholders(ssm_story::PREFIX, None).await;
    let ssm = moto_many.ssm().await;
    for n in 0..99 {
        ssm.put_parameter()
            .name(format!("{}ACCESS_TOKEN", ssm_story::PREFIX))
            .value(expired_access_token(n))
            .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
            .overwrite(true)
            .send()
            .await
            .unwrap();
    }
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
            gcp_flags(&fake),
            with_secret(vec![]),
            "psoxy_JIRA_CLOUD_",
        ),
    ];
    for (label, flags, env, _prefix) in stores {
        let init = s
            .run_with(
                &on_store(s.init_args(), flags.clone()),
                &borrowed(&env),
                &[],
                Browser::Follow { accept: true },
            )
            .await;
        assert_eq!(init.code, 0, "{label} init: {}", init.stderr);
        let mut handover = Vec::new();
        let mut total = Vec::new();
        for _ in 0..5 {
            let started = std::time::Instant::now();
            let out = s
                .run_with(
                    &with(on_store(s.renew_args(), flags.clone()), &["-v"]),
                    &borrowed(&env),
                    &[],
                    Browser::Follow { accept: true },
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
        println!(
            "BENCH {label}: handover {:?} ms (median {}), renew {:?} ms (median {})",
            handover, handover[2], total, total[2]
        );
    }
}
