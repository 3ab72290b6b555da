//! `status`: how long the token family has left, for people and monitoring. Reads the store only;
//! never uses the refresh token (it rotates, and a second user can break the proxy's family).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::Context;
use super::deployment::choose_prefix;
use super::report::renew_by;
use crate::atlassian::AtlassianClient;
use crate::atlassian::proxy_token::ProxyAccessToken;
use crate::cli::StatusArgs;
use crate::connector::Connector;
use crate::error::{Result, exit};
use crate::http::endpoint;
use crate::secret::{ExposeSecret, SecretString};
use crate::store::{SecretKey, SecretStore, StoreError, StoreTarget, is_placeholder};

/// Days without use after which Atlassian expires a refresh token.
pub const INACTIVITY_DAYS: i64 = 90;

/// One stored secret, as `status` reports it (lowercase in the JSON and the table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SecretState {
    Present,
    /// Terraform's `fill me`, or empty.
    Placeholder,
    Missing,
}

/// The stored access token: `unparseable` is a raw token the proxy ignores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AccessTokenState {
    Valid,
    Expired,
    Unparseable,
    Missing,
}

/// The verdict for monitoring; it decides the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    Ok,
    Warn,
    Critical,
}

impl Health {
    pub fn exit_code(self) -> i32 {
        match self {
            Health::Ok => exit::OK,
            Health::Warn => exit::STATUS_WARN,
            Health::Critical => exit::STATUS_CRITICAL,
        }
    }
}

/// The words the JSON uses, for the human table too.
macro_rules! display_as_json {
    ($($t:ty),*) => {$(
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                let word = serde_json::to_value(self).ok();
                f.write_str(word.as_ref().and_then(|w| w.as_str()).unwrap_or("?"))
            }
        }
    )*};
}
display_as_json!(SecretState, AccessTokenState, Health);

#[derive(Debug, Serialize)]
pub struct SecretStatus {
    pub name: String,
    pub state: SecretState,
    pub updated_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize)]
pub struct AccessTokenStatus {
    pub state: AccessTokenState,
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize)]
pub struct StatusReport {
    #[serde(with = "crate::connector::serde_id")]
    pub connector: &'static Connector,
    pub store: String,
    pub prefix: String,
    pub secrets: Vec<SecretStatus>,
    pub family_issued_at: Option<DateTime<Utc>>,
    pub family_expires_at: Option<DateTime<Utc>>,
    pub days_left: Option<i64>,
    /// Whole days since the refresh token was last written (by this tool or the proxy).
    pub refresh_token_idle_days: Option<i64>,
    pub access_token: AccessTokenStatus,
    pub cloud_id: Option<String>,
    /// With `--check`: whether the stored access token still reaches the configured site.
    pub site_reachable: Option<bool>,
    /// With `--check-proxy`: what the deployed proxy answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy: Option<crate::proxy::CheckReport>,
    pub health: Health,
    /// False when the store (or, with `--check`, Atlassian) did not answer: health is critical.
    pub reachable: bool,
    pub problems: Vec<String>,
}

impl StatusReport {
    pub fn exit_code(&self) -> i32 {
        self.health.exit_code()
    }
}

