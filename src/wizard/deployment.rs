//! Steps: which deployment's secrets to write (the store, then the prefix), and the store preflight that runs
//! before any authorization is requested (a code lives only ten minutes).

use std::sync::Arc;

use crate::cli::StoreArgs;
use crate::connector::{self, Connector};
use crate::error::{Error, Result};
use crate::store::{SecretNames, SecretStore, terraform};

use super::Context;

/// Step 1 of init and renew, in a terminal without `--connector` (typed or remembered): which Psoxy connector.
/// Scripts get the default.
pub fn choose_connector(
    ctx: &Context,
    typed: Option<&'static Connector>,
) -> Result<&'static Connector> {
    if let Some(c) = typed {
        return Ok(c);
    }
    if !ctx.interactive {
        return Ok(connector::default());
    }
    let items: Vec<String> = connector::ALL
        .iter()
        .map(|c| format!("{} ({})", c.display_name, c.id))
        .collect();
    let i = ctx
        .prompter
        .select("Which Psoxy connector?", &items, "--connector")?;
    connector::ALL
        .get(i)
        .copied()
        .ok_or_else(|| Error::Internal(format!("the connector list has no item {i}")))
}

/// The rest of step 1: the store (asked in a terminal without `--store`), recorded in the
/// context for recovery files and the last-run file, then opened.
pub async fn open_chosen_store(
    ctx: &mut Context,
    args: &mut StoreArgs,
) -> Result<Arc<dyn SecretStore>> {
    choose_store(ctx, args)?;
    ask_store_location(ctx, args).await?;
    check_file_directory(args)?;
    let chosen = args.target();
    ctx.store_target = Some(chosen.clone());
    chosen.open().await
}

/// As `check_file_directory`, where the file store is already decided on (`--store file`,
/// `--file`, or remembered) before the store question, so the check comes before any question.
pub fn check_decided_file_directory(args: &StoreArgs) -> Result<()> {
    if args.store.is_some() || args.options.file.file.is_some() || args.remembered.is_some() {
        check_file_directory(args)?;
    }
    Ok(())
}

/// A file store's directory must take the file: checked before any question that would be
/// wasted on a directory that cannot (the same check the preflight makes later). Other stores
/// pass.
pub fn check_file_directory(args: &StoreArgs) -> Result<()> {
    let crate::store::StoreTarget::File(crate::store::file::FileTarget { path }) = args.target()
    else {
        return Ok(());
    };
    let target = crate::local_file::target(&path).map_err(Error::Store)?;
    crate::local_file::check_replaceable(&target, "--file").map_err(Error::Store)
}

/// In a terminal without `--store`: where the secrets go. Scripts get the file store.
fn choose_store(ctx: &Context, args: &mut StoreArgs) -> Result<()> {
    if args.store.is_some() || args.remembered.is_some() || !ctx.interactive {
        return Ok(());
    }
    let kinds = crate::store::registry::ALL;
    let items: Vec<String> = kinds.iter().map(|k| k.label.to_string()).collect();
    let i = ctx
        .prompter
        .select("Where should the secrets go?", &items, "--store")?;
    let kind = kinds
        .get(i)
        .ok_or_else(|| Error::Internal(format!("the store list has no item {i}")))?;
    args.store = Some(*kind);
    Ok(())
}

/// In a terminal, what a chosen cloud store still needs, set exactly as its flag would set it:
/// the AWS region (the profile's pre-filled), the Google Cloud project (the one gcloud's
/// configuration names pre-filled). Scripts keep the store's own error, which names the flag.
async fn ask_store_location(ctx: &Context, args: &mut StoreArgs) -> Result<()> {
    use crate::store::Cloud;
    let blank = |v: &Option<String>| v.as_deref().is_none_or(|v| v.trim().is_empty());
    if !ctx.interactive || args.remembered.is_some() {
        return Ok(());
    }
    match args.kind().cloud {
        Some(Cloud::Aws) if blank(&args.options.aws.aws_region) => {
            let default =
                crate::store::aws::connect::profile_region(args.options.aws.aws_profile.as_deref())
                    .await;
            args.options.aws.aws_region =
                Some(ask_value(ctx, "AWS region", default, "--aws-region")?);
        }
        Some(Cloud::Google) if blank(&args.options.gcp.gcp_project) => {
            let project = match crate::store::gcp::project::configured_project() {
                Some(configured) => ask_value(
                    ctx,
                    "Google Cloud project",
                    Some(configured),
                    "--gcp-project",
                )?,
                None => choose_project(ctx, args).await?,
            };
            args.options.gcp.gcp_project = Some(project);
        }
        _ => {}
    }
    Ok(())
}

