//! A successful token answer, read field by field: the server's content is outside input, and
//! the code is spent by the time it arrives, so nothing in it may panic or lose what it carries.

use chrono::{DateTime, Utc};

use crate::error::{Error, Result};
use crate::secret::SecretString;

/// A token response. Both tokens are secrets; `scope` is what was actually granted.
pub struct TokenSet {
    pub access_token: SecretString,
    pub refresh_token: Option<SecretString>,
    /// Seconds, within `0..=MAX_EXPIRES_IN` (see `expires_in_from`).
    pub expires_in: i64,
    pub scope: String,
    pub obtained_at: DateTime<Utc>,
}

/// Atlassian's access tokens live an hour (psoxy-contract §2); a day is the most we believe.
pub const MAX_EXPIRES_IN: i64 = 24 * 60 * 60;
const DEFAULT_EXPIRES_IN: i64 = 3600;

impl TokenSet {
    pub fn access_token_expires_at(&self) -> DateTime<Utc> {
        chrono::Duration::try_seconds(self.expires_in)
            .and_then(|d| self.obtained_at.checked_add_signed(d))
            .unwrap_or(self.obtained_at)
    }

    /// The access token the way the proxy stores it (see `ProxyAccessToken`).
    pub fn proxy_access_token(&self) -> SecretString {
        super::proxy_token::ProxyAccessToken::new(
            self.access_token.clone(),
            self.access_token_expires_at(),
        )
        .to_secret()
    }
}

/// `expires_in` as the tool uses it, and whether the answer's value had to be changed. The value
/// is the server's, so anything goes: absent (an hour), a huge or negative number, a float, a
/// string. It only sets the `expirationDate` the proxy refreshes by, so an odd value is clamped
/// into `0..=MAX_EXPIRES_IN` (0: the proxy refreshes at once) instead of failing a run whose code
/// is already spent.
fn expires_in_from(value: Option<&serde_json::Value>) -> (i64, bool) {
    let Some(value) = value else {
        return (DEFAULT_EXPIRES_IN, false);
    };
    let seconds = value
        .as_i64()
        .or_else(|| value.as_u64().map(|_| i64::MAX))
        .or_else(|| {
            value
                .as_f64()
                .filter(|f| f.is_finite())
                .map(saturating_secs)
        });
    match seconds {
        Some(s) if (0..=MAX_EXPIRES_IN).contains(&s) => (s, false),
        Some(s) => (s.clamp(0, MAX_EXPIRES_IN), true),
        None => (0, true),
    }
}

#[allow(
    clippy::cast_possible_truncation,
    reason = "`as` saturates a float into i64, which is the clamping wanted here"
)]
fn saturating_secs(f: f64) -> i64 {
    f as i64
}

/// The fields of a successful token answer, each checked, so a broken answer is named.
pub(super) fn parse_token_answer(text: &str) -> Result<TokenSet> {
    let spent =
        "the code is spent: check that --atlassian-auth-url is Atlassian's and authorize again";
    let object: serde_json::Map<String, serde_json::Value> = serde_json::from_str(text)
        .map_err(|_| {
            Error::Authorization(format!(
                "Atlassian's token endpoint answered 200 with something other than a JSON object; {spent}"
            ))
        })?;
    let text_field = |name: &str| match object.get(name) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("{name} is not a string")),
    };
    let mut problems = Vec::new();
    let access_token = text_field("access_token")
        .unwrap_or_else(|why| {
            problems.push(why);
            None
        })
        .filter(|t| !t.is_empty());
    let refresh_token = text_field("refresh_token").unwrap_or_else(|why| {
        problems.push(why);
        None
    });
    let scope = text_field("scope").ok().flatten().unwrap_or_default();
    let Some(access_token) = access_token else {
        if problems.is_empty() {
            problems.push("access_token is missing".into());
        }
        return Err(Error::Authorization(format!(
            "Atlassian's token endpoint answered 200 without a usable token ({}); {spent}",
            problems.join(", ")
        )));
    };
    let (expires_in, clamped) = expires_in_from(object.get("expires_in"));
    if clamped {
        tracing::warn!(
            "the token answer's expires_in was out of range: recorded as {expires_in}s, so the proxy refreshes the access token in time"
        );
    }
    Ok(TokenSet {
        access_token: SecretString::from(access_token),
        refresh_token: refresh_token.map(SecretString::from),
        expires_in,
        scope,
        obtained_at: crate::store::lock::now(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::ExposeSecret;

    #[test]
    fn an_out_of_range_expires_in_is_clamped_not_a_panic() {
        use serde_json::json;
        for (raw, want) in [
            (json!(3600), (3600, false)),
            (json!(9_223_372_036_854_775_807_i64), (MAX_EXPIRES_IN, true)),
            (json!(-9_223_372_036_854_775_808_i64), (0, true)),
            (
                json!(18_446_744_073_709_551_615_u64),
                (MAX_EXPIRES_IN, true),
            ),
            (json!(1e300), (MAX_EXPIRES_IN, true)),
            (json!(-1e300), (0, true)),
            (json!("3600"), (0, true)),
        ] {
            assert_eq!(expires_in_from(Some(&raw)), want, "{raw}");
        }
        assert_eq!(expires_in_from(None), (3600, false));
        let tokens = parse_token_answer(
            r#"{"access_token":"a","refresh_token":"r","expires_in":9223372036854775807}"#,
        )
        .unwrap();
        let at = tokens.access_token_expires_at();
        assert!(at >= tokens.obtained_at && at <= tokens.obtained_at + chrono::Duration::days(1));
        assert!(
            tokens
                .proxy_access_token()
                .expose_secret()
                .contains("expirationDate")
        );
    }

    #[test]
    fn a_200_answer_with_missing_or_odd_fields_says_which() {
        for (body, names) in [
            (r#"{"refresh_token":"r"}"#, "access_token is missing"),
            (
                r#"{"access_token":7,"refresh_token":"r"}"#,
                "access_token is not a string",
            ),
            ("[]", "other than a JSON object"),
            ("", "other than a JSON object"),
        ] {
            let e = parse_token_answer(body).err().unwrap();
            assert!(matches!(e, Error::Authorization(_)), "{body}: {e}");
            assert!(e.to_string().contains(names), "{body}: {e}");
            assert!(e.to_string().contains("authorize again"), "{e}");
            assert!(!e.to_string().contains("network"), "{e}");
        }
    }
}
