//! The target of the last successful `init` or `renew` (store options, prefix, callback URL,
//! tfvars path: nothing secret), so a year later `renew` and a cron `status` need no options.
//!
//! It applies only when the command line names no store option at all (a shell that always
//! exports AWS_REGION or GOOGLE_CLOUD_PROJECT does not count): anything typed wins, and what is
//! used is said on stderr.

use std::path::{Path, PathBuf};

use clap::parser::ValueSource;
use clap::{ArgMatches, Args};
use serde::{Deserialize, Serialize};

use crate::cli::{Cli, Command, StoreArgs};
use crate::connector::Connector;
use crate::store::StoreTarget;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LastRun {
    /// The store and its options, without per-run switches.
    pub store: StoreTarget,
    /// The connector set up there (files from before the choice: Jira Cloud).
    #[serde(
        with = "crate::connector::serde_id",
        default = "crate::connector::default"
    )]
    pub connector: &'static Connector,
    pub prefix: String,
    pub redirect_uri: String,
    #[serde(default)]
    pub tfvars: Option<PathBuf>,
    /// The target of `init --demo`: `renew` renews it against the simulator, never Atlassian.
    #[serde(default)]
    pub demo: bool,
}

/// `$XDG_CONFIG_HOME/jira-psoxy-setup/last-run.json`, else under `~/.config`; none without a home.
pub fn path() -> Option<PathBuf> {
    crate::user_dirs::app_dir("XDG_CONFIG_HOME", ".config").map(|d| d.join("last-run.json"))
}

/// One connector's last run, next to `path()`: `last-run-confluence-cloud.json`. An operator with
/// both connectors gets each one's target back with `--connector`.
pub fn path_for(connector: &Connector) -> Option<PathBuf> {
    path().map(|p| p.with_file_name(format!("last-run-{}.json", connector.id)))
}

/// The run to fill in from: with `--connector`, that connector's last run if there is one; else
/// the last run of any connector (`fill_in` takes it only for the same connector).
pub fn load_for(typed: Option<&Connector>) -> Result<Option<LastRun>, String> {
    if let Some(own) = typed.and_then(path_for)
        && let Some(last) = LastRun::load(&own)?
    {
        return Ok(Some(last));
    }
    path().map_or(Ok(None), |p| LastRun::load(&p))
}

/// Writes a remembered file whole (0600): a temporary file beside it, renamed into place.
pub(crate) fn save_text(to: &Path, text: &str) -> std::io::Result<()> {
    let dir = to.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    std::io::Write::write_all(&mut tmp, text.as_bytes())?;
    tmp.persist(to).map_err(|e| e.error)?;
    Ok(())
}

impl LastRun {
    pub fn new(
        store: &StoreTarget,
        connector: &'static Connector,
        prefix: &str,
        redirect_uri: &str,
        tfvars: Option<&Path>,
    ) -> LastRun {
        LastRun {
            store: store.remembered(),
            connector,
            prefix: prefix.to_string(),
            redirect_uri: redirect_uri.to_string(),
            tfvars: tfvars.map(|t| std::path::absolute(t).unwrap_or_else(|_| t.to_path_buf())),
            demo: false,
        }
    }

    /// Written whole (0600) next to a temporary file, then renamed into place.
    pub fn save(&self, to: &Path) -> std::io::Result<()> {
        let text = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        save_text(to, &text)
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
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| unusable(e.to_string()))
    }
}

/// Whether the command line names any store option (`--store`, `--file`, `--aws-region`, ...):
/// every argument of `StoreArgs` that takes a value, as clap lists them, typed on the command
/// line. Switches (`--create-missing`) choose no target.
pub fn store_options_typed(matches: &ArgMatches) -> bool {
    let Some((_, sub)) = matches.subcommand() else {
        return false;
    };
    StoreArgs::augment_args(clap::Command::new("store"))
        .get_arguments()
        .filter(|arg| arg.get_action().takes_values())
        .any(|arg| typed(sub, arg.get_id().as_str()))
}

/// `try_get_raw` first: asking `value_source` about an id the command lacks panics.
fn typed(sub: &ArgMatches, id: &str) -> bool {
    matches!(sub.try_get_raw(id), Ok(Some(_)))
        && sub.value_source(id) == Some(ValueSource::CommandLine)
}

