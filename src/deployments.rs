//! Every deployment `status` looks at when no store option is typed: the ones a successful `init`
//! or `renew` on this machine recorded in `deployments.json` (beside `last-run.json`), each
//! connector's last target, or the list a team keeps in its repository (`--deployments FILE`).
//! A deployment is a connector, a store and a prefix: nothing secret. The registry file and a
//! `--deployments` file have one format, so the registry can be copied into a repository as it is.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::connector::Connector;
use crate::last_run::{self, LastRun};
use crate::local_file::{LOCK_WAIT, UpdateLock};
use crate::store::StoreTarget;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deployment {
    #[serde(
        with = "crate::connector::serde_id",
        default = "crate::connector::default"
    )]
    pub connector: &'static Connector,
    pub store: StoreTarget,
    pub prefix: String,
    /// terraform.tfvars whose cloud id `status` reports (as `--tfvars`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tfvars: Option<PathBuf>,
    /// Set up by `init --demo`: its secrets are the simulator's, not a real deployment's.
    #[serde(default)]
    pub demo: bool,
    /// The callback URL its app registered, so a suggested `renew` uses it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uri: Option<String>,
}

/// The file's shape: `{"deployments": [...]}`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeploymentList {
    deployments: Vec<Deployment>,
}

impl Deployment {
    pub fn from_last_run(last: &LastRun) -> Deployment {
        Deployment {
            connector: last.connector,
            store: last.store.remembered(),
            prefix: last.prefix.clone(),
            tfvars: last.tfvars.clone(),
            demo: last.demo,
            redirect_uri: Some(last.redirect_uri.clone()),
        }
    }

    /// The options that name this deployment to `init` and `renew` (store, prefix, callback URL,
    /// tfvars, demo), for the commands a report suggests.
    pub fn options(&self) -> Vec<String> {
        let mut words = if self.demo {
            vec!["--demo".to_string()]
        } else {
            Vec::new()
        };
        words.extend(self.store.flags());
        words.extend(["--prefix".to_string(), self.prefix.clone()]);
        if let Some(uri) = &self.redirect_uri {
            words.extend(["--redirect-uri".to_string(), uri.clone()]);
        }
        if let Some(tfvars) = &self.tfvars {
            words.extend(["--tfvars".to_string(), tfvars.display().to_string()]);
        }
        words
    }

    /// How `status` names it and `--forget` takes it: `<connector>@<store>:<prefix>`, e.g.
    /// `jira-cloud@aws-ssm:us-east-1:PSOXY_JIRA_CLOUD_`. Two deployments with one name are one.
    pub fn name(&self) -> String {
        format!(
            "{}@{}:{}",
            self.connector.id,
            self.store_label(),
            self.prefix
        )
    }

    /// The store and where it is: `aws-ssm:us-east-1` (`aws-ssm:us-east-1/PROFILE` with a
    /// profile), `gcp-secret-manager:PROJECT`, `file:/abs/path.json`.
    pub fn store_label(&self) -> String {
        self.store.label()
    }

    /// Relative paths (a team's file names `secrets.json`) are taken from the file's directory.
    fn anchored_at(mut self, dir: &Path) -> Deployment {
        if let StoreTarget::File(file) = &mut self.store
            && file.path.is_relative()
        {
            file.path = dir.join(&file.path);
        }
        if let Some(tfvars) = self.tfvars.as_mut().filter(|t| t.is_relative()) {
            *tfvars = dir.join(&*tfvars);
        }
        self
    }
}

/// `deployments.json` beside `last-run.json`; none without a home.
pub fn registry_path() -> Option<PathBuf> {
    last_run::path().map(|p| p.with_file_name("deployments.json"))
}

/// Records a deployment a run just set up or renewed (replacing one of the same name), under the
/// registry's lock so concurrent runs keep each other's.
pub fn remember(deployment: &Deployment) -> Result<(), String> {
    let Some(path) = registry_path() else {
        return Ok(());
    };
    update(&path, |list| upsert(list, deployment))
}

/// Adds `deployment`, or replaces the one of the same name where it stands.
fn upsert(list: &mut Vec<Deployment>, deployment: &Deployment) {
    let name = deployment.name();
    match list.iter_mut().find(|d| d.name() == name) {
        Some(kept) => *kept = deployment.clone(),
        None => list.push(deployment.clone()),
    }
}

/// What `--forget` removed.
#[derive(Debug, PartialEq)]
pub struct Forgotten {
    /// Last-run files that named it, deleted so the deployment does not come back from them.
    pub last_runs: Vec<PathBuf>,
}

