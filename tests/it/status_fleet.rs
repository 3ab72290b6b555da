//! One look at every deployment: an operator with Jira and Confluence in two stores (AWS SSM on
//! moto, and a local file) runs a plain `status`, and monitoring reads the same as JSON or as a
//! node_exporter textfile.

use crate::support;

use std::process::Command;
use std::time::{Duration, Instant};

use chrono::Utc;
use jira_psoxy_setup::sim::{CONFLUENCE_SCOPES, SimConfig};
use serde_json::Value;
use support::deadline::output_within;
use support::moto::Moto;
use support::*;

const JIRA: &str = "PSOXY_JIRA_CLOUD_";
const CONFLUENCE: &str = "PSOXY_CONFLUENCE_CLOUD_";

/// One app with both products' permissions, so one session sets up Jira and Confluence.
fn both_products() -> SimConfig {
    let base = loopback_config();
    let mut app_scopes = base.app_scopes.clone();
    app_scopes.extend(CONFLUENCE_SCOPES.iter().map(|s| s.to_string()));
    SimConfig {
        app_scopes,
        unlisted_scopes: SimConfig::confluence().unlisted_scopes,
        ..base
    }
}

struct Fleet {
    s: Session,
    moto: Moto,
}

impl Fleet {
    /// `status` with `args`, moto's environment and the session's HOME.
    async fn status(&self, args: &[&str]) -> Output {
        let env = self.moto.env();
        self.s
            .run_with(
                &with(strings(&["status"]), args),
                &borrowed(&env),
                &[],
                Browser::Nothing,
            )
            .await
    }

    /// `status --json`: (exit code, the array).
    async fn rows(&self, args: &[&str]) -> (i32, Vec<Value>) {
        let out = self
            .status(
                &with(strings(&["--json"]), args)
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>(),
            )
            .await;
        let rows: Value = serde_json::from_str(&out.stdout)
            .unwrap_or_else(|e| panic!("status --json prints JSON ({e}): {}", out.all()));
        (out.code, rows.as_array().expect("an array").clone())
    }

    fn file_name(&self, connector: &str, prefix: &str) -> String {
        format!(
            "{connector}@file:{}:{prefix}",
            self.s.secrets_file().display()
        )
    }
}

fn ssm_name(connector: &str, prefix: &str) -> String {
    format!("{connector}@aws-ssm:us-east-1:{prefix}")
}

/// Jira and Confluence, each in the file store and in SSM (Terraform's placeholders seeded),
/// set up by `init` through the binary: four deployments remembered.
async fn four_deployments() -> Fleet {
    let moto = Moto::start();
    moto.seed_placeholders(JIRA, None).await;
    moto.seed_placeholders(CONFLUENCE, None).await;
    let s = Session::new(both_products()).await;
    let mut env = moto.env();
    env.push(("JIRA_CLIENT_SECRET", CLIENT_SECRET.to_string()));
    for connector in ["jira-cloud", "confluence-cloud"] {
        for ssm in [false, true] {
            let mut args = with(s.init_args(), &["--connector", connector]);
            if ssm {
                args = on_store(args, strings(&["--store", "aws-ssm"]));
            }
            let out = s.consents(&args, &borrowed(&env)).await;
            assert_eq!(out.code, 0, "init {connector} (ssm: {ssm}): {}", out.stderr);
        }
    }
    Fleet { s, moto }
}

/// Moves a file-store family's recorded issue date, as if it were `days` old.
fn age_file_family(f: &Fleet, prefix: &str, days: i64) {
    let mut secrets = f.s.secrets();
    let issued = (Utc::now() - chrono::Duration::days(days)).to_rfc3339();
    secrets["_jira_psoxy_setup"]["families"][prefix]["family_issued_at"] = Value::String(issued);
    std::fs::write(f.s.secrets_file(), secrets.to_string()).unwrap();
}

fn by_name<'a>(rows: &'a [Value], name: &str) -> &'a Value {
    rows.iter()
        .find(|r| r["deployment"] == name)
        .unwrap_or_else(|| panic!("no row {name}: {rows:#?}"))
}

