//! The steps after the secrets are stored: the site's cloud id into terraform.tfvars, and the
//! calendar reminder. A tfvars failure is reported with the stored secrets (the run is still
//! remembered), not raised.

use std::path::Path;

use super::Context;
use super::report::{RunReport, TfvarsOutcome, summary};
use super::save::Stored;
use crate::atlassian::sites::Site;
use crate::cli::RunArgs;
use crate::error::Result;
use crate::family::renew_by;
use crate::tfvars::Edit;

/// The steps after the store, in order, then the summary.
pub fn finish(
    ctx: &Context,
    command: &'static str,
    run: &RunArgs,
    stored: Stored,
) -> Result<RunReport> {
    let site = &stored.grant.site;
    let tfvars = update_tfvars(ctx, run.tfvars.as_deref(), site);
    write_reminder(ctx, run, site, stored.grant.tokens.obtained_at)?;
    Ok(summary(ctx, command, run, stored, tfvars))
}

/// `--tfvars`: the cloud id where Terraform reads it; without it, the line to add by hand.
pub fn update_tfvars(ctx: &Context, tfvars: Option<&Path>, site: &Site) -> TfvarsOutcome {
    let key = ctx.connector.tfvars_key;
    let Some(path) = tfvars else {
        ctx.ui.info(&format!(
            "add {key} = \"{}\" to connector_settings in terraform.tfvars (or pass --tfvars PATH next time)",
            site.id
        ));
        return TfvarsOutcome::default();
    };
    match crate::tfvars::update_file(path, key, &site.id) {
        Ok(edit) => {
            let done = describe_edit(edit, key);
            if edit == crate::tfvars::Edit::ByHand {
                // A warning, not a failure: the proxy never reads this id (only the example
                // calls Terraform generates do, psoxy-contract §5).
                let fix = crate::tfvars::by_hand(key, &site.id);
                ctx.ui.warn(&format!("{}: {fix}", path.display()));
            } else {
                ctx.ui.ok(&format!("{}: {done}", path.display()));
            }
            TfvarsOutcome {
                change: Some(done),
                error: None,
            }
        }
        // The secrets are stored: a failure here is reported, and the run still remembered.
        Err(e) => TfvarsOutcome {
            change: None,
            error: Some(format!(
                "the secrets are stored, but {} was not updated ({e}); add {key} = \"{}\" to connector_settings in it by hand",
                path.display(),
                site.id
            )),
        },
    }
}

/// `--ics`: a reminder `--warn-days` before the family issued at `issued` ends.
pub fn write_reminder(
    ctx: &Context,
    run: &RunArgs,
    site: &Site,
    issued: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    if let Some(path) = &run.ics {
        crate::reminder::write(
            path,
            renew_by(issued),
            run.warn_days,
            &site.url,
            ctx.connector,
        )?;
        ctx.ui
            .ok(&format!("calendar reminder written to {}", path.display()));
    }
    Ok(())
}

fn describe_edit(edit: Edit, key: &str) -> String {
    match edit {
        Edit::Unchanged => "already set".into(),
        Edit::Replaced => format!("replaced {key} (the top-level variable, which Terraform uses)"),
        Edit::ReplacedInConnectorSettings => format!("replaced {key} in connector_settings"),
        Edit::ReplacedBoth => format!(
            "set {key} at top level (which Terraform uses) and in connector_settings, kept equal"
        ),
        Edit::AddedToConnectorSettings => format!("added {key} to connector_settings"),
        Edit::AddedConnectorSettings => format!("added connector_settings with {key}"),
        Edit::ByHand => format!("not changed: {key} must be added to connector_settings by hand"),
    }
}