/// No configuration names a project: the ones the credentials can see, where listing them is
/// permitted, else the id typed.
async fn choose_project(ctx: &Context, args: &StoreArgs) -> Result<String> {
    use crate::store::gcp::{parse_endpoint, projects};
    let visible = match parse_endpoint(args.options.gcp.gcp_endpoint.as_deref()) {
        Ok(endpoint) => {
            let _spinner = ctx
                .ui
                .spinner("Listing the Google Cloud projects you can see");
            projects::visible_projects(&endpoint).await
        }
        Err(_) => Vec::new(),
    };
    if visible.is_empty() {
        return ask_value(ctx, "Google Cloud project", None, "--gcp-project");
    }
    let mut items = visible.clone();
    items.push("another project (type its id)".into());
    let i = ctx.prompter.select(
        "Which Google Cloud project holds the secrets?",
        &items,
        "--gcp-project",
    )?;
    match visible.get(i) {
        Some(project) => Ok(project.clone()),
        None => ask_value(ctx, "Google Cloud project", None, "--gcp-project"),
    }
}

fn ask_value(ctx: &Context, what: &str, default: Option<String>, flag: &str) -> Result<String> {
    let typed = ctx.prompter.input(what, default.as_deref(), flag)?;
    let typed = typed.trim();
    if typed.is_empty() {
        return Err(Error::Input(format!("no {what} was given: pass {flag}")));
    }
    Ok(typed.to_string())
}

/// What `init` and `renew` settle before any authorization: the prefix, what earlier runs left
/// for it, and whether the store can take the secrets.
pub async fn ready_store(
    ctx: &Context,
    store: &dyn SecretStore,
    args: &StoreArgs,
    create_missing: bool,
) -> Result<SecretNames> {
    let names = choose_prefix(ctx, store, args).await?;
    review_leftovers(ctx, store, &names.prefix).await;
    let allow_shadowing = args.options.aws.allow_ssm_client_id;
    preflight(ctx, store, &names, create_missing, allow_shadowing).await?;
    Ok(names)
}

/// Tells `init` and `renew` about recovery files earlier runs left for this prefix and store,
/// after comparing each with the store: those it still needs are named with the command that
/// finishes them; those it has moved past are deleted.
async fn review_leftovers(ctx: &Context, store: &dyn SecretStore, prefix: &str) {
    let review = crate::recovery::review_leftovers(store, prefix, ctx.store_target.as_ref()).await;
    for note in review.notes {
        ctx.ui.info(&note);
    }
    for problem in review.problems {
        ctx.ui.warn(&problem);
    }
}

/// The prefix: `--prefix`, else the one derived from `--environment-name`, else discovery
/// (confirmed, or typed, in a terminal).
pub async fn choose_prefix(
    ctx: &Context,
    store: &dyn SecretStore,
    args: &StoreArgs,
) -> Result<SecretNames> {
    if let Some(p) = &args.prefix {
        return Ok(SecretNames::new(p.clone()));
    }
    let target = args.target();
    let segment = ctx.connector.name_segment;
    if let Some(env) = &args.environment_name {
        return Ok(SecretNames::new(target.derived_prefix(env, segment)));
    }
    let spinner = ctx.ui.spinner(&format!(
        "Looking for existing Psoxy {} secrets",
        ctx.connector.display_name
    ));
    let mut found = store.discover_prefixes().await?;
    drop(spinner);
    // Other connectors' deployments in the same store are not offered.
    found.retain(|p| p.ends_with(segment));
    found.sort();
    found.dedup();
    let default = target.default_prefix(segment);
    match found.as_slice() {
        [] if ctx.interactive => ask_prefix(ctx, &default),
        [] => Ok(SecretNames::new(default)),
        [only] => {
            ctx.ui
                .ok(&format!("found an existing deployment with prefix {only}"));
            if ctx.interactive && !ctx.prompter.confirm("Use it?", true)? {
                return ask_prefix(ctx, only);
            }
            Ok(SecretNames::new(only.clone()))
        }
        _ => {
            let i = ctx.prompter.select(
                "Several deployments found: which one?",
                &found,
                "--prefix or --environment-name",
            )?;
            let chosen = found
                .get(i)
                .cloned()
                .ok_or_else(|| Error::Internal(format!("the prefix list has no item {i}")))?;
            Ok(SecretNames::new(chosen))
        }
    }
}

fn ask_prefix(ctx: &Context, default: &str) -> Result<SecretNames> {
    let typed = ctx
        .prompter
        .input("Secret-name prefix", Some(default), "--prefix")?;
    let typed = typed.trim();
    if typed.is_empty() {
        return Err(Error::Input(format!(
            "the prefix is empty: give the one Psoxy's Terraform used, e.g. PSOXY_{}",
            ctx.connector.name_segment
        )));
    }
    Ok(SecretNames::new(typed.to_string()))
}

/// What init does with a live token family already in the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiveFamily {
    /// None there (or none this tool recorded, or one already expired).
    Absent,
    /// There, and init replaces it.
    Replace,
    /// There, and the person chose to keep it: init ends, having changed nothing.
    Keep,
}

