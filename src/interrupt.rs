//! What an ending must not leave behind: a held refresh lock, freshly minted tokens that are not
//! yet stored, or a terminal with echo off. The wizard registers what it holds here as it goes;
//! `watch` turns SIGINT, SIGTERM and SIGHUP into a clean ending (`Guard::ended`, then exit with
//! 128 + the signal's number), and `main` calls `Guard::ended` after a panic too.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::error::exit;
use crate::recovery::{self, Pending};
use crate::store::{SecretNames, SecretStore};

/// The tokens' copy on disk until the store has read them back.
struct Kept {
    path: PathBuf,
    push_command: String,
}

/// The proxy's refresh lock this run holds: the store, and the deployment's names.
type HeldLock = (Arc<dyn SecretStore>, SecretNames);

#[derive(Default)]
struct Held {
    lock: Option<HeldLock>,
    /// Tokens with no copy on disk yet (the write-ahead save failed): saved on the way out.
    pending: Option<Pending>,
    kept: Option<Kept>,
    /// The store has read this run's tokens back.
    stored: bool,
}

#[derive(Clone, Default)]
pub struct Guard(Arc<Mutex<Held>>);

impl Guard {
    /// The state, even after a panic elsewhere poisoned the mutex: the data is a few options,
    /// each set in one assignment, so it is never half-updated.
    fn held(&self) -> MutexGuard<'_, Held> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn lock_taken(&self, store: Arc<dyn SecretStore>, names: SecretNames) {
        self.held().lock = Some((store, names));
    }

    pub fn lock_released(&self) {
        self.held().lock = None;
    }

    /// Tokens exist that are not yet safely stored, and no copy of them is on disk.
    pub fn pending(&self, pending: Pending) {
        self.held().pending = Some(pending);
    }

    /// The tokens are safe in the recovery file at `path` until the store has them.
    pub fn kept(&self, path: PathBuf, target: Option<&crate::store::StoreTarget>) {
        let push_command = recovery::push_command(&path, target);
        self.held().kept = Some(Kept { path, push_command });
    }

    /// The store has the tokens. Returns the recovery file to delete, unless an ending already
    /// reported it to the operator (then it stays, as the message says).
    pub fn stored(&self) -> Option<PathBuf> {
        let mut held = self.held();
        held.pending = None;
        held.stored = true;
        held.kept.take().map(|k| k.path)
    }

    /// The run reports the tokens' fate itself (the store failed): an ending need not.
    pub fn settled(&self) {
        let mut held = self.held();
        held.pending = None;
        held.kept = None;
    }

    /// Cleans up after `how` ("interrupted", "terminated", ...) and returns the line to tell
    /// the operator: the tokens first (made safe at once), then the lock (released within
    /// `UNLOCK_WAIT`).
    pub async fn ended(&self, how: &str) -> String {
        let (lock, tokens) = self.secure();
        format!("{how}{}{tokens}", release(lock).await)
    }

    /// The part of an ending that cannot wait: the terminal's cursor, and the new tokens on disk.
    /// Returns the lock still to release and the line about the tokens.
    fn secure(&self) -> (Option<HeldLock>, String) {
        restore_cursor();
        let (lock, pending, kept, stored) = {
            let mut held = self.held();
            (
                held.lock.take(),
                held.pending.take(),
                held.kept.take(),
                held.stored,
            )
        };
        let saved = match (kept, pending) {
            (Some(kept), _) => Some(Ok((kept.path, kept.push_command))),
            (None, Some(pending)) => Some(recovery::save(&pending).map(|path| {
                let command = recovery::push_command(&path, pending.target.as_ref());
                (path, command)
            })),
            (None, None) => None,
        };
        let tokens = match saved {
            Some(Ok((path, command))) => format!(
                "; the new tokens may not all be stored: they are in {} — finish with `{command}`",
                path.display()
            ),
            Some(Err(e)) => format!("; {e}: run init again"),
            None if stored => "; the new tokens are stored".into(),
            None => "; nothing was written".into(),
        };
        (lock, tokens)
    }
}

/// How long an ending waits for the store to release the refresh lock (a store that does not
/// answer would otherwise hold the ending for the SDK's timeouts, minutes).
pub const UNLOCK_WAIT: Duration = Duration::from_secs(5);

/// Releases the proxy's lock, if this run holds it, within `UNLOCK_WAIT`.
async fn release(lock: Option<HeldLock>) -> String {
    let Some((store, names)) = lock else {
        return String::new();
    };
    let location = store.lock_location(&names);
    match tokio::time::timeout(UNLOCK_WAIT, store.unlock(&names)).await {
        Ok(Ok(())) => "; the refresh lock was released".into(),
        Ok(Err(e)) => format!(
            "; could not release the refresh lock {location} ({e}): the proxy takes it over after two minutes, or delete it by hand"
        ),
        Err(_) => format!(
            "; the store did not release the refresh lock {location} within {}s: the proxy takes it over after two minutes, or delete it by hand",
            UNLOCK_WAIT.as_secs()
        ),
    }
}

