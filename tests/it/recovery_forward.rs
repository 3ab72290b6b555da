//! The recovery path only moves the store forward. A recovery file whose family the store already
//! holds (refreshed by the proxy since) or has moved past (a later run stored a newer one) is
//! obsolete: `status` and `init` stop pointing at it and delete it, and `push` writes nothing,
//! says why, and deletes it. Writing such a file back would put a spent refresh token in the
//! store, and the proxy's next refresh would kill the family with `invalid_grant`.

use crate::support;
use crate::support::moto;
use crate::support::relay;
use crate::support::ssm_story;

use std::path::{Path, PathBuf};

use aws_sdk_ssm::types::ParameterType;
use moto::Moto;
use relay::Relay;
use serde_json::Value;
use ssm_story::*;
use support::*;

/// What the proxy does an hour later: refresh, and store the rotated refresh token (tags stay).
const ROTATED: &str = "rt-2-rotated-by-the-proxy";

fn saved_refresh(path: &Path, name: &str) -> String {
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    saved["secrets"][name].as_str().unwrap().to_string()
}

/// A copy of a recovery file, as an operator keeps one (0600, beside the session).
fn keep_copy(s: &Session, from: &Path, name: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let copy = s.path(name);
    std::fs::copy(from, &copy).unwrap();
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o600)).unwrap();
    copy
}

/// The issue's reproduction: the values (and their issue date) landed, then the run was killed
/// while deleting the lock. The proxy rotates RT1 -> RT2. `status` must not advise pushing RT1,
/// and `push` must not write it back.
#[tokio::test]
async fn a_family_the_proxy_refreshed_since_is_never_written_back() {
    let moto = Moto::start();
    moto.seed_placeholders(PREFIX, None).await;
    let s = Session::new(loopback_config()).await;
    let recovery = init_killed_while_unlocking(&s, &moto).await;
    let rt1 = saved_refresh(&recovery, REFRESH);
    let ssm = moto.ssm().await;
    assert_eq!(value(&ssm, "REFRESH_TOKEN").await, rt1, "the values landed");
    let issued = issued_at(&ssm).await;

    // The proxy refreshes: RT1 is spent, RT2 stored.
    ssm.put_parameter()
        .name(REFRESH)
        .value(ROTATED)
        .r#type(ParameterType::SecureString)
        .overwrite(true)
        .send()
        .await
        .unwrap();
    let rotated = param(&ssm, REFRESH).await.unwrap();
    let copy = keep_copy(&s, &recovery, "kept-recovery.json");

    let status = strings(&["status", "--store", "aws-ssm"]);
    let out = s
        .run_with(&status, &borrowed(&moto.env()), &[], Browser::Nothing)
        .await;
    assert_eq!(out.code, 0, "nothing to do: {}", out.all());
    assert!(!out.all().contains("push --from"), "{}", out.all());
    assert!(
        out.stderr.contains("deleted the recovery file") && out.stderr.contains("spent"),
        "{}",
        out.stderr
    );
    assert!(!recovery.exists(), "an obsolete file is deleted");

    let push = strings(&["push", "--from", copy.to_str().unwrap()]);
    let out = s
        .run_with(&push, &borrowed(&moto.env()), &[], Browser::Nothing)
        .await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stderr.contains("nothing to push")
            && out.stderr.contains("this file's token family")
            && out.stderr.contains("deleted the recovery file"),
        "{}",
        out.stderr
    );
    assert!(!out.stdout.contains("wrote "), "{}", out.stdout);
    assert!(!copy.exists());
    assert_eq!(
        param(&ssm, REFRESH).await.unwrap(),
        rotated,
        "RT2 untouched: same value, same version"
    );
    assert_eq!(issued_at(&ssm).await, issued);
    no_secrets(
        &out.all(),
        &[rt1, ROTATED.to_string(), CLIENT_SECRET.to_string()],
    );
}

