//! Each command's body: builds the real seams (a terminal or scripted prompter, the system
//! browser, stdin), runs the command's steps and prints its report. `main` only dispatches here
//! and maps the result to an exit code.

use std::io::{IsTerminal, Write};
use std::sync::Arc;

use super::{Context, authorize, check, deployment, init, push, renew, report};
use crate::atlassian::AtlassianClient;
use crate::cli::{
    AuthArgs, CheckArgs, Cli, Command, InitArgs, PushArgs, RenewArgs, RunArgs, StoreArgs,
};
use crate::deployments::{self, Deployment};
use crate::error::{Error, Result, exit};
use crate::interrupt::Guard;
use crate::secret::{SecretString, secret_from_line};
use crate::store::SecretStore;
use crate::ui::Ui;
use crate::{demo, last_run, recovery, sim};

pub use super::status_command::run_status;

/// `renew` and `check` without store options take the last run's target, and say so (`check`
/// only in a terminal or at -v, as a monitoring check should be quiet). `status` without them
/// reads every remembered deployment: `run_status`.
/// Whether store options were typed (kept on the command's `StoreArgs`), and if not, what the
/// last run remembers for `renew` and `check`.
pub fn settle_store_options(cli: &mut Cli, matches: &clap::ArgMatches) {
    let typed = last_run::store_options_typed(matches);
    if let Some(store) = cli.command.store_args() {
        store.typed = typed;
    }
    if !typed {
        use_last_run(cli, matches);
    }
}

fn use_last_run(cli: &mut Cli, matches: &clap::ArgMatches) {
    let typed = match &cli.command {
        Command::Renew(args) => args.connector,
        Command::Check(args) => args.connector,
        _ => return,
    };
    let ui = Ui::new(false);
    let last = match last_run::load_for(typed) {
        Ok(last) => last,
        Err(why) => {
            ui.warn(&why);
            return;
        }
    };
    let quiet = matches!(cli.command, Command::Check(_))
        && cli.verbose == 0
        && !std::io::stderr().is_terminal();
    if let Some(note) = last_run::fill_in(cli, matches, last)
        && !quiet
    {
        ui.info(&note);
    }
}

fn env_secret() -> Option<SecretString> {
    std::env::var("JIRA_CLIENT_SECRET")
        .ok()
        .filter(|s| !s.is_empty())
        .map(|s| secret_from_line(&s))
}

/// Runs a wizard future; Ctrl-C read as a key (a select list in raw mode) releases what the
/// guard holds, as the signal watcher does for signals.
pub async fn guarded<T>(
    guard: &Guard,
    work: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    match work.await {
        // The guard says what it released; a reason other than Ctrl-C (a quit) leads the line.
        Err(Error::Interrupted(why)) => Err(Error::Interrupted(guard.ended(&why).await)),
        other => other,
    }
}

pub async fn run_init(mut args: InitArgs, guard: Guard) -> Result<i32> {
    let (auth, store) = (&mut args.auth, &mut args.store);
    let (run, demo) = (&args.run, args.demo);
    let (mut ctx, sim) =
        authorizing_context(auth, store, run, args.connector, Demo::init(demo), &guard).await?;
    if run.check_proxy && !demo {
        check::preflight(&ctx, &run.proxy, run.tfvars.as_deref(), store).await?;
    }
    let (store, atl) = store_and_client(&mut ctx, &guard, &mut args.store, &args.auth).await?;
    let Some(report) = guarded(&guard, init::run(&ctx, &args, store, &atl)).await? else {
        // The person kept the live family: nothing was changed, nothing to report.
        return Ok(exit::OK);
    };
    let report = check_after_write(&ctx, &args.run, &args.store, sim, report).await;
    print_and_remember(&ctx, report, args.demo, &args.run, &args.auth.redirect_uri)
}

