//! However a run ends after the code exchange, the new tokens survive: SIGTERM and
//! SIGHUP are handled like Ctrl-C, kill -9 finds the tokens already on disk (written ahead of the
//! store), later runs point at what was left, and the recovery directory is private whatever
//! was there before. The real binary, the file store, and the Atlassian simulator.

use crate::support;

use std::path::{Path, PathBuf};

use chrono::Utc;
use jira_psoxy_setup::sim::SimConfig;
use serde_json::Value;
use support::*;

fn lock_file(s: &Session) -> PathBuf {
    s.path(".secrets.json.PSOXY_JIRA_CLOUD_OAUTH_REFRESH_TOKEN_lock")
}

/// A lock the running proxy just took: init waits for it, and the test acts meanwhile.
fn proxy_holds_the_lock(s: &Session) {
    std::fs::write(
        lock_file(s),
        format!("locked_{}", Utc::now().timestamp_millis()),
    )
    .unwrap();
}

fn kill(signal: &str, pid: u32) {
    std::process::Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .status()
        .unwrap();
}

/// init, killed with `signal` while it waits for the proxy's refresh lock.
async fn init_signalled_while_the_lock_is_held(s: &Session, signal: &'static str) -> Output {
    proxy_holds_the_lock(s);
    s.consenting(
        &s.init_args(),
        &[("JIRA_CLIENT_SECRET", CLIENT_SECRET)],
        |line, pid| {
            if line.contains("is held") {
                kill(signal, pid);
            }
        },
    )
    .await
}