#[tokio::test]
async fn one_status_reports_both_connectors_in_both_stores_and_the_worst_health_decides() {
    let f = four_deployments().await;
    let (code, rows) = f.rows(&[]).await;
    assert_eq!(code, 0, "{rows:#?}");
    let mut names: Vec<&str> = rows
        .iter()
        .map(|r| r["deployment"].as_str().unwrap())
        .collect();
    names.sort();
    let mut expected = vec![
        f.file_name("jira-cloud", JIRA),
        ssm_name("jira-cloud", JIRA),
        f.file_name("confluence-cloud", CONFLUENCE),
        ssm_name("confluence-cloud", CONFLUENCE),
    ];
    expected.sort();
    assert_eq!(names, expected);
    for row in &rows {
        assert_eq!(row["health"], "ok", "{row}");
        assert_eq!(row["reachable"], true, "{row}");
        assert_eq!(row["demo"], false, "{row}");
        assert_eq!(row["days_left"], 365, "{row}");
        assert_eq!(row["refresh_token_idle_days"], 0, "{row}");
    }

    // The table: a header and one row each.
    let out = f.status(&[]).await;
    assert_eq!(out.code, 0, "{}", out.all());
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(lines[0].starts_with("DEPLOYMENT"), "{}", out.stdout);
    assert_eq!(lines.len(), 5, "{}", out.stdout);
    for name in &expected {
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with(name.as_str()) && l.contains(" ok ") && l.contains("365")),
            "{name}: {}",
            out.stdout
        );
    }

    // One family near its deadline: warn (10); another past it: critical (11), the rest stay ok.
    age_file_family(&f, CONFLUENCE, 340);
    let (code, rows) = f.rows(&[]).await;
    assert_eq!(code, 10, "{rows:#?}");
    assert_eq!(
        by_name(&rows, &f.file_name("confluence-cloud", CONFLUENCE))["health"],
        "warn"
    );
    age_file_family(&f, JIRA, 400);
    let (code, rows) = f.rows(&[]).await;
    assert_eq!(code, 11, "{rows:#?}");
    let expired = by_name(&rows, &f.file_name("jira-cloud", JIRA));
    assert_eq!(expired["health"], "critical");
    let problems = expired["problems"].to_string();
    let renew_this = format!(
        "run `jira-psoxy-setup renew --store file --file {} --prefix {JIRA} --redirect-uri {}`",
        f.s.secrets_file().display(),
        f.s.redirect_uri
    );
    assert!(
        problems.contains("expired") && problems.contains(&renew_this),
        "the command renews this deployment: {expired}"
    );
    assert_eq!(
        by_name(&rows, &ssm_name("jira-cloud", JIRA))["health"],
        "ok"
    );

    // --connector narrows to one connector's deployments.
    let (code, rows) = f.rows(&["--connector", "confluence-cloud"]).await;
    assert_eq!(code, 10, "{rows:#?}");
    assert_eq!(rows.len(), 2, "{rows:#?}");
    assert!(rows.iter().all(|r| r["connector"] == "confluence-cloud"));
}

#[tokio::test]
async fn an_unreachable_store_is_one_row_and_the_others_are_still_reported() {
    let mut f = four_deployments().await;
    f.moto.stop();
    let started = Instant::now();
    let (code, rows) = f.rows(&["--timeout", "20"]).await;
    let took = started.elapsed();
    assert_eq!(code, 11, "{rows:#?}");
    assert_eq!(rows.len(), 4);
    for row in &rows {
        let on_ssm = row["deployment"].as_str().unwrap().contains("@aws-ssm:");
        assert_eq!(row["reachable"], !on_ssm, "{row}");
        if on_ssm {
            assert_eq!(row["health"], "critical", "{row}");
            assert!(
                row["problems"][0]
                    .as_str()
                    .unwrap()
                    .starts_with("unreachable:"),
                "{row}"
            );
        } else {
            assert_eq!(row["health"], "ok", "the file store is still read: {row}");
            assert_eq!(row["days_left"], 365, "{row}");
        }
    }
    assert!(took < Duration::from_secs(25), "took {took:?}");
    let out = f.status(&[]).await;
    let unreachable = out
        .stdout
        .lines()
        .filter(|l| l.contains(" unreachable "))
        .count();
    assert_eq!(unreachable, 2, "{}", out.stdout);
}

