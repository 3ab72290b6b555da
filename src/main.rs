//! Parses arguments, starts the runtime, dispatches to the command (`wizard::commands`), and maps
//! the result to an exit code.

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

use clap::FromArgMatches;
use futures_util::FutureExt;
use jira_psoxy_setup::cli::{Cli, Command};
use jira_psoxy_setup::error::{Error, Result};
use jira_psoxy_setup::interrupt::{self, Guard};
use jira_psoxy_setup::ui;
use jira_psoxy_setup::wizard::commands;

fn main() -> ExitCode {
    interrupt::remember_terminal();
    std::panic::set_hook(Box::new(report_panic));
    let matches = jira_psoxy_setup::cli::command().get_matches();
    let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    ui::init_logging(cli.verbose);
    commands::settle_store_options(&mut cli, &matches);
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
    let code = runtime.block_on(run(cli));
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    ExitCode::from(u8::try_from(code).unwrap_or(1))
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

async fn run(cli: Cli) -> i32 {
    let guard = Guard::default();
    // The commands that can take the lock or hold new tokens: a signal cleans up first.
    let watcher = matches!(
        cli.command,
        Command::Init(_) | Command::Renew(_) | Command::Push(_)
    )
    .then(|| interrupt::watch(guard.clone()));
    let outcome = AssertUnwindSafe(dispatch(cli, guard.clone()))
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

async fn dispatch(cli: Cli, guard: Guard) -> Result<i32> {
    match cli.command {
        Command::Init(args) => commands::run_init(args, guard).await,
        Command::Renew(args) => commands::run_renew(args, guard).await,
        Command::Status(args) => commands::run_status(args, cli.verbose).await,
        Command::Check(args) => commands::run_check(args, cli.verbose).await,
        Command::Push(args) => commands::run_push(args, guard).await,
        Command::Simulator(args) => commands::run_simulator(args).await,
        Command::Completions { shell } => commands::print_completions(shell),
        Command::Man { command } => commands::print_man_page(command.as_deref()),
    }
}
