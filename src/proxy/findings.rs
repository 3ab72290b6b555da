//! What the proxy's answers mean for the operator: each failure as one line that says what to do.

use chrono::{DateTime, Duration, Utc};

use super::fetch::Answer;
use super::health::HealthCheckResult;
use super::{CallSummary, CheckReport, Expectation, Freshness, ProxyError, Seen, Verdict};
use crate::store::SecretKey;

/// How long the proxy caches these secrets (psoxy-contract §3).
const CACHE_TTL_MINUTES: i64 = 5;
/// Clocks and store timestamps disagree by a little.
const SKEW_SECONDS: i64 = 5;

/// A failure: the verdict is the worst seen (unreachable before health before call).
pub fn fail(report: &mut CheckReport, e: ProxyError) {
    let (verdict, line) = match e {
        ProxyError::Unreachable(m) => (Verdict::Unreachable, m),
        ProxyError::Health(m) => (Verdict::HealthFailed, m),
        ProxyError::Call(m) | ProxyError::Input(m) | ProxyError::Internal(m) => {
            (Verdict::CallFailed, m)
        }
    };
    worsen(report, verdict);
    report.problems.push(line);
}

fn worsen(report: &mut CheckReport, verdict: Verdict) {
    if verdict < report.verdict {
        report.verdict = verdict;
    }
}

pub fn health(
    report: &mut CheckReport,
    status: u16,
    result: &HealthCheckResult,
    expect: &Expectation,
    now: DateTime<Utc>,
) {
    let summary = result.summary(status);
    let url = &report.url;
    let mut problems = Vec::new();
    for property in &summary.missing_config_properties {
        problems.push(missing(property, expect));
    }
    if summary.configured_source.is_none() {
        problems.push(format!(
            "the proxy at {url} has no SOURCE configured: run `terraform apply` for it"
        ));
    }
    if summary.non_default_salt != Some(true) {
        problems.push(format!("the proxy at {url} has no PSOXY_SALT secret (Terraform creates it): run `terraform apply`"));
    }
    if summary.client_ip_authorized == Some(false) {
        problems.push(format!(
            "the proxy does not accept calls from this machine's address ({}): run the check from a network in its ALLOWED_DATA_ACCESS_IP_BLOCKS",
            summary.caller_ip.as_deref().unwrap_or("unknown")
        ));
    }
    if !summary.passed && problems.is_empty() {
        problems.push(format!(
            "the health check at {url} did not pass (HTTP {status}) and names no missing property: read the proxy's logs"
        ));
    }
    if !problems.is_empty() {
        worsen(report, Verdict::HealthFailed);
    }
    report.problems.extend(problems);
    for warning in &summary.warning_messages {
        report.notes.push(format!("the proxy warns: {warning}"));
    }
    for property in [
        SecretKey::RefreshToken.suffix(),
        SecretKey::AccessToken.suffix(),
    ] {
        let Some(written) = expect.written.get(property).copied() else {
            continue;
        };
        let seen_at = summary
            .config_properties_last_modified
            .get(property)
            .copied();
        let fresh = freshness(property, written, seen_at, now);
        let name = secret_name(property, expect);
        match fresh.seen {
            Seen::Current | Seen::Unknown => {}
            Seen::Cached => report.notes.push(format!(
                "the proxy still serves the {name} of {} from its 5-minute cache, not the one written {}: look again after {}",
                at(seen_at), at(Some(written)), at(Some(fresh.certain_by))
            )),
            Seen::Other => {
                worsen(report, Verdict::HealthFailed);
                report.problems.push(format!(
                    "the proxy reads a {property} last modified {}, older than the {name} written {}, though its cache has expired since: it reads another secret (check the proxy's PATH_TO_INSTANCE_CONFIG against --prefix)",
                    at(seen_at), at(Some(written))
                ));
            }
        }
        report.freshness.push(fresh);
    }
    report.health = Some(summary);
}

