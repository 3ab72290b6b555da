//! Step: the app's client ID and secret. The ID from a flag, the environment or a prompt; the
//! secret from the environment, stdin or a hidden prompt (never a flag value); `renew` reads both
//! back from the store.

use super::Context;
use crate::atlassian::oauth::ClientCredentials;
use crate::cli::AuthArgs;
use crate::error::{Error, Result};
use crate::secret::{ExposeSecret, SecretString, secret_from_line};
use crate::store::{SecretKey, SecretNames, SecretStore, is_placeholder};

/// Client ID and secret: flag/env/prompt, and env/stdin/prompt (never a flag value). `stored`
/// holds values read back from the store (renew); a placeholder there counts as missing.
pub fn client_credentials(
    ctx: &Context,
    auth: &AuthArgs,
    stored: Option<(String, SecretString)>,
) -> Result<ClientCredentials> {
    let (stored_id, stored_secret) = match stored {
        Some((id, secret)) => (Some(id), Some(secret)),
        None => (None, None),
    };
    let client_id = match auth.client_id.clone().or(stored_id) {
        Some(id) => id,
        None => ctx
            .prompter
            .input("Client ID", None, "--client-id or JIRA_CLIENT_ID")?,
    };
    let client_id = client_id.trim().to_string();
    validate_client_id(&client_id)?;
    let client_secret = if auth.client_secret_stdin {
        secret_from_line(&ctx.stdin.next_line().ok_or_else(|| {
            Error::Input(
                "--client-secret-stdin: standard input is empty: pipe the secret in".into(),
            )
        })?)
    } else if let Some(s) = ctx.given_client_secret.clone().or(stored_secret) {
        s
    } else {
        ctx.prompter.secret(
            "Client secret (input hidden)",
            "JIRA_CLIENT_SECRET or --client-secret-stdin",
        )?
    };
    if client_secret.expose_secret().trim().is_empty() {
        return Err(Error::Input(
            "the client secret is empty: copy it from the developer console (Settings)".into(),
        ));
    }
    Ok(ClientCredentials {
        client_id,
        client_secret,
    })
}

fn validate_client_id(id: &str) -> Result<()> {
    if id.is_empty() {
        return Err(Error::Input(
            "the client ID is empty: copy it from the developer console (Settings)".into(),
        ));
    }
    if id.len() > 128
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(Error::Input("the client ID has unexpected characters: copy it again from the developer console (Settings)".into()));
    }
    Ok(())
}

/// Client ID and secret as the store holds them; a missing or `fill me` value counts as absent.
pub async fn stored_client_credentials(
    store: &dyn SecretStore,
    names: &SecretNames,
) -> Result<Option<(String, SecretString)>> {
    let id = store.read(&names.name(SecretKey::ClientId)).await?;
    let secret = store.read(&names.name(SecretKey::ClientSecret)).await?;
    let usable = |v: &SecretString| !is_placeholder(v.expose_secret());
    match (id, secret) {
        (Some(id), Some(secret)) if usable(&id.value) && usable(&secret.value) => Ok(Some((
            id.value.expose_secret().trim().to_string(),
            secret.value,
        ))),
        _ => Ok(None),
    }
}
