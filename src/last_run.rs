//! The target of the last successful `init` or `renew` (store options, prefix, callback URL,
//! tfvars path: nothing secret), so a year later `renew` and a cron `status` need no options.
//!
//! It applies only when the command line names no store option at all (a shell that always
//! exports AWS_REGION or GOOGLE_CLOUD_PROJECT does not count): anything typed wins, and what is
//! used is said on stderr.

use std::path::{Path, PathBuf};

use clap::parser::ValueSource;
use clap::{ArgMatches, Parser};
use serde::{Deserialize, Serialize};

use crate::cli::{Cli, Command, StoreArgs};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LastRun {
    /// `--store ...` and that store's options, with an absolute `--file`.
    pub store_flags: Vec<String>,
    pub prefix: String,
    pub redirect_uri: String,
    #[serde(default)]
    pub tfvars: Option<PathBuf>,
}

/// The store options' argument ids (clap names them after the fields of `StoreArgs`).
const STORE_OPTIONS: &[&str] = &[
    "store",
    "file",
    "prefix",
    "environment_name",
    "aws_region",
    "aws_profile",
    "ssm_root_path",
    "kms_key_id",
    "gcp_project",
    "gcp_endpoint",
];

/// `$XDG_CONFIG_HOME/jira-psoxy-setup/last-run.json`, else under `~/.config`.
pub fn path() -> PathBuf {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            std::env::var_os("HOME")
                .map(PathBuf::from)
                .unwrap_or_else(std::env::temp_dir)
                .join(".config")
        });
    base.join("jira-psoxy-setup").join("last-run.json")
}

impl LastRun {
    pub fn new(
        store: &StoreArgs,
        prefix: &str,
        redirect_uri: &str,
        tfvars: Option<&Path>,
    ) -> LastRun {
        let mut store = store.clone();
        store.file = std::path::absolute(&store.file).unwrap_or(store.file);
        LastRun {
            store_flags: store.as_flags(),
            prefix: prefix.to_string(),
            redirect_uri: redirect_uri.to_string(),
            tfvars: tfvars.map(|t| std::path::absolute(t).unwrap_or_else(|_| t.to_path_buf())),
        }
    }

    /// Written whole (0600) next to a temporary file, then renamed into place.
    pub fn save(&self, to: &Path) -> std::io::Result<()> {
        let dir = to.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)?;
        let text = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
        std::io::Write::write_all(&mut tmp, text.as_bytes())?;
        tmp.persist(to).map_err(|e| e.error)?;
        Ok(())
    }

    pub fn load(from: &Path) -> Option<LastRun> {
        let text = std::fs::read_to_string(from).ok()?;
        serde_json::from_str(&text).ok()
    }

    fn store_args(&self) -> Option<StoreArgs> {
        #[derive(Parser)]
        struct Remembered {
            #[command(flatten)]
            store: StoreArgs,
        }
        let argv = ["remembered", "--prefix", &self.prefix]
            .into_iter()
            .map(String::from)
            .chain(self.store_flags.iter().cloned());
        Remembered::try_parse_from(argv).ok().map(|r| r.store)
    }
}

/// Fills in `renew` and `status` from the last run when no store option was given. Returns the
/// line to tell the operator, if anything was filled in.
pub fn fill_in(cli: &mut Cli, matches: &ArgMatches, last: Option<LastRun>) -> Option<String> {
    let (name, sub) = matches.subcommand()?;
    if !matches!(name, "renew" | "status") {
        return None;
    }
    // `try_get_raw` first: asking `value_source` about an id the command lacks panics.
    let given = |id: &str| {
        matches!(sub.try_get_raw(id), Ok(Some(_)))
            && sub.value_source(id) == Some(ValueSource::CommandLine)
    };
    if STORE_OPTIONS.iter().any(|id| given(id)) {
        return None;
    }
    let last = last?;
    let store = last.store_args()?;
    match &mut cli.command {
        Command::Renew(args) => {
            args.store = store;
            if !given("redirect_uri") {
                args.auth.redirect_uri = last.redirect_uri.clone();
            }
            if args.run.tfvars.is_none() {
                args.run.tfvars = last.tfvars.clone().filter(|t| t.exists());
            }
        }
        Command::Status(args) => args.store = store,
        _ => return None,
    }
    Some(format!(
        "using the target of the last run ({}): {} --prefix {}; pass --store to choose another",
        path().display(),
        last.store_flags.join(" "),
        last.prefix
    ))
}
