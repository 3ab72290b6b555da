//! What Ctrl-C must not leave behind: a held refresh lock, or freshly minted tokens that were not
//! yet stored. The wizard registers both here as it goes; `main`'s signal handler calls
//! `Guard::interrupted` before exiting with 130.

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};

use crate::recovery::{self, Pending};
use crate::store::{SecretNames, SecretStore};

#[derive(Default)]
struct Held {
    lock: Option<(Arc<dyn SecretStore>, SecretNames)>,
    pending: Option<Pending>,
}

#[derive(Clone, Default)]
pub struct Guard(Arc<Mutex<Held>>);

impl Guard {
    pub fn lock_taken(&self, store: Arc<dyn SecretStore>, names: SecretNames) {
        self.0.lock().expect("guard").lock = Some((store, names));
    }

    pub fn lock_released(&self) {
        self.0.lock().expect("guard").lock = None;
    }

    /// Tokens exist that are not yet safely stored.
    pub fn pending(&self, pending: Pending) {
        self.0.lock().expect("guard").pending = Some(pending);
    }

    pub fn stored(&self) {
        self.0.lock().expect("guard").pending = None;
    }

    pub fn take_pending(&self) -> Option<Pending> {
        self.0.lock().expect("guard").pending.take()
    }

    /// Cleans up after Ctrl-C and returns the line to tell the operator.
    pub async fn interrupted(&self) -> String {
        restore_cursor();
        let (lock, pending) = {
            let mut held = self.0.lock().expect("guard");
            (held.lock.take(), held.pending.take())
        };
        let mut message = String::from("interrupted");
        if let Some((store, names)) = lock {
            match store.unlock(&names).await {
                Ok(()) => message.push_str("; the refresh lock was released"),
                Err(e) => message.push_str(&format!(
                    "; could not release the refresh lock {} ({e}): delete it by hand",
                    store.lock_location(&names)
                )),
            }
        }
        if let Some(pending) = pending {
            match recovery::save(&pending) {
                Ok(path) => message.push_str(&format!(
                    "; the new tokens may not all be stored: they were saved to {} — finish with `{}`",
                    path.display(),
                    recovery::push_command(&path, pending.target.as_ref())
                )),
                Err(e) => message.push_str(&format!("; the new tokens could not be saved ({e}): run init again")),
            }
        } else {
            message.push_str("; nothing was written");
        }
        message
    }
}

/// Makes the cursor visible again (dialoguer hides it in select lists).
pub fn restore_cursor() {
    let mut err = std::io::stderr();
    if err.is_terminal() {
        let _ = err.write_all(b"\x1b[?25h");
        let _ = err.flush();
    }
}