pub async fn run(
    ctx: &Context,
    args: &StatusArgs,
    store: Arc<dyn SecretStore>,
) -> Result<StatusReport> {
    let names = choose_prefix(ctx, store.as_ref(), &args.store).await?;
    let renew = suggested(ctx, args, "renew");
    let init = suggested(ctx, args, "init");
    let now = Utc::now();
    let mut problems = Vec::new();
    let mut critical = false;
    // Tokens an earlier run could not confirm in the store: the store may hold older ones.
    let leftovers = crate::recovery::review_leftovers(
        store.as_ref(),
        &names.prefix,
        Some(&args.store.target()),
    )
    .await;
    leftovers.notes.iter().for_each(|n| ctx.ui.info(n));
    let mut warn = !leftovers.problems.is_empty();
    problems.extend(leftovers.problems);
    if let StoreTarget::File { path } = args.store.target()
        && !path.exists()
    {
        // Said once, rather than every secret "missing".
        problems.push(format!(
            "{} does not exist: run `{init}` to set it up there, or pass --file with the secrets file",
            path.display()
        ));
        return Ok(nothing_read(
            ctx.connector,
            store.describe(),
            names.prefix,
            problems,
        ));
    }
    let mut secrets = Vec::new();
    let mut access_value: Option<SecretString> = None;
    let mut refresh_updated = None;
    let mut written = std::collections::BTreeMap::new();
    for key in SecretKey::ALL {
        let name = names.name(key);
        let stored = store.read(&name).await.map_err(read_failure)?;
        let state = match &stored {
            None => SecretState::Missing,
            Some(s) if is_placeholder(s.value.expose_secret()) => SecretState::Placeholder,
            Some(_) => SecretState::Present,
        };
        if state != SecretState::Present && key != SecretKey::AccessToken {
            critical = true;
            problems.push(format!("{name} is {state}: run `{init}`"));
        }
        let updated_at = stored.as_ref().and_then(|s| s.updated_at);
        if let (SecretKey::RefreshToken | SecretKey::AccessToken, Some(at)) = (key, updated_at) {
            written.insert(key.suffix(), at);
        }
        match key {
            SecretKey::AccessToken if state == SecretState::Present => {
                access_value = stored.map(|s| s.value)
            }
            SecretKey::RefreshToken => refresh_updated = updated_at,
            _ => {}
        }
        secrets.push(SecretStatus {
            name,
            state,
            updated_at,
        });
    }
    let meta = store.read_metadata(&names).await.map_err(read_failure)?;
    let expires = meta.issued_at.map(renew_by);
    let days_left = expires.map(|e| whole_days_left(e.signed_duration_since(now)));
    // The site Terraform is configured for, read as renew reads it; else the family's own.
    let configured = match &args.tfvars {
        Some(path) => crate::tfvars::read_cloud_id(path, ctx.connector.tfvars_key)?,
        None => None,
    };
    if let (Some(configured), Some(family)) = (&configured, &meta.cloud_id)
        && !configured.eq_ignore_ascii_case(family)
    {
        warn = true;
        problems.push(format!(
            "terraform.tfvars configures site {configured}, but the token family is for {family}: run `{renew}` for the configured site"
        ));
    }
    let cloud_id = configured.or(meta.cloud_id);
    match days_left {
        Some(d) if d <= 0 => {
            critical = true;
            problems.push(format!(
                "the token family has expired (365 days): run `{renew}`"
            ));
        }
        Some(d) if d <= args.warn_days => {
            warn = true;
            problems.push(format!(
                "the token family expires in {d} days: run `{renew}`"
            ));
        }
        Some(_) => {}
        None => {
            warn = true;
            problems.push(format!("the token family's issue date is unknown (not recorded: set up by hand or another tool, or a run of this tool ended before recording it): run `{renew}` to start a tracked family"));
        }
    }
    let refresh_token_idle_days =
        refresh_updated.map(|updated| now.signed_duration_since(updated).num_days());
    if let Some(idle) = refresh_token_idle_days
        && idle >= INACTIVITY_DAYS
    {
        critical = true;
        problems.push(format!("the refresh token was last written {idle} days ago: unused for {INACTIVITY_DAYS} days it has expired; run `{renew}`"));
    }
    let (access_token, token) = access_token_status(access_value.as_ref(), now);
    let site_reachable = match (&token, &cloud_id, args.check) {
        (Some(token), Some(cloud_id), true) => Some(check_site(ctx, args, token, cloud_id).await?),
        _ => None,
    };
    if site_reachable == Some(false) {
        critical = true;
        problems.push("the stored access token does not reach the configured site".into());
    }
    let (store_name, cloud) = (store.describe(), cloud_id.clone());
    let proxy = super::check::for_status(ctx, args, &names, store_name, written, cloud).await?;
    if let Some(failed) = proxy.as_ref().filter(|p| p.result().is_err()) {
        critical = true;
        problems.extend(failed.problems.iter().map(|p| format!("proxy: {p}")));
    }
    let health = if critical {
        Health::Critical
    } else if warn {
        Health::Warn
    } else {
        Health::Ok
    };
    Ok(StatusReport {
        connector: ctx.connector,
        store: store.describe(),
        prefix: names.prefix,
        secrets,
        family_issued_at: meta.issued_at,
        family_expires_at: expires,
        days_left,
        refresh_token_idle_days,
        access_token,
        cloud_id,
        site_reachable,
        proxy,
        health,
        reachable: true,
        problems,
    })
}