/// Two runs fail (exit 9), a third succeeds. The two files are behind the store: `status` does
/// not warn about them and deletes them, and a push of either writes nothing and leaves the
/// newest family, and its issue date, in place.
#[tokio::test]
async fn two_failed_runs_then_a_successful_one_leave_nothing_to_push() {
    let s = Session::new(loopback_config()).await;
    let mut failed = Vec::new();
    for _ in 0..2 {
        let (args, _, _, unmount) = s.init_with_vanishing_store("mounted");
        let out = s.run(&args, unmount).await;
        assert_eq!(out.code, 9, "{}", out.stderr);
        failed.push(out.stderr);
    }
    let files = s.recovery_files();
    assert_eq!(files.len(), 2, "{files:?}");
    let copies: Vec<PathBuf> = files
        .iter()
        .enumerate()
        .map(|(i, f)| keep_copy(&s, f, &format!("copy-{i}.json")))
        .collect();

    // The store is back; a third run succeeds (and is told about the two files first: the
    // store holds nothing yet, so they could still be pushed).
    let (mut args, dir, file, _) = s.init_with_vanishing_store("mounted");
    args.retain(|a| a != "--paste");
    assert!(dir.exists());
    let out = s.run(&args, Browser::Follow { accept: true }).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let stored: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let newest = stored[REFRESH].as_str().unwrap().to_string();
    let issued = stored["_jira_psoxy_setup"].clone();

    let status = strings(&["status", "--file", file.to_str().unwrap()]);
    let out = s.run_with(&status, &[], &[], Browser::Nothing).await;
    assert_eq!(out.code, 0, "no warning for obsolete files: {}", out.all());
    assert!(out.stderr.contains("newer token family"), "{}", out.stderr);
    assert!(s.recovery_files().is_empty(), "both deleted");

    // Pushing them anyway, in the order the failed runs printed them, changes nothing.
    for copy in &copies {
        let push = strings(&[
            "push",
            "--from",
            copy.to_str().unwrap(),
            "--store",
            "file",
            "--file",
            file.to_str().unwrap(),
        ]);
        let out = s.run_with(&push, &[], &[], Browser::Nothing).await;
        assert_eq!(out.code, 0, "{}", out.all());
        assert!(out.stderr.contains("nothing to push"), "{}", out.stderr);
        assert!(!copy.exists());
    }
    let after: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(after[REFRESH].as_str(), Some(newest.as_str()));
    assert_eq!(
        after["_jira_psoxy_setup"], issued,
        "issue date not rolled back"
    );
    assert!(s.sim.is_live_refresh_token(&newest));
}

