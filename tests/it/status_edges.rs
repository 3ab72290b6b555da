//! `status` exactly on its thresholds, from a file store written as a run leaves it: 90 days
//! without a refresh is critical (Atlassian expires the token then), and a family whose 365 days
//! ended today is critical and "expired", not "expires in 0 days".

use crate::support;

use chrono::{Duration, Utc};
use serde_json::json;
use support::*;

const PREFIX: &str = "PSOXY_JIRA_CLOUD_";

/// A file store holding a family issued `issued_ago` ago whose refresh token was last written
/// `refreshed_ago` ago; the access token valid for a day.
fn store(s: &Session, issued_ago: Duration, refreshed_ago: Duration) {
    let now = Utc::now();
    let access = json!({
        "expirationDate": (now + Duration::days(1)).timestamp_millis(),
        "token": "at-sentinel",
    });
    let mut doc = json!({
        "_jira_psoxy_setup": {
            "written_at": {},
            "families": {
                PREFIX: {
                    "family_issued_at": (now - issued_ago).to_rfc3339(),
                    "cloud_id": "00000001-0000-4000-8000-000000000001",
                }
            }
        }
    });
    for (key, value) in [
        ("CLIENT_ID", "client-id".to_string()),
        ("CLIENT_SECRET", "client-secret-sentinel".to_string()),
        ("REFRESH_TOKEN", "rt-sentinel".to_string()),
        ("ACCESS_TOKEN", access.to_string()),
    ] {
        let name = format!("{PREFIX}{key}");
        doc[&name] = json!(value);
        doc["_jira_psoxy_setup"]["written_at"][&name] = json!((now - refreshed_ago).to_rfc3339());
    }
    std::fs::write(s.secrets_file(), doc.to_string()).unwrap();
}

async fn status(s: &Session) -> Output {
    let args = strings(&["status", "--file", s.secrets_file().to_str().unwrap()]);
    s.run_with(&args, &[], &[], Browser::Nothing).await
}

#[tokio::test]
async fn exactly_90_idle_days_is_critical() {
    let s = Session::new(loopback_config()).await;
    store(
        &s,
        Duration::days(100),
        Duration::days(90) + Duration::hours(1),
    );
    let out = status(&s).await;
    assert_eq!(out.code, 11, "{}", out.all());
    assert!(
        out.stdout.contains("last written 90 days ago"),
        "{}",
        out.stdout
    );
    // A day less is not.
    store(
        &s,
        Duration::days(100),
        Duration::days(89) + Duration::hours(1),
    );
    assert_eq!(status(&s).await.code, 0);
}

#[tokio::test]
async fn the_last_day_over_is_expired_not_0_days_left() {
    let s = Session::new(loopback_config()).await;
    store(
        &s,
        Duration::days(365) + Duration::hours(1),
        Duration::hours(1),
    );
    let out = status(&s).await;
    assert_eq!(out.code, 11, "{}", out.all());
    assert!(out.stdout.contains("0 days left"), "{}", out.stdout);
    assert!(out.stdout.contains("has expired"), "{}", out.stdout);
    assert!(!out.stdout.contains("expires in 0 days"), "{}", out.stdout);
}