fn freshness(
    property: &'static str,
    written_at: DateTime<Utc>,
    proxy_last_modified: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Freshness {
    // A date near the end of time (a hand-edited store) must not panic.
    let later =
        |t: DateTime<Utc>, d: Duration| t.checked_add_signed(d).unwrap_or(DateTime::<Utc>::MAX_UTC);
    let certain_by = later(written_at, Duration::minutes(CACHE_TTL_MINUTES));
    let seen = match proxy_last_modified {
        None => Seen::Unknown,
        Some(t) if later(t, Duration::seconds(SKEW_SECONDS)) >= written_at => Seen::Current,
        Some(_) if now < certain_by => Seen::Cached,
        Some(_) => Seen::Other,
    };
    Freshness {
        property,
        written_at,
        proxy_last_modified,
        seen,
        certain_by,
    }
}

/// A property the proxy found no value for, with the secret this tool writes for it.
fn missing(property: &str, expect: &Expectation) -> String {
    let ours = SecretKey::ALL.iter().any(|k| k.suffix() == property);
    if !ours {
        return format!(
            "the proxy lacks {property}, which Psoxy's Terraform sets: run `terraform apply` for the proxy"
        );
    }
    let store = expect
        .store
        .as_deref()
        .map(|s| format!(" in {s}"))
        .unwrap_or_default();
    match &expect.names {
        Some(names) => format!(
            "the proxy has no {property}: it looked for <PATH_TO_INSTANCE_CONFIG>{property} (the prefix its Lambda or Cloud Run environment names), while this tool writes {}{property}{store}; if that secret is filled, the prefixes differ: run again with the proxy's prefix as --prefix",
            names.prefix
        ),
        None => format!(
            "the proxy has no {property}: fill it with `init` or `renew` (with the proxy's prefix as --prefix)"
        ),
    }
}

fn secret_name(property: &str, expect: &Expectation) -> String {
    match &expect.names {
        Some(names) => format!("{}{property}", names.prefix),
        None => property.to_string(),
    }
}

fn at(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| "an unknown time".into())
}

/// The call: its status, and whether the configured site is among the answer's sites. The body
/// is read for the ids only.
pub fn call(report: &mut CheckReport, answer: Result<Answer, ProxyError>, expect: &Expectation) {
    let path = super::CALL_PATH;
    let url = format!("{}{path}", report.url.trim_end_matches('/'));
    let answer = match answer {
        Ok(answer) => answer,
        Err(e) => {
            report.call = Some(CallSummary {
                path,
                http_status: None,
                site_found: None,
                sites: None,
            });
            fail(report, ProxyError::Call(message(e)));
            return;
        }
    };
    let ids = (answer.status == 200 && !answer.too_big)
        .then(|| site_ids(&answer.body))
        .flatten();
    let site_found = match (&ids, &expect.cloud_id) {
        (Some(ids), Some(cloud_id)) => Some(ids.iter().any(|i| i.eq_ignore_ascii_case(cloud_id))),
        _ => None,
    };
    report.call = Some(CallSummary {
        path,
        http_status: Some(answer.status),
        site_found,
        sites: ids.as_ref().map(Vec::len),
    });
    let problem = match (answer.status, &ids, site_found) {
        (200, Some(_), Some(false)) => Some(format!(
            "the call through the proxy ({url}) answered, but its token does not reach the configured site {}: run `renew` for that site",
            expect.cloud_id.as_deref().unwrap_or_default()
        )),
        (200, Some(_), _) => None,
        (200, None, _) => Some(format!(
            "the call through the proxy ({url}) answered HTTP 200 without a list of sites: check --proxy-url and the proxy's logs"
        )),
        (status, _, _) => Some(format!(
            "the call through the proxy ({url}) answered HTTP {status}: the proxy could not use its token (read the proxy's logs; `status` says whether the family expired, `renew` mints a new one)"
        )),
    };
    if let Some(problem) = problem {
        fail(report, ProxyError::Call(problem));
    }
}

fn message(e: ProxyError) -> String {
    match e {
        ProxyError::Unreachable(m)
        | ProxyError::Health(m)
        | ProxyError::Call(m)
        | ProxyError::Input(m)
        | ProxyError::Internal(m) => m,
    }
}

/// The `id` of each site in an `accessible-resources` answer (the proxy redacts the names).
fn site_ids(body: &[u8]) -> Option<Vec<String>> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let sites = value.as_array()?;
    Some(
        sites
            .iter()
            .filter_map(|s| s.get("id")?.as_str().map(str::to_string))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_date_older_than_the_write_is_the_cache_until_five_minutes_after_it() {
        let written = Utc::now();
        let older = Some(written - Duration::hours(1));
        assert_eq!(
            freshness("REFRESH_TOKEN", written, older, written).seen,
            Seen::Cached
        );
        let later = written + Duration::minutes(6);
        assert_eq!(
            freshness("REFRESH_TOKEN", written, older, later).seen,
            Seen::Other
        );
        assert_eq!(
            freshness("REFRESH_TOKEN", written, Some(written), later).seen,
            Seen::Current
        );
        assert_eq!(
            freshness("REFRESH_TOKEN", written, None, later).seen,
            Seen::Unknown
        );
    }

    #[test]
    fn site_ids_are_read_from_a_list_only() {
        assert_eq!(
            site_ids(br#"[{"id":"a","name":"***"},{"url":"x"}]"#),
            Some(vec!["a".to_string()])
        );
        assert_eq!(site_ids(b"<html>"), None);
        assert_eq!(site_ids(br#"{"id":"a"}"#), None);
    }
}
