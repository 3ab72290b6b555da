//! What the stories assert about output, files and modes.

use std::path::Path;

use url::Url;

use super::{CLIENT_SECRET, Session};

/// The authorization codes carried by redirect URLs.
pub fn codes(redirects: &[Url]) -> Vec<String> {
    redirects
        .iter()
        .filter_map(|u| {
            u.query_pairs()
                .find(|(k, _)| k == "code")
                .map(|(_, v)| v.into_owned())
        })
        .collect()
}

/// Asserts that none of the secret values appears in the output.
pub fn assert_no_secrets(text: &str, secrets: &[&str]) {
    for s in secrets {
        assert!(!s.is_empty());
        assert!(
            !text.contains(s),
            "a secret value leaked into the output: {s}\n---\n{text}"
        );
    }
}

/// Every secret the file store holds (values of keys ending in a secret name), plus the client secret.
pub fn secret_values(secrets: &serde_json::Value) -> Vec<String> {
    let mut out = vec![CLIENT_SECRET.to_string()];
    for (k, v) in secrets.as_object().unwrap() {
        if k.ends_with("REFRESH_TOKEN") || k.ends_with("CLIENT_SECRET") {
            out.push(v.as_str().unwrap().to_string());
        }
        if k.ends_with("ACCESS_TOKEN") {
            let parsed: serde_json::Value = serde_json::from_str(v.as_str().unwrap()).unwrap();
            out.push(parsed["token"].as_str().unwrap().to_string());
        }
    }
    out
}

pub fn file_mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// The one recovery file under $HOME/.local/state/jira-psoxy-setup, checked for its modes.
pub fn recovery_file(s: &Session, stderr: &str) -> std::path::PathBuf {
    let (dir, files) = (s.state_dir(), s.recovery_files());
    assert_eq!(files.len(), 1, "{files:?}\n{stderr}");
    assert_eq!(file_mode(&files[0]), 0o600);
    assert_eq!(file_mode(&dir), 0o700);
    assert!(
        stderr.contains(&files[0].display().to_string()),
        "the message names the file: {stderr}"
    );
    files[0].clone()
}
