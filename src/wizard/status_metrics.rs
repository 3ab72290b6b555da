//! `status --format prometheus` and `--textfile`: the report as gauges in the Prometheus text
//! exposition format, which node_exporter's textfile collector reads. The collector may read the
//! file at any moment, so it is written whole beside itself and renamed over (never half a file).

use std::io::Write;
use std::path::Path;

use chrono::{DateTime, Utc};

use super::fleet::Row;
use super::status::Health;
use crate::error::{Error, Result};

/// One gauge per deployment, labelled `{connector, store, prefix}`; `value` is `None` where the
/// report does not know it (no sample is written then).
struct Gauge {
    name: &'static str,
    help: &'static str,
    value: fn(&Row) -> Option<i64>,
}

/// The gauges, in the order they are written.
const GAUGES: &[Gauge] = &[
    Gauge {
        name: "psoxy_oauth_family_days_left",
        help: "Days until the OAuth refresh-token family expires (365 days after it was issued); absent when the issue date is unknown.",
        value: |r| r.report.days_left,
    },
    Gauge {
        name: "psoxy_oauth_refresh_token_idle_days",
        help: "Days since the refresh token was last written; Atlassian expires it after 90 days unused.",
        value: |r| r.report.refresh_token_idle_days,
    },
    Gauge {
        name: "psoxy_oauth_health",
        help: "The status verdict: 0 ok, 1 warn, 2 critical (expired, missing, unreadable or unreachable).",
        value: |r| Some(health_value(r.report.health)),
    },
    Gauge {
        name: "psoxy_oauth_store_reachable",
        help: "1 when the deployment's store answered, 0 when it did not within the deadline.",
        value: |r| Some(i64::from(r.report.reachable)),
    },
    Gauge {
        name: "psoxy_proxy_check_passed",
        help: "With --check-proxy: 1 when the deployed proxy passed its health check and served the call, 0 when not; absent without the check.",
        value: |r| {
            r.report
                .proxy
                .as_ref()
                .map(|p| i64::from(p.result().is_ok()))
        },
    },
];

const TIMESTAMP: &str = "psoxy_oauth_status_check_timestamp_seconds";

fn health_value(health: Health) -> i64 {
    match health {
        Health::Ok => 0,
        Health::Warn => 1,
        Health::Critical => 2,
    }
}

/// The text for node_exporter: every gauge over every row, then when the check ran.
pub fn render(rows: &[Row], now: DateTime<Utc>) -> String {
    let mut text = String::new();
    for gauge in GAUGES {
        header(&mut text, gauge.name, gauge.help);
        for row in rows {
            if let Some(value) = (gauge.value)(row) {
                let labels = [
                    ("connector", row.report.connector.id),
                    ("store", row.store_label.as_str()),
                    ("prefix", row.report.prefix.as_str()),
                ]
                .map(|(k, v)| format!("{k}=\"{}\"", escape_label(v)))
                .join(",");
                text.push_str(&format!("{}{{{labels}}} {value}\n", gauge.name));
            }
        }
    }
    header(
        &mut text,
        TIMESTAMP,
        "When jira-psoxy-setup status last ran (Unix time); alert when it is stale.",
    );
    text.push_str(&format!("{TIMESTAMP} {}\n", now.timestamp()));
    text
}

fn header(text: &mut String, name: &str, help: &str) {
    text.push_str(&format!("# HELP {name} {help}\n# TYPE {name} gauge\n"));
}

/// A label value as the exposition format quotes it: backslash, double quote and line feed
/// escaped.
fn escape_label(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// Replaces `path` with `text` atomically: a temporary file in the same directory (so the
/// rename stays on one file system), readable by the collector's user (0644: nothing in it is
/// secret), renamed over the old one.
pub fn write_textfile(path: &Path, text: &str) -> Result<()> {
    let fail = |e: std::io::Error| {
        Error::Input(format!(
            "cannot write the textfile {} ({e}): check that its directory exists and is writable",
            path.display()
        ))
    };
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".psoxy_oauth")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(fail)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .map_err(fail)?;
    }
    tmp.write_all(text.as_bytes()).map_err(fail)?;
    tmp.as_file().sync_all().map_err(fail)?;
    tmp.persist(path).map_err(|e| fail(e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped_as_the_exposition_format_says() {
        assert_eq!(escape_label(r#"a\b"c"#), r#"a\\b\"c"#);
        assert_eq!(escape_label("line\nbreak"), "line\\nbreak");
        assert_eq!(escape_label("PSOXY_JIRA_CLOUD_"), "PSOXY_JIRA_CLOUD_");
    }

    #[test]
    fn the_textfile_replaces_the_old_one_whole_and_is_readable_by_the_collector() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("psoxy.prom");
        write_textfile(&path, "old\n").unwrap();
        write_textfile(&path, "new\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new\n");
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "no temporary file stays behind");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o644);
        }
        let err = write_textfile(&dir.path().join("nowhere/x.prom"), "x").unwrap_err();
        assert!(err.to_string().contains("directory exists"), "{err}");
    }
}