/// The command a problem suggests; among several deployments, with the options naming this one.
fn suggested(ctx: &Context, args: &StatusArgs, sub: &str) -> String {
    let command = ctx.connector.command(sub);
    if args.rerun_options.is_empty() {
        return command;
    }
    format!(
        "{command} {}",
        crate::recovery::shell_line(&args.rerun_options)
    )
}

/// A store that does not answer (refused, timed out) is unreachable rather than unreadable.
fn read_failure(e: StoreError) -> crate::error::Error {
    match e {
        StoreError::Unavailable(why) => crate::error::Error::Network(why),
        other => other.into(),
    }
}

/// Whole days left, a started day counting as one (as a certificate's "expires in" does): 365
/// right after issue, 1 on the last day, 0 or less once expired.
pub(crate) fn whole_days_left(remaining: chrono::Duration) -> i64 {
    const DAY: i64 = 24 * 60 * 60;
    let secs = remaining.num_seconds();
    secs.div_euclid(DAY)
        .saturating_add(i64::from(secs.rem_euclid(DAY) > 0))
}

/// The report when the store cannot be read at all (no credentials, permission denied, a corrupt
/// file): for monitoring that is as bad as an expired family, so it is critical (exit 11), with
/// the store's own one-line reason, rather than a generic store failure.
pub fn unreadable(
    connector: &'static Connector,
    store: String,
    prefix: String,
    reason: &str,
) -> StatusReport {
    let problems = vec![format!("the store cannot be read: {reason}")];
    nothing_read(connector, store, prefix, problems)
}

/// The report when the store (or, with `--check`, Atlassian) did not answer: critical, and
/// marked unreachable, so monitoring can tell an outage from an expired family.
pub fn unreachable(
    connector: &'static Connector,
    store: String,
    prefix: String,
    reason: &str,
) -> StatusReport {
    let problems = vec![format!("unreachable: {reason}")];
    StatusReport {
        reachable: false,
        ..nothing_read(connector, store, prefix, problems)
    }
}

/// A critical report with nothing read, only why.
pub(crate) fn nothing_read(
    connector: &'static Connector,
    store: String,
    prefix: String,
    problems: Vec<String>,
) -> StatusReport {
    StatusReport {
        connector,
        store,
        prefix,
        secrets: Vec::new(),
        family_issued_at: None,
        family_expires_at: None,
        days_left: None,
        refresh_token_idle_days: None,
        access_token: AccessTokenStatus {
            state: AccessTokenState::Missing,
            expires_at: None,
        },
        cloud_id: None,
        site_reachable: None,
        proxy: None,
        health: Health::Critical,
        reachable: true,
        problems,
    }
}

/// The stored access token (psoxy-contract §3); returns the token while it is valid.
fn access_token_status(
    value: Option<&SecretString>,
    now: DateTime<Utc>,
) -> (AccessTokenStatus, Option<SecretString>) {
    let status = |state, expires_at| AccessTokenStatus { state, expires_at };
    let Some(value) = value else {
        return (status(AccessTokenState::Missing, None), None);
    };
    let parsed = ProxyAccessToken::parse(value);
    match parsed.as_ref().map(|p| (p, p.expires_at())) {
        Some((p, Some(at))) if at > now => (
            status(AccessTokenState::Valid, Some(at)),
            Some(p.token.clone()),
        ),
        Some((_, Some(at))) => (status(AccessTokenState::Expired, Some(at)), None),
        _ => (status(AccessTokenState::Unparseable, None), None),
    }
}

async fn check_site(
    ctx: &Context,
    args: &StatusArgs,
    token: &SecretString,
    cloud_id: &str,
) -> Result<bool> {
    let api = endpoint(&args.atlassian_api_url, "--atlassian-api-url")?;
    let atl = AtlassianClient::new(ctx.http.clone(), api.clone(), api);
    let sites = atl.accessible_resources(token).await?;
    Ok(sites.iter().any(|s| s.id == cloud_id))
}

#[cfg(test)]
mod tests {
    use super::whole_days_left as days_left;
    use chrono::Duration;

    #[test]
    fn a_started_day_counts_and_the_deadline_itself_is_zero() {
        let issued_now = Duration::days(365) - Duration::seconds(2);
        assert_eq!(days_left(issued_now), 365);
        assert_eq!(days_left(Duration::hours(1)), 1);
        assert_eq!(days_left(Duration::zero()), 0);
        assert_eq!(days_left(-Duration::hours(1)), 0);
        assert_eq!(days_left(-Duration::hours(25)), -1);
    }
}