/// Removes a deployment by name from the registry and from any last-run file that names it.
pub fn forget(name: &str) -> Result<Forgotten, String> {
    let mut found = false;
    if let Some(path) = registry_path().filter(|p| p.exists()) {
        update(&path, |list| {
            let before = list.len();
            list.retain(|d| d.name() != name);
            found = list.len() != before;
        })?;
    }
    let mut last_runs = Vec::new();
    for path in last_run_paths() {
        if let Ok(Some(last)) = LastRun::load(&path)
            && Deployment::from_last_run(&last).name() == name
        {
            std::fs::remove_file(&path).map_err(|e| {
                format!(
                    "cannot delete {} ({e}): check its directory's permissions",
                    path.display()
                )
            })?;
            last_runs.push(path);
        }
    }
    if !found && last_runs.is_empty() {
        return Err(format!(
            "no remembered deployment is named {name:?}: `status` lists them in its DEPLOYMENT column (`status --json`: \"deployment\")"
        ));
    }
    Ok(Forgotten { last_runs })
}

/// What this machine remembers, and why any last-run file could not be used.
#[derive(Debug, Default)]
pub struct Remembered {
    pub deployments: Vec<Deployment>,
    /// One line per unusable last-run file: the others are still reported.
    pub warnings: Vec<String>,
}

/// Every remembered deployment: the registry's, then each last-run
/// file's not already listed. A demo's are left out once a real one is remembered, so a nightly
/// check never starts watching the demo's file. An unusable registry is an error; an unusable
/// last-run file only a warning.
pub fn remembered() -> Result<Remembered, String> {
    let mut all = match registry_path() {
        Some(path) => load(&path)?.unwrap_or_default(),
        None => Vec::new(),
    };
    let mut warnings = Vec::new();
    for path in last_run_paths() {
        match LastRun::load(&path) {
            Ok(Some(last)) => {
                let deployment = Deployment::from_last_run(&last);
                if !all.iter().any(|d| d.name() == deployment.name()) {
                    all.push(deployment);
                }
            }
            Ok(None) => {}
            Err(why) => warnings.push(why),
        }
    }
    if all.iter().any(|d| !d.demo) {
        all.retain(|d| !d.demo);
    }
    Ok(Remembered {
        deployments: all,
        warnings,
    })
}

/// A `--deployments FILE` a team keeps: the registry's format; relative paths are the file's.
pub fn load_list(path: &Path) -> Result<Vec<Deployment>, String> {
    let list = load(path)?.ok_or_else(|| {
        format!(
            "{} does not exist: pass the path of your deployments file",
            path.display()
        )
    })?;
    let dir = std::path::absolute(path)
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_default();
    Ok(list.into_iter().map(|d| d.anchored_at(&dir)).collect())
}

fn last_run_paths() -> Vec<PathBuf> {
    let own = crate::connector::ALL.iter().map(|c| last_run::path_for(c));
    std::iter::once(last_run::path())
        .chain(own)
        .flatten()
        .collect()
}

/// `Ok(None)` when there is no file; `Err` says what is wrong with one.
fn load(path: &Path) -> Result<Option<Vec<Deployment>>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(format!(
                "cannot read {} ({e}): check its permissions",
                path.display()
            ));
        }
    };
    let list: DeploymentList = serde_json::from_str(&text).map_err(|e| {
        format!(
            "{} is not a list of deployments ({e}): fix it as docs/monitoring.md (\"Every deployment at once\") shows",
            path.display()
        )
    })?;
    if let Some(empty) = list.deployments.iter().find(|d| d.prefix.trim().is_empty()) {
        return Err(format!(
            "{} lists a {} deployment without a prefix: add its \"prefix\" (e.g. PSOXY_{})",
            path.display(),
            empty.connector.id,
            empty.connector.name_segment
        ));
    }
    Ok(Some(list.deployments))
}

