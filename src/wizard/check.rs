//! `check`, and `--check-proxy` after `init`/`renew` and in `status`: ask the deployed proxy
//! (`crate::proxy`) and judge its answers by what the store holds. The proxy is found by flags,
//! the last check, or `terraform output`; what was used is remembered (nothing secret).

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};

use super::Context;
use super::deployment::choose_prefix;
use super::report::RunReport;
use crate::cli::{CheckArgs, ProxyArgs, StoreArgs};
use crate::error::{Error, Result};
use crate::proxy::{self, CheckReport, Expectation, Settings};
use crate::store::{SecretKey, SecretNames, SecretStore, StoreTarget};

/// The `check` command: the store (when it can be read) for the names and write times, then
/// the proxy. Returns the report; `commands` prints it and maps its verdict to the exit code.
pub async fn run(ctx: &Context, args: &CheckArgs) -> Result<CheckReport> {
    let target = args.store.target();
    let mut expect = match target.open().await {
        Ok(store) => match from_store(ctx, store.as_ref(), &args.store).await {
            Ok(expect) => expect,
            Err(e) => unread(ctx, &e),
        },
        Err(e) => unread(ctx, &e),
    };
    if let Some(path) = &args.tfvars
        && let Some(id) = crate::tfvars::read_cloud_id(path, ctx.connector.tfvars_key)?
    {
        expect.cloud_id = Some(id);
    }
    ask(
        ctx,
        &args.proxy,
        args.tfvars.as_deref(),
        &args.store,
        &expect,
    )
    .await
}

/// After `init`/`renew` wrote a family: the names and the site are the run's, and the values
/// are the run's if the proxy's are no older than the family.
pub async fn after_write(
    ctx: &Context,
    args: &ProxyArgs,
    store: &StoreArgs,
    report: &RunReport,
) -> Result<CheckReport> {
    ask(
        ctx,
        args,
        report.tfvars.as_deref(),
        store,
        &written_by(report),
    )
    .await
}

/// `--check-proxy` with `--demo`: the demo's simulated Psoxy at `url` (loopback, no
/// credentials), asked as a deployed one is; nothing is remembered, the demo's proxy is gone
/// when the run ends.
pub async fn demo_after_write(
    url: &str,
    args: &ProxyArgs,
    report: &RunReport,
) -> Result<CheckReport> {
    let target = proxy::ProxyTarget {
        url: url::Url::parse(url)
            .map_err(|e| Error::Internal(format!("the simulated proxy's URL {url}: {e}")))?,
        role_arn: None,
        auth: proxy::ProxyAuth::None,
        from: "the demo's simulated Psoxy".into(),
    };
    let settings = Settings {
        timeout: std::time::Duration::from_secs(args.proxy_timeout),
        aws_region: None,
        aws_profile: None,
    };
    Ok(proxy::check(&target, &written_by(report), &settings).await)
}

/// What the run just wrote, for comparing with what the proxy reads.
fn written_by(report: &RunReport) -> Expectation {
    let written = [SecretKey::RefreshToken, SecretKey::AccessToken]
        .into_iter()
        .map(|k| (k.suffix(), report.family_issued_at))
        .collect();
    Expectation {
        names: Some(SecretNames::new(report.prefix.clone())),
        store: Some(report.store.clone()),
        written,
        cloud_id: Some(report.cloud_id.clone()),
    }
}

/// `--check-proxy` on `init`/`renew`: the proxy must be known before anything is authorized, so
/// a missing URL is said before a code is spent, not after the write.
pub async fn preflight(
    ctx: &Context,
    args: &ProxyArgs,
    tfvars: Option<&Path>,
    store: &StoreArgs,
) -> Result<()> {
    let stored = ctx.store_target.clone().unwrap_or_else(|| store.target());
    proxy::target::resolve(args, ctx.connector, tfvars, Some(stored.kind()))
        .await
        .map(|_| ())
        .map_err(|e| Error::Input(format!("--check-proxy: {}", Error::from(e))))
}

/// For `status --check-proxy`: what `status` read, then the proxy; `None` without the flag.
pub async fn for_status(
    ctx: &Context,
    args: &crate::cli::StatusArgs,
    names: &SecretNames,
    store: String,
    written: BTreeMap<&'static str, DateTime<Utc>>,
    cloud_id: Option<String>,
) -> Result<Option<CheckReport>> {
    if !args.check_proxy {
        return Ok(None);
    }
    let expect = Expectation {
        names: Some(names.clone()),
        store: Some(store),
        written,
        cloud_id,
    };
    let report = ask(
        ctx,
        &args.proxy,
        args.tfvars.as_deref(),
        &args.store,
        &expect,
    )
    .await?;
    Ok(Some(report))
}

async fn ask(
    ctx: &Context,
    args: &ProxyArgs,
    tfvars: Option<&Path>,
    store: &StoreArgs,
    expect: &Expectation,
) -> Result<CheckReport> {
    let stored = ctx.store_target.clone().unwrap_or_else(|| store.target());
    let target = proxy::target::resolve(args, ctx.connector, tfvars, Some(stored.kind())).await?;
    ctx.ui.info(&format!(
        "asking the proxy at {} ({})",
        target.url, target.from
    ));
    let settings = settings(args, store, &stored);
    let report = proxy::check(&target, expect, &settings).await;
    if report.verdict != proxy::Verdict::Unreachable || target.from == "--proxy-url" {
        match proxy::remembered::save(ctx.connector, &target) {
            Ok(path) => tracing::info!("remembered the proxy in {}", path.display()),
            Err(why) => ctx.ui.warn(&format!(
                "could not remember the proxy ({why}): pass --proxy-url next time"
            )),
        }
    }
    Ok(report)
}

/// The AWS region and profile for signing: `--aws-region`/`--aws-profile` (or their variables),
/// else the AWS store's (the URL's host names the region before either).
fn settings(args: &ProxyArgs, store: &StoreArgs, stored: &StoreTarget) -> Settings {
    let aws = match stored {
        StoreTarget::AwsSsm(aws) | StoreTarget::AwsSecretsManager(aws) => Some(aws),
        _ => None,
    };
    Settings {
        timeout: std::time::Duration::from_secs(args.proxy_timeout),
        aws_region: store
            .aws_region
            .clone()
            .or_else(|| aws.and_then(|a| a.region.clone())),
        aws_profile: store
            .aws_profile
            .clone()
            .or_else(|| aws.and_then(|a| a.profile.clone())),
    }
}

/// The names, the store's description, and when `REFRESH_TOKEN`/`ACCESS_TOKEN` were written.
async fn from_store(
    ctx: &Context,
    store: &dyn SecretStore,
    args: &StoreArgs,
) -> Result<Expectation> {
    let names = choose_prefix(ctx, store, args).await?;
    let mut written = BTreeMap::new();
    for key in [SecretKey::RefreshToken, SecretKey::AccessToken] {
        if let Some(at) = store
            .read(&names.name(key))
            .await?
            .and_then(|s| s.updated_at)
        {
            written.insert(key.suffix(), at);
        }
    }
    let meta = store.read_metadata(&names).await?;
    Ok(Expectation {
        store: Some(store.describe()),
        names: Some(names),
        written,
        cloud_id: meta.cloud_id,
    })
}

/// Without the store, the proxy is still asked; only the comparison is lost.
fn unread(ctx: &Context, e: &Error) -> Expectation {
    ctx.ui.warn(&format!(
        "the store cannot be read ({e}), so the proxy's answers are not compared with it"
    ));
    Expectation::default()
}
