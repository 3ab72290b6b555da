//! The access token the way the proxy stores and reads it: `{"token":..,"expirationDate":<epoch
//! ms>}`; a raw token would be ignored by the proxy (psoxy-contract §3). `init` and `renew` write
//! it, `status` reads it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::secret::{ExposeSecret, SecretString};

/// Fields in the order the stored JSON has always had them.
#[derive(Serialize, Deserialize)]
pub struct ProxyAccessToken {
    /// Epoch milliseconds.
    #[serde(rename = "expirationDate")]
    pub expiration_date: i64,
    #[serde(serialize_with = "expose", deserialize_with = "conceal")]
    pub token: SecretString,
}

fn expose<S: Serializer>(token: &SecretString, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(token.expose_secret())
}

fn conceal<'de, D: Deserializer<'de>>(d: D) -> Result<SecretString, D::Error> {
    String::deserialize(d).map(SecretString::from)
}

impl ProxyAccessToken {
    pub fn new(token: SecretString, expires_at: DateTime<Utc>) -> Self {
        ProxyAccessToken {
            expiration_date: expires_at.timestamp_millis(),
            token,
        }
    }

    /// The stored value, itself a secret.
    pub fn to_secret(&self) -> SecretString {
        // A struct of a string and an integer always serializes.
        SecretString::from(serde_json::to_string(self).unwrap_or_default())
    }

    /// The stored value read back; `None` for anything the proxy would not read.
    pub fn parse(value: &SecretString) -> Option<Self> {
        serde_json::from_str(value.expose_secret()).ok()
    }

    pub fn expires_at(&self) -> Option<DateTime<Utc>> {
        DateTime::from_timestamp_millis(self.expiration_date)
    }
}

/// The token a running proxy reuses from the stored versions (newest version first): the
/// parsable one with the latest `expirationDate`, a tie going to the newer version
/// (`getSharedAccessTokenIfSupported`, psoxy-contract §8 item 4).
pub fn proxy_pick(candidates: &[SecretString]) -> Option<ProxyAccessToken> {
    let mut best: Option<ProxyAccessToken> = None;
    for parsed in candidates.iter().filter_map(ProxyAccessToken::parse) {
        if best
            .as_ref()
            .is_none_or(|b| parsed.expiration_date > b.expiration_date)
        {
            best = Some(parsed);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stored_json_reads_back_and_anything_else_does_not() {
        let at = DateTime::from_timestamp_millis(1_700_000_000_000).unwrap();
        let stored = ProxyAccessToken::new(SecretString::from("t0k".to_string()), at).to_secret();
        assert_eq!(
            stored.expose_secret(),
            r#"{"expirationDate":1700000000000,"token":"t0k"}"#
        );
        let back = ProxyAccessToken::parse(&stored).unwrap();
        assert_eq!(
            (back.token.expose_secret(), back.expires_at()),
            ("t0k", Some(at))
        );
        for odd in ["t0k", "{}", r#"{"token":"t","expirationDate":"soon"}"#] {
            assert!(
                ProxyAccessToken::parse(&SecretString::from(odd.to_string())).is_none(),
                "{odd}"
            );
        }
    }

    /// `getSharedAccessTokenIfSupported`
    /// (java/core/src/main/java/co/worklytics/psoxy/gateway/impl/oauth/OAuthRefreshTokenSourceAuthStrategy.java):
    /// garbage is skipped, the latest expiry wins, a tie goes to the newer version.
    #[test]
    fn the_proxy_reuses_the_latest_expiry_and_skips_garbage() {
        let at = |ms: i64, t: &str| {
            ProxyAccessToken::new(
                SecretString::from(t.to_string()),
                DateTime::from_timestamp_millis(ms).unwrap(),
            )
            .to_secret()
        };
        let garbage = SecretString::from("not json".to_string());
        let picked = proxy_pick(&[
            garbage.clone(),
            at(1_000, "older"),
            at(5_000, "later"),
            at(5_000, "tie"),
        ])
        .unwrap();
        assert_eq!(picked.token.expose_secret(), "later");
        assert!(proxy_pick(&[garbage]).is_none());
    }
}
