//! The token family's metadata as tags on the REFRESH_TOKEN parameter. Psoxy's Terraform
//! ignores tag changes on its parameters (`lifecycle { ignore_changes = [tags] }`), so a later
//! `terraform apply` keeps them.

use std::collections::HashMap;

use aws_sdk_ssm::types::{ResourceTypeForTagging, Tag};
use chrono::{DateTime, SecondsFormat, Utc};

use super::SsmStore;
use crate::store::aws::error::{Op, classify, code};
use crate::store::{FamilyMetadata, SecretKey, SecretNames, StoreError, StoreResult};

/// When the token family was first issued (RFC 3339, UTC, milliseconds).
pub const TAG_ISSUED_AT: &str = "jira-psoxy-setup:family-issued-at";
/// The site's cloud id.
pub const TAG_CLOUD_ID: &str = "jira-psoxy-setup:cloud-id";

/// SSM tag values allow letters, digits, spaces and `_.:/=+-@`, up to 256 characters.
fn tag(key: &str, value: &str) -> StoreResult<Tag> {
    let allowed = |c: char| c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c);
    if value.chars().count() > 256 || !value.chars().all(allowed) {
        return Err(StoreError::Other(format!(
            "{value:?} cannot be stored as the SSM tag {key} (letters, digits, spaces and _.:/=+-@ only)"
        )));
    }
    Tag::builder()
        .key(key)
        .value(value)
        .build()
        .map_err(|e| StoreError::Other(e.to_string()))
}

fn parse_issued_at(value: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(value)
        .map(|d| d.with_timezone(&Utc))
        .ok()
        .or_else(|| DateTime::from_timestamp_millis(value.parse().ok()?))
}

impl SsmStore {
    async fn list_tags(&self, name: &str) -> StoreResult<HashMap<String, String>> {
        match self
            .client
            .list_tags_for_resource()
            .resource_type(ResourceTypeForTagging::Parameter)
            .resource_id(name)
            .send()
            .await
        {
            Ok(out) => Ok(out
                .tag_list()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect()),
            Err(e) if matches!(code(&e), Some("InvalidResourceId" | "ParameterNotFound")) => {
                Ok(HashMap::new())
            }
            Err(e) => Err(classify(e, Op::new("ssm:ListTagsForResource", name))),
        }
    }

    async fn add_tags(&self, name: &str, tags: Vec<Tag>) -> StoreResult<()> {
        self.client
            .add_tags_to_resource()
            .resource_type(ResourceTypeForTagging::Parameter)
            .resource_id(name)
            .set_tags(Some(tags))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify(e, Op::new("ssm:AddTagsToResource", name)))
    }

    pub(super) async fn metadata(&self, names: &SecretNames) -> StoreResult<FamilyMetadata> {
        self.metadata_of(&names.name(SecretKey::RefreshToken)).await
    }

    pub(super) async fn set_metadata(
        &self,
        names: &SecretNames,
        meta: &FamilyMetadata,
    ) -> StoreResult<()> {
        self.set_metadata_of(&names.name(SecretKey::RefreshToken), meta)
            .await
    }

    /// The family's metadata from the tags of one parameter (none when it does not exist).
    pub(crate) async fn metadata_of(&self, param: &str) -> StoreResult<FamilyMetadata> {
        let tags = self.list_tags(param).await?;
        Ok(FamilyMetadata {
            issued_at: tags.get(TAG_ISSUED_AT).and_then(|v| parse_issued_at(v)),
            cloud_id: tags.get(TAG_CLOUD_ID).cloned(),
        })
    }

    pub(crate) async fn set_metadata_of(
        &self,
        param: &str,
        meta: &FamilyMetadata,
    ) -> StoreResult<()> {
        let mut tags = Vec::new();
        if let Some(t) = meta.issued_at {
            let when = t.to_rfc3339_opts(SecondsFormat::Millis, true);
            tags.push(tag(TAG_ISSUED_AT, &when)?);
        }
        if let Some(id) = &meta.cloud_id {
            tags.push(tag(TAG_CLOUD_ID, id)?);
        }
        if tags.is_empty() {
            return Ok(());
        }
        self.add_tags(param, tags).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_values_are_checked_and_times_round_trip() {
        let when = DateTime::from_timestamp_millis(1_700_000_000_123).unwrap();
        let text = when.to_rfc3339_opts(SecondsFormat::Millis, true);
        assert!(tag(TAG_ISSUED_AT, &text).is_ok());
        assert_eq!(parse_issued_at(&text), Some(when));
        assert_eq!(parse_issued_at("1700000000123"), Some(when));
        assert!(tag(TAG_CLOUD_ID, "a1b2c3d4-0000-1111-2222-333344445555").is_ok());
        assert!(tag(TAG_CLOUD_ID, "bad\"value").is_err());
    }
}