pub async fn run_renew(mut args: RenewArgs, guard: Guard) -> Result<i32> {
    renew::check_something_to_renew(&args).await?;
    let (auth, store) = (&mut args.auth, &mut args.store);
    let (run, demo) = (&args.run, args.demo);
    let (mut ctx, sim) =
        authorizing_context(auth, store, run, args.connector, Demo::renew(demo), &guard).await?;
    if run.check_proxy && !demo {
        check::preflight(&ctx, &run.proxy, run.tfvars.as_deref(), store).await?;
    }
    let (store, atl) = store_and_client(&mut ctx, &guard, &mut args.store, &args.auth).await?;
    let report = guarded(&guard, renew::run(&ctx, &args, store, &atl)).await?;
    let report = check_after_write(&ctx, &args.run, &args.store, sim, report).await;
    print_and_remember(&ctx, report, args.demo, &args.run, &args.auth.redirect_uri)
}

/// After the write: the demo's simulated Psoxy (which family it picked up), then with
/// The rest of step 1 (the store, chosen and opened) and the Atlassian client, handed to the
/// command's steps.
async fn store_and_client(
    ctx: &mut Context,
    guard: &Guard,
    store: &mut StoreArgs,
    auth: &AuthArgs,
) -> Result<(Arc<dyn SecretStore>, AtlassianClient)> {
    let opened = guarded(guard, deployment::open_chosen_store(ctx, store)).await?;
    Ok((opened, authorize::atlassian_client(ctx, auth)?))
}

/// `--check-proxy` the deployed proxy, or in the demo the simulated one. The write is done and
/// stays done; a check that cannot even start is said, not raised, so the summary of what was
/// written still prints.
async fn check_after_write(
    ctx: &Context,
    run: &RunArgs,
    store: &StoreArgs,
    sim: Option<Arc<sim::Simulator>>,
    mut report: report::RunReport,
) -> report::RunReport {
    let demo_proxy = match (sim, ctx.store_target.as_ref()) {
        (Some(sim), Some(target)) => Some(demo::proxy_picks_up(&sim, target, &report.prefix).await),
        _ => None,
    };
    report.proxy = demo_proxy.as_ref().map(|p| p.summary.clone());
    if !run.check_proxy {
        return report;
    }
    let checked = match &demo_proxy {
        Some(demo) => match &demo.url {
            Some(url) => check::demo_after_write(url, &run.proxy, &report).await,
            None => Err(Error::Input(format!(
                "the simulated Psoxy does not answer: {}",
                demo.summary
            ))),
        },
        None => check::after_write(ctx, &run.proxy, store, &report).await,
    };
    match checked {
        Ok(found) => report.proxy_check = Some(found),
        Err(e) => ctx.ui.warn(&format!(
            "the secrets were written; the proxy was not checked: {e}"
        )),
    }
    report
}

/// What `--demo` brings to a run.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Demo {
    Off,
    /// The simulator in place of Atlassian; the client is the one `init --demo` stored.
    Simulator,
    /// The simulator and its app as the client (`init --demo`).
    SimulatorAndApp,
}

impl Demo {
    fn init(demo: bool) -> Demo {
        if demo {
            Demo::SimulatorAndApp
        } else {
            Demo::Off
        }
    }

    fn renew(demo: bool) -> Demo {
        if demo { Demo::Simulator } else { Demo::Off }
    }
}

