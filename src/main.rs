//! Parses arguments, builds the real dependencies, runs a command, maps errors to exit codes.

// As in lib.rs: no unwrap, expect, slice index or unchecked arithmetic outside tests.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use std::io::{IsTerminal, Write};
use std::panic::AssertUnwindSafe;
use std::process::ExitCode;
use std::sync::Arc;

use clap::FromArgMatches;
use futures_util::FutureExt;
use jira_psoxy_setup::browser::{Browser, NoBrowser, SystemBrowser};
use jira_psoxy_setup::cli::{
    Cli, Command, InitArgs, OutputFormat, PushArgs, RenewArgs, StatusArgs, StoreArgs,
};
use jira_psoxy_setup::error::{Error, Result, exit};
use jira_psoxy_setup::interrupt::Guard;
use jira_psoxy_setup::secret::{SecretString, secret_from_line};
use jira_psoxy_setup::ui::{self, Prompter, ScriptedPrompter, StdinLines, TerminalPrompter, Ui};
use jira_psoxy_setup::wizard::{Context, init, push, renew, report, status, target};
use jira_psoxy_setup::{demo, http, interrupt, last_run, recovery, sim, store};

fn main() -> ExitCode {
    interrupt::remember_terminal();
    std::panic::set_hook(Box::new(report_panic));
    let matches = jira_psoxy_setup::cli::command().get_matches();
    let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    init_logging(cli.verbose);
    let store_typed = last_run::store_options_typed(&matches);
    if !store_typed {
        use_last_run(&mut cli, &matches);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime ({e}): check the process limits");
            return ExitCode::from(1);
        }
    };
    let code = runtime.block_on(run(cli, store_typed));
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

