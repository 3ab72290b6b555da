//! A recovery file is read as untrusted input. `push --from` something that is not one (an
//! endless device, a FIFO nobody writes, a symlink, a file others can change, an edited file)
//! ends at once with one line saying what to do, and writes nothing. `status` and `init` report a
//! broken file in the state directory instead of skipping it, and never hang on a FIFO there.
//! A live run's file is not an earlier run's leftover.

use crate::support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::*;

const PREFIX: &str = "PSOXY_JIRA_CLOUD_";

/// A recovery file as this version writes it, for `prefix`.
fn recovery_json(prefix: &str) -> Value {
    let name = |k: &str| format!("{prefix}{k}");
    let access = json!({"expirationDate": 4_102_444_800_000i64, "token": "at-sentinel"});
    json!({
        "version": 2,
        "created_at": "2026-12-01T12:00:00Z",
        "prefix": prefix,
        "family_issued_at": "2026-12-01T12:00:00Z",
        "secrets": {
            name("REFRESH_TOKEN"): "rt-sentinel",
            name("ACCESS_TOKEN"): access.to_string(),
        },
        "writes_sent": false,
    })
}

fn write_private(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

fn state_dir(s: &Session) -> PathBuf {
    let dir = s.state_dir();
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    dir
}

async fn push(s: &Session, from: &Path) -> (Output, Duration) {
    let args = strings(&[
        "push",
        "--from",
        from.to_str().unwrap(),
        "--store",
        "file",
        "--file",
        s.secrets_file().to_str().unwrap(),
    ]);
    let clock = Instant::now();
    let out = s.run_with(&args, &[], &[], Browser::Nothing).await;
    (out, clock.elapsed())
}

/// The one `error:` line, checked to be one line and to say `expect`.
fn refusal(out: &Output, expect: &str) -> String {
    assert_eq!(out.code, 3, "{}", out.all());
    let errors: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("error:"))
        .collect();
    assert_eq!(errors.len(), 1, "{}", out.stderr);
    assert!(errors[0].contains(expect), "{}", errors[0]);
    errors[0].to_string()
}

#[tokio::test]
async fn push_from_a_device_a_fifo_or_a_symlink_ends_at_once_with_one_line() {
    let s = Session::new(loopback_config()).await;
    let fifo = s.path("recovery-fifo.json");
    mkfifo(&fifo);
    let real = s.path("real-recovery.json");
    write_private(&real, &recovery_json(PREFIX).to_string());
    let link = s.path("link.json");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let cases: [(&Path, &str); 3] = [
        (Path::new("/dev/zero"), "is a device, not a regular file"),
        (&fifo, "is a named pipe (FIFO), not a regular file"),
        (&link, "is a symbolic link: pass the file itself"),
    ];
    for (from, expect) in cases {
        let (out, took) = push(&s, from).await;
        let line = refusal(&out, expect);
        eprintln!("push --from {}: {took:?}: {line}", from.display());
        assert!(took < Duration::from_secs(5), "{took:?}");
    }
    assert!(real.exists() && link.exists(), "nothing deleted");
    assert!(!s.secrets_file().exists(), "nothing written");
}

#[tokio::test]
async fn push_refuses_a_file_others_can_change_or_one_too_big() {
    let s = Session::new(loopback_config()).await;
    let open = s.path("open.json");
    write_private(&open, &recovery_json(PREFIX).to_string());
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o666)).unwrap();
    refusal(
        &push(&s, &open).await.0,
        "can be changed by other users (mode 0666)",
    );

    // Another user's file (the tests run as root, which may give it away).
    let theirs = s.path("theirs.json");
    write_private(&theirs, &recovery_json(PREFIX).to_string());
    std::os::unix::fs::chown(&theirs, Some(65534), Some(65534)).unwrap();
    refusal(&push(&s, &theirs).await.0, "belongs to another user");

    let big = s.path("big.json");
    write_private(&big, &" ".repeat(70 * 1024));
    refusal(
        &push(&s, &big).await.0,
        "more than a recovery file's limit of 65536",
    );

    // Readable by others: pushed, with a warning that the tokens may be known.
    let readable = s.path("readable.json");
    write_private(&readable, &recovery_json(PREFIX).to_string());
    std::fs::set_permissions(&readable, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (out, _) = push(&s, &readable).await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stderr.contains("readable by other users (mode 0644)"),
        "{}",
        out.stderr
    );
}

