//! Test doubles for the wizard's seams, for in-process tests of its branches: a prompter that
//! expects a scripted list of questions, an in-memory store with injectable failures, and a
//! `Context` over them. Compiled for tests only.

mod memory_store;
mod prompter;
mod sim_browser;

pub use memory_store::{MemoryStore, Op};
pub use prompter::{Answer, ExpectPrompter};
pub use sim_browser::{Consent, SimBrowser};

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use crate::browser::NoBrowser;
use crate::interrupt::Guard;
use crate::ui::{StdinLines, Ui};
use crate::wizard::Context;

/// A context whose questions go to `prompter`; `interactive` as a terminal run would be.
pub fn context(prompter: Arc<ExpectPrompter>, interactive: bool) -> Context {
    Context {
        ui: Ui::new(true),
        prompter,
        browser: Arc::new(NoBrowser),
        http: reqwest::Client::new(),
        stdin: StdinLines::real(),
        interactive,
        given_client_secret: None,
        store_target: None,
        connector: crate::connector::default(),
        guard: Guard::default(),
    }
}

/// A private state directory for this test process, where recovery files go
/// (`$XDG_STATE_HOME`), set once before any test reads it.
pub fn state_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir()
            .expect("a temporary state directory")
            .keep();
        // SAFETY: set once, under the OnceLock, before any test of this process reads it; the
        // library reads the environment only through std, which holds its own lock.
        unsafe { std::env::set_var("XDG_STATE_HOME", &dir) };
        dir
    })
    .clone()
}

/// Store options as the command line would give them (`["--prefix", "X_"]`).
pub fn store_args(args: &[&str]) -> crate::cli::StoreArgs {
    #[derive(clap::Parser)]
    struct Line {
        #[command(flatten)]
        store: crate::cli::StoreArgs,
    }
    let line = std::iter::once("test").chain(args.iter().copied());
    <Line as clap::Parser>::try_parse_from(line)
        .expect("store options parse")
        .store
}
