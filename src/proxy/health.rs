//! Psoxy's health-check answer (`HealthCheckResult`, psoxy-contract §9), read tolerantly: every
//! field may be absent or `null`, unknown fields are ignored, and instants are ISO-8601 strings
//! (epoch seconds are accepted too). Nothing here is trusted for display before `sanitize`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};

use crate::sanitize::remote_text;

/// The fields the tool reads; the rest of the answer is ignored. The salt's hash is never read.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HealthCheckResult {
    pub version: Option<String>,
    pub java_source_code_version: Option<String>,
    pub configured_source: Option<String>,
    pub configured_host: Option<String>,
    pub source_auth_strategy: Option<String>,
    pub source_auth_grant_type: Option<String>,
    pub non_default_salt: Option<bool>,
    #[serde(deserialize_with = "null_as_default")]
    pub missing_config_properties: Vec<String>,
    #[serde(deserialize_with = "instants")]
    pub config_properties_last_modified: BTreeMap<String, DateTime<Utc>>,
    pub caller_ip: Option<String>,
    pub client_ip_authorized: Option<bool>,
    #[serde(deserialize_with = "null_as_default")]
    pub warning_messages: Vec<String>,
}

impl HealthCheckResult {
    /// Parses an answer body; `None` when it is not a JSON object (an HTML error page, say).
    pub fn parse(body: &[u8]) -> Option<HealthCheckResult> {
        let value: serde_json::Value = serde_json::from_slice(body).ok()?;
        if !value.is_object() {
            return None;
        }
        serde_json::from_value(value).ok()
    }

    /// Psoxy's own `passed()`: a source, a salt, nothing missing, and the caller's IP allowed.
    pub fn passed(&self) -> bool {
        self.configured_source.is_some()
            && self.non_default_salt == Some(true)
            && self.missing_config_properties.is_empty()
            && self.client_ip_authorized != Some(false)
    }

    /// The fields as the report carries them (sanitized; without the salt's hash).
    pub fn summary(&self, status: u16) -> HealthSummary {
        let clean = |s: &Option<String>| s.as_deref().map(remote_text);
        HealthSummary {
            http_status: status,
            passed: status == 200 && self.passed(),
            version: clean(&self.version).or_else(|| clean(&self.java_source_code_version)),
            configured_source: clean(&self.configured_source),
            configured_host: clean(&self.configured_host),
            source_auth_strategy: clean(&self.source_auth_strategy),
            source_auth_grant_type: clean(&self.source_auth_grant_type),
            non_default_salt: self.non_default_salt,
            missing_config_properties: self
                .missing_config_properties
                .iter()
                .map(|p| remote_text(p))
                .collect(),
            config_properties_last_modified: self
                .config_properties_last_modified
                .iter()
                .map(|(k, v)| (remote_text(k), *v))
                .collect(),
            caller_ip: clean(&self.caller_ip),
            client_ip_authorized: self.client_ip_authorized,
            warning_messages: self
                .warning_messages
                .iter()
                .map(|w| remote_text(w))
                .collect(),
        }
    }
}

/// The health check as `check --json` and `status --check-proxy --json` carry it.
#[derive(Debug, Clone, Serialize)]
pub struct HealthSummary {
    pub http_status: u16,
    pub passed: bool,
    pub version: Option<String>,
    pub configured_source: Option<String>,
    pub configured_host: Option<String>,
    pub source_auth_strategy: Option<String>,
    pub source_auth_grant_type: Option<String>,
    pub non_default_salt: Option<bool>,
    pub missing_config_properties: Vec<String>,
    pub config_properties_last_modified: BTreeMap<String, DateTime<Utc>>,
    pub caller_ip: Option<String>,
    pub client_ip_authorized: Option<bool>,
    pub warning_messages: Vec<String>,
}

fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// `property -> instant`; an entry whose value is not an instant is left out, not an error.
fn instants<'de, D>(d: D) -> Result<BTreeMap<String, DateTime<Utc>>, D::Error>
where
    D: Deserializer<'de>,
{
    let raw: Option<BTreeMap<String, serde_json::Value>> = Option::deserialize(d)?;
    Ok(raw
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(k, v)| instant(&v).map(|t| (k, t)))
        .collect())
}

fn instant(v: &serde_json::Value) -> Option<DateTime<Utc>> {
    match v {
        serde_json::Value::String(s) => DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.with_timezone(&Utc)),
        // Jackson with timestamps on writes seconds with a fraction.
        serde_json::Value::Number(n) => {
            let secs = n.as_f64()?;
            if !secs.is_finite() {
                return None;
            }
            #[allow(
                clippy::cast_possible_truncation,
                reason = "out-of-range values give None below"
            )]
            DateTime::from_timestamp_millis((secs * 1000.0) as i64)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSED: &str = r#"{
      "bundleFilename" : "psoxy-aws-v0.6.9.jar", "callerIp" : "203.0.113.7",
      "configPropertiesLastModified" : { "ACCESS_TOKEN" : "2026-12-01T10:00:00.123Z", "ODD" : [1] },
      "configuredHost" : "api.atlassian.com", "configuredSource" : "jira-cloud",
      "missingConfigProperties" : [ ], "nonDefaultSalt" : true,
      "saltSha256Hash" : "abc", "sourceAuthGrantType" : "refresh_token",
      "sourceAuthStrategy" : "oauth2_refresh_token", "version" : "v0.6.9",
      "warningMessages" : [ "RULES configuration error: \u001b[2JX" ],
      "somethingNewer" : { "nested" : true }
    }"#;

    #[test]
    fn a_passing_answer_with_unknown_fields_parses_and_passes() {
        let h = HealthCheckResult::parse(PASSED.as_bytes()).unwrap();
        assert!(h.passed());
        assert_eq!(h.config_properties_last_modified.len(), 1, "ODD is dropped");
        let s = h.summary(200);
        assert!(s.passed);
        assert_eq!(s.version.as_deref(), Some("v0.6.9"));
        assert!(!s.warning_messages[0].contains('\u{1b}'), "sanitized");
        let json = serde_json::to_string(&s).unwrap();
        assert!(!json.contains("salt_sha256") && !json.contains("abc"));
    }

    #[test]
    fn nulls_and_missing_fields_are_tolerated_and_do_not_pass() {
        let h = HealthCheckResult::parse(
            br#"{"missingConfigProperties":null,"configPropertiesLastModified":null,"warningMessages":null}"#,
        )
        .unwrap();
        assert!(!h.passed());
        let h = HealthCheckResult::parse(
            br#"{"configuredSource":"jira-cloud","nonDefaultSalt":true,"missingConfigProperties":["REFRESH_TOKEN"]}"#,
        )
        .unwrap();
        assert!(!h.passed());
        assert_eq!(h.missing_config_properties, ["REFRESH_TOKEN"]);
    }

    #[test]
    fn html_and_arrays_are_not_health_answers() {
        assert!(HealthCheckResult::parse(b"<html><body>502 Bad Gateway</body></html>").is_none());
        assert!(HealthCheckResult::parse(b"[1,2]").is_none());
    }

    #[test]
    fn epoch_second_instants_are_read_too() {
        let h = HealthCheckResult::parse(
            br#"{"configPropertiesLastModified":{"ACCESS_TOKEN":1764583200.5}}"#,
        )
        .unwrap();
        assert_eq!(
            h.config_properties_last_modified["ACCESS_TOKEN"].timestamp_millis(),
            1_764_583_200_500
        );
    }
}