/// What a second signal leaves: the lock, for the proxy to take over.
const SECOND_SIGNAL: &str = "; a second signal stopped the cleanup: the refresh lock, if this run held it, goes stale after two minutes and the proxy takes it over";

/// A signal that ends the run, and the exit code it ends with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    Interrupted,
    Terminated,
    HungUp,
}

impl Ending {
    pub fn exit_code(self) -> i32 {
        match self {
            Ending::Interrupted => exit::INTERRUPTED,
            Ending::Terminated => exit::TERMINATED,
            Ending::HungUp => exit::HANGUP,
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Ending::Interrupted => "interrupted",
            Ending::Terminated => "terminated (SIGTERM)",
            Ending::HungUp => "the terminal went away (SIGHUP)",
        }
    }
}

/// SIGINT, SIGTERM and SIGHUP, caught from `watch` on: they no longer end the process by
/// themselves, the watcher does.
#[cfg(unix)]
struct Endings(
    Option<(
        tokio::signal::unix::Signal,
        tokio::signal::unix::Signal,
        tokio::signal::unix::Signal,
    )>,
);

#[cfg(unix)]
impl Endings {
    fn catch() -> Endings {
        use tokio::signal::unix::{SignalKind, signal};
        match (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
            signal(SignalKind::hangup()),
        ) {
            (Ok(int), Ok(term), Ok(hup)) => Endings(Some((int, term, hup))),
            // No handlers (cannot happen on a sane system): the default actions still apply.
            _ => Endings(None),
        }
    }

    async fn next(&mut self) -> Ending {
        let Some((int, term, hup)) = &mut self.0 else {
            return std::future::pending().await;
        };
        tokio::select! {
            _ = int.recv() => Ending::Interrupted,
            _ = term.recv() => Ending::Terminated,
            _ = hup.recv() => Ending::HungUp,
        }
    }
}

#[cfg(not(unix))]
struct Endings;

#[cfg(not(unix))]
impl Endings {
    fn catch() -> Endings {
        Endings
    }

    async fn next(&mut self) -> Ending {
        match tokio::signal::ctrl_c().await {
            Ok(()) => Ending::Interrupted,
            Err(_) => std::future::pending().await,
        }
    }
}

/// From now on, SIGINT, SIGTERM and SIGHUP make the new tokens safe, release what `guard`
/// holds (the lock within `UNLOCK_WAIT`), say so, and end the process with 128 + the signal's
/// number. A second signal during that cleanup ends it at once: the tokens are safe by then.
pub fn watch(guard: Guard) -> tokio::task::JoinHandle<()> {
    let mut endings = Endings::catch();
    tokio::spawn(async move {
        let ending = endings.next().await;
        let (lock, tokens) = guard.secure();
        let lock_line = tokio::select! {
            line = release(lock) => line,
            _ = endings.next() => SECOND_SIGNAL.to_string(),
        };
        terminal::restore();
        // After SIGHUP stderr may be gone: a failed write must not stop the exit.
        let _ = writeln!(
            std::io::stderr(),
            "\nerror: {}{lock_line}{tokens}",
            ending.describe()
        );
        std::process::exit(ending.exit_code());
    })
}

/// Makes the cursor visible again (dialoguer hides it in select lists).
pub fn restore_cursor() {
    let mut err = std::io::stderr();
    if err.is_terminal() {
        let _ = err.write_all(b"\x1b[?25h");
        let _ = err.flush();
    }
}

pub use terminal::remember as remember_terminal;

/// The terminal's modes as the run found them, put back when a signal ends it: a hidden prompt
/// (the client secret) turns echo off until it returns, and a signal ends the run before it does.
#[cfg(unix)]
mod terminal {
    use std::sync::OnceLock;

    static FOUND: OnceLock<(libc::c_int, libc::termios)> = OnceLock::new();

    /// Records the modes of the terminal on stdin (else stderr), if there is one.
    pub fn remember() {
        for fd in [libc::STDIN_FILENO, libc::STDERR_FILENO] {
            let mut modes = std::mem::MaybeUninit::<libc::termios>::uninit();
            // SAFETY: `isatty` only inspects the descriptor; `tcgetattr` fills `modes`, a plain C
            // struct owned here, and it is read only when the call reports success.
            let found =
                unsafe { libc::isatty(fd) == 1 && libc::tcgetattr(fd, modes.as_mut_ptr()) == 0 };
            if found {
                // SAFETY: initialized by the successful `tcgetattr` above.
                let _ = FOUND.set((fd, unsafe { modes.assume_init() }));
                return;
            }
        }
    }

    /// Puts the recorded modes back, if this process is in the terminal's foreground (a
    /// background process changing them would be stopped by SIGTTOU).
    pub fn restore() {
        if let Some((fd, modes)) = FOUND.get() {
            // SAFETY: `fd` was a terminal when recorded; both calls only read their arguments, and
            // a failure (the terminal is gone) is harmless here.
            unsafe {
                if libc::tcgetpgrp(*fd) == libc::getpgrp() {
                    libc::tcsetattr(*fd, libc::TCSANOW, modes);
                }
            }
        }
    }
}

#[cfg(not(unix))]
mod terminal {
    pub fn remember() {}
    pub fn restore() {}
}