/// Reads, changes and writes the registry whole, under its lock.
fn update(path: &Path, change: impl FnOnce(&mut Vec<Deployment>)) -> Result<(), String> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {} ({e})", dir.display()))?;
    let _lock = UpdateLock::acquire(path, LOCK_WAIT)?;
    let mut deployments = load(path)?.unwrap_or_default();
    change(&mut deployments);
    let text = serde_json::to_string_pretty(&DeploymentList { deployments })
        .map_err(|e| format!("the deployment list does not serialize: {e}"))?;
    last_run::save_text(path, &text).map_err(|e| format!("cannot write {} ({e})", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::aws::AwsTarget;
    use crate::store::file::FileTarget;
    use crate::store::ssm::SsmTarget;

    fn ssm(region: &str, profile: Option<&str>) -> Deployment {
        Deployment {
            connector: &crate::connector::JIRA_CLOUD,
            store: StoreTarget::AwsSsm(SsmTarget(AwsTarget {
                region: Some(region.into()),
                profile: profile.map(str::to_string),
                ..Default::default()
            })),
            prefix: "PSOXY_JIRA_CLOUD_".into(),
            tfvars: None,
            demo: false,
            redirect_uri: None,
        }
    }

    #[test]
    fn a_deployment_is_named_by_connector_store_place_and_prefix() {
        assert_eq!(
            ssm("us-east-1", None).name(),
            "jira-cloud@aws-ssm:us-east-1:PSOXY_JIRA_CLOUD_"
        );
        // Two accounts (profiles) with the same region and prefix are two deployments.
        assert_eq!(
            ssm("us-east-1", Some("prod")).name(),
            "jira-cloud@aws-ssm:us-east-1/prod:PSOXY_JIRA_CLOUD_"
        );
        let file = Deployment {
            connector: &crate::connector::CONFLUENCE_CLOUD,
            store: StoreTarget::File(FileTarget {
                path: "/srv/psoxy/secrets.json".into(),
            }),
            prefix: "PSOXY_CONFLUENCE_CLOUD_".into(),
            tfvars: None,
            demo: true,
            redirect_uri: None,
        };
        assert_eq!(
            file.name(),
            "confluence-cloud@file:/srv/psoxy/secrets.json:PSOXY_CONFLUENCE_CLOUD_"
        );
    }

    #[test]
    fn a_deployments_options_name_it_to_renew() {
        let mut d = ssm("us-east-1", Some("prod"));
        d.redirect_uri = Some("http://127.0.0.1:8765/callback".into());
        assert_eq!(
            d.options().join(" "),
            "--store aws-ssm --aws-region us-east-1 --aws-profile prod --prefix PSOXY_JIRA_CLOUD_ --redirect-uri http://127.0.0.1:8765/callback"
        );
        d.demo = true;
        assert_eq!(d.options()[0], "--demo");
    }

    #[test]
    fn a_team_file_resolves_relative_paths_from_its_directory_and_refuses_typos() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("deployments.json");
        std::fs::write(
            &path,
            r#"{"deployments": [
                {"store": {"kind": "file", "path": "secrets.json"}, "prefix": "PSOXY_JIRA_CLOUD_",
                 "tfvars": "terraform.tfvars"},
                {"connector": "confluence-cloud", "store": {"kind": "aws-ssm", "region": "eu-west-1"},
                 "prefix": "PSOXY_CONFLUENCE_CLOUD_"}
            ]}"#,
        )
        .unwrap();
        let list = load_list(&path).unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(
            list[0].store,
            StoreTarget::File(FileTarget {
                path: dir.path().join("secrets.json")
            })
        );
        assert_eq!(list[0].tfvars, Some(dir.path().join("terraform.tfvars")));
        assert_eq!(list[0].connector, crate::connector::default());
        assert_eq!(
            list[1].name(),
            "confluence-cloud@aws-ssm:eu-west-1:PSOXY_CONFLUENCE_CLOUD_"
        );

        std::fs::write(
            &path,
            r#"{"deployments": [{"store": {"kind": "file", "path": "x"}, "prefx": "P_"}]}"#,
        )
        .unwrap();
        let why = load_list(&path).unwrap_err();
        assert!(
            why.contains("prefx") && why.contains("docs/monitoring.md"),
            "{why}"
        );
        std::fs::write(
            &path,
            r#"{"deployments": [{"store": {"kind": "file", "path": "x"}, "prefix": ""}]}"#,
        )
        .unwrap();
        assert!(load_list(&path).unwrap_err().contains("without a prefix"));
        assert!(
            load_list(&dir.path().join("nope.json"))
                .unwrap_err()
                .contains("does not exist")
        );
    }

    #[test]
    fn the_registry_keeps_one_entry_per_name_and_is_a_valid_team_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("deployments.json");
        update(&path, |l| upsert(l, &ssm("us-east-1", None))).unwrap();
        update(&path, |l| upsert(l, &ssm("eu-west-1", None))).unwrap();
        let mut renamed = ssm("us-east-1", None);
        renamed.tfvars = Some("/work/terraform.tfvars".into());
        update(&path, |l| upsert(l, &renamed)).unwrap();
        let list = load_list(&path).unwrap();
        assert_eq!(list, vec![renamed, ssm("eu-west-1", None)]);
    }
}
