//! Every store, in one place: what `--store` offers (its name, label and help) and the flags each
//! store owns, composed into `StoreOptions`, which the command line flattens. Each store's module
//! describes itself; a new store adds one line to `ALL` and one field to `StoreOptions`.

use clap::Args;
use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};

use super::{StoreTarget, aws, file, gcp, secrets_manager, ssm};

/// The cloud a store belongs to: how a proxy deployed beside it is called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cloud {
    Aws,
    Google,
}

/// A store as `--store` and step 1 of a terminal run name it.
pub struct StoreKind {
    /// The `--store` value, and the `kind` a saved target carries.
    pub name: &'static str,
    /// As step 1 of a terminal run offers it.
    pub label: &'static str,
    /// `--store`'s help for this value.
    pub help: &'static str,
    pub cloud: Option<Cloud>,
    /// The target this store's flags name.
    pub target: fn(&StoreOptions) -> StoreTarget,
}

impl PartialEq for StoreKind {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for StoreKind {}

impl std::fmt::Debug for StoreKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

/// Every store, in the order step 1 offers them.
pub static ALL: [&StoreKind; 4] = [&file::KIND, &ssm::KIND, &secrets_manager::KIND, &gcp::KIND];

/// The store when none is named.
pub fn default() -> &'static StoreKind {
    &file::KIND
}

pub fn by_name(name: &str) -> Option<&'static StoreKind> {
    ALL.iter().copied().find(|k| k.name == name)
}

/// `--store NAME`, with each store's help.
pub fn value_parser() -> impl TypedValueParser<Value = &'static StoreKind> {
    PossibleValuesParser::new(ALL.map(|k| PossibleValue::new(k.name).help(k.help)))
        .map(|name| by_name(&name).unwrap_or_else(default))
}

/// Each store's own flags.
#[derive(Debug, Clone, Args)]
pub struct StoreOptions {
    #[command(flatten)]
    pub file: file::FileArgs,
    #[command(flatten)]
    pub aws: aws::AwsArgs,
    #[command(flatten)]
    pub gcp: gcp::GcpArgs,
}

impl StoreOptions {
    /// The target these flags name for `kind`.
    pub fn target(&self, kind: &StoreKind) -> StoreTarget {
        (kind.target)(self)
    }

    /// The cloud stores' flags typed on the command line.
    pub fn typed_cloud_options(&self) -> Vec<&'static str> {
        let mut typed = self.aws.typed();
        typed.extend(self.gcp.typed());
        typed
    }
}

/// An option's value, unless empty or blank.
pub(crate) fn given(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// Whether an option that also reads an environment variable was typed rather than taken from
/// it.
pub(crate) fn typed_not_env(value: &Option<String>, env: &str) -> bool {
    value
        .as_deref()
        .is_some_and(|v| std::env::var(env).ok().as_deref() != Some(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_is_found_by_its_name_and_builds_its_own_target() {
        let options = crate::testing::store_args(&[]).options;
        for kind in ALL {
            assert_eq!(by_name(kind.name), Some(kind));
            assert_eq!(options.target(kind).kind(), kind);
        }
        assert_eq!(by_name("nowhere"), None);
    }
}