/// The seams of `init` and `renew`, and step 1's first half: the connector (asked in a terminal
/// without `--connector`). With `--demo`, the simulator in place of Atlassian.
async fn authorizing_context(
    auth: &mut AuthArgs,
    store: &mut StoreArgs,
    run: &RunArgs,
    typed: Option<&'static crate::connector::Connector>,
    demo_mode: Demo,
    guard: &Guard,
) -> Result<(Context, Option<Arc<sim::Simulator>>)> {
    let demo = demo_mode != Demo::Off;
    if demo {
        demo::refuse_cloud_options(store)?;
    }
    let mut ctx = Context::real(
        run.non_interactive,
        auth.no_browser,
        env_secret(),
        guard.clone(),
    );
    if let Some(c) = typed {
        store.options.file.default_file = c.default_secrets_file();
    }
    // The demo's store is always a file; a script's is a file unless it says otherwise.
    if demo || !ctx.interactive {
        deployment::check_file_directory(store)?;
    } else {
        deployment::check_decided_file_directory(store)?;
    }
    ctx.connector = guarded(guard, async { deployment::choose_connector(&ctx, typed) }).await?;
    store.options.file.default_file = ctx.connector.default_secrets_file();
    if demo {
        let demo = demo::prepare(auth, store, ctx.connector, ctx.interactive).await?;
        if demo_mode == Demo::SimulatorAndApp {
            auth.client_id.get_or_insert(demo.client_id.clone());
            ctx.given_client_secret = Some(demo.client_secret.clone());
        }
        use_demo(&mut ctx, &demo);
        return Ok((ctx, Some(demo.sim)));
    }
    Ok((ctx, None))
}

fn print_and_remember(
    ctx: &Context,
    mut report: report::RunReport,
    demo: bool,
    run: &RunArgs,
    redirect_uri: &str,
) -> Result<i32> {
    report.demo = demo;
    report::print(&report, run.format());
    remember(ctx, &report, redirect_uri);
    // The summary above already says what was written; an error line says what failed after.
    if let Some(e) = &report.tfvars_error {
        let _ = writeln!(std::io::stderr(), "error: {e}");
    }
    if let Some(check) = &report.proxy_check {
        check.result().map_err(|e| {
            with_prefix(e, "the secrets were written, but the proxy check failed: ")
        })?;
    }
    Ok(if report.tfvars_error.is_some() {
        exit::TFVARS_AFTER_STORE
    } else {
        exit::OK
    })
}

fn with_prefix(e: Error, prefix: &str) -> Error {
    match e {
        Error::ProxyUnreachable(m) => Error::ProxyUnreachable(format!("{prefix}{m}")),
        Error::ProxyHealth(m) => Error::ProxyHealth(format!("{prefix}{m}")),
        Error::ProxyCall(m) => Error::ProxyCall(format!("{prefix}{m}")),
        other => other,
    }
}

/// `check`: the proxy's answers, as text or JSON on stdout; the exit code says which part
/// failed (13, 14, 15).
pub async fn run_check(args: CheckArgs, verbose: u8) -> Result<i32> {
    let mut ctx = Context::real(true, true, None, Guard::default());
    ctx.ui = Ui::new(verbose == 0);
    ctx.connector = args.connector.unwrap_or_else(crate::connector::default);
    let report = check::run(&ctx, &args).await?;
    if args.json {
        let json = serde_json::to_string_pretty(&report)
            .map_err(|e| Error::Internal(format!("the check report does not serialize: {e}")))?;
        crate::outln!("{json}");
    } else {
        crate::outln!("Psoxy {} proxy check", ctx.connector.display_name);
        crate::proxy::print_human(&report);
    }
    report.result().map(|()| exit::OK)
}

/// The simulator in place of Atlassian, and said so before anything else.
fn use_demo(ctx: &mut Context, d: &demo::Demo) {
    ctx.ui
        .warn("demo mode: Atlassian is simulated on this machine; nothing leaves it");
    ctx.browser = Arc::new(demo::DemoBrowser {
        sim: d.sim.clone(),
        prompter: ctx.prompter.clone(),
        interactive: ctx.interactive,
        pastes: d.pastes,
    });
}