/// Fills in `renew` and `check` from the last run when no store option was typed, and no other
/// connector than the last run's was asked for (`status` reads every remembered deployment instead:
/// `crate::deployments`). Returns the line to tell the operator, if
/// anything was filled in. Per-run switches (`--create-missing`, `--gcp-replication`,
/// `--destroy-old-versions`) are never remembered: they stay as typed.
pub fn fill_in(cli: &mut Cli, matches: &ArgMatches, last: Option<LastRun>) -> Option<String> {
    let (_, sub) = matches.subcommand()?;
    if store_options_typed(matches) {
        return None;
    }
    let last = last?;
    let typed_connector = match &cli.command {
        Command::Renew(args) => args.connector,
        Command::Check(args) => args.connector,
        _ => return None,
    };
    if typed_connector.is_some_and(|typed| typed != last.connector) {
        return None;
    }
    let mut also = "";
    let (store, connector) = match &mut cli.command {
        // `renew --demo` never takes a real deployment's target.
        Command::Renew(args) if args.demo && !last.demo => return None,
        Command::Renew(args) => {
            if last.demo && !args.demo {
                args.demo = true;
                also = "; the last run was the demo, so this renews the demo";
            }
            // The demo chooses its own loopback port each time.
            if !typed(sub, "redirect_uri") && !last.demo {
                args.auth.redirect_uri = last.redirect_uri.clone();
            }
            if args.run.tfvars.is_none() {
                args.run.tfvars = last.tfvars.clone().filter(|t| t.exists());
            }
            (&mut args.store, &mut args.connector)
        }
        // `terraform output` runs beside the remembered tfvars.
        Command::Check(args) => {
            if args.tfvars.is_none() {
                args.tfvars = last.tfvars.clone().filter(|t| t.exists());
            }
            (&mut args.store, &mut args.connector)
        }
        _ => return None,
    };
    *connector = Some(last.connector);
    store.remembered = Some(last.store.clone().with_switches_of(&store.options));
    store.prefix = Some(last.prefix.clone());
    // Jira's line stays as it was; another connector is named.
    let mut words = Vec::new();
    if !std::ptr::eq(last.connector, crate::connector::default()) {
        words.extend(["--connector".to_string(), last.connector.id.to_string()]);
    }
    words.extend(last.store.flags());
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
    use crate::store::aws::AwsTarget;
    use crate::store::gcp::GcpTarget;
    use crate::store::ssm::SsmTarget;
    use clap::{CommandFactory, FromArgMatches};

    fn parse(argv: &[&str]) -> (Cli, ArgMatches) {
        let matches = Cli::command().try_get_matches_from(argv).unwrap();
        (Cli::from_arg_matches(&matches).unwrap(), matches)
    }

    fn last() -> LastRun {
        LastRun {
            store: StoreTarget::AwsSsm(SsmTarget(AwsTarget {
                region: Some("eu-west-1".into()),
                ..Default::default()
            })),
            connector: &crate::connector::JIRA_CLOUD,
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
        assert_eq!(args.store.kind(), &crate::store::ssm::KIND);
        assert_eq!(args.store.target(), last().store);
        assert_eq!(args.store.prefix.as_deref(), Some("/p/ACME_JIRA_CLOUD_"));
        assert!(args.store.create_missing, "typed, so kept");
        assert_eq!(args.auth.redirect_uri, "http://127.0.0.1:8765/callback");
        assert!(note.contains("--aws-region eu-west-1"), "{note}");
    }

    #[test]
    fn a_typed_destroy_switch_applies_to_a_remembered_gcp_target() {
        let mut gcp = last();
        gcp.store = StoreTarget::GcpSecretManager(GcpTarget {
            project: Some("acme".into()),
            ..Default::default()
        });
        let (mut cli, m) = parse(&["x", "renew", "--destroy-old-versions"]);
        fill_in(&mut cli, &m, Some(gcp)).expect("filled in");
        let Command::Renew(args) = cli.command else {
            panic!()
        };
        let StoreTarget::GcpSecretManager(target) = args.store.target() else {
            panic!()
        };
        assert!(target.destroy_old_versions);
    }

    #[test]
    fn every_store_option_counts_as_typed_and_switches_do_not() {
        for typed in [
            &["--file", "other.json"][..],
            &["--kms-key-id", "k"],
            &["--ssm-root-path", "/x/"],
            &["--environment-name", "acme"],
            &["--gcp-endpoint", "http://127.0.0.1:1"],
        ] {
            let argv: Vec<&str> = ["x", "status"].iter().chain(typed).copied().collect();
            assert!(store_options_typed(&parse(&argv).1), "{typed:?}");
        }
        for switch in ["--create-missing", "--destroy-old-versions"] {
            assert!(!store_options_typed(&parse(&["x", "renew", switch]).1));
        }
    }

    #[test]
    fn a_typed_store_option_or_callback_wins() {
        let (mut cli, m) = parse(&["x", "renew", "--file", "other.json"]);
        assert_eq!(fill_in(&mut cli, &m, Some(last())), None);
        let Command::Renew(args) = cli.command else {
            panic!()
        };
        assert_eq!(args.store.kind(), &crate::store::file::KIND);

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
    fn after_the_demo_renew_renews_the_demo_and_a_real_target_stays_out_of_it() {
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

        let (mut cli, m) = parse(&["x", "renew", "--demo"]);
        assert_eq!(
            fill_in(&mut cli, &m, Some(last())),
            None,
            "a real target stays out of the demo"
        );
    }

    #[test]
    fn the_connector_is_remembered_and_another_one_typed_takes_nothing() {
        let mut confluence = last();
        confluence.connector = &crate::connector::CONFLUENCE_CLOUD;
        confluence.prefix = "/p/ACME_CONFLUENCE_CLOUD_".into();
        let (mut cli, m) = parse(&["x", "renew"]);
        let note = fill_in(&mut cli, &m, Some(confluence)).expect("filled in");
        assert!(note.contains("--connector confluence-cloud"), "{note}");
        let Command::Renew(args) = cli.command else {
            panic!()
        };
        assert_eq!(args.connector, Some(&crate::connector::CONFLUENCE_CLOUD));

        let (mut cli, m) = parse(&["x", "renew", "--connector", "confluence-cloud"]);
        assert_eq!(
            fill_in(&mut cli, &m, Some(last())),
            None,
            "the last run was Jira's"
        );
        let Command::Renew(args) = cli.command else {
            panic!()
        };
        assert_eq!(args.store.prefix, None);
    }
}