/// init over a deployment whose token family (recorded by this tool) is still alive replaces it
/// and the client credentials: say so, point at `renew`, and in a terminal ask first (default no).
/// Declining is an answer, not an error: init says what was kept and ends.
pub async fn confirm_replacing_live_family(
    ctx: &Context,
    store: &dyn SecretStore,
    names: &SecretNames,
) -> Result<LiveFamily> {
    // Metadata is a convenience (tags, labels): not being able to read it must not stop init.
    let meta = match store.read_metadata(names).await {
        Ok(meta) => meta,
        Err(e) => {
            ctx.ui.warn(&format!(
                "could not tell whether {} holds a live token family ({e}): init replaces whatever is there",
                names.prefix
            ));
            return Ok(LiveFamily::Absent);
        }
    };
    let Some(issued) = meta.issued_at else {
        return Ok(LiveFamily::Absent);
    };
    let days_left = crate::family::whole_days_left(
        crate::family::renew_by(issued).signed_duration_since(chrono::Utc::now()),
    );
    if days_left < 0 {
        return Ok(LiveFamily::Absent);
    }
    let renew = ctx.connector.command("renew");
    ctx.ui.warn(&format!(
        "{} already holds a token family issued {} ({days_left} days left): init replaces it and the client ID and secret; `{renew}` only starts a new family",
        names.prefix,
        issued.format("%Y-%m-%d")
    ));
    if ctx.interactive && !ctx.prompter.confirm("Replace it?", false)? {
        ctx.ui.ok(&format!(
            "kept the token family and the client ID and secret in {} ({}), {days_left} days left; nothing was changed",
            names.prefix,
            store.describe()
        ));
        ctx.ui.info(&format!(
            "for a new token family with the same app, run `{renew}`"
        ));
        return Ok(LiveFamily::Keep);
    }
    Ok(LiveFamily::Replace)
}

/// A value the proxy reads before ours (a leftover SSM `CLIENT_ID` beside Secrets Manager) would
/// make it use another app: stop before a browser opens, unless told to go on.
fn refuse_shadowing(ctx: &Context, shadowing: &[String], allowed: bool) -> Result<()> {
    if shadowing.is_empty() {
        return Ok(());
    }
    let list = shadowing.join(" and ");
    let why = format!(
        "{list} holds a CLIENT_ID, which the proxy reads before the one in Secrets Manager (psoxy-contract §8)"
    );
    ctx.ui.warn(&why);
    if allowed || (ctx.interactive && ctx.prompter.confirm("Go on anyway?", false)?) {
        return Ok(());
    }
    Err(Error::Store(format!(
        "{why}: delete it (aws ssm delete-parameter --name NAME), or pass --allow-ssm-client-id to go on"
    )))
}

/// Checks the store can take the secrets; offers to create any Terraform did not.
async fn preflight(
    ctx: &Context,
    store: &dyn SecretStore,
    names: &SecretNames,
    create_missing: bool,
    allow_shadowing: bool,
) -> Result<()> {
    let spinner = ctx.ui.spinner(&format!("Checking {}", store.describe()));
    let report = store.preflight(names).await?;
    drop(spinner);
    report.warnings.iter().for_each(|w| ctx.ui.warn(w));
    refuse_shadowing(ctx, &report.shadowing, allow_shadowing)?;
    if !report.unchecked.is_empty() {
        ctx.ui.info(&format!(
            "not checked before authorizing (a check would change the store): {}",
            report.unchecked.join("; ")
        ));
    }
    if report.missing.is_empty() {
        ctx.ui.ok(&format!(
            "{} is ready for prefix {}",
            store.describe(),
            names.prefix
        ));
        return Ok(());
    }
    let list = report.missing.join(", ");
    ctx.ui.warn(&format!(
        "missing in {}: {list} (has Terraform been applied for this environment?)",
        store.describe()
    ));
    let refuse = || {
        Error::Store(format!(
            "{list} do not exist: apply Psoxy's Terraform first, check the prefix, or pass --create-missing"
        ))
    };
    let owned = store.terraform_owned();
    // A script that did not ask to create anything gets the plain refusal.
    if !create_missing && !ctx.interactive {
        return Err(refuse());
    }
    if let Some(owned) = &owned {
        ctx.ui.warn(&terraform::before_creating(owned));
        if let Some(why) = owned.refusal() {
            return Err(Error::Store(why));
        }
    }
    if !(create_missing || ctx.prompter.confirm("Create them now?", false)?) {
        return Err(refuse());
    }
    store.create_missing(&report.missing).await?;
    ctx.ui.ok(&format!("created {list}"));
    if let Some(owned) = &owned {
        for line in terraform::after_creating(owned, &report.missing) {
            ctx.ui.info(&line);
        }
    }
    Ok(())
}
