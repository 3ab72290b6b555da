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
}