#[tokio::test]
async fn forget_removes_a_deployment_and_a_team_file_checks_the_same_set_elsewhere() {
    let f = four_deployments().await;
    let registry = f.s.path("home/.config/jira-psoxy-setup/deployments.json");
    let team = f.s.path("team-deployments.json");
    std::fs::copy(&registry, &team).unwrap();

    // The last run was Confluence on SSM: forgetting it also deletes the last-run files naming it.
    let gone = ssm_name("confluence-cloud", CONFLUENCE);
    let out = f.status(&["--forget", &gone]).await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stdout.contains(&format!("forgot {gone}")),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("last-run.json"), "{}", out.stdout);
    let (code, rows) = f.rows(&[]).await;
    assert_eq!(code, 0);
    assert_eq!(rows.len(), 3, "{rows:#?}");
    assert!(rows.iter().all(|r| r["deployment"] != gone.as_str()));
    let out = f.status(&["--forget", &gone]).await;
    assert_eq!(out.code, 3, "{}", out.all());
    assert!(
        out.stderr.contains("no remembered deployment is named"),
        "{}",
        out.stderr
    );

    // A monitoring host that never ran init: a fresh HOME and the team's copy of the list.
    let fresh = f.s.path("monitoring-home");
    std::fs::create_dir(&fresh).unwrap();
    let mut env = f.moto.env();
    env.push(("HOME", fresh.display().to_string()));
    let args = strings(&["status", "--json", "--deployments", team.to_str().unwrap()]);
    let out =
        f.s.run_with(&args, &borrowed(&env), &[], Browser::Nothing)
            .await;
    assert_eq!(out.code, 0, "{}", out.all());
    let rows: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 4, "{rows:#}");
}

/// node_exporter's textfile collector reads `.prom` files whenever it is scraped: the file is
/// always whole (a reader looping over it during 15 runs never sees a partial one), and an
/// independent parser reads every gauge with its labels, escaped where a path needs it.
#[tokio::test]
async fn the_textfile_is_whole_whenever_read_and_an_independent_parser_reads_it() {
    let s = Session::new(both_products()).await;
    // A directory name with a quote and a backslash: the `store` label must escape both.
    let odd = s.path("odd \"dir\\ name");
    std::fs::create_dir(&odd).unwrap();
    let file = odd.join("secrets.json");
    for connector in ["jira-cloud", "confluence-cloud"] {
        let mut args = with(s.init_args(), &["--connector", connector]);
        let at = args.iter().position(|a| a == "--file").unwrap();
        args[at + 1] = file.display().to_string();
        let out = s.run(&args, Browser::Follow { accept: true }).await;
        assert_eq!(out.code, 0, "{}", out.stderr);
    }
    let prom_dir = s.path("textfile");
    std::fs::create_dir(&prom_dir).unwrap();
    let prom = prom_dir.join("psoxy_oauth.prom");
    let stop = s.path("stop-reading");
    let run = || {
        let out = s_status(&s, &["status", "--textfile", prom.to_str().unwrap()]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.stdout.is_empty(), "nothing on stdout with --textfile");
    };
    run();
    let reader = support::prom::Reader::start(&prom, &stop);
    for _ in 0..15 {
        run();
    }
    std::fs::write(&stop, "").unwrap();
    let (reads, bad) = reader.finish();
    assert!(reads > 15, "the reader read the file {reads} times");
    assert_eq!(bad, None, "a reader saw a partial file");
    let left: Vec<_> = std::fs::read_dir(&prom_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        left,
        [std::ffi::OsString::from("psoxy_oauth.prom")],
        "no temporary file left"
    );

    let samples = support::prom::samples(&prom);
    let store = format!("file:{}", file.display());
    for (connector, prefix) in [("jira-cloud", JIRA), ("confluence-cloud", CONFLUENCE)] {
        let value = |name: &str| {
            samples
                .iter()
                .find(|s| {
                    s["name"] == name
                        && s["labels"]["connector"] == connector
                        && s["labels"]["prefix"] == prefix
                        && s["labels"]["store"] == store.as_str()
                })
                .unwrap_or_else(|| panic!("{name} for {connector} in {samples:#?}"))["value"]
                .as_f64()
                .unwrap()
        };
        assert_eq!(value("psoxy_oauth_family_days_left"), 365.0);
        assert_eq!(value("psoxy_oauth_refresh_token_idle_days"), 0.0);
        assert_eq!(value("psoxy_oauth_health"), 0.0);
        assert_eq!(value("psoxy_oauth_store_reachable"), 1.0);
    }
    let stamp = samples
        .iter()
        .find(|s| s["name"] == "psoxy_oauth_status_check_timestamp_seconds")
        .expect("the check's timestamp");
    let age = Utc::now().timestamp() as f64 - stamp["value"].as_f64().unwrap();
    assert!((0.0..120.0).contains(&age), "{stamp}");
    assert!(samples.iter().all(|s| s["type"] == "gauge"));
}

/// The binary as cron starts it: `env -i` and HOME (and nothing else), output captured.
pub(crate) fn s_status(s: &Session, args: &[&str]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_jira-psoxy-setup"));
    cmd.args(args)
        .env_clear()
        .env("HOME", s.path("home"))
        .current_dir(s.dir.path());
    output_within(&mut cmd, RUN_LIMIT)
}
