//! The last steps of `init` and `renew`: store what the authorization produced, update tfvars,
//! write the reminder, and build the summary.

use std::sync::Arc;

use super::Context;
use super::report::{self, RunReport};
use super::save::{Keep, save_secrets};
use crate::atlassian::oauth::{ClientCredentials, TokenSet};
use crate::atlassian::sites::{AtlassianUser, Site};
use crate::cli::RunArgs;
use crate::error::{Error, Result};
use crate::recovery::Pending;
use crate::secret::SecretString;
use crate::store::{FamilyMetadata, SecretKey, SecretNames, SecretStore};
use crate::tfvars;

/// What a verified authorization produced.
pub struct Grant {
    pub tokens: TokenSet,
    pub site: Site,
    pub user: AtlassianUser,
}

/// What was stored, for the summary.
pub struct Stored {
    pub store: String,
    pub prefix: String,
    pub written: Vec<String>,
    pub grant: Grant,
}

/// Writes the client credentials (when given) and the new token family, with its metadata.
pub async fn store_grant(
    ctx: &Context,
    store: &Arc<dyn SecretStore>,
    names: &SecretNames,
    creds: Option<&ClientCredentials>,
    grant: Grant,
) -> Result<Stored> {
    ctx.ui
        .step(&format!("Storing the secrets in {}", store.describe()));
    let tokens = &grant.tokens;
    let refresh = tokens
        .refresh_token
        .clone()
        .ok_or_else(|| Error::Internal("no refresh token".into()))?;
    let mut values = Vec::new();
    if let Some(c) = creds {
        values.push((
            names.name(SecretKey::ClientId),
            SecretString::from(c.client_id.clone()),
        ));
        values.push((names.name(SecretKey::ClientSecret), c.client_secret.clone()));
    }
    values.push((names.name(SecretKey::RefreshToken), refresh));
    values.push((
        names.name(SecretKey::AccessToken),
        tokens.proxy_access_token(),
    ));
    let written = values.iter().map(|(n, _)| n.clone()).collect();
    let meta = FamilyMetadata {
        issued_at: Some(tokens.obtained_at),
        cloud_id: Some(grant.site.id.clone()),
    };
    let pending = Pending {
        own_lock_ms: None,
        target: ctx.store_target.clone(),
        connector: ctx.connector,
        prefix: names.prefix.clone(),
        values,
        meta,
    };
    save_secrets(ctx, store, names, pending, Keep::WriteAhead).await?;
    Ok(Stored {
        store: store.describe(),
        prefix: names.prefix.clone(),
        written,
        grant,
    })
}

/// tfvars, the calendar reminder, and the report.
pub fn finish(
    ctx: &Context,
    command: &'static str,
    run: &RunArgs,
    stored: Stored,
) -> Result<RunReport> {
    let site = &stored.grant.site;
    let key = ctx.connector.tfvars_key;
    let tfvars_change = match &run.tfvars {
        Some(path) => {
            let edit = tfvars::update_file(path, key, &site.id)?;
            let done = report::describe_edit(edit, key);
            if edit == tfvars::Edit::ByHand {
                // A warning, not a failure: the secrets are stored, and the proxy never reads
                // this id (only the example calls Terraform generates do, psoxy-contract §5).
                let fix = tfvars::by_hand(key, &site.id);
                ctx.ui.warn(&format!("{}: {fix}", path.display()));
            } else {
                ctx.ui.ok(&format!("{}: {done}", path.display()));
            }
            Some(done)
        }
        None => {
            ctx.ui.info(&format!(
                "add {key} = \"{}\" to connector_settings in terraform.tfvars (or pass --tfvars PATH next time)",
                site.id
            ));
            None
        }
    };
    let issued = stored.grant.tokens.obtained_at;
    if let Some(path) = &run.ics {
        let renew_by = report::renew_by(issued);
        crate::reminder::write(path, renew_by, run.warn_days, &site.url, ctx.connector)?;
        ctx.ui
            .ok(&format!("calendar reminder written to {}", path.display()));
    }
    Ok(RunReport {
        command,
        connector: ctx.connector,
        store: stored.store,
        prefix: stored.prefix,
        secrets_written: stored.written,
        cloud_id: site.id.clone(),
        site_url: site.url.clone(),
        site_name: site.name.clone(),
        authorized_as: stored.grant.user.display_name.clone(),
        family_issued_at: issued,
        renew_by: report::renew_by(issued),
        tfvars: run.tfvars.clone(),
        tfvars_change,
        ics: run.ics.clone(),
        demo: false,
    })
}