fn saved_refresh_token(path: &Path) -> String {
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    saved["secrets"]["PSOXY_JIRA_CLOUD_REFRESH_TOKEN"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The proxy releases its lock; `push --from FILE` finishes, and the file is gone.
async fn push_finishes(s: &Session, recovery: &Path) {
    let _ = std::fs::remove_file(lock_file(s));
    let refresh = saved_refresh_token(recovery);
    let push = strings(&["push", "--from", recovery.to_str().unwrap()]);
    let out = s.run_with(&push, &[], &[], Browser::Nothing).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!recovery.exists(), "the recovery file is deleted");
    assert_eq!(
        s.secrets()["PSOXY_JIRA_CLOUD_REFRESH_TOKEN"],
        refresh.as_str()
    );
    assert!(s.sim.is_live_refresh_token(&refresh));
}

/// SIGTERM (CI or systemd cancelling) and SIGHUP (the terminal closed) end the run as Ctrl-C
/// does: a message, the new tokens in a recovery file, the proxy's lock left to the proxy, and
/// 128 + the signal's number.
async fn a_signal_while_waiting_for_the_lock_keeps_the_tokens(signal: &'static str, code: i32) {
    let s = Session::new(loopback_config()).await;
    let out = init_signalled_while_the_lock_is_held(&s, signal).await;
    assert_eq!(out.code, code, "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!("SIG{signal}")),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("push --from"), "{}", out.stderr);
    assert!(
        lock_file(&s).exists(),
        "the proxy's lock is not ours to delete"
    );
    assert!(!s.secrets_file().exists());
    let recovery = recovery_file(&s, &out.stderr);
    push_finishes(&s, &recovery).await;
}

#[tokio::test]
async fn sigterm_while_waiting_for_the_lock_keeps_the_tokens_and_exits_143() {
    a_signal_while_waiting_for_the_lock_keeps_the_tokens("TERM", 143).await;
}

#[tokio::test]
async fn sighup_while_waiting_for_the_lock_keeps_the_tokens_and_exits_129() {
    a_signal_while_waiting_for_the_lock_keeps_the_tokens("HUP", 129).await;
}

/// kill -9 gives no chance to react: the tokens were on disk before the first store step. Later
/// runs for the same target name the file and the command that finishes it.
#[tokio::test]
async fn kill_9_leaves_a_recovery_file_that_init_and_status_point_at_and_push_finishes() {
    let s = Session::new(loopback_config()).await;
    let out = init_signalled_while_the_lock_is_held(&s, "KILL").await;
    assert_eq!(out.code, -1, "killed: {}", out.stderr);
    let files = s.recovery_files();
    assert_eq!(files.len(), 1, "{files:?}");
    let recovery = &files[0];
    assert_eq!(file_mode(recovery), 0o600);
    assert!(s.sim.is_live_refresh_token(&saved_refresh_token(recovery)));

    // Nothing reached the store (critical), and the leftover is named with its command.
    let status = strings(&["status", "--file", s.secrets_file().to_str().unwrap()]);
    let out = s.run_with(&status, &[], &[], Browser::Nothing).await;
    assert_eq!(out.code, 11, "{}", out.all());
    assert!(
        out.stdout.contains(&recovery.display().to_string()) && out.stdout.contains("push --from"),
        "status names the leftover and the command: {}",
        out.stdout
    );

    // An init for the same target is told before anything happens (the operator then declines).
    let out = s
        .run(&s.init_args(), Browser::Follow { accept: false })
        .await;
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert!(
        out.stderr.contains(&recovery.display().to_string()) && out.stderr.contains("push --from"),
        "{}",
        out.stderr
    );

    push_finishes(&s, recovery).await;
    let out = s.run_with(&status, &[], &[], Browser::Nothing).await;
    assert_eq!(out.code, 0, "{}", out.all());
}

/// A service account without a home: the recovery file went to a private directory in $TMPDIR,
/// and `status` finds it there too.
#[tokio::test]
async fn without_a_home_a_leftover_in_the_temp_dir_is_pointed_at_too() {
    let s = Session::new(loopback_config()).await;
    let tmp = s.path("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let (args, _, file, unmount) = s.init_with_vanishing_store("mounted");
    let env = [("HOME", ""), ("TMPDIR", tmp.to_str().unwrap())];
    let init_env = [env.as_slice(), &[("JIRA_CLIENT_SECRET", CLIENT_SECRET)]].concat();
    let out = s.run_full(&args, &init_env, &[], unmount, |_, _| {}).await;
    assert_eq!(out.code, 9, "{}", out.stderr);
    let status = strings(&["status", "--file", file.to_str().unwrap()]);
    let out = s.run_with(&status, &env, &[], Browser::Nothing).await;
    assert!(
        out.stdout.contains(tmp.to_str().unwrap()) && out.stdout.contains("push --from"),
        "{}",
        out.all()
    );
}

/// A state directory somebody left open to all (0777) is made private before a token goes in.
#[tokio::test]
async fn a_world_writable_recovery_directory_is_made_private_again() {
    use std::os::unix::fs::PermissionsExt;
    let s = Session::new(loopback_config()).await;
    let dir = s.state_dir();
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let (args, _, _, unmount) = s.init_with_vanishing_store("mounted");
    let out = s.run(&args, unmount).await;
    assert_eq!(out.code, 9, "{}", out.stderr);
    // 0600 file, 0700 directory, named in the message.
    recovery_file(&s, &out.stderr);
}

/// A state directory that is a symbolic link (to a directory open to all) is not used: the
/// tokens go to a fresh private directory in $TMPDIR instead.
#[tokio::test]
async fn a_symlinked_recovery_directory_is_not_used() {
    use std::os::unix::fs::PermissionsExt;
    let s = Session::new(loopback_config()).await;
    let shared = s.path("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o777)).unwrap();
    std::fs::create_dir_all(s.path("home/.local/state")).unwrap();
    std::os::unix::fs::symlink(&shared, s.state_dir()).unwrap();
    let tmp = s.path("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let (args, _, _, unmount) = s.init_with_vanishing_store("mounted");
    let env = [
        ("JIRA_CLIENT_SECRET", CLIENT_SECRET),
        ("TMPDIR", tmp.to_str().unwrap()),
    ];
    let out = s.run_full(&args, &env, &[], unmount, |_, _| {}).await;
    assert_eq!(out.code, 9, "{}", out.stderr);
    assert_eq!(
        std::fs::read_dir(&shared).unwrap().count(),
        0,
        "nothing in the shared directory"
    );
    let private: Vec<_> = std::fs::read_dir(&tmp)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(private.len(), 1, "{private:?}");
    assert_eq!(file_mode(&private[0]), 0o700);
    assert!(
        out.stderr.contains(&private[0].display().to_string()),
        "{}",
        out.stderr
    );
}

/// Neither the store nor any recovery directory takes the tokens: the run says they are lost, and
/// ends with its own documented code (12), not the generic 1.
#[tokio::test]
async fn a_failed_recovery_save_exits_12() {
    let s = Session::new(loopback_config()).await;
    let (args, _, _, unmount) = s.init_with_vanishing_store("mounted");
    let nowhere = s.path("no-such-dir");
    let env = [
        ("JIRA_CLIENT_SECRET", CLIENT_SECRET),
        ("HOME", ""),
        ("TMPDIR", nowhere.to_str().unwrap()),
    ];
    let out = s.run_full(&args, &env, &[], unmount, |_, _| {}).await;
    assert_eq!(out.code, 12, "{}", out.stderr);
    assert!(
        out.stderr.contains("could not save the recovery file"),
        "{}",
        out.stderr
    );
}

/// A family is on disk-to-be from the moment the code is exchanged: SIGTERM while the site is
/// still being looked up (Atlassian answers 429 and the run waits) saves it to a recovery file
/// that `push` finishes, instead of "nothing was written".
#[tokio::test]
async fn sigterm_between_the_exchange_and_the_store_keeps_the_tokens() {
    let s = Session::new(SimConfig {
        rate_limit_accessible_resources: 3,
        ..loopback_config()
    })
    .await;
    let out = s
        .consenting(
            &s.init_args(),
            &[("JIRA_CLIENT_SECRET", CLIENT_SECRET)],
            |line, pid| {
                if line.contains("tokens received") {
                    kill("TERM", pid);
                }
            },
        )
        .await;
    assert_eq!(out.code, 143, "{}", out.stderr);
    assert!(out.stderr.contains("push --from"), "{}", out.stderr);
    assert!(!s.secrets_file().exists(), "nothing reached the store");
    let files = s.recovery_files();
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(file_mode(&files[0]), 0o600);
    assert!(s.sim.is_live_refresh_token(&saved_refresh_token(&files[0])));
    push_finishes(&s, &files[0]).await;
}