/// Keeps this run's target for the next `renew` and `status` (nothing secret); a failure only
/// costs the operator typing the options again. A demo never replaces a real deployment's
/// target: a nightly `status` must not start checking the demo's file.
fn remember(ctx: &Context, report: &report::RunReport, redirect_uri: &str) {
    let Some(target) = &ctx.store_target else {
        return;
    };
    let mut last = last_run::LastRun::new(
        target,
        ctx.connector,
        &report.prefix,
        redirect_uri,
        report.tfvars.as_deref(),
    );
    last.demo = report.demo;
    // Every deployment, for `status` over all of them (a demo's is marked as one).
    if let Err(why) = deployments::remember(&Deployment::from_last_run(&last)) {
        ctx.ui.warn(&format!(
            "{why}: `status` without options will not list this deployment"
        ));
    }
    // The last run of any connector, and this connector's own.
    for path in [last_run::path(), last_run::path_for(ctx.connector)]
        .into_iter()
        .flatten()
    {
        if last.demo
            && let Ok(Some(kept)) = last_run::LastRun::load(&path)
            && !kept.demo
        {
            ctx.ui.info(&format!(
                "the demo is not remembered ({} keeps your real deployment's target): pass --file to status",
                path.display()
            ));
            return;
        }
        if let Err(e) = last.save(&path) {
            ctx.ui.warn(&format!(
                "could not remember this target in {} ({e}): pass the store options to renew and status",
                path.display()
            ));
            return;
        }
    }
}

pub async fn run_push(mut args: PushArgs, guard: Guard) -> Result<i32> {
    let mut ctx = Context::real(false, true, None, guard.clone());
    // Read, checked and locked once; a file another run still uses is refused here.
    let (pending, exposed) = recovery::open_for_push(&args.from)?;
    if let Some(warning) = exposed {
        ctx.ui.warn(&warning);
    }
    ctx.connector = push::connector(&args.from, &pending, args.connector)?;
    args.store.options.file.default_file = ctx.connector.default_secrets_file();
    if !args.store.typed {
        // No store option typed: the store the failed run was writing to, as the file records.
        if let Some(target) = pending.target.clone() {
            ctx.ui.info(&format!(
                "writing to the store the failed run used: {}",
                recovery::shell_line(&target.flags())
            ));
            args.store.remembered = Some(target);
        }
    }
    let target = args.store.target();
    ctx.store_target = Some(target.clone());
    let store = target.open().await?;
    let written = guarded(&guard, push::run(&ctx, &args, pending, store)).await?;
    for name in written {
        crate::outln!("wrote {name}");
    }
    Ok(exit::OK)
}

pub async fn run_simulator(args: crate::cli::SimulatorArgs) -> Result<i32> {
    let config = sim::SimConfig {
        redirect_uri: args.redirect_uri,
        sites: (1..=args.sites).map(sim::SimSite::numbered).collect(),
        ..Default::default()
    };
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], args.port));
    let sim = sim::Simulator::serve_on(config, addr)
        .await
        .map_err(|e| Error::Input(format!("cannot listen on {addr}: {e}")))?;
    crate::outln!("{}", sim.base_url());
    let _ = tokio::signal::ctrl_c().await;
    sim.shutdown().await;
    Ok(exit::OK)
}

/// Shell completions, into a buffer first: writing straight to a closed pipe (`| head`) would panic.
pub fn print_completions(shell: clap_complete::Shell) -> Result<i32> {
    let mut script = Vec::new();
    clap_complete::generate(
        shell,
        &mut crate::cli::command(),
        "jira-psoxy-setup",
        &mut script,
    );
    let _ = std::io::stdout().write_all(&script);
    Ok(exit::OK)
}

/// A man page: the tool's (its SUBCOMMANDS section names each command's page), or one
/// command's, `jira-psoxy-setup-init(1)`; the release archives ship them all.
pub fn print_man_page(command: Option<&str>) -> Result<i32> {
    let mut page = Vec::new();
    crate::man::render(command, &mut page)?;
    match std::io::stdout().write_all(&page) {
        // `man | head` closes the pipe early: not an error.
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Error::Internal(e.to_string())),
        _ => Ok(exit::OK),
    }
}
