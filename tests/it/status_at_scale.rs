//! `status` at scale and from cron: a healthy cron run says nothing, twenty deployments are read
//! at once, and each deployment has its own deadline, so one hanging store costs one timeout.

use crate::support;

use std::process::Command;
use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::Value;
use support::deadline::output_within;
use support::moto::Moto;
use support::*;

use crate::status_fleet::s_status;

const JIRA: &str = "PSOXY_JIRA_CLOUD_";

#[tokio::test]
async fn a_cron_run_is_silent_when_healthy_and_a_fresh_home_gets_one_line() {
    let s = Session::new(loopback_config()).await;
    let out = s_status(&s, &["status"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("no deployment is remembered")
            && stderr.contains("--store")
            && stderr.contains("--deployments"),
        "{stderr}"
    );
    let mut no_home = Command::new(env!("CARGO_BIN_EXE_jira-psoxy-setup"));
    no_home.arg("status").env_clear().current_dir(s.dir.path());
    let out = output_within(&mut no_home, RUN_LIMIT);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(String::from_utf8_lossy(&out.stderr).lines().count(), 1);

    let out = s
        .run(&s.init_args(), Browser::Follow { accept: true })
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = s_status(&s, &["status"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "",
        "silent on stderr when healthy"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains(" ok "));

    // The secrets file is gone: said once, not every secret "missing".
    std::fs::remove_file(s.secrets_file()).unwrap();
    let out = s_status(&s, &["status"]);
    assert_eq!(out.status.code(), Some(11));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.matches("does not exist").count(), 1, "{stdout}");
    assert!(!stdout.contains("missing"), "{stdout}");
}

/// `n` healthy Jira deployments in moto's SSM (`ENV<i>_JIRA_CLOUD_`), as `--deployments` entries.
async fn ssm_deployments(moto: &Moto, n: usize) -> Vec<Value> {
    let ssm = moto.ssm().await;
    let issued = Utc::now().to_rfc3339();
    let mut all = Vec::new();
    for i in 1..=n {
        let prefix = format!("ENV{i}_JIRA_CLOUD_");
        for name in [
            "CLIENT_ID",
            "CLIENT_SECRET",
            "REFRESH_TOKEN",
            "ACCESS_TOKEN",
        ] {
            moto.put(&ssm, &format!("{prefix}{name}"), "value", None)
                .await;
        }
        let tag = aws_sdk_ssm::types::Tag::builder()
            .key("jira-psoxy-setup:family-issued-at")
            .value(&issued)
            .build()
            .unwrap();
        ssm.add_tags_to_resource()
            .resource_type(aws_sdk_ssm::types::ResourceTypeForTagging::Parameter)
            .resource_id(format!("{prefix}REFRESH_TOKEN"))
            .tags(tag)
            .send()
            .await
            .unwrap();
        all.push(serde_json::json!({
            "connector": "jira-cloud",
            "store": {"kind": "aws-ssm", "region": "us-east-1"},
            "prefix": prefix,
        }));
    }
    all
}

/// A team's `--deployments` file with these entries.
fn deployments_file(s: &Session, name: &str, entries: &[Value]) -> String {
    let path = s.path(name);
    std::fs::write(
        &path,
        serde_json::json!({ "deployments": entries }).to_string(),
    )
    .unwrap();
    path.display().to_string()
}

/// moto's environment, but reached through `endpoint` (a relay).
fn through(moto: &Moto, endpoint: &str) -> Vec<(&'static str, String)> {
    let mut env = moto.env();
    for (k, v) in env.iter_mut() {
        if *k == "AWS_ENDPOINT_URL" {
            *v = endpoint.to_string();
        }
    }
    env
}

/// 20 deployments in a region 50 ms away (a relay in front of moto) are read a few at a time:
/// the run takes less than its requests' latencies added up, which reading them one after
/// another would take at the least (so it holds on a loaded machine too). The numbers (printed)
/// are in BENCHMARKS.md.
#[tokio::test]
async fn twenty_deployments_are_read_concurrently() {
    const LATENCY: Duration = Duration::from_millis(50);
    let moto = Moto::start();
    let s = Session::new(loopback_config()).await;
    let all = ssm_deployments(&moto, 20).await;
    let one = deployments_file(&s, "one.json", &all[..1]);
    let twenty = deployments_file(&s, "twenty.json", &all);
    let relay = support::relay::Relay::delaying(moto.port, LATENCY).await;
    let far = through(&moto, &relay.endpoint);
    // (wall time, requests relayed)
    let time = |file: &str, n: usize| {
        let args = strings(&["status", "--json", "--deployments", file]);
        let (s, far, relay) = (&s, &far, &relay);
        async move {
            let (started, before) = (Instant::now(), relay.relayed());
            let out = s
                .run_with(&args, &borrowed(far), &[], Browser::Nothing)
                .await;
            let took = started.elapsed();
            assert_eq!(out.code, 0, "{}", out.all());
            let rows: Value = serde_json::from_str(&out.stdout).unwrap();
            assert_eq!(rows.as_array().unwrap().len(), n);
            (took, relay.relayed() - before)
        }
    };
    time(&one, 1).await; // warm-up
    let (mut ones, mut twenties) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        ones.push(time(&one, 1).await);
        twenties.push(time(&twenty, 20).await);
    }
    ones.sort();
    twenties.sort();
    let ((one, _), (twenty, requests)) = (ones[1], twenties[1]);
    let one_by_one = LATENCY * u32::try_from(requests).unwrap();
    eprintln!(
        "status over 1 deployment: {one:?}, over 20: {twenty:?} (medians of 3; {requests} requests, {LATENCY:?} each: {one_by_one:?} one after another)"
    );
    assert!(
        twenty < one_by_one * 4 / 5,
        "20 deployments took {twenty:?}, their {requests} requests' latency adds up to {one_by_one:?}: the reads are not concurrent"
    );
}

/// Each deployment has its own deadline, and at most `PARALLEL_READS` (6) are read at once: 12
/// stores that never answer, with `--timeout 2`, take two rounds of 2 s (not 12 of them), and a
/// file store beside them is still reported.
#[tokio::test]
async fn deadlines_are_per_deployment_and_reads_are_bounded() {
    let moto = Moto::start();
    let s = initialized(loopback_config(), &[]).await;
    let mut entries = ssm_deployments(&moto, 12).await;
    entries.push(serde_json::json!({
        "store": {"kind": "file", "path": s.secrets_file()},
        "prefix": JIRA,
    }));
    let file = deployments_file(&s, "hanging.json", &entries);
    let hole = support::relay::Relay::stalling(moto.port, |_| true).await;
    let args = strings(&["status", "--json", "--timeout", "2", "--deployments", &file]);
    let started = Instant::now();
    let out = s
        .run_with(
            &args,
            &borrowed(&through(&moto, &hole.endpoint)),
            &[],
            Browser::Nothing,
        )
        .await;
    let took = started.elapsed();
    eprintln!("12 stores that never answer and a file store, --timeout 2: {took:?}");
    assert_eq!(out.code, 11, "{}", out.all());
    let rows: Value = serde_json::from_str(&out.stdout).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 13);
    for row in &rows[..12] {
        assert_eq!(row["reachable"], false, "{row}");
        assert!(
            row["problems"][0]
                .as_str()
                .unwrap()
                .contains("no answer within 2s"),
            "{row}"
        );
    }
    assert_eq!(rows[12]["health"], "ok", "{}", rows[12]);
    assert!(
        took >= Duration::from_secs(4) && took < Duration::from_secs(12),
        "12 hanging stores took {took:?}: expected two rounds of the 2 s deadline"
    );
}
