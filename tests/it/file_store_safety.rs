//! The file store and tfvars as a shared machine treats them:
//! a foreign `_jira_psoxy_setup`, concurrent runs, symlinks, owners, FIFOs, a read-only
//! directory, and other keys' exact bytes. Each refusal must come before any authorization.

use crate::support;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use support::*;

/// `init`'s args with `--file` pointing at `file`.
fn init_on(s: &Session, file: &Path) -> Vec<String> {
    let mut args = s.init_args();
    let i = args.iter().position(|a| a == "--file").unwrap();
    args[i + 1] = file.display().to_string();
    args
}

/// Asserts the run was refused at preflight: no authorization, no token minted, no lock left.
fn refused_before_authorizing(s: &Session, out: &Output, code: i32, says: &str) {
    assert_eq!(out.code, code, "{}", out.stderr);
    assert!(out.stderr.contains(says), "{}", out.stderr);
    assert!(
        out.authorize_urls.is_empty(),
        "refused only after authorizing"
    );
    assert_eq!(s.token_posts(), 0);
    let locks: Vec<_> = std::fs::read_dir(s.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with("_lock"))
        .collect();
    assert!(locks.is_empty(), "a lock stayed behind: {locks:?}");
}

#[tokio::test]
async fn a_foreign_metadata_key_or_a_repeated_key_is_refused_before_authorizing() {
    for text in [
        r#"{"_jira_psoxy_setup": "a string"}"#,
        r#"{"_jira_psoxy_setup": {"families": "a string"}}"#,
        r#"{"A": "1", "A": "2"}"#,
    ] {
        let s = Session::new(loopback_config()).await;
        std::fs::write(s.secrets_file(), text).unwrap();
        let out = s
            .run(&s.init_args(), Browser::Follow { accept: true })
            .await;
        refused_before_authorizing(&s, &out, 6, "is not a file of secrets this tool can update");
        assert_eq!(std::fs::read_to_string(s.secrets_file()).unwrap(), text);
    }
}

#[tokio::test]
async fn other_keys_keep_their_exact_bytes() {
    let s = Session::new(loopback_config()).await;
    let before =
        r#"{"BIG": 123456789012345678901234567890, "PRICE": 1.50, "NESTED": {"b": 2, "a": 1}}"#;
    std::fs::write(s.secrets_file(), before).unwrap();
    let out = s
        .run(&s.init_args(), Browser::Follow { accept: true })
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let after = std::fs::read_to_string(s.secrets_file()).unwrap();
    for kept in [
        "\"BIG\": 123456789012345678901234567890",
        "\"PRICE\": 1.50",
        "\"NESTED\": {\"b\": 2, \"a\": 1}",
    ] {
        assert!(after.contains(kept), "{kept} was rewritten:\n{after}");
    }
    assert_eq!(s.secrets()["PSOXY_JIRA_CLOUD_CLIENT_ID"], CLIENT_ID);
}

#[tokio::test]
async fn concurrent_inits_on_one_file_keep_every_run_s_secrets() {
    let sessions = [
        Session::new(loopback_config()).await,
        Session::new(loopback_config()).await,
        Session::new(loopback_config()).await,
    ];
    let shared = sessions[0].secrets_file();
    let prefixes = ["ONE_JIRA_CLOUD_", "TWO_JIRA_CLOUD_", "THREE_JIRA_CLOUD_"];
    let runs = sessions.iter().zip(prefixes).map(|(s, prefix)| {
        let args = with(init_on(s, &shared), &["--prefix", prefix]);
        async move { s.run(&args, Browser::Follow { accept: true }).await }
    });
    for out in futures_util::future::join_all(runs).await {
        assert_eq!(out.code, 0, "{}", out.stderr);
    }
    let secrets: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&shared).unwrap()).unwrap();
    for prefix in prefixes {
        for key in [
            "CLIENT_ID",
            "CLIENT_SECRET",
            "REFRESH_TOKEN",
            "ACCESS_TOKEN",
        ] {
            assert!(
                secrets[format!("{prefix}{key}")].is_string(),
                "{prefix}{key} was lost: {secrets:#}"
            );
        }
        assert!(
            secrets["_jira_psoxy_setup"]["families"][prefix]["cloud_id"].is_string(),
            "{prefix}'s metadata was lost"
        );
    }
}

#[tokio::test]
async fn symlinked_file_and_tfvars_update_their_targets_keeping_owner_and_mode() {
    let s = Session::new(loopback_config()).await;
    let real_dir = s.path("shared");
    std::fs::create_dir(&real_dir).unwrap();
    let real = real_dir.join("secrets.json");
    std::fs::write(&real, "{}").unwrap();
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).unwrap();
    // Given to the proxy's user and group (the tests run as root, which may do that).
    std::os::unix::fs::chown(&real, Some(65534), Some(65534)).unwrap();
    std::os::unix::fs::symlink(&real, s.secrets_file()).unwrap();
    let real_tfvars = real_dir.join("terraform.tfvars");
    std::fs::write(&real_tfvars, "environment_name = \"acme\"\n").unwrap();
    let tfvars = s.path("terraform.tfvars");
    std::os::unix::fs::symlink(&real_tfvars, &tfvars).unwrap();

    let args = with(s.init_args(), &["--tfvars", tfvars.to_str().unwrap()]);
    let out = s.run(&args, Browser::Follow { accept: true }).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    for link in [s.secrets_file(), tfvars] {
        let m = std::fs::symlink_metadata(&link).unwrap();
        assert!(
            m.file_type().is_symlink(),
            "{} was replaced",
            link.display()
        );
    }
    let secrets: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&real).unwrap()).unwrap();
    assert_eq!(secrets["PSOXY_JIRA_CLOUD_CLIENT_ID"], CLIENT_ID);
    let m = std::fs::metadata(&real).unwrap();
    assert_eq!((m.uid(), m.gid(), m.mode() & 0o7777), (65534, 65534, 0o640));
    let id = jira_psoxy_setup::sim::SimSite::numbered(1).id;
    assert!(std::fs::read_to_string(&real_tfvars).unwrap().contains(&id));
}

