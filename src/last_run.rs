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
    /// The target of `init --demo`: `renew` renews it against the simulator, never Atlassian.
    #[serde(default)]
    pub demo: bool,
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

/// `$XDG_CONFIG_HOME/jira-psoxy-setup/last-run.json`, else under `~/.config`; none without a home.
pub fn path() -> Option<PathBuf> {
    crate::user_dirs::app_dir("XDG_CONFIG_HOME", ".config").map(|d| d.join("last-run.json"))
}

impl LastRun {
    pub fn new(
        store: &StoreArgs,
        prefix: &str,
        redirect_uri: &str,
        tfvars: Option<&Path>,
    ) -> LastRun {
        LastRun {
            store_flags: store.as_flags(),
            prefix: prefix.to_string(),
            redirect_uri: redirect_uri.to_string(),
            tfvars: tfvars.map(|t| std::path::absolute(t).unwrap_or_else(|_| t.to_path_buf())),
            demo: false,
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

    /// `Ok(None)` when there is no file; `Err` says why one could not be used.
    pub fn load(from: &Path) -> Result<Option<LastRun>, String> {
        let unusable = |why: String| {
            format!(
                "{} cannot be used ({why}): pass the store options, or run init again",
                from.display()
            )
        };
        let text = match std::fs::read_to_string(from) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(unusable(e.to_string())),
        };
        let last: LastRun = serde_json::from_str(&text).map_err(|e| unusable(e.to_string()))?;
        last.store_args().map_err(unusable)?;
        Ok(Some(last))
    }

    fn store_args(&self) -> Result<StoreArgs, String> {
        let mut flags = self.store_flags.clone();
        flags.extend(["--prefix".to_string(), self.prefix.clone()]);
        store_args_from(&flags)
    }
}

/// Store options as flags (`StoreArgs::as_flags`, a recovery file's) back into `StoreArgs`.
pub fn store_args_from(flags: &[String]) -> Result<StoreArgs, String> {
    #[derive(Parser)]
    struct Remembered {
        #[command(flatten)]
        store: StoreArgs,
    }
    let argv = std::iter::once("remembered".to_string()).chain(flags.iter().cloned());
    Remembered::try_parse_from(argv)
        .map(|r| r.store)
        .map_err(|e| e.kind().to_string())
}

/// Whether the command line names any store option (`--store`, `--file`, `--aws-region`, ...).
pub fn store_options_typed(matches: &ArgMatches) -> bool {
    matches
        .subcommand()
        .is_some_and(|(_, sub)| STORE_OPTIONS.iter().any(|id| typed(sub, id)))
}

/// `try_get_raw` first: asking `value_source` about an id the command lacks panics.
fn typed(sub: &ArgMatches, id: &str) -> bool {
    matches!(sub.try_get_raw(id), Ok(Some(_)))
        && sub.value_source(id) == Some(ValueSource::CommandLine)
}

/// Fills in `renew` and `status` from the last run when no store option was typed. Returns the
/// line to tell the operator, if anything was filled in. Per-run switches (`--create-missing`,
/// `--destroy-old-versions`) are never remembered: they stay as typed.
pub fn fill_in(cli: &mut Cli, matches: &ArgMatches, last: Option<LastRun>) -> Option<String> {
    let (_, sub) = matches.subcommand()?;
    if store_options_typed(matches) {
        return None;
    }
    let last = last?;
    let mut remembered = last.store_args().ok()?;
    let keep_switches = |typed: &StoreArgs, remembered: &mut StoreArgs| {
        remembered.create_missing = typed.create_missing;
        remembered.destroy_old_versions = typed.destroy_old_versions;
    };
    let mut also = "";
    match &mut cli.command {
        // `renew --demo` never takes a real deployment's target.
        Command::Renew(args) if args.demo && !last.demo => return None,
        Command::Renew(args) => {
            if last.demo && !args.demo {
                args.demo = true;
                also = "; the last run was the demo, so this renews the demo";
            }
            keep_switches(&args.store, &mut remembered);
            args.store = remembered;
            if !typed(sub, "redirect_uri") {
                args.auth.redirect_uri = last.redirect_uri.clone();
            }
            if args.run.tfvars.is_none() {
                args.run.tfvars = last.tfvars.clone().filter(|t| t.exists());
            }
        }
        Command::Status(args) => {
            keep_switches(&args.store, &mut remembered);
            args.store = remembered;
            // The demo's simulated Atlassian is gone; its token must not go to the real one.
            if last.demo && args.check {
                args.check = false;
                also = "; --check skipped: the demo's simulated Atlassian ran only during the demo";
            }
        }
        _ => return None,
    }
    let mut words = last.store_flags.clone();
    words.retain(|w| w != "--destroy-old-versions");
    words.extend(["--prefix".to_string(), last.prefix.clone()]);
    let whose = if last.demo {
        "the demo's target"
    } else {
        "the target of the last run"
    };
    Some(format!(
        "using {whose}: {} (pass --store to choose another){also}",
        crate::recovery::shell_line(&words)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory, FromArgMatches};

    fn parse(argv: &[&str]) -> (Cli, ArgMatches) {
        let matches = Cli::command().try_get_matches_from(argv).unwrap();
        (Cli::from_arg_matches(&matches).unwrap(), matches)
    }

    fn last() -> LastRun {
        LastRun {
            store_flags: [
                "--store",
                "aws-ssm",
                "--aws-region",
                "eu-west-1",
                "--destroy-old-versions",
            ]
            .map(String::from)
            .to_vec(),
            prefix: "/p/ACME_JIRA_CLOUD_".into(),
            redirect_uri: "http://127.0.0.1:8765/callback".into(),
            tfvars: None,
            demo: false,
        }
    }

    #[test]
    fn renew_takes_the_target_but_keeps_its_own_switches() {
        let (mut cli, m) = parse(&["x", "renew", "--create-missing"]);
        let note = fill_in(&mut cli, &m, Some(last())).expect("filled in");
        let Command::Renew(args) = cli.command else {
            panic!()
        };
        assert_eq!(args.store.kind(), crate::cli::StoreKind::AwsSsm);
        assert_eq!(args.store.aws_region.as_deref(), Some("eu-west-1"));
        assert_eq!(args.store.prefix.as_deref(), Some("/p/ACME_JIRA_CLOUD_"));
        assert!(args.store.create_missing, "typed, so kept");
        assert!(!args.store.destroy_old_versions, "never remembered");
        assert_eq!(args.auth.redirect_uri, "http://127.0.0.1:8765/callback");
        assert!(!note.contains("--destroy-old-versions"), "{note}");
    }

    #[test]
    fn a_typed_store_option_or_callback_wins() {
        let (mut cli, m) = parse(&["x", "status", "--file", "other.json"]);
        assert_eq!(fill_in(&mut cli, &m, Some(last())), None);
        let Command::Status(args) = cli.command else {
            panic!()
        };
        assert_eq!(args.store.kind(), crate::cli::StoreKind::File);

        let (mut cli, m) = parse(&["x", "renew", "--redirect-uri", "http://127.0.0.1:9/cb"]);
        fill_in(&mut cli, &m, Some(last())).expect("filled in");
        let Command::Renew(args) = cli.command else {
            panic!()
        };
        assert_eq!(args.auth.redirect_uri, "http://127.0.0.1:9/cb");
    }

    #[test]
    fn a_remembered_target_round_trips_and_a_corrupt_one_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jira-psoxy-setup/last-run.json");
        assert_eq!(LastRun::load(&path), Ok(None));
        last().save(&path).unwrap();
        assert_eq!(LastRun::load(&path), Ok(Some(last())));
        std::fs::write(&path, "{").unwrap();
        let why = LastRun::load(&path).unwrap_err();
        assert!(
            why.contains("cannot be used") && why.contains("pass the store options"),
            "{why}"
        );
    }

    #[test]
    fn after_the_demo_renew_renews_the_demo_and_status_never_checks_against_atlassian() {
        let demo = LastRun {
            demo: true,
            ..last()
        };
        let (mut cli, m) = parse(&["x", "renew"]);
        let note = fill_in(&mut cli, &m, Some(demo.clone())).expect("filled in");
        let Command::Renew(args) = cli.command else {
            panic!()
        };
        assert!(args.demo, "{note}");
        assert!(note.contains("demo"), "{note}");

        let (mut cli, m) = parse(&["x", "status", "--check"]);
        let note = fill_in(&mut cli, &m, Some(demo)).expect("filled in");
        let Command::Status(args) = cli.command else {
            panic!()
        };
        assert!(!args.check, "{note}");

        let (mut cli, m) = parse(&["x", "renew", "--demo"]);
        assert_eq!(
            fill_in(&mut cli, &m, Some(last())),
            None,
            "a real target stays out of the demo"
        );
        let text =
            r#"{"store_flags":["--store","file"],"prefix":"P_","redirect_uri":"http://localhost"}"#;
        assert!(
            !serde_json::from_str::<LastRun>(text).unwrap().demo,
            "older files load"
        );
    }
}