/// A change an operator (or an attacker) made to a recovery file.
type Edit = Box<dyn Fn(&mut Value)>;

/// Contents are validated as strictly as a network answer: nothing is written from a file that
/// names secrets outside its prefix, holds an empty token, holds nothing, or has an unknown
/// version.
#[tokio::test]
async fn push_writes_nothing_from_an_edited_file() {
    let s = Session::new(loopback_config()).await;
    let edits: Vec<(&str, Edit, &str)> = vec![
        (
            "another connector's name",
            Box::new(|v| {
                v["secrets"]["PSOXY_ZOOM_CLIENT_SECRET"] = json!("x");
            }),
            "PSOXY_ZOOM_CLIENT_SECRET, which is not one of the four secrets",
        ),
        (
            "a path",
            Box::new(|v| {
                v["secrets"]["../../etc/x"] = json!("x");
            }),
            "../../etc/x, which is not one of the four secrets",
        ),
        (
            "an empty refresh token",
            Box::new(|v| {
                v["secrets"][format!("{PREFIX}REFRESH_TOKEN")] = json!("");
            }),
            "PSOXY_JIRA_CLOUD_REFRESH_TOKEN is empty",
        ),
        (
            "no secrets",
            Box::new(|v| v["secrets"] = json!({})),
            "lacks the refresh token",
        ),
        (
            "version 99",
            Box::new(|v| v["version"] = json!(99)),
            "version 99, which this jira-psoxy-setup does not know",
        ),
        (
            "a prefix outside the connector's",
            Box::new(|v| {
                *v = recovery_json("../../etc/");
            }),
            "its prefix is not a Jira Cloud prefix",
        ),
        (
            "a token where a number belongs",
            Box::new(|v| v["own_lock_ms"] = json!("rt-sentinel")),
            "a field is missing, unknown or of the wrong type at line 1",
        ),
        (
            "truncated",
            Box::new(|v| *v = json!("{\"version\": 2, \"secr")),
            "not a recovery file's JSON",
        ),
    ];
    for (what, edit, expect) in edits {
        let mut v = recovery_json(PREFIX);
        edit(&mut v);
        let text = match &v {
            Value::String(raw) => raw.clone(),
            other => other.to_string(),
        };
        let path = s.path("edited.json");
        write_private(&path, &text);
        let line = refusal(&push(&s, &path).await.0, expect);
        assert!(!line.contains("rt-sentinel"), "{what}: {line}");
        assert!(path.exists(), "{what}: a refused file is kept");
        assert!(!s.secrets_file().exists(), "{what}: nothing written");
    }
}

/// A truncated file and a FIFO in the state directory: `status` reports the one, is not held up
/// by the other, and warns (exit 10) rather than staying silent.
#[tokio::test]
async fn status_reports_a_broken_recovery_file_and_never_waits_on_a_fifo() {
    let s = Session::new(loopback_config()).await;
    let out = s
        .run(&s.init_args(), Browser::Follow { accept: true })
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let dir = state_dir(&s);
    let truncated = dir.join("recovery-20261201T120000.000Z.json");
    let whole = recovery_json(PREFIX).to_string();
    write_private(&truncated, &whole[..whole.len() / 2]);
    mkfifo(&dir.join("recovery-20261201T120001.000Z.json"));
    let status = strings(&["status", "--file", s.secrets_file().to_str().unwrap()]);
    let clock = Instant::now();
    let out = s.run_with(&status, &[], &[], Browser::Nothing).await;
    assert!(clock.elapsed() < Duration::from_secs(10));
    assert_eq!(out.code, 10, "{}", out.all());
    assert!(
        out.stdout.contains("is not a usable recovery file") && out.stdout.contains("named pipe"),
        "{}",
        out.stdout
    );
    assert!(truncated.exists(), "a broken file is reported, not deleted");
}
