//! A freshly minted token is never lost: the recovery file and `push`, the proxy's refresh lock
//! (waited for, taken over when stale), and Ctrl-C while waiting.

use crate::support;

use chrono::Utc;
use jira_psoxy_setup::sim::SimSite;
use serde_json::Value;
use support::*;

#[tokio::test]
async fn a_store_that_fails_after_the_exchange_gets_a_recovery_file_and_push_finishes() {
    let s = Session::new(loopback_config()).await;
    let (args, sub, file, unmount) = s.init_with_vanishing_store("mounted");
    let out = s.run(&args, unmount).await;
    assert_eq!(out.code, 9, "{}", out.stderr);
    assert!(out.stderr.contains("push --from"), "{}", out.stderr);
    let dir = s.state_dir();
    let recovery = s.recovery_files();
    assert_eq!(recovery.len(), 1);
    assert_eq!(file_mode(&recovery[0]), 0o600);
    assert_eq!(file_mode(&dir), 0o700);
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(&recovery[0]).unwrap()).unwrap();
    assert!(
        s.sim.is_live_refresh_token(
            saved["secrets"]["PSOXY_JIRA_CLOUD_REFRESH_TOKEN"]
                .as_str()
                .unwrap()
        )
    );
    assert_no_secrets(
        &out.all(),
        &[
            CLIENT_SECRET,
            saved["secrets"]["PSOXY_JIRA_CLOUD_REFRESH_TOKEN"]
                .as_str()
                .unwrap(),
        ],
    );

    std::fs::create_dir(&sub).unwrap();
    let push = with(
        vec![],
        &[
            "push",
            "--from",
            recovery[0].to_str().unwrap(),
            "--file",
            file.to_str().unwrap(),
        ],
    );
    let out = s.run_with(&push, &[], &[], Browser::Nothing).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        !recovery[0].exists(),
        "the recovery file is deleted after a successful push"
    );
    let stored: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(
        stored["PSOXY_JIRA_CLOUD_REFRESH_TOKEN"],
        saved["secrets"]["PSOXY_JIRA_CLOUD_REFRESH_TOKEN"]
    );
    assert_eq!(
        stored["_jira_psoxy_setup"]["families"]["PSOXY_JIRA_CLOUD_"]["cloud_id"],
        SimSite::numbered(1).id.as_str()
    );
}

fn lock_file(s: &Session) -> std::path::PathBuf {
    s.path(".secrets.json.PSOXY_JIRA_CLOUD_OAUTH_REFRESH_TOKEN_lock")
}

#[tokio::test]
async fn a_held_refresh_lock_is_waited_for_then_taken() {
    let s = Session::new(loopback_config()).await;
    std::fs::write(
        lock_file(&s),
        format!("locked_{}", Utc::now().timestamp_millis()),
    )
    .unwrap();
    let lock = lock_file(&s);
    let out = s
        .consenting(
            &s.init_args(),
            &[("JIRA_CLIENT_SECRET", CLIENT_SECRET)],
            |line, _| {
                if line.contains("is held") {
                    let lock = lock.clone();
                    std::thread::spawn(move || {
                        std::thread::sleep(std::time::Duration::from_secs(2));
                        std::fs::remove_file(lock).unwrap();
                    });
                }
            },
        )
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("waiting up to"), "{}", out.stderr);
    assert!(!lock_file(&s).exists(), "our own lock was released");
}

#[tokio::test]
async fn a_stale_refresh_lock_is_taken_over_with_a_warning() {
    let s = Session::new(loopback_config()).await;
    std::fs::write(
        lock_file(&s),
        format!("locked_{}", Utc::now().timestamp_millis() - 300_000),
    )
    .unwrap();
    let out = s
        .run(&s.init_args(), Browser::Follow { accept: true })
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("took over a stale refresh lock"),
        "{}",
        out.stderr
    );
    assert!(!lock_file(&s).exists());
}

#[tokio::test]
async fn ctrl_c_while_waiting_for_the_lock_keeps_the_new_tokens() {
    let s = Session::new(loopback_config()).await;
    std::fs::write(
        lock_file(&s),
        format!("locked_{}", Utc::now().timestamp_millis()),
    )
    .unwrap();
    let out = s
        .consenting(
            &s.init_args(),
            &[("JIRA_CLIENT_SECRET", CLIENT_SECRET)],
            |line, pid| {
                if line.contains("is held") {
                    std::process::Command::new("kill")
                        .args(["-INT", &pid.to_string()])
                        .status()
                        .unwrap();
                }
            },
        )
        .await;
    assert_eq!(out.code, 130, "{}", out.stderr);
    assert!(out.stderr.contains("push --from"), "{}", out.stderr);
    assert!(
        lock_file(&s).exists(),
        "the proxy's lock is not ours to delete"
    );
    assert!(!s.secrets_file().exists());
}

/// A service account with no home: the recovery file goes to a fresh private directory of its own
/// in $TMPDIR (never a fixed path there), and `push --from FILE` alone finishes the job, since
/// the file records where the secrets were going.
#[tokio::test]
async fn without_a_home_the_recovery_file_gets_a_private_directory_and_push_needs_no_options() {
    let s = Session::new(loopback_config()).await;
    recovery_in_a_private_temp_dir(&s, &[("HOME", "")]).await;
}

/// The state directory cannot be made (a file is in the way): the tokens still go to a private
/// directory in $TMPDIR rather than being lost.
#[tokio::test]
async fn an_unwritable_state_directory_falls_back_to_a_private_temp_directory() {
    let s = Session::new(loopback_config()).await;
    let blocked = s.path("not-a-directory");
    std::fs::write(&blocked, "").unwrap();
    recovery_in_a_private_temp_dir(&s, &[("XDG_STATE_HOME", blocked.to_str().unwrap())]).await;
}

/// init whose file store vanishes after the exchange, with `env` steering the state directory
/// away; the recovery file must land in `<session>/tmp/jira-psoxy-setup-recovery-*/`, and a bare
/// `push --from FILE` must finish.
async fn recovery_in_a_private_temp_dir(s: &Session, env: &[(&str, &str)]) {
    let tmp = s.path("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let (args, sub, file, unmount) = s.init_with_vanishing_store("mounted");
    let env = [env, &[("TMPDIR", tmp.to_str().unwrap())]].concat();
    let init_env = [env.as_slice(), &[("JIRA_CLIENT_SECRET", CLIENT_SECRET)]].concat();
    let out = s.run_full(&args, &init_env, &[], unmount, |_, _| {}).await;
    assert_eq!(out.code, 9, "{}", out.stderr);
    let dirs: Vec<_> = std::fs::read_dir(&tmp)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    let dir = &dirs[0];
    assert!(
        dir.file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("jira-psoxy-setup-recovery-"),
        "{dir:?}"
    );
    assert_eq!(file_mode(dir), 0o700);
    let recovery: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(file_mode(&recovery[0]), 0o600);

    std::fs::create_dir(&sub).unwrap();
    let push = strings(&["push", "--from", recovery[0].to_str().unwrap()]);
    let out = s.run_with(&push, &env, &[], Browser::Nothing).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let stored: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert!(
        s.sim
            .is_live_refresh_token(stored["PSOXY_JIRA_CLOUD_REFRESH_TOKEN"].as_str().unwrap())
    );
    assert!(!recovery[0].exists());
}