/// Run A hangs mid-write (its recovery file on disk, under its OS lock). A `status` meanwhile
/// does not call A's file an earlier run's leftover, and a `push` of it is refused while A lives;
/// once A is killed, the file is an abandoned one and is pointed at.
#[tokio::test]
async fn a_live_run_s_recovery_file_is_not_an_earlier_run_s() {
    let moto = Moto::start();
    moto.seed_placeholders(PREFIX, None).await;
    let access = format!("\"Name\":\"{PREFIX}ACCESS_TOKEN\"");
    let relay = Relay::stalling(moto.port, move |r| {
        r.contains("AmazonSSM.PutParameter")
            && r.contains(&access)
            && r.contains("\"Overwrite\":true")
    })
    .await;
    let s = Session::new(loopback_config()).await;
    let env = init_env_through(&moto, &relay);
    let stalled = relay.stalled_counter();
    let (seen_tx, seen_rx) = std::sync::mpsc::channel::<(u32, String, String)>();
    let status_env = moto.env();
    let home = s.path("home").display().to_string();
    let on_write = once_on("writing secrets", move |pid| {
        // While A hangs: status and push from another process, then kill A.
        std::thread::spawn(move || {
            let deadline = std::time::Instant::now() + RUN_LIMIT;
            while stalled.load(std::sync::atomic::Ordering::SeqCst) == 0 {
                assert!(
                    std::time::Instant::now() < deadline,
                    "the write never reached the relay"
                );
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            let run = |args: &[&str]| {
                let out = std::process::Command::new(env!("CARGO_BIN_EXE_jira-psoxy-setup"))
                    .args(args)
                    .env_clear()
                    .env("HOME", &home)
                    .env("NO_COLOR", "1")
                    .envs(status_env.iter().map(|(k, v)| (*k, v.as_str())))
                    .output_within_limit();
                format!(
                    "{}\n{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                )
            };
            let status = run(&["status", "--store", "aws-ssm"]);
            let dir = std::path::Path::new(&home).join(".local/state/jira-psoxy-setup");
            let file = std::fs::read_dir(&dir)
                .unwrap()
                .next()
                .unwrap()
                .unwrap()
                .path();
            let push = run(&["push", "--from", file.to_str().unwrap()]);
            seen_tx.send((pid, status, push)).unwrap();
            std::process::Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status()
                .unwrap();
        });
    });
    let out = s
        .consenting(&init_args(&s), &borrowed(&env), on_write)
        .await;
    assert_eq!(out.code, -1, "{}", out.stderr);
    let (_, status, push) = seen_rx
        .recv_timeout(RUN_LIMIT)
        .expect("status and push ran while the run hung");
    assert!(!status.contains("push --from"), "{status}");
    assert!(!status.contains("earlier run"), "{status}");
    assert!(
        push.contains("another run is still using"),
        "a live run's file is not pushed: {push}"
    );
    let files = s.recovery_files();
    assert_eq!(files.len(), 1, "{files:?}");

    // A is dead: its file is now an earlier run's, and the store still needs it.
    let status = strings(&["status", "--store", "aws-ssm"]);
    let out = s
        .run_with(&status, &borrowed(&moto.env()), &[], Browser::Nothing)
        .await;
    assert!(out.stdout.contains("push --from"), "{}", out.all());
}

/// A file whose run was writing when it ended, and a store whose refresh token was written after
/// that, by whom nobody can tell: `push` refuses, naming the secret and the dates (never a
/// value), and writes only with `--force`.
#[tokio::test]
async fn a_store_changed_after_the_run_began_writing_is_pushed_only_with_force() {
    use std::os::unix::fs::PermissionsExt;
    let s = Session::new(loopback_config()).await;
    let name = |k: &str| format!("{PREFIX}{k}");
    let access = r#"{"expirationDate":4102444800000,"token":"at-in-the-file"}"#;
    let store = serde_json::json!({
        name("REFRESH_TOKEN"): "rt-in-the-store",
        "_jira_psoxy_setup": {
            "written_at": { name("REFRESH_TOKEN"): "2026-12-01T13:00:00Z" },
            "families": { PREFIX: { "family_issued_at": "2025-12-20T09:00:00Z" } }
        }
    });
    std::fs::write(s.secrets_file(), store.to_string()).unwrap();
    let file = serde_json::json!({
        "version": 2,
        "created_at": "2026-12-01T12:00:00Z",
        "prefix": PREFIX,
        "family_issued_at": "2026-12-01T12:00:00Z",
        "secrets": { name("REFRESH_TOKEN"): "rt-in-the-file", name("ACCESS_TOKEN"): access },
        "writes_sent": true,
        "store_before": {
            "family_issued_at": "2025-12-20T09:00:00Z",
            "refresh_token_written_at": "2026-12-01T11:30:00Z"
        }
    });
    let from = s.path("recovery.json");
    std::fs::write(&from, file.to_string()).unwrap();
    std::fs::set_permissions(&from, std::fs::Permissions::from_mode(0o600)).unwrap();
    let push = strings(&[
        "push",
        "--from",
        from.to_str().unwrap(),
        "--store",
        "file",
        "--file",
        s.secrets_file().to_str().unwrap(),
    ]);
    let out = s.run_with(&push, &[], &[], Browser::Nothing).await;
    assert_eq!(out.code, 3, "{}", out.all());
    let error = out
        .stderr
        .lines()
        .find(|l| l.starts_with("error:"))
        .unwrap();
    for part in [
        "was not pushed",
        "PSOXY_JIRA_CLOUD_REFRESH_TOKEN was written 2026-12-01 13:00:00 UTC",
        "issued 2025-12-20 09:00:00 UTC",
        "--force",
    ] {
        assert!(error.contains(part), "{part}: {error}");
    }
    no_secrets(
        &out.all(),
        &["rt-in-the-store".to_string(), "rt-in-the-file".to_string()],
    );
    assert!(from.exists());
    assert_eq!(
        serde_json::from_str::<Value>(&std::fs::read_to_string(s.secrets_file()).unwrap()).unwrap()
            [name("REFRESH_TOKEN")],
        "rt-in-the-store"
    );

    let out = s
        .run_with(&with(push, &["--force"]), &[], &[], Browser::Nothing)
        .await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stderr.contains("--force: writing anyway"),
        "{}",
        out.stderr
    );
    assert_eq!(s.secrets()[name("REFRESH_TOKEN")], "rt-in-the-file");
    assert!(!from.exists());
}

/// Killed during its handover, and nothing since: the store holds the file's values, but no
/// running proxy was shown them, and an instance's cache may still hold the old refresh token.
/// `status` keeps the file and says push finishes it; `push` writes the values again under the
/// lock and hands them over, as the run would have (psoxy-contract §8), then deletes the file;
/// the family stays the file's.
#[tokio::test]
async fn a_run_killed_during_its_handover_is_finished_by_push_not_forgotten_by_status() {
    let moto = Moto::start();
    moto.seed_placeholders(PREFIX, None).await;
    let s = Session::new(loopback_config()).await;
    let recovery = init_killed_during_handover(&s, &moto).await;
    let rt1 = saved_refresh(&recovery, REFRESH);
    let ssm = moto.ssm().await;
    assert_eq!(value(&ssm, "REFRESH_TOKEN").await, rt1, "the values landed");
    let issued = issued_at(&ssm).await;

    let status = strings(&["status", "--store", "aws-ssm"]);
    let out = s
        .run_with(&status, &borrowed(&moto.env()), &[], Browser::Nothing)
        .await;
    assert!(recovery.exists(), "status keeps it: {}", out.all());
    assert_eq!(out.code, 10, "{}", out.all());
    assert!(
        out.all().contains("before handing") && out.all().contains("push --from"),
        "{}",
        out.all()
    );

    let push = strings(&["push", "--from", recovery.to_str().unwrap()]);
    let out = s
        .run_with(&push, &borrowed(&moto.env()), &[], Browser::Nothing)
        .await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stderr.contains("ended before handing them over")
            && out
                .stderr
                .contains("the running proxy reads the new access token"),
        "the handover ran: {}",
        out.stderr
    );
    assert!(!recovery.exists(), "the file is deleted once handed over");
    assert_eq!(value(&ssm, "REFRESH_TOKEN").await, rt1, "the same family");
    assert_eq!(issued_at(&ssm).await, issued);
    assert!(param(&ssm, LOCK).await.is_none(), "the lock is released");
    no_secrets(&out.all(), &[rt1, CLIENT_SECRET.to_string()]);
}
