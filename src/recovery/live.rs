//! A run holds an exclusive OS lock (`flock`) on its recovery file for its whole lifetime, so a
//! file whose writer is still alive is told from one an earlier run abandoned: `status`, `init`
//! and `renew` report only abandoned ones, and `push` refuses a file another run still holds.
//! The lock ends with the process, however it ends (kill -9 included).

use std::fs::File;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The recovery files this process has locked (replacing a file locks the new one first).
static HELD: Mutex<Vec<File>> = Mutex::new(Vec::new());

/// Locks a recovery file this run just created (nobody else can hold it yet).
pub fn claim(file: &File) -> std::io::Result<()> {
    file.try_lock().map_err(std::io::Error::from)
}

/// Keeps `file` open, and so its lock, until the process ends.
pub fn hold(file: File) {
    HELD.lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .push(file);
}

/// Whether another run holds the file's lock (it is writing it, or pushing it). Taking a shared
/// lock to find out: two readers never block each other.
pub fn in_use(file: &File) -> bool {
    match file.try_lock_shared() {
        Ok(()) => false,
        Err(std::fs::TryLockError::WouldBlock) => true,
        // No locks on this file system: nothing to tell the runs apart by.
        Err(std::fs::TryLockError::Error(_)) => false,
    }
}

/// Takes the file for a push, waiting up to `wait` for a `status` that is reading it; false if
/// another run holds it.
pub fn take_for_push(file: &File, wait: Duration) -> bool {
    let deadline = Instant::now()
        .checked_add(wait)
        .unwrap_or_else(Instant::now);
    loop {
        match file.try_lock() {
            Ok(()) => return true,
            Err(std::fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(std::fs::TryLockError::WouldBlock) => return false,
            Err(std::fs::TryLockError::Error(_)) => return true,
        }
    }
}
