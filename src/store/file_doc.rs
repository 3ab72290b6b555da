//! The file store's JSON document, kept as it was written. Values this tool does not own stay
//! byte for byte (`123456789012345678901234567890` is not rounded into a float) and in their
//! order; a key given twice is refused, since which one a reader takes is anybody's guess.
//! Our metadata key is read into its exact shape when the file is loaded, so a file whose
//! `_jira_psoxy_setup` is something else is refused at preflight, before any authorization.

use std::collections::{BTreeMap, HashSet};
use std::fmt;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// The reserved key holding this tool's metadata, never a secret.
pub const META_KEY: &str = "_jira_psoxy_setup";

/// What this tool keeps under `META_KEY`.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Meta {
    /// When each secret was last written (RFC 3339), by full name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub written_at: BTreeMap<String, String>,
    /// Facts about each deployment's token family, by prefix.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub families: BTreeMap<String, Family>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Family {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_issued_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud_id: Option<String>,
}

/// The top-level object: every other entry as raw JSON text, in file order, plus our metadata.
#[derive(Debug, Default)]
pub struct Document {
    entries: Vec<(String, Box<RawValue>)>,
    pub meta: Meta,
}

impl Document {
    /// Parses the file's text; the error says what is wrong, for a message naming the file.
    pub fn parse(text: &str) -> Result<Document, String> {
        let mut de = serde_json::Deserializer::from_str(text);
        let entries = de
            .deserialize_map(EntriesVisitor)
            .and_then(|entries| de.end().map(|()| entries))
            .map_err(|e| e.to_string())?;
        let mut doc = Document::default();
        for (key, value) in entries {
            if key == META_KEY {
                doc.meta = serde_json::from_str(value.get()).map_err(|e| {
                    format!("its {META_KEY} key is not what jira-psoxy-setup writes ({e})")
                })?;
            } else {
                doc.entries.push((key, value));
            }
        }
        Ok(doc)
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(k, _)| k.as_str())
    }

    /// The value of `key` when it is a JSON string.
    pub fn string(&self, key: &str) -> Option<String> {
        let (_, raw) = self.entries.iter().find(|(k, _)| k == key)?;
        serde_json::from_str(raw.get()).ok()
    }

    /// Sets `key` to the string `value`, in place when it exists, else at the end.
    pub fn set_string(&mut self, key: &str, value: &str) -> Result<(), String> {
        let raw = serde_json::value::to_raw_value(value).map_err(|e| e.to_string())?;
        match self.entries.iter_mut().find(|(k, _)| k == key) {
            Some((_, old)) => *old = raw,
            None => self.entries.push((key.to_string(), raw)),
        }
        Ok(())
    }

    /// The document as the file holds it: pretty-printed, other values exactly as they were.
    pub fn to_text(&self) -> Result<String, String> {
        let mut text = serde_json::to_string_pretty(self).map_err(|e| e.to_string())?;
        text.push('\n');
        Ok(text)
    }
}

impl Serialize for Document {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.entries.len().saturating_add(1)))?;
        for (key, value) in &self.entries {
            map.serialize_entry(key, value)?;
        }
        map.serialize_entry(META_KEY, &self.meta)?;
        map.end()
    }
}

/// Collects the top-level entries in order, refusing a repeated key.
struct EntriesVisitor;

impl<'de> Visitor<'de> for EntriesVisitor {
    type Value = Vec<(String, Box<RawValue>)>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object of secrets")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
        let mut seen = HashSet::new();
        let mut entries = Vec::new();
        while let Some((key, value)) = access.next_entry::<String, Box<RawValue>>()? {
            if !seen.insert(key.clone()) {
                return Err(serde::de::Error::custom(format!(
                    "the key {key:?} appears twice"
                )));
            }
            entries.push((key, value));
        }
        Ok(entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_we_do_not_own_are_kept_byte_for_byte_in_their_order() {
        let text =
            "{\"Z_BIG\": 123456789012345678901234567890, \"A\": {\"x\": 1.50}, \"S\": \"v\"}";
        let mut doc = Document::parse(text).unwrap();
        doc.set_string("S", "w").unwrap();
        doc.set_string("NEW", "n").unwrap();
        let out = doc.to_text().unwrap();
        assert!(out.contains("123456789012345678901234567890"), "{out}");
        assert!(out.contains("1.50"), "{out}");
        let order: Vec<_> = Document::parse(&out)
            .unwrap()
            .keys()
            .map(str::to_string)
            .collect();
        assert_eq!(order, ["Z_BIG", "A", "S", "NEW"]);
        assert_eq!(
            Document::parse(&out).unwrap().string("S").as_deref(),
            Some("w")
        );
    }

    #[test]
    fn a_repeated_key_a_non_object_and_a_foreign_metadata_shape_are_refused() {
        let err = Document::parse("{\"A\": \"1\", \"A\": \"2\"}").unwrap_err();
        assert!(err.contains("\"A\" appears twice"), "{err}");
        assert!(Document::parse("[1]").is_err());
        assert!(Document::parse("{} x").is_err());
        for meta in [
            "\"a string\"",
            "{\"families\": \"x\"}",
            "{\"families\": {\"P_\": \"x\"}}",
            "{\"written_at\": {\"A\": 1}}",
        ] {
            let err = Document::parse(&format!("{{\"{META_KEY}\": {meta}}}")).unwrap_err();
            assert!(
                err.contains("not what jira-psoxy-setup writes"),
                "{meta}: {err}"
            );
        }
    }
}