/// `renew` and `status` without store options take the last run's target, and say so (a cron
/// `status` only at -v, so it does not mail the line every night).
fn use_last_run(cli: &mut Cli, matches: &clap::ArgMatches) {
    let typed = match &cli.command {
        Command::Renew(args) => args.connector,
        Command::Status(args) => args.connector,
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
    let quiet = matches!(cli.command, Command::Status(_))
        && cli.verbose == 0
        && !std::io::stderr().is_terminal();
    if let Some(note) = last_run::fill_in(cli, matches, last)
        && !quiet
    {
        ui.info(&note);
    }
}

fn init_logging(verbose: u8) {
    // Dependencies speak only from -v on: at the default level the AWS SDK's own warnings (an
    // instance-metadata probe on a laptop, say) would bury the one-line error that says what to do.
    let (ours, theirs) = match verbose {
        0 => ("warn", "error"),
        1 => ("info", "warn"),
        _ => ("debug", "warn"),
    };
    let filter = tracing_subscriber::EnvFilter::new(format!("jira_psoxy_setup={ours},{theirs}"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(jira_psoxy_setup::ui::stderr_color())
        .with_target(false)
        .init();
}

/// One line for a panic (a bug), not the standard multi-line report; `run` then cleans up.
fn report_panic(info: &std::panic::PanicHookInfo<'_>) {
    let what = info
        .payload()
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| info.payload().downcast_ref::<String>().cloned())
        .unwrap_or_default();
    let at = info
        .location()
        .map(|l| format!(" at {}:{}", l.file(), l.line()))
        .unwrap_or_default();
    let _ = writeln!(std::io::stderr(), "error: internal error{at}: {what}");
}

async fn run(cli: Cli, store_typed: bool) -> i32 {
    let guard = Guard::default();
    // The commands that can take the lock or hold new tokens: a signal cleans up first.
    let watcher = matches!(
        cli.command,
        Command::Init(_) | Command::Renew(_) | Command::Push(_)
    )
    .then(|| interrupt::watch(guard.clone()));
    let outcome = AssertUnwindSafe(dispatch(cli, store_typed, guard.clone()))
        .catch_unwind()
        .await;
    let result = match outcome {
        Ok(result) => result,
        Err(_panic) => Err(Error::Internal(format!(
            "{}: this is a bug, please report it",
            guard.ended("the run stopped on an internal error").await
        ))),
    };
    if let Some(watcher) = watcher {
        watcher.abort();
    }
    match result {
        Ok(code) => code,
        Err(e) => {
            interrupt::restore_cursor();
            let mut line = e.to_string();
            if std::io::stderr().is_terminal() {
                // Between words, never mid-word; logs and pipes keep the one line.
                line = ui::wrap(&line, ui::terminal_width().saturating_sub(7), 7);
            }
            // stderr may be gone (SIGHUP closed the terminal): that must not panic.
            let _ = writeln!(std::io::stderr(), "error: {line}");
            e.exit_code()
        }
    }
}

async fn dispatch(cli: Cli, store_typed: bool, guard: Guard) -> Result<i32> {
    let verbose = cli.verbose;
    match cli.command {
        Command::Init(args) => run_init(args, guard).await,
        Command::Completions { shell } => {
            // Into a buffer first: writing straight to a closed pipe (`| head`) would panic.
            let mut script = Vec::new();
            clap_complete::generate(
                shell,
                &mut jira_psoxy_setup::cli::command(),
                "jira-psoxy-setup",
                &mut script,
            );
            let _ = std::io::Write::write_all(&mut std::io::stdout(), &script);
            Ok(exit::OK)
        }
        Command::Man => {
            match clap_mangen::Man::new(jira_psoxy_setup::cli::command())
                .render(&mut std::io::stdout())
            {
                // `man | head` closes the pipe early: not an error.
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    Err(Error::Internal(e.to_string()))
                }
                _ => Ok(exit::OK),
            }
        }
        Command::Simulator(args) => run_simulator(args).await,
        Command::Renew(args) => run_renew(args, guard).await,
        Command::Status(args) => run_status(args, verbose).await,
        Command::Push(args) => run_push(args, store_typed, guard).await,
    }
}

/// Step 1 of init and renew: the connector, asked in a terminal without `--connector`.
async fn choose_connector(
    ctx: &mut Context,
    typed: Option<&'static jira_psoxy_setup::connector::Connector>,
) -> Result<()> {
    ctx.connector = guarded(ctx, async { target::choose_connector(ctx, typed) }).await?;
    Ok(())
}

/// The rest of step 1 (the store, asked in a terminal), then the store itself.
async fn open_chosen_store(
    ctx: &mut Context,
    args: &mut StoreArgs,
) -> Result<Arc<dyn store::SecretStore>> {
    let chosen = guarded(ctx, async {
        target::choose_store(ctx, args)?;
        Ok(args.target())
    })
    .await?;
    ctx.store_target = Some(chosen.clone());
    guarded(ctx, chosen.open()).await
}

fn context(
    non_interactive: bool,
    no_browser: bool,
    env_client_secret: Option<SecretString>,
    guard: Guard,
) -> Context {
    let interactive =
        !non_interactive && std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    let stdin = StdinLines::real();
    let prompter: Arc<dyn Prompter> = if interactive {
        Arc::new(TerminalPrompter)
    } else {
        Arc::new(ScriptedPrompter {
            stdin: stdin.clone(),
        })
    };
    let browser: Arc<dyn Browser> = if no_browser {
        Arc::new(NoBrowser)
    } else {
        Arc::new(SystemBrowser)
    };
    Context {
        ui: Ui::new(false),
        prompter,
        browser,
        http: http::client(),
        stdin,
        interactive,
        env_client_secret,
        store_target: None,
        connector: jira_psoxy_setup::connector::default(),
        guard,
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
async fn guarded<T>(
    ctx: &Context,
    work: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    match work.await {
        // The guard says what it released; a reason other than Ctrl-C (a quit) leads the line.
        Err(Error::Interrupted(why)) => Err(Error::Interrupted(ctx.guard.ended(&why).await)),
        other => other,
    }
}

async fn run_init(mut args: InitArgs, guard: Guard) -> Result<i32> {
    let mut ctx = context(
        args.run.non_interactive,
        args.auth.no_browser,
        env_secret(),
        guard,
    );
    choose_connector(&mut ctx, args.connector).await?;
    if args.demo {
        let demo = demo::prepare(&mut args.auth, &mut args.store, ctx.connector).await?;
        args.auth.client_id.get_or_insert(demo.client_id.clone());
        ctx.env_client_secret = Some(demo.client_secret.clone());
        use_demo(&mut ctx, &demo);
    }
    let store = open_chosen_store(&mut ctx, &mut args.store).await?;
    let mut report = guarded(&ctx, init::run(&ctx, &args, store)).await?;
    report.demo = args.demo;
    report::print(&report, args.run.format());
    remember(&ctx, &report, &args.auth.redirect_uri);
    Ok(exit::OK)
}

/// The simulator in place of Atlassian, and said so before anything else.
fn use_demo(ctx: &mut Context, d: &demo::Demo) {
    ctx.ui
        .warn("demo mode: Atlassian is simulated on this machine; nothing leaves it");
    ctx.browser = Arc::new(demo::DemoBrowser {
        sim: d.sim.clone(),
        prompter: ctx.prompter.clone(),
        interactive: ctx.interactive,
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

async fn run_renew(mut args: RenewArgs, guard: Guard) -> Result<i32> {
    let mut ctx = context(
        args.run.non_interactive,
        args.auth.no_browser,
        env_secret(),
        guard,
    );
    choose_connector(&mut ctx, args.connector).await?;
    if args.demo {
        let demo = demo::prepare(&mut args.auth, &mut args.store, ctx.connector).await?;
        use_demo(&mut ctx, &demo);
    }
    let store = open_chosen_store(&mut ctx, &mut args.store).await?;
    let mut report = guarded(&ctx, renew::run(&ctx, &args, store)).await?;
    report.demo = args.demo;
    report::print(&report, args.run.format());
    remember(&ctx, &report, &args.auth.redirect_uri);
    Ok(exit::OK)
}

/// A monitoring check: progress lines only at -v, so a healthy cron run is silent on stderr
/// (warnings and errors still show).
async fn run_status(args: StatusArgs, verbose: u8) -> Result<i32> {
    let mut ctx = context(true, true, None, Guard::default());
    ctx.ui = Ui::new(verbose == 0);
    ctx.connector = args
        .connector
        .unwrap_or_else(jira_psoxy_setup::connector::default);
    let report = match args.store.target().open().await {
        Ok(store) => status::run(&ctx, &args, store).await,
        Err(e) => Err(e),
    };
    let report = match report {
        Err(Error::Store(reason)) => {
            status::unreadable(ctx.connector, args.store.kind().name().into(), &reason)
        }
        other => other?,
    };
    if args.format() == OutputFormat::Json {
        let json = serde_json::to_string_pretty(&report)
            .map_err(|e| Error::Internal(format!("the status report does not serialize: {e}")))?;
        let _ = writeln!(std::io::stdout(), "{json}");
    } else {
        status::print_human(&report);
    }
    Ok(report.exit_code)
}

async fn run_push(mut args: PushArgs, store_typed: bool, guard: Guard) -> Result<i32> {
    let mut ctx = context(false, true, None, guard);
    let pending = recovery::load(&args.from)?;
    ctx.connector = push::connector(&args.from, &pending, args.connector)?;
    if !store_typed {
        // No store option typed: the store the failed run was writing to, as the file records.
        if let Some(target) = pending.target {
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
    let written = guarded(&ctx, push::run(&ctx, &args.from, &args.store, store)).await?;
    for name in written {
        let _ = writeln!(std::io::stdout(), "wrote {name}");
    }
    Ok(exit::OK)
}

async fn run_simulator(args: jira_psoxy_setup::cli::SimulatorArgs) -> Result<i32> {
    let config = sim::SimConfig {
        redirect_uri: args.redirect_uri,
        sites: (1..=args.sites).map(sim::SimSite::numbered).collect(),
        ..Default::default()
    };
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], args.port));
    let sim = sim::Simulator::serve_on(config, addr)
        .await
        .map_err(|e| Error::Input(format!("cannot listen on {addr}: {e}")))?;
    println!("{}", sim.base_url());
    let _ = tokio::signal::ctrl_c().await;
    sim.shutdown().await;
    Ok(exit::OK)
}