#[tokio::test]
async fn a_fifo_as_file_or_tfvars_is_refused_at_once() {
    let s = Session::new(loopback_config()).await;
    let fifo = s.path("pipe");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    // Before the fix, reading the FIFO blocked until the harness gave up after 60s.
    let started = std::time::Instant::now();
    let out = s
        .run(&init_on(&s, &fifo), Browser::Follow { accept: true })
        .await;
    refused_before_authorizing(&s, &out, 6, "is a named pipe (FIFO), not a regular file");
    let args = with(s.init_args(), &["--tfvars", fifo.to_str().unwrap()]);
    let out = s.run(&args, Browser::Follow { accept: true }).await;
    refused_before_authorizing(&s, &out, 7, "is a named pipe (FIFO), not a regular file");
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
}

#[tokio::test]
async fn a_read_only_directory_fails_before_authorizing_even_for_root() {
    let s = Session::new(loopback_config()).await;
    let dir = s.path("read-only");
    std::fs::create_dir(&dir).unwrap();
    let file = dir.join("secrets.json");
    std::fs::write(&file, "{}").unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o555)).unwrap();
    // Root ignores permission bits; without CAP_DAC_OVERRIDE it is held to them like anybody,
    // which is what an operator's own account sees. The test needs util-linux's setpriv.
    let setpriv = ["/usr/bin/setpriv", "/bin/setpriv"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("setpriv (util-linux) is needed to drop root's override of permissions");
    let mut s = s;
    s.launcher = strings(&[
        setpriv,
        "--bounding-set=-dac_override,-dac_read_search",
        "--",
    ]);
    let out = s
        .run(&init_on(&s, &file), Browser::Follow { accept: true })
        .await;
    refused_before_authorizing(&s, &out, 6, "cannot write in the directory");
    assert!(
        out.stderr
            .contains(&format!("{} (permission denied)", dir.display()))
            && out.stderr.contains("secrets.json cannot be replaced")
            && out.stderr.contains("another path with --file"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains(".jira-psoxy-setup"), "{}", out.stderr);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "{}");
}

/// Another run (here: the test) holds the OS lock of the file store and of terraform.tfvars:
/// init waits for each, says so, and changes neither file until the lock is released. No
/// timing decides this: the lock is released only once the run has said it waits.
#[tokio::test]
async fn init_waits_for_the_os_lock_of_the_secrets_file_and_of_the_tfvars() {
    let s = Session::new(loopback_config()).await;
    // The lock is the file's directory's (nothing is left behind): tfvars in a directory of its
    // own, so each lock is held and released on its own.
    let infra = s.path("infra");
    std::fs::create_dir(&infra).unwrap();
    let tfvars = infra.join("terraform.tfvars");
    std::fs::write(&tfvars, "environment_name = \"acme\"\n").unwrap();
    std::fs::write(s.secrets_file(), "{}").unwrap();
    let hold = |dir: &std::path::Path| {
        let lock = std::fs::File::open(dir).unwrap();
        lock.lock().unwrap();
        Some(lock)
    };
    let mut held = [hold(s.dir.path()), hold(&infra)];
    let args = with(s.init_args(), &["--tfvars", tfvars.to_str().unwrap()]);
    let mut waited = Vec::new();
    let out = s
        .consenting(
            &args,
            &[("JIRA_CLIENT_SECRET", CLIENT_SECRET)],
            |line, _| {
                if !line.contains("another run is updating") {
                    return;
                }
                let which = usize::from(line.contains("terraform.tfvars"));
                waited.push(which);
                // Nothing was written to the file while its lock was held.
                if which == 0 {
                    assert_eq!(std::fs::read_to_string(s.secrets_file()).unwrap(), "{}");
                }
                let tfvars_text = std::fs::read_to_string(&tfvars).unwrap();
                assert!(!tfvars_text.contains("jira_cloud_id"), "{tfvars_text}");
                held[which] = None;
            },
        )
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(waited, [0, 1], "{}", out.stderr);
    assert!(s.secrets()["PSOXY_JIRA_CLOUD_REFRESH_TOKEN"].is_string());
    assert!(
        std::fs::read_to_string(&tfvars)
            .unwrap()
            .contains("jira_cloud_id")
    );
}

/// An existing store file others can read keeps its mode (the proxy's user may need it), and the
/// run says so before anything is written.
#[tokio::test]
async fn a_store_file_others_can_read_is_kept_with_a_warning() {
    let s = Session::new(loopback_config()).await;
    std::fs::write(s.secrets_file(), "{}").unwrap();
    std::fs::set_permissions(s.secrets_file(), std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = s
        .run(&s.init_args(), Browser::Follow { accept: true })
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("is open to other users (mode 0644) and keeps its mode"),
        "{}",
        out.stderr
    );
    assert_eq!(file_mode(&s.secrets_file()), 0o644);
}
